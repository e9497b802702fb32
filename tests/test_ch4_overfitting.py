"""Section 4.4: the variants, their regularisers, the editions' validation splits, and the command line."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from chapters import ch4_overfitting as s4_4
from models.dense_networks import imdb_network
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    layer_params,
    results_of,
    run_in_process,
    training_of,
    write_word_sequence_data,
)

BOOK_TOTALS = {"original": 160_305, "smaller": 40_029, "bigger": 5_383_681, "l2": 160_305, "l1": 160_305,
               "l1_l2": 160_305, "dropout": 160_305}


@pytest.mark.parametrize("name", list(BOOK_TOTALS))
def test_each_variant_has_the_books_parameters_per_layer(name):
    model = s4_4.build_variant(name)
    assert layer_params(model) == s4_4.VARIANTS[name][2] and model.count_params() == BOOK_TOTALS[name]


@pytest.mark.parametrize("name, kind", [("l2", keras.regularizers.L2), ("l1", keras.regularizers.L1),
                                        ("l1_l2", keras.regularizers.L1L2)])
def test_regularised_variants_penalise_both_hidden_kernels_by_0_001(name, kind):
    model = s4_4.build_variant(name)
    hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][:2]
    for layer in hidden:
        assert isinstance(layer.kernel_regularizer, kind)
        config = layer.kernel_regularizer.get_config()
        assert all(config[key] == pytest.approx(0.001) for key in ("l1", "l2") if key in config)
    assert model.layers[-1].kernel_regularizer is None


def test_the_l2_penalty_is_in_the_loss():
    model = imdb_network(weight_regularizer="l2")
    kernels = [layer.kernel.numpy() for layer in model.layers[:2]]
    assert float(sum(model.losses)) == pytest.approx(sum(0.001 * np.sum(k ** 2) for k in kernels), rel=1e-5)


def test_the_dropout_variant_drops_half_after_each_hidden_layer():
    model = s4_4.build_variant("dropout")
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.5, 0.5]
    assert not [layer for layer in s4_4.build_variant("original").layers if isinstance(layer, keras.layers.Dropout)]


def test_the_comparisons_are_the_books_figures():
    assert s4_4.COMPARISONS == {"capacity": ["original", "smaller", "bigger"], "l2": ["original", "l2"],
                                "l1": ["original", "l1"], "l1_l2": ["original", "l1_l2"],
                                "dropout": ["original", "dropout"]}
    assert (s4_4.NUM_WORDS, s4_4.EPOCHS, s4_4.BATCH_SIZE, s4_4.QUICK_SUBSET) == (10_000, 20, 512, (2000, 1000))


IMDB = SimpleNamespace(train_data=np.arange(10), train_labels=np.arange(10) % 2,
                       test_data=np.arange(100, 104), test_labels=np.array([1, 0, 1, 0]))


def test_the_first_edition_validates_on_the_test_reviews():
    (x, _), (x_val, y_val) = s4_4.VALIDATION_SPLITS[1](IMDB)
    assert x.tolist() == list(range(10)) and x_val.tolist() == [100, 101, 102, 103] and y_val.tolist() == [1, 0, 1, 0]


def test_the_second_edition_holds_out_the_last_40_percent_of_the_training_reviews():
    (x, _), (x_val, y_val) = s4_4.VALIDATION_SPLITS[2](IMDB)
    assert x.tolist() == list(range(6)) and x_val.tolist() == [6, 7, 8, 9] and y_val.tolist() == [0, 1, 0, 1]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """--quick with two comparisons, in mixed bfloat16 (forced: on any CPU) and with --distribute mirrored (on one
    device); the tests below read what it wrote."""
    tmp_path = tmp_path_factory.mktemp("ch4")
    data = write_word_sequence_data(tmp_path / "data")
    code, _, err = run_in_process(s4_4.CHAPTER, ["--quick", "--compare", "capacity", "dropout",
                                                 *MIXED_BFLOAT16_MIRRORED, "--data-dir", data,
                                                 "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert code == 0, err[-3000:]
    return tmp_path / "out"


def test_a_quick_run_trains_each_variant_20_book_epochs_and_draws_one_figure_per_comparison(quick_run):
    training = training_of(quick_run)
    assert set(training) == {"original", "smaller", "bigger", "dropout"}
    assert {(f["optimizer"], f["loss"], f["book_epochs"]) for f in training.values()} == {
        ("RMSprop", "binary_crossentropy", 20)}
    results = results_of(quick_run)
    assert {key for key in results if key.endswith("lowest_validation_loss")} == {
        f"{name}.lowest_validation_loss" for name in training}
    run_dir = next(quick_run.glob("4.4-*"))
    for figure in ("capacity_val_loss.png", "capacity_training_loss.png", "dropout_val_loss.png"):
        assert (run_dir / figure).stat().st_size > 1000, figure


def test_4_4_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_run):
    assert assert_trained_in_mixed_bfloat16(quick_run, "4.4") == 4  # original, smaller, bigger, dropout


def test_4_4_under_mirrored_builds_every_model_in_the_strategys_scope(quick_run):
    assert_trained_with_mirrored_variables(quick_run, "4.4")


def test_missing_imdb_is_one_line(tmp_path):
    code, _, err = run_in_process(s4_4.CHAPTER, ["--quick", "--compare", "l2", "--output-dir", tmp_path / "out"],
                                  cwd=tmp_path)
    assert code == 2 and err.startswith("error: IMDB: imdb.npz not found") and err.count("\n") == 1
