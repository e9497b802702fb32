"""Nietzsche's *Beyond Good and Evil* as one text file, for character-level text generation (DLwP 8.1).

`load_nietzsche()` finds `nietzsche/nietzsche.txt` (or `nietzsche.txt`) with
the data-directory search, else downloads it as the book does
(`keras.utils.get_file` from the Keras example's address, cached in
~/.keras/datasets/), else stops with one line saying what to fetch and where
to put it. The book lower-cases the text: 600,893 characters, 57 of them
distinct.
"""

import os
from pathlib import Path

from datasets.paths import DataError, DataNotFoundError, download_failure, find_data_file, keras_cache_dir

FILE = "nietzsche.txt"
URL = "https://s3.amazonaws.com/text-datasets/nietzsche.txt"
SIZE = "600,901 bytes"
PATHS = [f"nietzsche/{FILE}", FILE]


def how_to_get():
    return (f"download {FILE} ({SIZE}) from {URL} and put it in <data dir>/nietzsche/, where <data dir> is "
            f"--data-dir, $DLWP_DATA_DIR or ./data (or in {keras_cache_dir()}/)")


def load_nietzsche(data_dir=None):
    """The whole text, lower-cased as the book reads it."""
    path = find_nietzsche(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({type(e).__name__}); delete it and "
                        f"{how_to_get()}") from None
    if not text:
        raise DataError(f"{path} is empty; delete it and {how_to_get()}")
    return text.lower(), str(path)


def find_nietzsche(data_dir=None):
    path = find_data_file(PATHS, data_dir)
    if path is not None:
        return path
    if not os.environ.get("DLWP_OFFLINE"):
        import keras

        try:
            return Path(keras.utils.get_file(FILE, origin=URL))
        except Exception as e:  # no network, a proxy...
            reason = download_failure(e)
            raise DataNotFoundError(f"{FILE} could not be downloaded ({reason}): {how_to_get()}") from None
    raise DataNotFoundError(f"{FILE} not found and DLWP_OFFLINE is set: {how_to_get()}")
