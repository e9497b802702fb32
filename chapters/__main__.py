"""python -m chapters: the table of contents, with the command that runs each section."""

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


if __name__ == "__main__":
    main()
