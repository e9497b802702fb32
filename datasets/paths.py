"""The data-directory search that every loader uses.

Where we look, in order:
1. the folder given with `--data-dir` (passed to the loader as `data_dir`);
2. the folder named by the environment variable `DLWP_DATA_DIR`;
3. `./data` in the current working directory;
4. the Keras cache, `$KERAS_HOME/datasets` or `~/.keras/datasets`.

Inside a data directory the layout is one folder per dataset, as in
`../shared/data`: `mnist/mnist.npz`, `cats_and_dogs_small/train/cats/...`,
`hoda/hoda.npz`, `style_images/starry_night.jpg`, ... The Keras cache keeps
its files flat (`~/.keras/datasets/mnist.npz`), so loaders usually offer both
spellings of a path.
"""

import errno
import gzip
import os
import tarfile
import zlib
from pathlib import Path


class DataError(Exception):
    """A problem with the user's data; the message says how to fix it."""


class DataNotFoundError(DataError):
    """The data could not be found locally nor downloaded."""


def keras_cache_dir():
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "datasets"


def data_dir_candidates(data_dir=None):
    """The folders to search, in order, each with where it came from."""
    candidates = []
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"--data-dir {data_dir}: no such folder")
        candidates.append((path, "--data-dir"))
    from_env = os.environ.get("DLWP_DATA_DIR")
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"DLWP_DATA_DIR={from_env}: no such folder")
        candidates.append((path, "DLWP_DATA_DIR"))
    candidates.append((Path("data"), "./data"))
    candidates.append((keras_cache_dir(), "Keras cache"))
    return candidates


def find_data_file(relative_paths, data_dir=None):
    """Return the first existing `<candidate>/<relative path>`, or None.

    `relative_paths` is a list of spellings, tried in order in each candidate
    folder before moving on to the next folder.
    """
    for folder, _ in data_dir_candidates(data_dir):
        for relative in relative_paths:
            path = folder / relative
            if path.exists():
                return path
    return None


def searched_locations(relative_paths, data_dir=None):
    """A readable list of every place `find_data_file` looked (for error messages)."""
    lines = []
    for folder, origin in data_dir_candidates(data_dir):
        for relative in relative_paths:
            lines.append(f"  {folder / relative}  ({origin})")
    return "\n".join(lines)


def download_failure(error):
    """Why a download failed, in a few words for a one-line message.

    Keras says "URL fetch failure on <address>: None -- [Errno -2] Name or service not known"; the messages
    name the address themselves, so only what follows " -- " is kept.
    """
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text.split(" -- ")[-1][:160]


def find_or_download(names, folder_name, archive, url, data_dir, what, how_to_get):
    """The first of `names` in <data dir>/<folder_name>/ or <data dir>/, else the Keras download of `archive`.

    Offline (or when the download fails) raises DataNotFoundError: one line saying what was looked for,
    where, and `how_to_get`.
    """
    candidates = [folder for folder, _ in data_dir_candidates(data_dir)]
    for name in names:
        for folder in candidates:
            for path in (folder / folder_name / name, folder / name):
                if path.is_file():
                    return path
    if not os.environ.get("DLWP_OFFLINE"):
        import keras

        try:
            return Path(keras.utils.get_file(archive, url))
        except Exception as e:  # no network, a proxy, the server gone...
            raise DataNotFoundError(f"{what} could not be downloaded ({download_failure(e)}): {how_to_get}") from None
    looked = ", ".join(str(c) for c in candidates)
    raise DataNotFoundError(f"{what}: none of {', '.join(names)} in {looked}; {how_to_get}")


# What a damaged archive raises while it is read; any other OSError is the machine's (a full or read-only disk).
ARCHIVE_FAULTS = (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error)
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


def tar_payload_bytes(archive, keep=lambda member: True):
    """The bytes the files of `archive` that `keep` accepts take once extracted (None if it cannot be read)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            return sum(member.size for member in tar if member.isfile() and keep(member))
    except (*ARCHIVE_FAULTS, OSError):
        return None


def extraction_failure(error, archive, target, needed_bytes):
    """The one line for an OSError (not the archive's fault) while extracting `archive` into `target`.

    A full disk or a read-only cache is named as such, with where and about how much room is needed; the archive
    is not blamed (the user would delete a good file and download it again into the same full disk).
    """
    if needed_bytes is None:
        needed = "the room it needs is unknown"
    else:
        needed = f"about {needed_bytes / 1e6:,.0f} MB needed" if needed_bytes >= 1e6 else \
            f"about {needed_bytes / 1e3:,.0f} kB needed"
    reason = error.strerror or type(error).__name__
    if error.filename is not None and Path(error.filename) == Path(archive):
        return DataError(f"{archive}: cannot be opened ({reason}); check that you may read it")
    if error.errno in NO_ROOM:
        return DataError(f"no room to extract {archive} into {target} ({reason}; {needed}); free space there or "
                         "set KERAS_HOME to a folder with room")
    return DataError(f"cannot write into {target} to extract {archive} ({reason}; {needed}); make it writable, free "
                     "space there or set KERAS_HOME to a folder you can write")


ZIP_MAGIC = b"PK\x03\x04"


def check_not_a_cut_zip(path, how_to_get):
    """For a file zipfile.is_zipfile refused: a zip cut short (named .zip, or starting as one) is one line, not text."""
    with open(path, "rb") as f:
        starts_as_zip = f.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    if starts_as_zip or Path(path).suffix == ".zip":
        raise DataError(f"{path}: not a complete zip archive (a download cut short?); delete it and {how_to_get}")


def utf8_lines(binary_lines, source, first_line=1):
    """Decode `binary_lines` one by one; a line that is not UTF-8 stops with the file and its line number."""
    for number, raw in enumerate(binary_lines, first_line):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DataError(f"{source}, line {number}: not UTF-8 text; the file is damaged") from None
