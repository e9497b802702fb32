"""CelebA: 202,599 aligned photographs of celebrities' faces (the 2nd edition's GAN, its 12.5; here 8.5).

The book fetches `celeba_gan/data.zip` (1.44 GB) from Google Drive with `gdown` and unzips it into
`celeba_gan/`, which then holds `img_align_celeba/` and its JPEGs. `find_celeba()` looks for that folder in each
data directory. Nothing is downloaded (the book's `gdown` is not among the requirements, and Google Drive is no
plain download address): a missing folder is one `DataNotFoundError` line saying what to fetch and where to unzip
it.
"""

from datasets.paths import DataNotFoundError, data_dir_candidates

DRIVE_ID = "1O7m1010EJjLE5QxLZiM9Fpjs7Oj6e684"  # the book's `gdown --id ... -O celeba_gan/data.zip`
URL = f"https://drive.google.com/uc?id={DRIVE_ID}"
ARCHIVE = "celeba_gan/data.zip"  # inside a data directory, as the book names it
FOLDERS = ("celeba_gan/img_align_celeba", "celeba/img_align_celeba", "img_align_celeba")  # inside a data directory
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
BOOK_FACES = 202_599  # the book: "Found 202599 files belonging to 1 classes."


def how_to_get():
    return (f"download the book's data.zip (1.44 GB) from {URL} (the book: gdown --id {DRIVE_ID} -O "
            "celeba_gan/data.zip) and unzip it into <data dir>/celeba_gan/, which then holds img_align_celeba/ "
            "(<data dir>: --data-dir, $DLWP_DATA_DIR or ./data)")


def has_pictures(folder):
    return folder.is_dir() and any(path.suffix.lower() in IMAGE_SUFFIXES for path in folder.iterdir())


def find_celeba(data_dir=None):
    """The `img_align_celeba` folder of face pictures in the first data directory that has one."""
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for folder in candidates:
        for relative in FOLDERS:
            if has_pictures(folder / relative):
                return folder / relative
    archive = next((folder / ARCHIVE for folder in candidates if (folder / ARCHIVE).is_file()), None)
    if archive is not None:  # fetched but not unzipped: the book's next cell
        raise DataNotFoundError(f"CelebA: {archive} is there but not its pictures; unzip it where it is "
                                f"(unzip -qq {archive} -d {archive.parent}), which makes {archive.parent}/"
                                "img_align_celeba/")
    looked = ", ".join(str(folder) for folder in candidates)
    raise DataNotFoundError(f"CelebA not found (looked in {looked} for {', '.join(f + '/' for f in FOLDERS)}): "
                            f"{how_to_get()}")


def celeba_dataset(folder, image_size, batch_size, seed=None):
    """The book's pipeline: every picture cropped to a square and resized to image_size (the book's
    `smart_resize=True`, which Keras 3 calls `crop_to_aspect_ratio`), in shuffled batches of `batch_size`,
    scaled to [0, 1]. Returns (dataset, the number of pictures)."""
    import keras

    # The book passes the parent folder with label_mode=None (one class, "img_align_celeba"); labels=None reads
    # the pictures' folder itself, so that no other folder beside it is taken for a class.
    dataset = keras.utils.image_dataset_from_directory(folder, labels=None, label_mode=None,
                                                       image_size=(image_size, image_size), batch_size=batch_size,
                                                       crop_to_aspect_ratio=True, seed=seed)
    count = len(dataset.file_paths)
    return dataset.map(lambda x: x / 255.0), count
