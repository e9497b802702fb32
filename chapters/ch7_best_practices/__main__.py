from chapters.ch7_best_practices import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
