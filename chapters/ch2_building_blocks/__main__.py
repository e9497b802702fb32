from chapters.ch2_building_blocks import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
