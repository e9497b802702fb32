"""GloVe word vectors (Stanford NLP, `glove.6B.zip`): 400,000 words, each a 100-dimensional vector in glove.6B.100d.txt.

Each line of the text file is a word and its coordinates, separated by spaces:

    the -0.038194 -0.24487 0.72812 ... (100 numbers)

`load_glove()` looks, in order, for:
1. `glove.6B.100d.txt` in a data directory (also under `glove/`);
2. `glove.6B.zip` there, read without extracting it;
3. online (unless DLWP_OFFLINE=1), the download of `glove.6B.zip` (822 MB) into the Keras cache;
and otherwise stops with one line naming the file, its size, where to get it and where to put it.
"""

import zipfile

import numpy as np

from datasets.paths import DataError, check_not_a_cut_zip, find_or_download, keras_cache_dir, utf8_lines

ARCHIVE = "glove.6B.zip"
ARCHIVE_SIZE = "822 MB"
URL = "https://nlp.stanford.edu/data/glove.6B.zip"
TEXT_SIZES = {50: "171 MB", 100: "347 MB", 200: "693 MB", 300: "1.0 GB"}


def text_file(dimension):
    return f"glove.6B.{dimension}d.txt"


def how_to_get(dimension=100):
    return (f"download {ARCHIVE} ({ARCHIVE_SIZE}) from {URL} and put it, or the {text_file(dimension)} it holds "
            f"({TEXT_SIZES.get(dimension, '?')}), in <data dir>/glove/, where <data dir> is --data-dir, "
            f"$DLWP_DATA_DIR or ./data (or in {keras_cache_dir()}/)")


def find_glove(data_dir=None, dimension=100):
    """The text file, or the zip that holds it: found, or downloaded into the Keras cache."""
    return find_or_download((text_file(dimension), ARCHIVE), "glove", ARCHIVE, URL, data_dir, "GloVe",
                            how_to_get(dimension))


def load_glove(data_dir=None, dimension=100, words=None):
    """{word: float32 vector of `dimension`}; with `words`, only those words are kept (memory)."""
    path = find_glove(data_dir, dimension)
    print(f"Reading GloVe vectors from {path}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if text_file(dimension) not in archive.namelist():
                raise DataError(f"{path}: no {text_file(dimension)} inside; {how_to_get(dimension)}")
            with archive.open(text_file(dimension)) as raw:
                return read_vectors(utf8_lines(raw, f"{path}:{text_file(dimension)}"), dimension, words, path)
    check_not_a_cut_zip(path, how_to_get(dimension))
    with open(path, "rb") as raw:
        return read_vectors(utf8_lines(raw, path), dimension, words, path)


def read_vectors(lines, dimension, words=None, source="GloVe"):
    """Parse GloVe's lines: the word, then `dimension` numbers. Damaged lines stop with the line number."""
    vectors = {}
    for number, line in enumerate(lines, 1):
        parts = line.rstrip("\n").rstrip(" ").split(" ")
        if len(parts) == 1 and not parts[0]:
            continue  # an empty line
        if len(parts) != dimension + 1:
            raise DataError(f"{source}, line {number}: {len(parts) - 1} numbers, expected {dimension}; "
                            "the file is damaged or of another dimension")
        if words is not None and parts[0] not in words:
            continue
        try:
            vectors[parts[0]] = np.asarray(parts[1:], dtype="float32")
        except ValueError:
            raise DataError(f"{source}, line {number}: not a word and {dimension} numbers") from None
    if not vectors and words is None:
        raise DataError(f"{source}: no word vectors in it")
    return vectors


def embedding_matrix(vocabulary, vectors, dimension, rows=None):
    """Row i = the vector of vocabulary[i]; words GloVe does not know (and padding) stay zeros, as in the book.

    `rows`: the matrix's height (the Embedding's input_dim), when the vocabulary may be shorter.
    """
    matrix = np.zeros((rows or len(vocabulary), dimension), dtype="float32")
    for i, word in enumerate(vocabulary):
        vector = vectors.get(word)
        if vector is not None:
            matrix[i] = vector
    return matrix
