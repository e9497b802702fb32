"""5.3's feature cache: the conv base's features of each split, kept in `<output dir>/feature_cache/`.

A file is named by a key of what its features depend on (the conv base's weights and precision, the picture size and
preprocessing, the split's files), so a second run skips the extraction. The cache's own writes are atomic; a file
damaged from outside (a disk error, a copy cut short) is said to be damaged and extracted again.
"""

import hashlib
import json
import zipfile

import keras
import numpy as np

FEATURE_CACHE = "feature_cache"  # in the output folder (never in the user's data folder)


def read_cached_features(path, split_name):
    """(features, labels) kept in `path`; None when there is none, or when it is damaged (one line says so)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as saved:
            return saved["features"], saved["labels"]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        print(f"feature cache {path} is damaged ({e}): extracting the {split_name} features again", flush=True)
        return None


def weights_fingerprint(model):
    """A hash of every weight of the conv base: ImageNet's, a copy's, or an untrained one's, they key the cache."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)).tobytes())
    return digest.hexdigest()[:16]


def feature_key(weights_key, image_size, preprocessing, split, compute_dtype="float32"):
    """A short hash of what a split's features depend on: the weights, the picture size and preprocessing, the files,
    and the precision the conv base computes in (--mixed-precision: bfloat16 features are not the book's)."""
    files = []
    for path in sorted(split.view.rglob("*")):
        if path.is_file():
            original = path.resolve()
            stat = original.stat()
            files.append([str(path.relative_to(split.view)), stat.st_size,
                          stat.st_mtime_ns if path.is_symlink() else 0])  # converted copies are new each run
    described = {"weights": weights_key, "image_size": list(image_size), "preprocessing": preprocessing,
                 "split": split.name, "files": files}
    if compute_dtype != "float32":  # float32 features keep the keys they had, and the files already extracted
        described["compute_dtype"] = compute_dtype
    description = json.dumps(described)
    return hashlib.sha256(description.encode()).hexdigest()[:16]
