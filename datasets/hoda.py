"""Hoda: Persian (Farsi) handwritten digits, read from the dataset's own distribution formats.

The slides' example of a dataset "not included with Keras". The glyphs are
binary bitmaps of varying size (4-62 px high, 3-51 px wide), so they have to
be resized to 28x28 before the MNIST convnet can read them.

`load_hoda()` looks in the data directories (--data-dir, $DLWP_DATA_DIR,
./data, the Keras cache) for, in order:
- training set: `hoda/original/Train 60000.cdb`, or `Data_hoda_full.mat`
  (the MATLAB file Persian courses use: a cell array `Data` of bitmaps and
  `labels`), with or without the `original/` folder;
- test set: `Test 20000.cdb`, the same way;
- otherwise the lossless `hoda/hoda.npz` conversion of those files.

The `.cdb` record layout (little-endian):
  header, 1,024 bytes: uint16 year, uint8 month, uint8 day, uint8 height,
  uint8 width (0: every image has its own size), uint32 record count,
  128 x uint32 per-class counts, uint8 image type (0 = binary),
  256 bytes of comment, 245 reserved bytes;
  each record: 0xFF, uint8 label, [uint8 width, uint8 height if variable],
  uint16 byte count, then the image row by row as run lengths (one uint8
  each) alternating background and ink, every row starting with background.
"""

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.paths import DataError, DataNotFoundError, data_dir_candidates, find_data_file

CDB_HEADER_SIZE = 1024
TRAIN_PATHS = [f"{folder}{name}" for name in ("Train 60000.cdb", "Data_hoda_full.mat")
               for folder in ("hoda/original/", "hoda/", "")]
TEST_PATHS = [f"{folder}Test 20000.cdb" for folder in ("hoda/original/", "hoda/", "")]
NPZ_PATHS = ["hoda/hoda.npz", "hoda.npz"]

HOW_TO_GET_HODA = (
    "download 'Train 60000.cdb' and 'Test 20000.cdb' (~6 MB together) from the DigitDB/ folder of "
    "https://github.com/amir-saniyan/HodaDatasetReader (or use the Data_hoda_full.mat training file that Persian "
    "courses share) and put them in <data dir>/hoda/original/, where <data dir> is --data-dir, $DLWP_DATA_DIR "
    "or ./data (free for research and non-commercial use)"
)


@dataclass
class Hoda:
    train_images: np.ndarray  # (N, 28, 28) uint8, ink = 255
    train_labels: np.ndarray  # (N,) uint8, digits 0-9
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


# ---------------------------------------------------------------------------
# Readers for the original formats: lists of variable-size 0/255 bitmaps
# ---------------------------------------------------------------------------

def read_cdb(path):
    """Read a Hoda `.cdb` file: (list of (H, W) uint8 bitmaps with ink 255, labels uint8)."""
    data = Path(path).read_bytes()
    if len(data) < CDB_HEADER_SIZE:
        raise DataError(f"{path}: {len(data)} bytes, shorter than the 1,024-byte .cdb header")
    year, month, day, height, width, count = struct.unpack_from("<HBBBBI", data, 0)
    class_counts = struct.unpack_from("<128I", data, 10)
    if not (1 <= month <= 12 and 1 <= day <= 31) or count != sum(class_counts):
        raise DataError(f"{path}: not a Hoda .cdb file (header date {year}-{month}-{day}, "
                        f"{count} records but class counts summing to {sum(class_counts)})")
    images, labels = [], []
    position = CDB_HEADER_SIZE
    try:
        for record in range(count):
            if data[position] != 0xFF:
                raise DataError(f"{path}: record {record} at byte {position} does not start with 0xFF")
            label = data[position + 1]
            position += 2
            h, w = height, width
            if width == 0:  # variable size: each record says its own
                w, h = data[position], data[position + 1]
                position += 2
            (size,) = struct.unpack_from("<H", data, position)
            position += 2
            images.append(_decode_runs(data, position, size, h, w, path, record))
            labels.append(label)
            position += size
    except (IndexError, struct.error):
        raise DataError(f"{path}: truncated after {len(images)} of {count} records") from None
    return images, np.array(labels, np.uint8)


def _decode_runs(data, start, size, height, width, path, record):
    """One image: per row, run lengths alternating background (0) and ink (255)."""
    image = np.zeros((height, width), np.uint8)
    position, stop = start, start + size
    for row in range(height):
        column, ink = 0, False
        while column < width:
            if position >= stop:
                raise DataError(f"{path}: record {record} ends inside row {row}")
            run = data[position]
            position += 1
            if ink:
                image[row, column:column + run] = 255
            column += run
            ink = not ink
        if column != width:
            raise DataError(f"{path}: record {record}, row {row}: runs add up to {column}, not {width}")
    return image


def read_mat(path):
    """Read `Data_hoda_full.mat` (MATLAB 5): a cell array `Data` of bitmaps and `labels`."""
    import scipy.io

    try:
        contents = scipy.io.loadmat(path)
    except Exception as e:  # not a MAT file, truncated...
        raise DataError(f"{path}: cannot be read as a MATLAB file ({e})") from None
    if "Data" not in contents or "labels" not in contents:
        raise DataError(f"{path}: expected the variables Data and labels, found "
                        f"{sorted(k for k in contents if not k.startswith('__'))}")
    cells = contents["Data"].ravel()
    labels = contents["labels"].ravel().astype(np.uint8)
    if len(cells) != len(labels):
        raise DataError(f"{path}: {len(cells)} images but {len(labels)} labels")
    # Some copies store 0/1, others 0/255: make the ink 255 either way.
    images = [np.where(np.asarray(cell) > 0, 255, 0).astype(np.uint8) for cell in cells]
    return images, labels


def read_npz(path):
    """Our lossless `hoda.npz`: per split, flat pixels + offsets + shapes."""
    splits = {}
    try:
        with np.load(path) as f:
            for split in ("train", "test"):
                pixels, offsets, shapes = f[f"{split}_pixels"], f[f"{split}_offsets"], f[f"{split}_shapes"]
                images = [pixels[offsets[k]:offsets[k + 1]].reshape(shapes[k]) for k in range(len(shapes))]
                splits[split] = (images, f[f"{split}_labels"].astype(np.uint8))
    except KeyError as e:
        raise DataError(f"{path}: not our Hoda npz (missing key {e}); delete it, or put the original files in "
                        f"hoda/original/. {HOW_TO_GET_HODA}") from None
    except Exception as e:  # truncated (BadZipFile), not a zip, damaged arrays
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {str(e)[:100]}); delete it, or put the original "
                        f"files in hoda/original/. {HOW_TO_GET_HODA}") from None
    return splits


def read_glyphs(path):
    return read_mat(path) if str(path).endswith(".mat") else read_cdb(path)


# ---------------------------------------------------------------------------
# Resizing the glyphs to 28x28
# ---------------------------------------------------------------------------

def resize_digit(bitmap, size=28, box=24):
    """Scale a glyph so that its longer side is `box` pixels, keeping its shape, and centre it in size x size.

    Much as MNIST was made (it used a 20-pixel box): a thin "1" stays thin
    instead of being stretched into a square. On Hoda's test set, with the
    5.1 convnet and 5 epochs, we measured 0.9882 and 0.9898 (two runs) with a
    24-pixel box, 0.9873 with a 20-pixel box, and 0.9813 when stretching every
    glyph to 28x28. Most errors are 3 read as 2 and 4 as 3: Persian digits
    that differ by small teeth. The result is grey-level (anti-aliased), ink 255.
    """
    from PIL import Image

    height, width = bitmap.shape
    scale = box / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    glyph = np.asarray(Image.fromarray(bitmap).resize((new_w, new_h), Image.BILINEAR))
    canvas = np.zeros((size, size), np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = glyph
    return canvas


def resize_all(bitmaps, size=28):
    return np.stack([resize_digit(b, size) for b in bitmaps]) if bitmaps else np.zeros((0, size, size), np.uint8)


# ---------------------------------------------------------------------------

def load_hoda(data_dir=None, subset=None, seed=0):
    """Load Hoda, resized to 28x28; `subset=(n_train, n_test)` keeps a fixed random subset (for --quick)."""
    train_path, test_path = find_data_file(TRAIN_PATHS, data_dir), find_data_file(TEST_PATHS, data_dir)
    if train_path is not None and test_path is not None:
        (train, train_labels), (test, test_labels) = read_glyphs(train_path), read_glyphs(test_path)
        source = f"{train_path} and {test_path}"
    else:
        npz_path = find_data_file(NPZ_PATHS, data_dir)
        if npz_path is None:
            looked = ", ".join(str(folder) for folder, _ in data_dir_candidates(data_dir))
            raise DataNotFoundError(f"the Hoda digits were not found (looked in {looked} for hoda/original/"
                                    f"Test 20000.cdb with Train 60000.cdb or Data_hoda_full.mat, and for "
                                    f"hoda/hoda.npz). To fix: {HOW_TO_GET_HODA}")
        splits = read_npz(npz_path)
        (train, train_labels), (test, test_labels) = splits["train"], splits["test"]
        source = str(npz_path)
    if subset:
        # The test file is sorted by class: a random subset, fixed by the seed, keeps every digit.
        rng = np.random.default_rng(seed)
        keep_train = np.sort(rng.permutation(len(train))[:subset[0]])
        keep_test = np.sort(rng.permutation(len(test))[:subset[1]])
        train, train_labels = [train[i] for i in keep_train], train_labels[keep_train]
        test, test_labels = [test[i] for i in keep_test], test_labels[keep_test]
        source += f" (random {len(train):,} / {len(test):,})"
    hoda = Hoda(resize_all(train), train_labels, resize_all(test), test_labels, source)
    print(f"Hoda: {len(hoda.train_images):,} training and {len(hoda.test_images):,} test digits from {source}, "
          f"resized to 28x28")
    return hoda
