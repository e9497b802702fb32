from chapters.ch17_diffusion import CHAPTER

if __name__ == "__main__":
    CHAPTER.main()
