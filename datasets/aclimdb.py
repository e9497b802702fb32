"""The raw IMDB reviews (Large Movie Review Dataset v1.0, `aclImdb_v1.tar.gz`): 50,000 labelled text files.

    aclImdb/train/{neg,pos}/<id>_<rating>.txt    12,500 + 12,500
    aclImdb/test/{neg,pos}/<id>_<rating>.txt     12,500 + 12,500
    aclImdb/train/unsup/                         50,000 unlabelled reviews (in the official archive only)

`find_aclimdb()` returns the extracted `aclImdb/` folder. It looks, in order, for:
1. an extracted `aclImdb/` folder in the data directories (or a data directory that is itself one);
2. the archive `aclImdb_v1.tar.gz` in a data directory (also under `aclImdb/` or `imdb/`), extracted
   into the Keras cache (never beside the archive: the user's folders are only read);
3. online (unless DLWP_OFFLINE=1), the download from Stanford into the Keras cache, then the same extraction;
and otherwise stops with one line naming the archive, its size, its address and where to put it.

The 1st edition (6.1) reads `train/` and `test/` itself (`read_reviews`). The
2nd edition (chapter 11) moves 20% of `train/` into a `val/` folder, chosen with
`random.Random(1337)`; `build_validation_split()` makes that split as a copy in
the Keras cache, so the user's folder is never changed, and `text_datasets()`
reads the three folders with `keras.utils.text_dataset_from_directory`;
`review_datasets()` finds them and keeps a few batches for --quick, and
`int_sequence_datasets()` turns the reviews into word indices (11.3.3, 11.4).
"""

import hashlib
import json
import os
import random
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from datasets.arrays import without_autotuning
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

FOLDER = "aclImdb"
ARCHIVE = "aclImdb_v1.tar.gz"
URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
ARCHIVE_SIZE = "84 MB"
CLASSES = ("neg", "pos")  # label 0, label 1 (the book's order)
LABELLED_FOLDERS = [f"{split}/{label}" for split in ("train", "test") for label in CLASSES]
ARCHIVE_PLACES = [ARCHIVE, f"{FOLDER}/{ARCHIVE}", f"imdb/{ARCHIVE}"]
VALIDATION_SEED = 1337  # the 2nd edition's random.Random(1337)
VALIDATION_FRACTION = 0.2


def how_to_get():
    return (f"download {ARCHIVE} ({ARCHIVE_SIZE}) from {URL} and put it (or the {FOLDER}/ folder it holds) in "
            f"<data dir>/, where <data dir> is --data-dir, $DLWP_DATA_DIR or ./data, or in {keras_cache_dir()}/")


def is_aclimdb(folder):
    """True for a folder with the four labelled folders of the archive."""
    return all((Path(folder) / part).is_dir() for part in LABELLED_FOLDERS)


def find_aclimdb(data_dir=None):
    """The extracted `aclImdb/` folder: found, extracted from the archive into the Keras cache, or downloaded.

    Raises DataNotFoundError (one line: what to download and where to put it) when there is none.
    """
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for folder in candidates:
        for path in (folder / FOLDER, folder):  # also a data directory that is the aclImdb folder itself
            if is_aclimdb(path):
                return path
    for folder in candidates:
        for relative in ARCHIVE_PLACES:
            if (folder / relative).is_file():
                return extract_archive(folder / relative, keras_cache_dir())
    if not os.environ.get("DLWP_OFFLINE"):
        import keras

        try:
            archive = keras.utils.get_file(ARCHIVE, URL)
        except Exception as e:  # no network, a proxy, the server gone...
            reason = download_failure(e)
            raise DataNotFoundError(f"the IMDB reviews could not be downloaded ({reason}): {how_to_get()}") from None
        return extract_archive(archive, keras_cache_dir())
    looked = ", ".join(str(folder) for folder in candidates)
    raise DataNotFoundError(f"the raw IMDB reviews were not found (looked in {looked} for {FOLDER}/ and {ARCHIVE}); "
                            f"{how_to_get()}")


def extract_archive(archive, destination):
    """Extract `archive` into `destination`/aclImdb, atomically (a temporary folder renamed at the end)."""
    target = Path(destination) / FOLDER
    if is_aclimdb(target):
        return target
    print(f"Extracting {archive} into {target}")
    work = None
    try:
        Path(destination).mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".aclimdb-", dir=destination))
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                # Only the archive's own files: no links, nothing outside aclImdb/ (a crafted archive).
                if not member.isfile() or not is_inside_folder(member):
                    continue
                out = work.joinpath(*PurePosixPath(member.name).parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        if not is_aclimdb(work / FOLDER):
            raise DataError(f"{archive}: no {FOLDER}/train/{{neg,pos}} and {FOLDER}/test/{{neg,pos}} inside; "
                            f"is it {ARCHIVE} from {URL}?")
        if not is_aclimdb(target):  # another run may have extracted it meanwhile
            if target.exists():
                shutil.rmtree(target)  # an unusable leftover
            os.replace(work / FOLDER, target)
    except ARCHIVE_FAULTS as e:
        raise DataError(f"{archive}: cannot be read as {ARCHIVE} ({type(e).__name__}: {e}); delete it and "
                        f"{how_to_get()}") from None
    except OSError as e:  # a full or read-only Keras cache: the archive is not at fault
        raise extraction_failure(e, archive, target, tar_payload_bytes(archive, is_inside_folder)) from None
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)  # a half extraction never becomes the folder
    return target


def is_inside_folder(member):
    """True for an archive member under aclImdb/ that does not climb out of it."""
    parts = PurePosixPath(member.name).parts
    return bool(parts) and parts[0] == FOLDER and ".." not in parts


def review_files(folder, limit_per_class=None):
    """[(path, label)] of `folder`/{neg,pos}/*.txt, sorted by name within each class (neg first)."""
    files = []
    for label, name in enumerate(CLASSES):
        paths = sorted((Path(folder) / name).glob("*.txt"))
        files += [(path, label) for path in paths[:limit_per_class]]
    return files


def read_reviews(root, split, limit_per_class=None):
    """(texts, labels) of `root`/`split`/{neg,pos}: the 1st edition's loop over the files, in a fixed order."""
    texts, labels = [], []
    for path, label in review_files(Path(root) / split, limit_per_class):
        texts.append(path.read_text(encoding="utf-8", errors="replace"))
        labels.append(label)
    if not texts:
        raise DataError(f"{Path(root) / split}: no reviews in neg/ and pos/; {how_to_get()}")
    return texts, labels


# ---------------------------------------------------------------------------
# The 2nd edition's split: 20% of train/ set apart as val/, in a copy
# ---------------------------------------------------------------------------

def validation_files(names, seed=VALIDATION_SEED, fraction=VALIDATION_FRACTION):
    """The names the 2nd edition moves to val/: shuffled with random.Random(seed), the last `fraction` of them.

    The book shuffles os.listdir's order, which depends on the file system; we
    shuffle the sorted names, so the split is the same on every machine.
    """
    names = sorted(names)
    random.Random(seed).shuffle(names)
    count = int(fraction * len(names))
    return set(names[-count:]) if count else set()


def build_validation_split(root, destination=None, seed=VALIDATION_SEED):
    """train/ and val/ folders ({neg,pos} in each) made from `root`/train as the 2nd edition splits it.

    The files are copied into `destination` (default: a folder in the Keras
    cache named after the source), built in a temporary folder and renamed when
    complete; `root` is only read. The test reviews stay where they are.
    """
    root = Path(root).resolve()
    key = hashlib.sha1(f"{root}|{seed}".encode()).hexdigest()[:10]
    destination = Path(destination or keras_cache_dir() / f"{FOLDER}_train_val_{seed}_{key}")
    if (destination / "split.json").is_file():
        return destination
    print(f"Setting 20% of {root / 'train'} apart for validation (random.Random({seed})), copied into {destination}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=destination.parent))
    try:
        counts = {}
        for label in CLASSES:
            names = [p.name for p in (root / "train" / label).glob("*.txt")]
            held_out = validation_files(names, seed)
            for split in ("train", "val"):
                (work / split / label).mkdir(parents=True)
            for name in names:
                split = "val" if name in held_out else "train"
                shutil.copyfile(root / "train" / label / name, work / split / label / name)
            counts[label] = {"train": len(names) - len(held_out), "val": len(held_out)}
        (work / "split.json").write_text(json.dumps({"source": str(root), "seed": seed, "counts": counts}, indent=2))
        if not (destination / "split.json").is_file():
            if destination.exists():
                shutil.rmtree(destination)  # an unfinished leftover
            os.replace(work, destination)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return destination


def text_datasets(root, batch_size=32, seed=None, split_folder=None):
    """(train, val, test) as the 2nd edition reads them: `text_dataset_from_directory`, (string, int32 label) batches.

    Train and val come from the split copy, test from `root`/test; the class
    names are given, so a train/unsup folder is never read as a third class.
    """
    import keras

    split_folder = split_folder or build_validation_split(root)
    # shuffle=True for all three, as the book's calls (its default): the files come sorted, negatives first, so the
    # first batches of an unshuffled val or test folder hold one class only (what --quick keeps).
    read = dict(batch_size=batch_size, class_names=list(CLASSES), seed=seed, shuffle=True)
    train = keras.utils.text_dataset_from_directory(Path(split_folder) / "train", **read)
    val = keras.utils.text_dataset_from_directory(Path(split_folder) / "val", **read)
    test = keras.utils.text_dataset_from_directory(Path(root) / "test", **read)
    return train, val, test


BATCH_SIZE = 32  # text_dataset_from_directory's batches (the 2nd edition's)
QUICK_BATCHES = {"train": 2, "val": 1, "test": 1}  # --quick: a few batches of the shuffled reviews


def review_datasets(data_dir=None, batch_size=BATCH_SIZE, seed=None, quick=False):
    """(train, val, test) of (review text, label) batches: 20,000 reviews to train on, 5,000 set apart for
    validation, 25,000 to test, as the 2nd edition reads them. `quick`: QUICK_BATCHES of each; val and test the
    same ones every epoch (both classes: the files are shuffled)."""
    train, val, test = text_datasets(find_aclimdb(data_dir), batch_size=batch_size, seed=seed)
    if quick:
        train = train.take(QUICK_BATCHES["train"])
        val, test = val.take(QUICK_BATCHES["val"]).cache(), test.take(QUICK_BATCHES["test"]).cache()
    return train, val, test


def int_sequence_datasets(max_tokens, max_length, data_dir=None, batch_size=BATCH_SIZE, seed=None, quick=False):
    """(train, val, test, vectorizer): the reviews as their first `max_length` word indices of `max_tokens`
    (padded with zeros), the 2nd edition's TextVectorization(output_mode="int") learned on the training reviews.

    The indices are computed once and cached; each epoch then takes the cached batches in a new order.
    """
    import keras

    train, val, test = review_datasets(data_dir, batch_size, seed, quick)
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                                output_sequence_length=max_length)
    vectorizer.adapt(train.map(lambda x, y: x))

    def vectorized(dataset, shuffle=False):
        dataset = dataset.map(lambda x, y: (vectorizer(x), y), num_parallel_calls=4).cache()
        if shuffle:
            dataset = dataset.shuffle(1024, seed=seed, reshuffle_each_iteration=True)
        return without_autotuning(dataset.prefetch(2))

    return vectorized(train, shuffle=True), vectorized(val), vectorized(test), vectorizer
