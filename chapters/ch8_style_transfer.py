"""python -m chapters.ch8_style_transfer [flags]: section 8.3 of chapter 8, neural style transfer.

The command from before chapter 8 grew more sections; it runs
`python -m chapters.ch8_generative 8.3 [flags]`.
"""

import sys

import chapters.ch8_generative as chapter_8


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in [*chapter_8.CHAPTER.sections, "all"]:
        argv = ["8.3", *argv]
    chapter_8.CHAPTER.main(argv)


if __name__ == "__main__":
    main()
