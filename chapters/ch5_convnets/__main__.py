from chapters.ch5_convnets import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
