"""CIFAR-10: 50,000 training and 10,000 test colour pictures, 32x32, in 10 classes.

`load_cifar10()` looks, in order, for:
1. the extracted `cifar-10-batches-py/` folder (the Keras cache keeps it as
   ~/.keras/datasets/cifar-10-batches-py) in the data directories, also under
   `cifar10/`;
2. the archive `cifar-10-python.tar.gz` in a data directory (also under
   `cifar10/`), which it extracts into the Keras cache (never next to the
   archive: the user's folders are only read);
3. online (unless DLWP_OFFLINE=1), the download that Keras's
   `cifar10.load_data()` makes;
and otherwise stops with one line naming the file, its size, md5 and address.

The batches are Python pickles of {b"data": (10000, 3072) uint8 with the red,
green and blue planes one after another, b"labels": [10000 ints]}; we return
(N, 32, 32, 3) uint8 pictures and (N,) uint8 labels, as Keras does.
"""

import os
import pickle
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.paths import (
    ARCHIVE_FAULTS,
    DataError,
    DataNotFoundError,
    data_dir_candidates,
    download_failure,
    extraction_failure,
    keras_cache_dir,
    tar_payload_bytes,
)

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_SIZE = "163 MB"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"


@dataclass
class Cifar10:
    train_images: np.ndarray  # (N, 32, 32, 3) uint8
    train_labels: np.ndarray  # (N,) uint8, 0-9 (CLASS_NAMES)
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def head(self, n_train, n_test):
        """The first pictures only (for --quick runs)."""
        return Cifar10(self.train_images[:n_train], self.train_labels[:n_train], self.test_images[:n_test],
                       self.test_labels[:n_test], self.source + f" (first {n_train:,} / {n_test:,})")


def how_to_get():
    return (f"download {ARCHIVE} ({ARCHIVE_SIZE}, md5 {ARCHIVE_MD5}) from {URL} and put it (or the "
            f"{FOLDER}/ folder it holds) in <data dir>/cifar10/, where <data dir> is --data-dir, $DLWP_DATA_DIR "
            f"or ./data, or in {keras_cache_dir()}/")


def load_cifar10(data_dir=None, subset=None):
    """The CIFAR-10 split as keras.datasets.cifar10.load_data() returns it; `subset` (n_train, n_test) keeps less."""
    folder = find_cifar10(data_dir)
    train = [read_batch(folder / name) for name in TRAIN_BATCHES]
    test_images, test_labels = read_batch(folder / TEST_BATCH)
    cifar = Cifar10(np.concatenate([images for images, _ in train]), np.concatenate([labels for _, labels in train]),
                    test_images, test_labels, source=str(folder))
    if subset:
        cifar = cifar.head(*subset)
    print(f"CIFAR-10: {len(cifar.train_images):,} training and {len(cifar.test_images):,} test pictures "
          f"from {cifar.source}")
    return cifar


def find_cifar10(data_dir=None, allow_download=True):
    """The `cifar-10-batches-py` folder: found, extracted from the archive, or downloaded."""
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for folder in candidates:
        for path in (folder / FOLDER, folder / "cifar10" / FOLDER):
            if (path / TEST_BATCH).is_file():
                return path
    for folder in candidates:
        for archive in (folder / ARCHIVE, folder / "cifar10" / ARCHIVE):
            if archive.is_file():
                return extract_archive(archive, keras_cache_dir())
    if allow_download and not os.environ.get("DLWP_OFFLINE"):
        import keras

        try:
            # What keras.datasets.cifar10.load_data() does: download and extract into the Keras cache.
            path = keras.utils.get_file(FOLDER, URL, extract=True, file_hash=ARCHIVE_MD5)
            found = next(Path(path).rglob(TEST_BATCH), None)
            if found is not None:
                return found.parent
        except Exception as e:  # no network, a proxy, a failed hash check...
            reason = download_failure(e)
            raise DataNotFoundError(f"CIFAR-10 could not be downloaded ({reason}): {how_to_get()}") from None
    looked = ", ".join(str(folder) for folder in candidates)
    raise DataNotFoundError(f"CIFAR-10 not found (looked in {looked} for {FOLDER}/ and {ARCHIVE}): {how_to_get()}")


def extract_archive(archive, destination):
    """Extract the batches of `archive` into `destination`/cifar-10-batches-py (atomically, by a rename)."""
    target = Path(destination) / FOLDER
    if (target / TEST_BATCH).is_file():
        return target
    print(f"Extracting {archive} into {target}")
    work, members = None, None
    try:
        Path(destination).mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".cifar-", dir=destination))
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and in_batches_folder(m)]
            if not any(Path(m.name).name == TEST_BATCH for m in members):
                raise DataError(f"{archive}: no {FOLDER}/{TEST_BATCH} inside; is it {ARCHIVE} from {URL}?")
            for member in members:
                with tar.extractfile(member) as src:
                    (work / Path(member.name).name).write_bytes(src.read())
        if not (target / TEST_BATCH).is_file():  # another run may have extracted it meanwhile
            os.replace(work, target)
    except ARCHIVE_FAULTS as e:
        raise DataError(f"{archive}: cannot be read as {ARCHIVE} ({type(e).__name__}: {e}); "
                        f"delete it and {how_to_get()}") from None
    except OSError as e:  # a full or read-only Keras cache: the archive is not at fault
        needed = sum(m.size for m in members) if members else tar_payload_bytes(archive, in_batches_folder)
        raise extraction_failure(e, archive, target, needed) from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)  # a half extraction never becomes the folder
    return target


def in_batches_folder(member):
    return Path(member.name).parent.name == FOLDER


def read_batch(path):
    """One pickled batch -> ((N, 32, 32, 3) uint8 pictures, (N,) uint8 labels)."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except FileNotFoundError:
        raise DataNotFoundError(f"{path} is missing: the CIFAR-10 folder is incomplete; {how_to_get()}") from None
    except Exception as e:  # truncated, not a pickle, missing keys
        raise DataError(f"{path}: not a CIFAR-10 batch ({type(e).__name__}); delete the folder and "
                        f"{how_to_get()}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"{path}: {data.shape} pixels for {len(labels)} labels; expected (N, 3072) and N labels")
    outside = np.unique(labels[(labels < 0) | (labels >= len(CLASS_NAMES))])
    if len(outside):
        raise DataError(f"{path}: labels {', '.join(map(str, outside[:5]))} outside 0-{len(CLASS_NAMES) - 1}; "
                        "not a CIFAR-10 batch")
    # Each row holds the red plane, then the green, then the blue: channels first, then move them last.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.uint8)
