"""Builders for the book's models, exactly as the book defines them.

Each module has `build_<what the book calls it>(...) -> keras.Model` and, beside
it, the book's parameter count per layer (`*_BOOK_PARAMS`) for the check that
`chapters.book_check.check_against_book` prints. No data, no files.
"""
