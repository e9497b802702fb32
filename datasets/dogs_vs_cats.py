"""Dogs vs. Cats, the book's small split: 2,000 training, 1,000 validation, 1,000 test pictures.

`find_cats_and_dogs_small()` looks, in order, for:
1. `cats_and_dogs_small/{train,validation,test}/{cats,dogs}/` in the data
   directories (--data-dir, $DLWP_DATA_DIR, ./data, the Keras cache), or a
   data directory that is itself that folder;
2. an original Kaggle training set, as a folder (`train/cat.0.jpg` ...) or
   the zip (`train.zip`, or the competition's `dogs-vs-cats.zip`), or
   Microsoft's `PetImages/{Cat,Dog}/N.jpg` copy of the same photos; from it
   it builds the book's split by copying files (cat.0-999 train, 1000-1499
   validation, 1500-1999 test, the same for dogs) into the Keras cache;
3. online (unless DLWP_OFFLINE=1), Microsoft's public PetImages zip,
   downloaded with keras.utils.get_file and split the same way;
4. otherwise it stops with a message: where it looked, what to download.

`load_split()` checks every image before TensorFlow sees it: corrupt,
truncated, empty and non-image files are skipped with a warning naming them;
grayscale, CMYK, RGBA, palette and mislabelled (PNG named .jpg) pictures are
converted to RGB. The user's folder is never written to: the clean view that
`image_dataset_from_directory` reads is a temporary folder of links to the
good files and of converted copies of the others.
"""

import atexit
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from datasets.paths import DataError, DataNotFoundError, data_dir_candidates, keras_cache_dir

SPLIT_FOLDER = "cats_and_dogs_small"
SPLITS = {"train": (0, 1000), "validation": (1000, 1500), "test": (1500, 2000)}  # file indices per class
CLASSES = ("cats", "dogs")  # alphabetical: cats -> 0, dogs -> 1, as in the book
KAGGLE_SOURCES = ["dogs-vs-cats/train", "train", "dogs-vs-cats/train.zip", "train.zip", "dogs-vs-cats.zip",
                  "kagglecatsanddogs_5340.zip", "PetImages"]
PETIMAGES_URL = ("https://download.microsoft.com/download/3/E/1/"
                 "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip")
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif"}
FORMAT_EXTENSIONS = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}, "BMP": {".bmp"}, "GIF": {".gif"}}

HOW_TO_GET_IT = (
    "put the book's split at <data dir>/cats_and_dogs_small/{train,validation,test}/{cats,dogs}/, or put "
    "Kaggle's train.zip (543 MB, https://www.kaggle.com/c/dogs-vs-cats/data, needs an account) or Microsoft's "
    f"kagglecatsanddogs_5340.zip (787 MB, {PETIMAGES_URL}), zipped or unpacked, in <data dir> and the split "
    "is built from it into ~/.keras/datasets/cats_and_dogs_small; <data dir> is --data-dir, $DLWP_DATA_DIR or ./data"
)


@dataclass
class SplitFolder:
    """One of train/validation/test, checked: the files to use and what was wrong with the others."""
    name: str
    view: Path  # a folder with {cats,dogs}/ that image_dataset_from_directory can read safely
    counts: dict  # class -> number of usable images
    skipped: list  # (path, reason)
    converted: list  # (path, reason)


# ---------------------------------------------------------------------------
# Finding (or building) the book's split
# ---------------------------------------------------------------------------

def find_cats_and_dogs_small(data_dir=None, allow_download=True):
    """The folder holding train/, validation/ and test/; see the module docstring."""
    for folder, _ in data_dir_candidates(data_dir):
        if (folder / SPLIT_FOLDER).is_dir():
            return folder / SPLIT_FOLDER
        if (folder / "train" / "cats").is_dir():  # --data-dir pointing at the split folder itself
            return folder
    for folder, _ in data_dir_candidates(data_dir):
        for relative in KAGGLE_SOURCES:
            source = folder / relative
            if source.exists():
                return build_book_split(source, keras_cache_dir() / SPLIT_FOLDER)
    if allow_download and os.environ.get("DLWP_OFFLINE") != "1":
        return build_book_split(download_petimages(), keras_cache_dir() / SPLIT_FOLDER)
    looked = ", ".join(str(folder) for folder, _ in data_dir_candidates(data_dir))
    raise DataNotFoundError(f"Dogs vs. Cats not found (looked in {looked} for {SPLIT_FOLDER}/, train/, train.zip, "
                            f"dogs-vs-cats.zip, kagglecatsanddogs_5340.zip, PetImages/). To fix: {HOW_TO_GET_IT}")


def download_petimages():
    import keras

    try:
        path = keras.utils.get_file("kagglecatsanddogs_5340.zip", PETIMAGES_URL)
    except Exception as e:  # no network, proxy, server gone...
        raise DataNotFoundError(f"could not download {PETIMAGES_URL} ({e}). Instead: {HOW_TO_GET_IT}") from None
    return Path(path)


def _source_index(name):
    """('cats', 12) for Kaggle's cat.12.jpg or PetImages' Cat/12.jpg, else None."""
    match = re.search(r"(?:^|/)(cat|dog)\.(\d+)\.jpg$", name, re.IGNORECASE)
    if match:
        return match.group(1).lower() + "s", int(match.group(2))
    match = re.search(r"(?:^|/)(Cat|Dog)/(\d+)\.jpg$", name)
    if match:
        return match.group(1).lower() + "s", int(match.group(2))
    return None


def build_book_split(source, destination):
    """Copy the book's 4,000 files from a Kaggle folder or zip into `destination`.

    Files keep Kaggle's names (cat.0.jpg ...). The copy is made in a
    temporary folder and renamed at the end, so an interrupted build never
    leaves half a split behind. The source is only read.
    """
    source, destination = Path(source), Path(destination)
    wanted = {}  # (class, index) -> how to read it
    if source.is_dir():
        for path in source.rglob("*.jpg"):
            key = _source_index(path.relative_to(source).as_posix())
            if key:
                wanted.setdefault(key, path)
    elif zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        inner = [n for n in archive.namelist() if n.endswith(".zip") and n.rsplit("/", 1)[-1] == "train.zip"]
        if inner:  # the competition's dogs-vs-cats.zip holds train.zip
            archive = zipfile.ZipFile(archive.open(inner[0]))
        for name in archive.namelist():
            key = _source_index(name)
            if key:
                wanted.setdefault(key, (archive, name))
    else:
        raise DataError(f"{source} is neither a folder nor a zip file. To fix: {HOW_TO_GET_IT}")

    needed = max(stop for _, stop in SPLITS.values())  # cat.0 ... cat.1999 and the same for dogs
    missing = [f"{c[:-1]}.{i}" for c in CLASSES for i in range(needed) if (c, i) not in wanted]
    if missing:
        raise DataError(f"{source} lacks {len(missing)} of the {needed * 2:,} pictures the book uses "
                        f"(e.g. {', '.join(missing[:3])}); is it Kaggle's Dogs vs. Cats training set? "
                        f"To fix: {HOW_TO_GET_IT}")
    print(f"Building the book's split from {source} into {destination}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=destination.parent))
    for split, (start, stop) in SPLITS.items():
        for label in CLASSES:
            folder = work / split / label
            folder.mkdir(parents=True)
            for index in range(start, stop):
                origin = wanted[(label, index)]
                target = folder / f"{label[:-1]}.{index}.jpg"
                if isinstance(origin, Path):
                    shutil.copyfile(origin, target)
                else:
                    archive, name = origin
                    with archive.open(name) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
    if destination.exists():  # someone built it meanwhile; keep theirs
        shutil.rmtree(work)
    else:
        os.replace(work, destination)
    return destination


# ---------------------------------------------------------------------------
# Checking the images, and the clean view TensorFlow reads
# ---------------------------------------------------------------------------

def inspect_image(path):
    """None if TensorFlow can read `path` as it is, 'convert: why' if it must be converted, or 'skip: why'."""
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        return "skip: empty file"
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 megapixels and refuses above twice that: both are skipped unread.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()  # decodes every pixel: catches truncated and corrupt files
                kind, mode = image.format, image.mode
    except UnidentifiedImageError:
        return "skip: not an image"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return "skip: too large to decode safely (a decompression bomb?)"
    except (OSError, SyntaxError, ValueError) as e:
        return f"skip: corrupt or truncated ({e})"
    if kind not in FORMAT_EXTENSIONS:
        return f"convert: {kind} image"
    if path.suffix.lower() not in FORMAT_EXTENSIONS[kind]:
        return f"convert: {kind} image named {path.suffix}"
    if mode != "RGB":
        return f"convert: {mode} image, not RGB"
    return None


def convert_to_rgb_jpeg(path, target):
    """Write an RGB JPEG copy of `path` as the new file `target` ("xb": never through an existing name or link)."""
    from PIL import Image

    with Image.open(path) as image, open(target, "xb") as out:
        image.convert("RGB").save(out, format="JPEG", quality=95)


def _link_or_copy(path, target):
    try:
        os.symlink(path.resolve(), target)
    except FileExistsError:
        raise
    except OSError:  # e.g. Windows without the right to make links
        with open(path, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst)


_views = []


def _cleanup_views():
    for folder in _views:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_cleanup_views)


def load_split(root, split, limit_per_class=None):
    """Check the images of `root/split/{cats,dogs}` and return a SplitFolder with a clean view of them.

    `limit_per_class` keeps the first N files of each class (sorted by the
    book's index), for --quick runs.
    """
    folder = Path(root) / split
    if not folder.is_dir():
        raise DataError(f"{folder} does not exist; expected {root}/{{train,validation,test}}/{{cats,dogs}}/")
    if not _views:
        _views.append(Path(tempfile.mkdtemp(prefix="dlwp-cats-dogs-")))
    view = Path(tempfile.mkdtemp(prefix=f"{split}-", dir=_views[0]))
    counts, skipped, converted = {}, [], []
    for label in CLASSES:
        files = sorted((p for p in (folder / label).glob("*") if p.is_file() and not p.name.startswith(".")),
                       key=natural_key) if (folder / label).is_dir() else []
        if limit_per_class:
            files = files[:limit_per_class]
        (view / label).mkdir()
        usable = 0
        for path in files:
            verdict = inspect_image(path) if path.suffix.lower() in IMAGE_EXTENSIONS else "skip: not an image file"
            if verdict is None:
                _link_or_copy(path, view / label / path.name)  # names in one folder are unique
            elif verdict.startswith("convert"):
                # Its own name (cat.5.png -> cat.5.png.converted.jpg), so that it can never
                # replace, or be replaced by, the picture called cat.5.jpg.
                convert_to_rgb_jpeg(path, view / label / f"{path.name}.converted.jpg")
                converted.append((path, verdict[len("convert: "):]))
            else:
                skipped.append((path, verdict[len("skip: "):]))
                continue
            usable += 1
        counts[label] = usable
    for path, why in skipped:
        warnings.warn(f"skipping {path}: {why}", stacklevel=2)
    for path, why in converted:
        warnings.warn(f"converted {path} to RGB for this run ({why}); the file itself is unchanged", stacklevel=2)
    empty = [label for label, n in counts.items() if n == 0]
    if len(empty) == len(CLASSES):
        raise DataError(f"{folder} has no usable images in {'/ or '.join(CLASSES)}/")
    if empty:
        raise DataError(f"{folder} has images of one class only: {folder / empty[0]} has none; "
                        f"a binary classifier needs both {' and '.join(CLASSES)}")
    return SplitFolder(split, view, counts, skipped, converted)


def natural_key(path):
    """cat.2.jpg before cat.10.jpg."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


# ---------------------------------------------------------------------------
# tf.data pipelines
# ---------------------------------------------------------------------------

def make_dataset(split_folder, image_size, batch_size, shuffle=False, seed=None, augmentation=None, scale=True):
    """Decoded images, cached in memory as uint8, then shuffled, batched, augmented and prefetched.

    The decoding and resizing happen once (first epoch); later epochs read the
    cache. Augmentation runs on batches in the pipeline, in parallel with the
    training step, so the model summary stays the book's. `scale` divides by
    255, as the 1st edition's ImageDataGenerator(rescale=1./255) did.
    """
    import keras
    import tensorflow as tf

    images = keras.utils.image_dataset_from_directory(
        split_folder.view, labels="inferred", label_mode="binary", class_names=list(CLASSES),
        image_size=image_size, batch_size=None, shuffle=False, verbose=False)
    # Resized images are floats in [0, 255]: storing them as uint8 makes the cache 4x smaller.
    images = images.map(lambda x, y: (tf.saturate_cast(tf.round(x), tf.uint8), y),
                        num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        images = images.shuffle(sum(split_folder.counts.values()), seed=seed, reshuffle_each_iteration=True)
    batches = images.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
    if augmentation is not None:
        batches = batches.map(lambda x, y: (augmentation(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    if scale:
        batches = batches.map(lambda x, y: (x / 255.0, y))
    return batches.prefetch(tf.data.AUTOTUNE)


def describe(split_folder):
    counts = ", ".join(f"{n:,} {label}" for label, n in split_folder.counts.items())
    extra = []
    if split_folder.skipped:
        extra.append(f"{len(split_folder.skipped)} skipped")
    if split_folder.converted:
        extra.append(f"{len(split_folder.converted)} converted")
    return f"{split_folder.name}: {counts}" + (f" ({', '.join(extra)})" if extra else "")
