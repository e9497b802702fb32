"""One runnable module (or package) per chapter of Deep Learning with Python.

`python -m chapters` prints the table of contents. Each chapter defines a
`CHAPTER` (see `chapters.cli.Chapter`) whose sections register themselves;
that object is the only registry, so a new section is listed by being written.
"""

import os

# Quieter TensorFlow start-up (set before TensorFlow is first imported).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def all_chapters():
    """Import every chapters.chN_* module or package and return their CHAPTER objects, in order."""
    import importlib
    import pkgutil

    names = [m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch") and m.name[2:3].isdigit()]
    names.sort(key=lambda n: int(n[2:].split("_")[0]))
    chapters = [getattr(importlib.import_module(f"{__name__}.{name}"), "CHAPTER", None) for name in names]
    return [chapter for chapter in chapters if chapter is not None]  # ch8_style_transfer only runs 8.3
