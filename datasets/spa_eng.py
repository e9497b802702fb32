"""English-Spanish sentence pairs from the Anki/Tatoeba project, as the 2nd edition's 11.5 uses them.

`spa-eng/spa.txt` holds one pair per line, tab-separated: the English
sentence, its Spanish translation, and in newer copies a third column with
the attribution, which is ignored:

    Go.\tVe.
    I'm hungry!\t¡Tengo hambre!

`load_text_pairs()` looks, in order, for:
1. `spa-eng/spa.txt` (or `spa.txt`) in a data directory;
2. `spa-eng.zip` there (or in the Keras cache), read without extracting it;
3. online (unless DLWP_OFFLINE=1), the book's download of `spa-eng.zip` into the Keras cache;
and otherwise stops with one line saying what to fetch and where to put it.
"""

import io
import zipfile

from datasets.paths import DataError, find_or_download, keras_cache_dir

ARCHIVE = "spa-eng.zip"
URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"  # the book's
TEXT_FILE = "spa.txt"
MEMBER = "spa-eng/spa.txt"  # where the archive holds it


def how_to_get():
    return (f"download {ARCHIVE} from {URL} and put it, or the {MEMBER} it holds, in <data dir>/ (the file then "
            f"is <data dir>/{MEMBER}), where <data dir> is --data-dir, $DLWP_DATA_DIR or ./data (or put the zip in "
            f"{keras_cache_dir()}/)")


def find_spa_eng(data_dir=None):
    """spa.txt, or the zip that holds it: found, or downloaded into the Keras cache."""
    return find_or_download((TEXT_FILE, ARCHIVE), "spa-eng", ARCHIVE, URL, data_dir, "The English-Spanish pairs",
                            how_to_get())


def load_text_pairs(data_dir=None):
    """[(english, spanish), ...] in the file's order."""
    path = find_spa_eng(data_dir)
    print(f"Reading English-Spanish pairs from {path}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            member = next((name for name in archive.namelist() if name.endswith(MEMBER)), None)
            if member is None:
                raise DataError(f"{path}: no {MEMBER} inside; {how_to_get()}")
            with archive.open(member) as raw:
                return read_pairs(io.TextIOWrapper(raw, encoding="utf-8"), path)
    with open(path, encoding="utf-8") as lines:
        return read_pairs(lines, path)


def read_pairs(lines, source="spa.txt"):
    """Parse the tab-separated lines; a line without a tab stops with its number."""
    pairs = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0] or not fields[1]:
            raise DataError(f"{source}, line {number}: not 'English<TAB>Spanish'; the file is damaged")
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataError(f"{source}: no sentence pairs in it")
    return pairs
