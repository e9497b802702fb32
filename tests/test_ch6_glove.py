"""2nd edition 11.3.3 in 6.2: the bidirectional LSTM on GloVe's pretrained vectors, frozen. GloVe's 822 MB are not
here: a tiny glove.6B.100d.txt of the synthetic reviews' words stands in for it, in a --quick run."""

import keras
import numpy as np
import pytest

from chapters.ch6_text_and_sequences import CHAPTER
from chapters.ch6_text_and_sequences import recurrent_networks as s6_2
from models import text_networks as text
from tests.helpers import layer_params, results_of, run_folders, run_in_process, training_of, write_aclimdb

GLOVE_WORDS = [f"w{i}" for i in range(0, 300, 2)] + ["awful", "wonderful", "film", "end", "br"]
# The book's model: Embedding(20000, 100) from GloVe, frozen, masking 0 -> Bidirectional(LSTM(32)) -> Dropout(0.5)
# -> Dense(1). LSTM(32) on 100 values: 4 * (100*32 + 32*32 + 32) = 17,024, twice = 34,048; Dense(1) on 64: 65.
TRAINABLE_PER_LAYER = [0, 0, 34_048, 0, 65]
FROZEN_PER_LAYER = [0, 2_000_000, 0, 0, 0]


def per_layer(model, weights):
    return [sum(int(np.prod(w.shape)) for w in getattr(layer, weights)) for layer in model.layers]


def test_glove_bidirectional_lstm_has_2_034_113_parameters_of_which_34_113_train():
    matrix = np.random.default_rng(0).normal(size=(20_000, 100)).astype("float32")
    model = text.glove_bidirectional_lstm(matrix)
    assert layer_params(model) == text.GLOVE_BIDIRECTIONAL_LSTM_BOOK_PARAMS == [0, 2_000_000, 34_048, 0, 65]
    assert per_layer(model, "trainable_weights") == TRAINABLE_PER_LAYER
    assert per_layer(model, "non_trainable_weights") == FROZEN_PER_LAYER
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], matrix)
    assert model.layers[1].mask_zero is True and model.layers[3].rate == 0.5
    assert s6_2.MODELS[2][-1] == "glove_bidirectional_lstm" and s6_2.SEQUENCES["glove_dimension"] == 100


@pytest.fixture(scope="module")
def glove_run(tmp_path_factory):
    """6.2 --edition 2 --quick with only the GloVe model, on synthetic reviews and a tiny GloVe file."""
    folder = tmp_path_factory.mktemp("ch6_glove")
    data = folder / "data"
    write_aclimdb(data / "aclImdb", {"train": 100, "test": 30})
    rng = np.random.default_rng(0)
    vectors = {word: rng.normal(size=100).round(4).astype("float32") for word in GLOVE_WORDS}
    (data / "glove").mkdir()
    (data / "glove" / "glove.6B.100d.txt").write_text(
        "".join(word + " " + " ".join(f"{v:.4f}" for v in vector) + "\n" for word, vector in vectors.items()))
    code, out, err = run_in_process(CHAPTER, ["6.2", "--edition", "2", "--quick", "--models",
                                              "glove_bidirectional_lstm", "--data-dir", data, "--output-dir", "out"],
                                    cwd=folder)
    assert code == 0, err[-3000:]
    return folder / "out", vectors, out


def test_the_glove_model_matches_the_books_counts_layer_by_layer(glove_run):
    out, _, _ = glove_run
    results = results_of(out, "6.2")
    assert results["book_check.glove_bidirectional_lstm"] == {
        "value": "MATCH", "params": [0, 2_000_000, 34_048, 0, 65], "book": [0, 2_000_000, 34_048, 0, 65]}
    assert results["glove_bidirectional_lstm.trainable_params"] == {"value": 34_113, "book": 34_113}
    assert results["glove_bidirectional_lstm.non_trainable_params"] == {"value": 2_000_000, "book": 2_000_000}


def test_the_glove_model_trains_with_the_books_recipe_and_is_tested_at_its_best_checkpoint(glove_run):
    out, vectors, _ = glove_run
    results = results_of(out, "6.2")
    found = results["glove_bidirectional_lstm.words_found"]["value"]
    assert 100 < found <= len(vectors)  # the reviews' words w0 ... w298, awful, wonderful, ...
    test = results["glove_bidirectional_lstm.test_accuracy_best_checkpoint"]
    assert 0 <= test["value"] <= 1 and "book" not in test and "aren't very helpful" in test["note"]
    assert "glove_bidirectional_lstm.best_validation_accuracy" in results
    facts = training_of(out, "6.2")["glove_bidirectional_lstm"]
    assert (facts["optimizer"], facts["learning_rate"], facts["loss"], facts["book_epochs"], facts["epochs"]) == (
        "RMSprop", pytest.approx(1e-3), "binary_crossentropy", 10, 1)
    assert set(training_of(out, "6.2")) == {"glove_bidirectional_lstm"}


def test_the_trained_embedding_is_still_gloves_vectors(glove_run):
    """Frozen: after training, each row is the GloVe vector of its token, or zeros (padding, [UNK], unknown)."""
    out, vectors, _ = glove_run
    model = keras.models.load_model(run_folders(out, "6.2")[-1] / "glove_bidirectional_lstm" / "last.keras")
    embedding = model.layers[1].get_weights()[0]
    assert embedding.shape == (20_000, 100) and not model.layers[1].trainable_weights
    rows = embedding[np.abs(embedding).sum(axis=1) > 0]
    glove_rows = {vector.tobytes() for vector in vectors.values()}
    assert len(rows) == results_of(out, "6.2")["glove_bidirectional_lstm.words_found"]["value"]
    assert all(row.tobytes() in glove_rows for row in rows)
