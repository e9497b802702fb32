"""Dataset loaders for the book's chapters.

Every loader finds its files with the same data-directory search (see
`datasets.paths`), returns plain NumPy arrays or a `tf.data.Dataset`, and raises
`DataError` (or its subclass `DataNotFoundError`) with a message that tells the
user what to fetch and where to put it. The chapter command line turns that
error into one line and a non-zero exit code.
"""

from datasets.paths import DataError, DataNotFoundError, data_dir_candidates, find_data_file

__all__ = ["DataError", "DataNotFoundError", "find_data_file", "data_dir_candidates"]
