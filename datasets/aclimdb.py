"""The raw IMDB reviews (Large Movie Review Dataset v1.0): the extracted `aclImdb/` folder.

`find_aclimdb()` looks for `aclImdb/` (with `train/pos` inside) in the data
directories and stops with one line saying what to fetch when it is missing.
"""

from pathlib import Path

from datasets.paths import DataNotFoundError, data_dir_candidates

URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def find_aclimdb(data_dir=None) -> Path:
    """The extracted `aclImdb/` folder of a data directory."""
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for folder in candidates:
        if (folder / "aclImdb" / "train" / "pos").is_dir():
            return folder / "aclImdb"
    raise DataNotFoundError(f"aclImdb/ not found (looked in {', '.join(str(f) for f in candidates)}): download "
                            f"aclImdb_v1.tar.gz (84 MB) from {URL} and extract it into <data dir>/, where <data dir> "
                            "is --data-dir, $DLWP_DATA_DIR or ./data")
