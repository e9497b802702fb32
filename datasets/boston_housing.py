"""Boston housing prices (book section 3.7): 506 suburbs, 13 features, median price in thousands of dollars.

`load_boston_housing()` tries, in order:
1. a local `boston_housing/boston_housing.npz` (or `boston_housing.npz`), the
   Keras file (keys `x`, `y`), found by the data-directory search;
2. the normal Keras download (not when DLWP_OFFLINE=1);
3. offline, the copy of the same 506 rows that the `mlxtend` package ships
   (`mlxtend/data/data/boston_housing.csv`; we checked it equals Keras's file
   value for value, in the same order), announced with a banner.
Then it splits as Keras does: shuffle with RandomState(113), first 80 % for
training: 404 training and 102 test samples.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.paths import DataError, DataNotFoundError, download_failure, find_data_file

NPZ_PATHS = ["boston_housing/boston_housing.npz", "boston_housing.npz"]
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"
KERAS_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
HOW_TO_GET = (f"Download {KERAS_URL} (57 KB) and put it at <data dir>/boston_housing/boston_housing.npz, "
              "where <data dir> is --data-dir, $DLWP_DATA_DIR or ./data (or in ~/.keras/datasets/).")


@dataclass
class BostonHousing:
    train_data: np.ndarray  # (404, 13) float64
    train_targets: np.ndarray  # (404,) prices in thousands of dollars
    test_data: np.ndarray
    test_targets: np.ndarray
    source: str


def load_boston_housing(data_dir=None, test_split=0.2, seed=113):
    data = _load(data_dir, test_split, seed)
    print(f"Boston housing: {len(data.train_data)} training and {len(data.test_data)} test samples "
          f"from {data.source}")
    return data


@functools.lru_cache(maxsize=2)
def _load(data_dir, test_split, seed):
    path = find_data_file(NPZ_PATHS, data_dir) or _download()
    if path is not None:
        x, y = read_boston_npz(path)
        source = str(path)
    else:
        x, y = _mlxtend_copy()
        source = "the mlxtend package's copy of the same 506 rows (offline fallback)"
    return keras_split(x, y, test_split, seed, source)


def keras_split(x, y, test_split=0.2, seed=113, source=""):
    """Keras's boston_housing split: one RandomState(seed) shuffle, then the first (1 - test_split)."""
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n = int(len(x) * (1 - test_split))
    return BostonHousing(x[:n], y[:n], x[n:], y[n:], source)


def read_boston_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            x, y = f["x"], f["y"]
    except KeyError as e:
        raise DataError(f"{path}: missing key {e}; expected the Keras file's keys x and y") from None
    except Exception as e:
        raise DataError(f"{path}: cannot be read as an npz file ({e}); delete it or download it again") from None
    if x.ndim != 2 or x.shape[1] != 13 or len(x) != len(y):
        raise DataError(f"{path}: x has shape {x.shape} and y {y.shape}; expected (N, 13) and (N,)")
    return x, y


def _download():
    if os.environ.get("DLWP_OFFLINE"):
        return None
    import keras
    try:
        return keras.utils.get_file("boston_housing.npz", origin=KERAS_URL, file_hash=KERAS_HASH)
    except Exception as e:
        print(f"Boston housing: the download failed ({download_failure(e)})")
        return None


def _mlxtend_copy():
    try:
        import mlxtend
    except ImportError:
        raise DataNotFoundError("Boston housing: not found, not downloadable, and the offline copy needs the "
                                "mlxtend package (pip install -r requirements.txt). " + HOW_TO_GET) from None
    path = Path(mlxtend.__file__).parent / "data" / "data" / "boston_housing.csv"
    try:
        table = np.loadtxt(path, delimiter=",")
    except (OSError, ValueError) as e:
        raise DataNotFoundError(f"Boston housing: not found, and mlxtend's copy {path} is unreadable ({e}). "
                                + HOW_TO_GET) from None
    if table.shape != (506, 14):
        raise DataNotFoundError(f"Boston housing: mlxtend's copy has shape {table.shape}, not (506, 14). "
                                + HOW_TO_GET)
    print("Boston housing OFFLINE: Keras's boston_housing.npz was not found, so this run uses the copy of the "
          "same 506 rows shipped with mlxtend (identical values and order: the book's numbers apply).")
    return table[:, :13], table[:, 13]
