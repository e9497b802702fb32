"""Chapter 3's data: the IMDB / Reuters / Boston loaders, multi-hot vectors, decoding, normalisation, K-fold."""

import json

import numpy as np
import pytest
import tensorflow as tf

from chapters.ch3_getting_started.boston_housing import k_fold_splits, normalize_features, smooth_curve
from chapters.ch3_getting_started.reuters_newswires import random_baseline
from datasets import DataError, DataNotFoundError
from datasets import boston_housing as boston_module
from datasets import imdb as imdb_module
from datasets import reuters as reuters_module
from datasets.boston_housing import keras_split, load_boston_housing
from datasets.imdb import (
    decode_review,
    encode_text,
    keras_word_sequences,
    load_imdb,
    load_imdb_word_index,
    multi_hot_dataset,
    vectorize_sequences,
)
from datasets.reuters import load_reuters


def ragged(rng, count, vocabulary, max_length):
    sequences = np.empty(count, dtype=object)
    sequences[:] = [list(map(int, rng.integers(1, vocabulary, rng.integers(0, max_length)))) for _ in range(count)]
    return sequences


def write_imdb(folder, rng, n_train=60, n_test=40, vocabulary=300, max_length=30):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = dict(x_train=ragged(rng, n_train, vocabulary, max_length), y_train=rng.integers(0, 2, n_train),
                  x_test=ragged(rng, n_test, vocabulary, max_length), y_test=rng.integers(0, 2, n_test))
    np.savez(folder / "imdb.npz", **arrays)
    (folder / "imdb_word_index.json").write_text(json.dumps({f"w{i}": i for i in range(1, vocabulary)}))
    return arrays


@pytest.fixture(autouse=True)
def fresh_caches():
    for function in (imdb_module._load_imdb, reuters_module._load_reuters, boston_module._load):
        function.cache_clear()
    yield


def as_lists(sequences):
    return [list(map(int, s)) for s in sequences]


@pytest.mark.parametrize("options", [dict(num_words=100), dict(num_words=100, maxlen=20), dict(),
                                     dict(num_words=50, skip_top=5), dict(num_words=80, oov_char=None)])
def test_imdb_loader_equals_keras_own_load_data(tmp_path, monkeypatch, options):
    """Keras's real load_data, pointed at our small file, gives exactly what our vectorised version gives."""
    import keras.src.datasets.imdb as keras_imdb

    write_imdb(tmp_path / "data" / "imdb", np.random.default_rng(0))
    monkeypatch.setattr(keras_imdb, "get_file", lambda *a, **k: str(tmp_path / "data" / "imdb" / "imdb.npz"))
    (x_train, y_train), (x_test, y_test) = keras_imdb.load_data(**options)

    splits = imdb_module.shuffled(113, *[(np.load(tmp_path / "data/imdb/imdb.npz", allow_pickle=True)[x],
                                          np.load(tmp_path / "data/imdb/imdb.npz", allow_pickle=True)[y])
                                         for x, y in (("x_train", "y_train"), ("x_test", "y_test"))])
    keras_options = {k: v for k, v in options.items()}
    (ours_train, ours_y_train), (ours_test, ours_y_test) = keras_word_sequences(splits, **keras_options)
    assert as_lists(ours_train) == as_lists(x_train) and as_lists(ours_test) == as_lists(x_test)
    np.testing.assert_array_equal(ours_y_train, y_train)
    np.testing.assert_array_equal(ours_y_test, y_test)


def test_load_imdb_finds_the_data_dir_and_applies_the_steps(tmp_path):
    arrays = write_imdb(tmp_path / "data" / "imdb", np.random.default_rng(1))
    imdb = load_imdb(num_words=100, data_dir=str(tmp_path / "data"))
    order = np.arange(60)
    np.random.RandomState(113).shuffle(order)
    first = arrays["x_train"][order[0]]
    expected = [1] + [w + 3 if w + 3 < 100 else 2 for w in first]
    assert imdb.train_data[0].tolist() == expected
    assert imdb.train_labels[0] == arrays["y_train"][order[0]]
    assert max(int(s.max()) for s in imdb.train_data if len(s)) <= 99
    # Reproducible: a second load (no cache) gives the same order.
    imdb_module._load_imdb.cache_clear()
    again = load_imdb(num_words=100, data_dir=str(tmp_path / "data"))
    assert as_lists(again.train_data) == as_lists(imdb.train_data)


def test_maxlen_keeps_sequences_shorter_than_maxlen(tmp_path):
    write_imdb(tmp_path / "data" / "imdb", np.random.default_rng(2))
    imdb = load_imdb(num_words=None, maxlen=15, data_dir=str(tmp_path / "data"))
    assert all(len(s) < 15 for s in imdb.train_data) and len(imdb.train_data) < 60
    with pytest.raises(DataError, match="maxlen"):
        imdb_module._load_imdb.cache_clear()
        load_imdb(maxlen=1, data_dir=str(tmp_path / "data"))


def test_reuters_loader_equals_keras_own_load_data(tmp_path, monkeypatch):
    import keras.src.datasets.reuters as keras_reuters

    rng = np.random.default_rng(3)
    folder = tmp_path / "data" / "reuters"
    folder.mkdir(parents=True)
    np.savez(folder / "reuters.npz", x=ragged(rng, 101, 500, 40), y=rng.integers(0, 46, 101))
    monkeypatch.setattr(keras_reuters, "get_file", lambda *a, **k: str(folder / "reuters.npz"))
    (x_train, y_train), (x_test, y_test) = keras_reuters.load_data(num_words=200)
    ours = load_reuters(num_words=200, data_dir=str(tmp_path / "data"))
    assert len(ours.train_data) == 80 and len(ours.test_data) == 21
    assert as_lists(ours.train_data) == as_lists(x_train) and as_lists(ours.test_data) == as_lists(x_test)
    np.testing.assert_array_equal(ours.train_labels, y_train)
    np.testing.assert_array_equal(ours.test_labels, y_test)


def test_missing_and_broken_files_say_what_to_fetch(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"imdb\.npz.*storage\.googleapis\.com"):
        load_imdb()
    with pytest.raises(DataNotFoundError, match=r"reuters\.npz"):
        load_reuters()
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    (tmp_path / "data" / "imdb" / "imdb.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="cannot be read"):
        load_imdb()
    (tmp_path / "data" / "imdb" / "imdb_word_index.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not a word index"):
        load_imdb_word_index()


def test_decoding_round_trips():
    word_index = {"the": 1, "movie": 2, "was": 3, "great": 4}
    encoded = [1] + encode_text("the movie was great", word_index)  # start index, then the words
    assert encoded == [1, 4, 5, 6, 7]
    assert decode_review(encoded, word_index) == "? the movie was great"
    assert decode_review([0, 1, 2], word_index) == "? ? ?"  # padding, start, unknown


def slow_vectorize(sequences, dimension):
    """The book's double loop, as the reference."""
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        for j in sequence:
            results[i, j] = 1.0
    return results


def dense(x):
    return (tf.sparse.to_dense(x) if isinstance(x, tf.SparseTensor) else x).numpy()


@pytest.mark.parametrize("sparse", [False, True])
def test_multi_hot_vectors_equal_the_books_loop(sparse):
    rng = np.random.default_rng(4)
    sequences = [rng.integers(0, 60, rng.integers(0, 25)) for _ in range(33)]  # repeats and empty reviews
    expected = slow_vectorize(sequences, 60)
    fast = vectorize_sequences(sequences, 60)
    assert fast.dtype == np.float32
    np.testing.assert_array_equal(fast, expected)
    labels = np.arange(33, dtype="float32")
    batches = list(multi_hot_dataset(sequences, labels, 8, dimension=60, sparse=sparse))
    assert isinstance(batches[0][0], tf.SparseTensor) == sparse and batches[0][0].dtype == tf.float32
    np.testing.assert_array_equal(np.concatenate([dense(x) for x, _ in batches]), expected)
    shuffled = list(multi_hot_dataset(sequences, labels, 8, dimension=60, shuffle=True, seed=0, sparse=sparse))
    rows = np.concatenate([dense(x) for x, _ in shuffled])
    order = np.concatenate([y.numpy() for _, y in shuffled]).astype(int)
    assert sorted(order) == list(range(33)) and list(order) != list(range(33))
    np.testing.assert_array_equal(rows, expected[order])  # each vector still travels with its label
    with pytest.raises(ValueError, match="word indices"):
        multi_hot_dataset([[0, 60]], [0.0], 1, dimension=60)


def test_boston_split_normalisation_and_offline_copy(tmp_path):
    rng = np.random.default_rng(5)
    x, y = rng.normal(5, 3, (50, 13)), rng.uniform(5, 50, 50)
    (tmp_path / "data" / "boston_housing").mkdir(parents=True)
    np.savez(tmp_path / "data" / "boston_housing" / "boston_housing.npz", x=x, y=y)
    data = load_boston_housing()
    order = np.arange(50)
    np.random.RandomState(113).shuffle(order)
    np.testing.assert_array_equal(data.train_data, x[order[:40]])
    np.testing.assert_array_equal(data.test_targets, y[order[40:]])
    # Normalisation: statistics of the training set only, applied to both.
    train, test = normalize_features(data.train_data, data.test_data)
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(test, (data.test_data - data.train_data.mean(0)) / data.train_data.std(0))
    assert not np.allclose(test.mean(axis=0), 0, atol=1e-3)  # the test set's own statistics were not used
    # Offline without the npz: mlxtend's 506 rows, split the Keras way (404 / 102).
    boston_module._load.cache_clear()
    (tmp_path / "data" / "boston_housing" / "boston_housing.npz").unlink()
    offline = load_boston_housing()
    assert offline.train_data.shape == (404, 13) and offline.test_data.shape == (102, 13)
    assert "mlxtend" in offline.source
    assert keras_split(x, y).train_data.shape == (40, 13)


def test_k_fold_splits_cover_every_sample_once():
    folds = list(k_fold_splits(404, 4))
    assert len(folds) == 4
    validation = np.concatenate([v for v, _ in folds])
    assert sorted(validation) == list(range(404))
    for v, t in folds:
        assert len(v) == 101 and len(t) == 303 and not set(v) & set(t)


def test_smooth_curve_is_the_books_moving_average_with_factor_0_9():
    assert smooth_curve([1.0, 2.0, 3.0], factor=0.5) == [1.0, 1.5, 2.25]
    assert smooth_curve([0.0, 10.0]) == [0.0, pytest.approx(1.0)]


def test_random_baseline_guesses_by_shuffling_the_labels():
    labels = np.repeat(np.arange(4), 250)
    assert 0.2 < random_baseline(labels, 0) < 0.3  # four equal classes: ~1/4
