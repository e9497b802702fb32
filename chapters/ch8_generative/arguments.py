"""argparse types of chapter 8's numeric flags that chapters.cli does not offer: positive and non-negative numbers."""

import argparse

from chapters.cli import finite_number, positive_int  # noqa: F401 (chapter 8's numeric types in one place)


def positive_number(text):
    """A finite float above 0 (a learning rate: a negative one climbs the loss)."""
    value = finite_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def non_negative_number(text):
    """A finite float of at least 0 (a loss weight: 0 turns its term off, a negative one rewards the loss)."""
    value = finite_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value
