from chapters.ch9_advanced_vision import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
