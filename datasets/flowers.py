"""Oxford Flowers 102: 8,189 photographs of flowers (the 3rd edition's chapter 17 diffusion model).

`find_flowers()` looks for the archive's `jpg/` folder in each data directory (`102flowers/jpg/`, `jpg/`),
then for the archive `102flowers.tgz` (which Keras extracts into its cache: the data folder is left as it
is), then downloads it as the book does (`keras.utils.get_file(..., extract=True)`); offline it raises a
one-line `DataNotFoundError` saying what to fetch and where to put it.
"""

import os
from pathlib import Path

from datasets.paths import DataError, DataNotFoundError, data_dir_candidates, download_failure, keras_cache_dir

ARCHIVE = "102flowers.tgz"
URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/102flowers.tgz"
FOLDERS = ("102flowers/jpg", "jpg")  # inside a data directory
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def how_to_get():
    return (f"download {URL} (about 330 MB) and put it, or the jpg/ folder it holds, in "
            "<data dir>/102flowers/ (<data dir>: --data-dir, $DLWP_DATA_DIR or ./data)")


def has_pictures(folder):
    return folder.is_dir() and any(path.suffix.lower() in IMAGE_SUFFIXES for path in folder.iterdir())


def find_flowers(data_dir=None):
    """The folder of flower pictures: found, extracted from the archive by Keras, or downloaded."""
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for folder in candidates:
        for relative in FOLDERS:
            if has_pictures(folder / relative):
                return folder / relative
    archive = next((folder / place / ARCHIVE for folder in candidates for place in ("102flowers", ".")
                    if (folder / place / ARCHIVE).is_file()), None)
    if archive is not None or not os.environ.get("DLWP_OFFLINE"):
        import keras

        origin = archive.resolve().as_uri() if archive is not None else URL
        try:
            # The cache named here, not Keras's default (read once, when Keras is imported), and made first:
            # get_file falls back to /tmp/.keras when the folder is not there.
            keras_cache_dir().mkdir(parents=True, exist_ok=True)
            extracted = Path(keras.utils.get_file("102flowers", origin=origin, extract=True,
                                                  cache_dir=keras_cache_dir().parent, cache_subdir="datasets"))
        except Exception as e:  # no network, a proxy, a damaged archive...
            if archive is not None:
                raise DataError(f"{archive}: cannot be extracted ({download_failure(e)}); delete it or download "
                                "it again") from None
            raise DataNotFoundError(f"Oxford Flowers could not be downloaded ({download_failure(e)}): "
                                    f"{how_to_get()}") from None
        found = next((path for path in (extracted / "jpg", *extracted.rglob("jpg")) if has_pictures(path)), None)
        if found is None:
            raise DataError(f"{origin}: no jpg/ folder of pictures inside; {how_to_get()}")
        return found
    looked = ", ".join(str(folder) for folder in candidates)
    raise DataNotFoundError(f"Oxford Flowers not found (looked in {looked} for {', '.join(FOLDERS)} and "
                            f"{ARCHIVE}): {how_to_get()}")


def flower_dataset(folder, image_size, batch_size, seed=None):
    """The book's pipeline: every picture, cropped to a square and resized to image_size, 0-255 floats,
    shuffled, in batches of `batch_size` (the last, smaller one dropped)."""
    import keras

    dataset = keras.utils.image_dataset_from_directory(folder, labels=None, image_size=(image_size, image_size),
                                                       crop_to_aspect_ratio=True, seed=seed)
    return dataset.rebatch(batch_size, drop_remainder=True)
