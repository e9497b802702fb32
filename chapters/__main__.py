"""python -m chapters: the table of contents, with the command that runs each section."""

import os
import sys
import textwrap

from chapters import all_chapters

# The argument groups of Chapter.parser() that every chapter shares (matched by the start of their titles).
SHARED_GROUPS = ("common options", "performance")


def shared_flags(chapters):
    """{group title: its flags}, from each chapter's own parser, in the parser's order.

    argparse has no public way to list a parser's groups; `_action_groups` and `_group_actions` are
    argparse's (the standard library's) attributes, not Keras's. A flag only some chapters have
    (--edition) is listed once.
    """
    groups = {}
    for chapter in chapters:
        for group in chapter.parser()._action_groups:
            if group.title.startswith(SHARED_GROUPS):
                flags = groups.setdefault(group.title, [])
                flags += [action.option_strings[-1] for action in group._group_actions
                          if action.option_strings[-1] not in flags]
    return groups


def main():
    chapters = all_chapters()
    print("Deep Learning with Python, chapter by chapter (TensorFlow 2 / Keras 3)")
    print("Run every command from the repository root.\n")
    for chapter in chapters:
        print(chapter.title)
        for section in chapter.sections.values():
            default = "   (default)" if section.number == chapter.default_section else ""
            print(f"  {section.number:<5} {section.title}{default}")
            print(f"        {section.summary}")
            print(f"        {chapter.command} {section.number}")
        print()
    for title, flags in shared_flags(chapters).items():
        print(textwrap.fill(f"{title}: {', '.join(flags)}", width=100, subsequent_indent="  "))
    print("Each chapter's --help explains them and lists its own flags.")
    print("Our numbers beside the book's, from your runs: python -m chapters.results")


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
