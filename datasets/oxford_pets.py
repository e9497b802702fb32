"""The Oxford-IIIT Pet dataset for 2nd ed. 9.2: 7,390 pictures of cats and dogs, each with a trimap.

A trimap is a PNG the size of its picture whose pixels say 1 (the animal),
2 (the background) or 3 (the contour between them). The book turns them into
the classes 0, 1, 2 and resizes pictures and trimaps to 200x200 (nearest
pixel, as `keras.utils.load_img` does, so that trimaps keep their values).

`find_oxford_pets()` looks in the data directories (--data-dir,
$DLWP_DATA_DIR, ./data, the Keras cache), in `<dir>/oxford_pets/` and in
`<dir>/` itself, for:
1. the folders `images/*.jpg` and `annotations/trimaps/*.png`, as the two
   archives unpack;
2. the two archives `images.tar.gz` and `annotations.tar.gz`, which it
   unpacks into the Keras cache (`~/.keras/datasets/oxford_pets/`), never
   beside them;
3. online (unless DLWP_OFFLINE=1), the same archives from the Visual Geometry
   Group's site, through keras.utils.get_file;
4. otherwise it stops with one line: what to download, from where, and where
   to put it.

The book's split: the sorted pictures (and their trimaps, in the same order)
are shuffled with `random.Random(1337)`; the last 1,000 are for validation.
"""

import os
import random
import shutil
import tarfile
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.paths import DataError, DataNotFoundError, data_dir_candidates, download_failure, keras_cache_dir

FOLDER = "oxford_pets"
SITE = "https://www.robots.ox.ac.uk/~vgg/data/pets/"
ARCHIVES = {"images": "images.tar.gz", "annotations": "annotations.tar.gz"}  # the folder each archive unpacks to
IMAGE_SIZE = (200, 200)
BOOK_PAIRS = 7_390
VALIDATION_PAIRS = 1_000  # the book's: the last 1,000 of the shuffled pairs
SHUFFLE_SEED = 1337
TRIMAP_CLASSES = ("foreground", "background", "contour")  # trimap values 1, 2, 3 -> classes 0, 1, 2

HOW_TO_GET_IT = (f"download images.tar.gz (~790 MB) and annotations.tar.gz (~19 MB) from {SITE} into "
                 "<data dir>/oxford_pets/ (packed or unpacked); <data dir> is --data-dir, $DLWP_DATA_DIR or ./data")


# ---------------------------------------------------------------------------
# Finding the data (or unpacking it into the Keras cache)
# ---------------------------------------------------------------------------

def find_oxford_pets(data_dir=None, allow_download=True):
    """The folder that holds images/ and annotations/trimaps/; see the module docstring."""
    roots = [root for folder, _ in data_dir_candidates(data_dir) for root in (folder / FOLDER, folder)]
    for root in roots:
        if (root / "images").is_dir() and (root / "annotations" / "trimaps").is_dir():
            return root
    for root in roots:
        archives = {name: root / archive for name, archive in ARCHIVES.items()}
        if all(path.is_file() for path in archives.values()):
            return unpack_archives(archives, keras_cache_dir() / FOLDER)
    if allow_download and os.environ.get("DLWP_OFFLINE") != "1":
        return unpack_archives(download_archives(), keras_cache_dir() / FOLDER)
    looked = ", ".join(str(root) for root in roots)
    raise DataNotFoundError(f"Oxford-IIIT Pets not found (looked in {looked} for images/ with annotations/trimaps/, "
                            f"or for images.tar.gz with annotations.tar.gz); to fix: {HOW_TO_GET_IT}")


def download_archives():
    import keras

    archives = {}
    keras_cache_dir().mkdir(parents=True, exist_ok=True)  # else get_file falls back to /tmp/.keras
    for name, archive in ARCHIVES.items():
        try:
            archives[name] = Path(keras.utils.get_file(archive, f"{SITE}data/{archive}", cache_dir=keras_cache_dir(),
                                                       cache_subdir=FOLDER))  # ~/.keras/datasets/oxford_pets/
        except Exception as e:  # no network, a proxy, the server gone...
            raise DataNotFoundError(f"Oxford-IIIT Pets could not be downloaded ({download_failure(e)}); instead, "
                                    f"{HOW_TO_GET_IT}") from None
    return archives


def unpack_archives(archives, destination):
    """Unpack each archive's top folder (images/, annotations/) into `destination`, once.

    Each archive is unpacked into a temporary folder beside the destination and
    renamed into place, so that an interrupted unpacking never leaves half a
    folder that a later run would take for the whole. The archives are only read.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for name, archive in archives.items():
        if (destination / name).is_dir():
            continue
        print(f"Unpacking {archive} into {destination}")
        work = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=destination))
        try:
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(work, filter="data")  # no absolute paths, links or devices
            except (tarfile.TarError, EOFError, OSError) as e:
                raise DataError(f"{archive}: not a complete tar.gz archive ({e}); {HOW_TO_GET_IT}") from None
            if not (work / name).is_dir():
                raise DataError(f"{archive} has no {name}/ folder: is it the Oxford-IIIT Pets {archive.name}? "
                                f"{HOW_TO_GET_IT}")
            try:
                os.replace(work / name, destination / name)
            except OSError:
                if not (destination / name).is_dir():  # else another run unpacked it meanwhile: keep theirs
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return destination


# ---------------------------------------------------------------------------
# Pictures, trimaps and the book's split
# ---------------------------------------------------------------------------

def image_trimap_pairs(root):
    """(picture, trimap) paths in the book's order: the pictures sorted by name, each with the trimap of its name.

    The book lists both folders and sorts each; pairing by name gives the same
    order and cannot pair a picture with another one's trimap when a file is
    missing (macOS's ._ files are left out, as in the book).
    """
    root = Path(root)
    pictures = sorted((p for p in (root / "images").iterdir() if p.name.endswith(".jpg")
                       and not p.name.startswith(".")), key=lambda p: p.name)
    trimaps = {p.stem: p for p in (root / "annotations" / "trimaps").iterdir()
               if p.name.endswith(".png") and not p.name.startswith(".")}
    pairs = [(picture, trimaps[picture.stem]) for picture in pictures if picture.stem in trimaps]
    without = len(pictures) - len(pairs)
    if without:
        warnings.warn(f"{without} pictures in {root / 'images'} have no trimap in "
                      f"{root / 'annotations' / 'trimaps'} and are left out", stacklevel=2)
    if not pairs:
        raise DataError(f"{root}: no picture in images/ has its trimap in annotations/trimaps/ "
                        f"(expected {BOOK_PAIRS:,} pairs such as images/Abyssinian_1.jpg with "
                        f"annotations/trimaps/Abyssinian_1.png); {HOW_TO_GET_IT}")
    return pairs


def validation_size(pairs_count):
    """The book's 1,000, or a fifth of a smaller copy of the data (which cannot spare 1,000)."""
    return VALIDATION_PAIRS if pairs_count >= 2 * VALIDATION_PAIRS else pairs_count // 5


def book_split(pairs, seed=SHUFFLE_SEED):
    """(training, validation): the pairs shuffled with random.Random(1337), the last 1,000 for validation.

    The book shuffles the pictures and the trimaps with two generators of the
    same seed; a shuffle's swaps depend only on the length, so shuffling the
    pairs once gives the same order.
    """
    order = list(pairs)
    random.Random(seed).shuffle(order)
    validation = validation_size(len(order))
    if validation == 0:
        raise DataError(f"only {len(order)} picture/trimap pairs: too few to keep some for validation "
                        f"(the book's dataset has {BOOK_PAIRS:,}); {HOW_TO_GET_IT}")
    return order[:-validation], order[-validation:]


@dataclass
class SegmentationData:
    """Pictures as (N, 200, 200, 3) uint8 and targets as (N, 200, 200, 1) uint8 classes 0, 1, 2, per split."""
    root: Path
    pairs: int  # picture/trimap pairs found
    train_images: np.ndarray
    train_targets: np.ndarray
    validation_images: np.ndarray
    validation_targets: np.ndarray
    skipped: list  # (path, why)


def path_to_input_image(path, image_size=IMAGE_SIZE):
    """The book's: RGB, resized to 200x200 by keras.utils.load_img (nearest pixel)."""
    import keras

    return keras.utils.img_to_array(keras.utils.load_img(path, target_size=image_size), dtype="uint8")


def path_to_target(path, image_size=IMAGE_SIZE):
    """The book's: the trimap in grayscale, resized the same way, minus 1 (values 1, 2, 3 -> classes 0, 1, 2)."""
    import keras

    trimap = keras.utils.img_to_array(keras.utils.load_img(path, target_size=image_size, color_mode="grayscale"),
                                      dtype="uint8")
    values = np.unique(trimap)
    if not set(values.tolist()) <= {1, 2, 3}:
        raise DataError(f"{path}: a trimap has the values 1, 2 and 3 only, this one has {values.tolist()[:8]}")
    return trimap - 1


def load_pairs(pairs, image_size=IMAGE_SIZE):
    """Decode the pairs into arrays; unreadable pictures or trimaps are left out, with a warning naming them."""
    from PIL import UnidentifiedImageError

    images = np.zeros((len(pairs), *image_size, 3), dtype="uint8")
    targets = np.zeros((len(pairs), *image_size, 1), dtype="uint8")
    kept, skipped = 0, []
    for picture, trimap in pairs:
        try:
            images[kept] = path_to_input_image(picture, image_size)
            targets[kept] = path_to_target(trimap, image_size)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:  # corrupt or truncated files
            skipped.append((picture, f"{picture.name} or {trimap.name} unreadable: {str(e)[:100]}"))
            continue
        kept += 1
    for path, why in skipped:
        warnings.warn(f"skipping {path}: {why}", stacklevel=2)
    return images[:kept], targets[:kept], skipped


def load_oxford_pets(data_dir=None, limit_train=None, limit_validation=None, image_size=IMAGE_SIZE):
    """The book's split, decoded; `limit_*` keep the first pairs of each split (for --quick)."""
    root = find_oxford_pets(data_dir)
    pairs = image_trimap_pairs(root)
    train, validation = book_split(pairs)
    train_images, train_targets, skipped = load_pairs(train[:limit_train], image_size)
    validation_images, validation_targets, more = load_pairs(validation[:limit_validation], image_size)
    if len(train_images) == 0 or len(validation_images) == 0:
        raise DataError(f"{root}: no readable picture/trimap pair in the "
                        f"{'training' if len(train_images) == 0 else 'validation'} split; {HOW_TO_GET_IT}")
    return SegmentationData(root, len(pairs), train_images, train_targets, validation_images, validation_targets,
                            skipped + more)


def make_dataset(images, targets, batch_size, shuffle=False, seed=None):
    """Batches of (float32 pictures in [0, 255], uint8 classes); the model rescales the pictures itself."""
    import tensorflow as tf

    from datasets.arrays import array_dataset

    batches = array_dataset(images, targets, batch_size, shuffle=shuffle, seed=seed)
    return batches.map(lambda x, y: (tf.cast(x, tf.float32), y))
