from chapters.ch6_text_and_sequences import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
