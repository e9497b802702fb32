"""Chapter 3's networks: parameters per layer, and a few training steps lower the loss."""

import keras
import numpy as np
import pytest

from datasets.imdb import multi_hot_dataset
from models.dense_networks import (
    BOSTON_BOOK_PARAMS,
    IMDB_BOOK_PARAMS,
    REUTERS_BOOK_PARAMS,
    REUTERS_BOTTLENECK_BOOK_PARAMS,
    boston_network,
    imdb_network,
    reuters_network,
)


def per_layer(model):
    return [layer.count_params() for layer in model.layers]


def test_chapter_3_parameter_counts():
    assert per_layer(imdb_network()) == IMDB_BOOK_PARAMS == [160_016, 272, 17]
    assert imdb_network().count_params() == 160_305
    assert per_layer(reuters_network()) == REUTERS_BOOK_PARAMS
    assert reuters_network().count_params() == 647_214
    assert per_layer(reuters_network(bottleneck_units=4)) == REUTERS_BOTTLENECK_BOOK_PARAMS
    assert reuters_network(bottleneck_units=4).count_params() == 640_554
    assert per_layer(boston_network()) == BOSTON_BOOK_PARAMS
    assert boston_network().count_params() == 5_121


@pytest.mark.parametrize("sparse", [False, True])
def test_a_few_steps_lower_the_loss_on_multi_hot_batches(sparse):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # Positive reviews use words 0-4999, negative ones words 5000-9999: learnable in a few steps.
    labels = rng.integers(0, 2, 256).astype("float32")
    sequences = [rng.integers(5000 * (1 - y), 5000 * (2 - y), 40) for y in labels]
    data = multi_hot_dataset(sequences, labels, 64, sparse=sparse)
    model = imdb_network()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    before = model.evaluate(data, verbose=0)[0]
    model.fit(data, epochs=3, verbose=0, shuffle=False)  # the dataset shuffles itself
    after, accuracy = model.evaluate(data, verbose=0)
    assert after < before * 0.7 and accuracy > 0.9


def test_boston_network_learns_a_linear_target():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 13)).astype("float32")
    y = x @ rng.normal(size=13).astype("float32") * 3 + 20
    model = boston_network()
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    before = model.evaluate(x, y, verbose=0)[1]
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] < before / 2


def test_train_in_graph_learns_and_reports_the_validation_mae():
    from chapters.ch3_getting_started.boston_housing import train_in_graph

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 13)).astype("float32")
    y = x @ rng.normal(size=13).astype("float32") * 3 + 20
    model = boston_network()
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    steps_before = int(model.optimizer.iterations.numpy())
    val_mae = train_in_graph(model, x[:100], y[:100], epochs=15, batch_size=16, validation_data=(x[100:], y[100:]))
    assert len(val_mae) == 15 and val_mae[-1] < val_mae[0] / 2
    assert int(model.optimizer.iterations.numpy()) - steps_before == 15 * 7  # ceil(100 / 16) batches per epoch
    assert val_mae[-1] == pytest.approx(model.evaluate(x[100:], y[100:], verbose=0)[1], rel=1e-4)
