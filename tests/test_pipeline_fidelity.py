"""What each section's data pipeline feeds its models: which samples, in which order, with which labels.

Synthetic data that carries each sample's identity, so that a test can tell
which sample (and which part of it) a model sees, and whether its label came
with it.
"""

import numpy as np
import pytest

from chapters.ch6_text_and_sequences import advanced_recurrent as s6_3
from chapters.ch6_text_and_sequences import recipes
from datasets.imdb import WordSequences
from tests.helpers import make_run

# ---------------------------------------------------------------------------
# Reviews whose first word says which review they are (5000 + i) and whose label is i's parity
# ---------------------------------------------------------------------------

IDENTITY = 5_000


def identified_reviews(count, first_length=600):
    """Review i: its identity, then the words 4, 5, 6, ... (first_length + i words); label i % 2."""
    reviews = np.empty(count, dtype=object)
    for i in range(count):
        reviews[i] = np.concatenate([[IDENTITY + i], 4 + np.arange(1, first_length + i)]).astype("int32")
    return reviews, (np.arange(count) % 2).astype("int64")


@pytest.fixture
def identified_imdb(monkeypatch):
    train, train_labels = identified_reviews(20)
    test, test_labels = identified_reviews(10)
    test = np.array([review + np.where(review >= IDENTITY, 100, 0) for review in test], dtype=object)  # 5100 + i
    imdb = WordSequences(train, train_labels, test, test_labels, "synthetic")
    monkeypatch.setattr(recipes, "load_imdb", lambda **kwargs: imdb)
    return imdb


def test_6_3_both_imdb_models_see_each_reviews_first_500_words_read_backwards(tmp_path, identified_imdb):
    run = make_run(tmp_path, section="6.3")
    for name in s6_3.IMDB_TRAININGS:
        arrays = s6_3.imdb_arrays_of(run, name)
        for x, y, reviews, labels in ((np.concatenate([arrays.x_train, arrays.x_val]),
                                       np.concatenate([arrays.y_train, arrays.y_val]), identified_imdb.train_data,
                                       identified_imdb.train_labels),
                                      (arrays.x_test, arrays.y_test, identified_imdb.test_data,
                                       identified_imdb.test_labels)):
            assert x.shape[1] == s6_3.MAXLEN == 500
            for row, label, review, book_label in zip(x, y, reviews, labels):
                # the book reverses before pad_sequences(maxlen=500): the review's first 500 words, backwards
                np.testing.assert_array_equal(row, review[:500][::-1], err_msg=name)
                assert label == book_label
