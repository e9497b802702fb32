"""IMDB movie reviews (book sections 3.5, 6.x): 25,000 training and 25,000 test reviews, labelled 1 (positive) or 0.

Each review is a list of word indices. `load_imdb()` looks for, in order:
1. a local `imdb/imdb.npz` (or `imdb.npz`) found by the data-directory search;
2. the normal Keras download into `~/.keras/datasets/` (not when DLWP_OFFLINE=1);
and otherwise stops with a message naming the files to fetch.

The shared `imdb.npz` is a faithful rebuild of Keras's file whose hash differs,
so Keras's own loader refuses it. We therefore apply Keras's `load_data` steps
ourselves (`keras_word_sequences`), vectorised with NumPy: shuffle with seed
113, prepend the start index 1, shift every word index by 3 (0 = padding,
1 = start, 2 = out of vocabulary), drop reviews with `maxlen` tokens or more,
and replace indices >= `num_words` by 2. With `num_words=10000` the first
training review has 218 tokens and label 1, as printed in the book.
"""

import functools
import json
import os
from dataclasses import dataclass

import numpy as np

from datasets.arrays import without_autotuning
from datasets.paths import DataError, DataNotFoundError, download_failure, find_data_file, searched_locations

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
NPZ_PATHS = ["imdb/imdb.npz", "imdb.npz"]
WORD_INDEX_PATHS = ["imdb/imdb_word_index.json", "imdb_word_index.json"]
KERAS_HASHES = {"imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
                "imdb_word_index.json": "bfafd718b763782e994055a2d397834f"}

# The conventions of Keras's word-sequence datasets.
PADDING, START_CHAR, OOV_CHAR, INDEX_FROM = 0, 1, 2, 3


def how_to_get(files, folder):
    lines = [f"  {KERAS_ORIGIN}{name} ({size})" for name, size in files]
    return ("Download\n" + "\n".join(lines) + f"\nand put them in <data dir>/{folder}/, where <data dir> is "
            "--data-dir, $DLWP_DATA_DIR or ./data (or in ~/.keras/datasets/).")


HOW_TO_GET_IMDB = how_to_get([("imdb.npz", "17 MB"), ("imdb_word_index.json", "1.6 MB")], "imdb")


@dataclass
class WordSequences:
    """A word-index dataset split as Keras splits it."""
    train_data: np.ndarray  # object array of int32 arrays, one per text
    train_labels: np.ndarray
    test_data: np.ndarray
    test_labels: np.ndarray
    source: str

    def head(self, n_train, n_test):
        """The first texts only (for --quick runs)."""
        return WordSequences(self.train_data[:n_train], self.train_labels[:n_train], self.test_data[:n_test],
                             self.test_labels[:n_test], self.source + f" (first {n_train:,} / {n_test:,})")


# ---------------------------------------------------------------------------
# Keras's load_data steps, on whole arrays at once
# ---------------------------------------------------------------------------

def keras_word_sequences(splits, num_words=None, maxlen=None, skip_top=0, start_char=START_CHAR,
                         oov_char=OOV_CHAR, index_from=INDEX_FROM):
    """Keras's transformation of raw word ranks, for already-shuffled splits.

    `splits` is a list of (sequences, labels) pairs (IMDB: train and test;
    Reuters: everything). As in Keras: add `start_char` and `index_from`,
    drop the sequences of `maxlen` tokens or more, then, with `num_words`
    chosen over all splits together, replace every index outside
    [skip_top, num_words) by `oov_char` (or drop it when `oov_char` is None).
    Returns a list of (sequences, labels) with `sequences` an object array of
    int32 arrays.
    """
    flats, all_lengths, all_labels = [], [], []
    for sequences, labels in splits:
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        flat = (np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences)
                else np.zeros(0, np.int64))
        flat = flat + index_from
        if start_char is not None:
            flat = np.insert(flat, np.cumsum(lengths) - lengths, start_char)
            lengths = lengths + 1
        labels = np.asarray(labels)
        if maxlen:
            keep = lengths < maxlen
            flat, lengths, labels = flat[np.repeat(keep, lengths)], lengths[keep], labels[keep]
            if not len(lengths):
                raise DataError(f"no sequence is shorter than maxlen={maxlen}; increase maxlen")
        flats.append(flat)
        all_lengths.append(lengths)
        all_labels.append(labels)

    if not num_words:
        # Keras's own rule, quirk included: the largest index itself then counts as out of vocabulary.
        num_words = max(int(f.max()) for f in flats if len(f))
    results = []
    for flat, lengths, labels in zip(flats, all_lengths, all_labels):
        in_vocabulary = (flat >= skip_top) & (flat < num_words)
        if oov_char is not None:
            flat = np.where(in_vocabulary, flat, oov_char)
        else:
            rows = np.repeat(np.arange(len(lengths)), lengths)
            flat, lengths = flat[in_vocabulary], np.bincount(rows[in_vocabulary], minlength=len(lengths))
        results.append((split_ragged(flat.astype(np.int32), lengths), labels))
    return results


def split_ragged(flat, lengths):
    """One flat array and the lengths of its pieces -> an object array of arrays."""
    pieces = np.empty(len(lengths), dtype=object)
    pieces[:] = np.split(flat, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return pieces


def shuffled(seed, *arrays_per_split):
    """Keras's shuffle: one RandomState(seed) permutes each split in turn."""
    rng = np.random.RandomState(seed)
    out = []
    for sequences, labels in arrays_per_split:
        indices = np.arange(len(sequences))
        rng.shuffle(indices)
        out.append((sequences[indices], np.asarray(labels)[indices]))
    return out


# ---------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------

def locate(relative_paths, keras_name, data_dir, dataset, how_to_get):
    """A local copy, else the Keras download (cached for next time), else DataNotFoundError."""
    path = find_data_file(relative_paths, data_dir)
    if path is not None:
        return path
    if not os.environ.get("DLWP_OFFLINE"):
        import keras
        try:
            return keras.utils.get_file(keras_name, origin=KERAS_ORIGIN + keras_name,
                                        file_hash=KERAS_HASHES.get(keras_name))
        except Exception as e:  # no network, a proxy, a failed hash check...
            print(f"{dataset}: the download of {keras_name} failed ({download_failure(e)})")
    raise DataNotFoundError(f"{dataset}: {keras_name} not found (searched "
                            + ", ".join(line.strip().split("  ")[0] for line in
                                        searched_locations(relative_paths, data_dir).splitlines())
                            + ") and it could not be downloaded. " + how_to_get.replace("\n", " "))


def read_npz(path, keys):
    try:
        with np.load(path, allow_pickle=True) as f:  # ragged sequences are stored as pickled object arrays
            return [f[key] for key in keys]
    except KeyError as e:
        raise DataError(f"{path}: missing key {e}; expected the keys {', '.join(keys)} of the Keras file") from None
    except Exception as e:  # a truncated or non-zip file
        raise DataError(f"{path}: cannot be read as an npz file ({e}); delete it or download it again") from None


def read_word_index(path):
    try:
        word_index = json.loads(open(path, encoding="utf-8").read())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot be read as a JSON word index ({e}); delete it or download it again") from None
    if not isinstance(word_index, dict):
        raise DataError(f"{path}: not a word index (expected a JSON object word -> rank)")
    return word_index


# ---------------------------------------------------------------------------
# IMDB
# ---------------------------------------------------------------------------

def load_imdb(num_words=10000, maxlen=None, data_dir=None, seed=113):
    """The Keras IMDB split: (train, test) word sequences and labels, as `keras.datasets.imdb.load_data`."""
    imdb = _load_imdb(num_words, maxlen, data_dir, seed)
    print(f"IMDB: {len(imdb.train_data):,} training and {len(imdb.test_data):,} test reviews "
          f"(num_words={num_words}) from {imdb.source}")
    return imdb


@functools.lru_cache(maxsize=2)  # 3.5 and 4.4 in one process load it once
def _load_imdb(num_words, maxlen, data_dir, seed):
    path = locate(NPZ_PATHS, "imdb.npz", data_dir, "IMDB", HOW_TO_GET_IMDB)
    x_train, y_train, x_test, y_test = read_npz(path, ["x_train", "y_train", "x_test", "y_test"])
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise DataError(f"{path}: {len(x_train)} training reviews but {len(y_train)} labels "
                        f"(test: {len(x_test)} / {len(y_test)}); the file is damaged")
    if not len(x_train) or not len(x_test):
        raise DataError(f"{path}: {len(x_train)} training and {len(x_test)} test reviews; the file is damaged "
                        "or empty: delete it or download it again")
    splits = shuffled(seed, (x_train, y_train), (x_test, y_test))
    (train_data, train_labels), (test_data, test_labels) = keras_word_sequences(splits, num_words, maxlen)
    return WordSequences(train_data, train_labels, test_data, test_labels, source=str(path))


def load_imdb_word_index(data_dir=None):
    """word -> rank (1 = the most frequent word), the file Keras's `imdb.get_word_index()` reads."""
    return read_word_index(locate(WORD_INDEX_PATHS, "imdb_word_index.json", data_dir, "IMDB word index",
                                  HOW_TO_GET_IMDB))


def decode_review(sequence, word_index):
    """Word indices back to text; indices are offset by 3 and 0, 1, 2 print as '?', as in the book."""
    reverse_word_index = reverse_index(word_index)
    return " ".join(reverse_word_index.get(int(i) - INDEX_FROM, "?") for i in sequence)


def encode_text(words, word_index):
    """The inverse of decode_review for words in the index (unknown words -> 2), without the start index."""
    return [word_index[w] + INDEX_FROM if w in word_index else OOV_CHAR for w in words.split()]


@functools.lru_cache(maxsize=4)
def _reverse(items):
    return {rank: word for word, rank in items}


def reverse_index(word_index):
    return _reverse(tuple(word_index.items()))


# ---------------------------------------------------------------------------
# Padded word sequences (chapter 6, 1st edition)
# ---------------------------------------------------------------------------

QUICK_REVIEWS = (256, 128)  # --quick: the first training and test reviews
VALIDATION_SPLIT = 0.2  # the 1st edition's fit(..., validation_split=0.2): the last 20% of the training reviews


@dataclass
class PaddedReviews:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    note: str  # what a --quick run kept, or ""


def load_padded_imdb(maxlen, num_words=10_000, data_dir=None, reverse=False, quick=False):
    """The book's `imdb.load_data(num_words)` + `pad_sequences(maxlen)`, and its validation_split=0.2.

    pad_sequences keeps the last `maxlen` words of a longer review and pads a
    shorter one with zeros in front. `reverse`: each review read backwards
    (reversed before padding, as the book does). Keras's validation_split
    holds out the last 20% of the training arrays. `quick`: the first
    QUICK_REVIEWS reviews only.
    """
    import keras

    imdb = load_imdb(num_words=num_words, data_dir=data_dir)
    if quick:
        imdb = imdb.head(*QUICK_REVIEWS)
    train, test = imdb.train_data, imdb.test_data
    if reverse:
        train, test = [s[::-1] for s in train], [s[::-1] for s in test]
    x_train = keras.utils.pad_sequences(train, maxlen=maxlen)
    x_test = keras.utils.pad_sequences(test, maxlen=maxlen)
    print(f"{len(x_train)} train sequences, {len(x_test)} test sequences; input_train shape: {x_train.shape}")
    y_train, y_test = imdb.train_labels.astype("float32"), imdb.test_labels.astype("float32")
    split = int(len(x_train) * (1 - VALIDATION_SPLIT))
    return PaddedReviews(x_train[:split], y_train[:split], x_train[split:], y_train[split:], x_test, y_test,
                         note=f"--quick: {len(x_train)} reviews" if quick else "")


# ---------------------------------------------------------------------------
# Multi-hot encoding (3.5, 3.6, 4.4)
# ---------------------------------------------------------------------------

def vectorize_sequences(sequences, dimension=10000, dtype="float32"):
    """The book's multi-hot vectors: row i has a 1 at every word index of sequence i.

    Vectorised: one scatter into the zero matrix instead of a Python loop per
    review (the book's double loop gives the same matrix, see the tests).
    """
    sequences = list(sequences)
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    results = np.zeros((len(sequences), dimension), dtype=dtype)
    if lengths.sum():
        rows = np.repeat(np.arange(len(sequences)), lengths)
        results[rows, np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])] = 1
    return results


def multi_hot_dataset(sequences, labels, batch_size, dimension=10000, shuffle=False, seed=None, sparse=False):
    """The same multi-hot vectors as a tf.data pipeline that builds each batch when it is needed.

    A review uses ~130 of the 10,000 word slots, so we keep only each review's
    sorted, distinct word indices (a ragged tensor, ~1/75 of the dense size)
    and turn a batch of them into its 512 x 10,000 float32 rows inside the
    pipeline: 25,000 x 10,000 float32 (1 GB) never sits in memory, and the
    Dense layer still gets the dense matrix that the CPU multiplies fastest
    (measured: faster than sparse batches, see the README). `sparse=True`
    yields `tf.SparseTensor` batches instead. The network sees exactly the
    book's vectors (see the tests). Reshuffled every epoch when `shuffle`.
    """
    import tensorflow as tf

    sequences = list(sequences)
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences]) if len(sequences) else np.zeros(0)
    rows = np.repeat(np.arange(len(sequences), dtype=np.int64), lengths)
    if len(flat) and (flat.min() < 0 or flat.max() >= dimension):
        raise ValueError(f"word indices must lie in [0, {dimension}); got {flat.min()}..{flat.max()}")
    keys = np.sort(rows * dimension + flat)  # row by row, words ascending
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # no repeats (faster than np.unique here)
    words = tf.RaggedTensor.from_value_rowids(keys % dimension, keys // dimension, nrows=len(sequences))
    labels = tf.constant(labels)

    def gather_batch(batch_indices):
        batch = tf.gather(words, batch_indices)
        indices = tf.stack([batch.value_rowids(), batch.flat_values], axis=1)
        vectors = tf.SparseTensor(indices, tf.ones_like(batch.flat_values, dtype=tf.float32),
                                  dense_shape=tf.stack([tf.shape(batch_indices, out_type=tf.int64)[0],
                                                        tf.constant(dimension, tf.int64)]))
        return (vectors if sparse else tf.sparse.to_dense(vectors)), tf.gather(labels, batch_indices)

    indices = tf.data.Dataset.range(len(sequences))
    if shuffle:
        indices = indices.shuffle(len(sequences), seed=seed, reshuffle_each_iteration=True)
    return without_autotuning(indices.batch(batch_size).map(gather_batch).prefetch(2))
