from chapters.ch8_generative import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
