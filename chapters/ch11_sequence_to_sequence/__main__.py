from chapters.ch11_sequence_to_sequence import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
