"""python -m chapters: the table of contents, with the command that runs each section."""

import os
import sys

from chapters import all_chapters


def main():
    print("Deep Learning with Python, chapter by chapter (TensorFlow 2 / Keras 3)")
    print("Run every command from the repository root.\n")
    for chapter in all_chapters():
        print(chapter.title)
        for section in chapter.sections.values():
            default = "   (default)" if section.number == chapter.default_section else ""
            print(f"  {section.number:<5} {section.title}{default}")
            print(f"        {section.summary}")
            print(f"        {chapter.command} {section.number}")
        print()
    print("Common flags: --quick, --epochs, --batch-size, --seed, --data-dir, --output-dir, --summary-only,")
    print("--edition {1,2}, --resume. Each chapter's --help lists its own.")


def main_into_a_pipe():
    """main(), quiet when the reader stops reading (`| head`): Python's documented fix for a closed pipe."""
    try:
        main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull, so that the flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main_into_a_pipe()
