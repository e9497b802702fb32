from chapters.ch3_getting_started import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
