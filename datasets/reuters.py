"""Reuters newswires (book section 3.6): 11,228 short newswires in 46 topics, split 8,982 / 2,246.

`load_reuters()` finds `reuters/reuters.npz` (or `reuters.npz`) with the
data-directory search, else downloads it the normal Keras way, else stops with
a message saying what to fetch. The shared file is byte-identical to Keras's;
we apply Keras's `load_data` steps ourselves (the same code as IMDB's: shuffle
everything with seed 113, start index 1, indices shifted by 3, out-of-vocabulary
index 2) and then split at 80 %, exactly as Keras does: `train_labels[10]` is 3.
"""

import functools

from datasets.imdb import (
    WordSequences,
    decode_review,
    how_to_get,
    keras_word_sequences,
    locate,
    read_npz,
    read_word_index,
    shuffled,
)
from datasets.paths import DataError

NPZ_PATHS = ["reuters/reuters.npz", "reuters.npz"]
WORD_INDEX_PATHS = ["reuters/reuters_word_index.json", "reuters_word_index.json"]
HOW_TO_GET_REUTERS = how_to_get([("reuters.npz", "2.1 MB"), ("reuters_word_index.json", "0.55 MB")], "reuters")
NUM_TOPICS = 46


def load_reuters(num_words=10000, maxlen=None, test_split=0.2, data_dir=None, seed=113):
    """The Keras Reuters split, as `keras.datasets.reuters.load_data`."""
    reuters = _load_reuters(num_words, maxlen, test_split, data_dir, seed)
    print(f"Reuters: {len(reuters.train_data):,} training and {len(reuters.test_data):,} test newswires "
          f"(num_words={num_words}) from {reuters.source}")
    return reuters


@functools.lru_cache(maxsize=2)
def _load_reuters(num_words, maxlen, test_split, data_dir, seed):
    path = locate(NPZ_PATHS, "reuters.npz", data_dir, "Reuters", HOW_TO_GET_REUTERS)
    x, y = read_npz(path, ["x", "y"])
    if len(x) != len(y):
        raise DataError(f"{path}: {len(x)} newswires but {len(y)} labels; the file is damaged")
    if len(x) < 2:
        raise DataError(f"{path}: {len(x)} newswires; the file is damaged or empty: delete it or download it again")
    [(sequences, labels)] = keras_word_sequences(shuffled(seed, (x, y)), num_words, maxlen)
    split = int(len(sequences) * (1 - test_split))
    return WordSequences(sequences[:split], labels[:split], sequences[split:], labels[split:], source=str(path))


def load_reuters_word_index(data_dir=None):
    return read_word_index(locate(WORD_INDEX_PATHS, "reuters_word_index.json", data_dir,
                                  "Reuters word index", HOW_TO_GET_REUTERS))


decode_newswire = decode_review  # the same offset of 3; 0, 1 and 2 print as "?"
