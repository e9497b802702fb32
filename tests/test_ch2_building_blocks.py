"""Chapter 2: the first network and its recipes, exact gradients and updates, the from-scratch network, the CLI."""

import numpy as np
import pytest
import tensorflow as tf

from chapters.ch2_building_blocks import CHAPTER
from chapters.ch2_building_blocks import first_network as s2_1
from chapters.ch2_building_blocks import from_scratch as s2_5
from chapters.ch2_building_blocks import gradients as s2_4
from chapters.ch2_building_blocks import tensor_operations as s2_3
from datasets.mnist import QUICK_SUBSET
from models.first_network import FIRST_NETWORK_BOOK_PARAMS, first_network, first_network_workshop
from tests.helpers import layer_params, results_of, run_cli, run_in_process, training_of

MODULE = "chapters.ch2_building_blocks"


# --- 2.1: the network and its recipes ---------------------------------------------------------

def test_first_network_has_the_books_parameters_per_layer():
    assert FIRST_NETWORK_BOOK_PARAMS == [401_920, 5_130]
    assert layer_params(first_network()) == FIRST_NETWORK_BOOK_PARAMS
    assert layer_params(first_network_workshop()) == FIRST_NETWORK_BOOK_PARAMS


def test_first_network_is_relu_then_softmax_and_the_workshop_one_sigmoid_twice():
    assert [layer.activation.__name__ for layer in first_network().layers] == ["relu", "softmax"]
    assert [layer.activation.__name__ for layer in first_network_workshop().layers] == ["sigmoid", "sigmoid"]


def test_first_edition_trains_rmsprop_on_one_hot_labels_5_epochs_of_128():
    recipe = s2_1.RECIPES["book", 1]
    assert (recipe.optimizer, recipe.loss, recipe.one_hot_labels) == ("rmsprop", "categorical_crossentropy", True)
    assert (recipe.epochs, recipe.batch_size, recipe.build_model) == (5, 128, first_network)


def test_second_edition_keeps_integer_labels_with_sparse_crossentropy():
    recipe = s2_1.RECIPES["book", 2]
    assert (recipe.optimizer, recipe.loss, recipe.one_hot_labels) == (
        "rmsprop", "sparse_categorical_crossentropy", False)
    assert (recipe.epochs, recipe.batch_size) == (5, 128)


@pytest.mark.parametrize("edition", [1, 2])
def test_workshop_variant_is_sgd_with_mean_squared_error_on_one_hot_labels(edition):
    recipe = s2_1.RECIPES["workshop", edition]
    assert (recipe.optimizer, recipe.loss, recipe.one_hot_labels) == ("sgd", "mean_squared_error", True)
    assert (recipe.epochs, recipe.batch_size, recipe.build_model) == (5, 128, first_network_workshop)


def test_images_are_flattened_to_784_values_in_0_1():
    prepared = s2_1.prepare_images(np.full((3, 28, 28), 255, np.uint8))
    assert prepared.shape == (3, 784) and prepared.dtype == np.float32 and prepared.max() == 1.0


def test_labels_are_one_hot_vectors_or_integers():
    labels = np.array([5, 0, 4], np.uint8)
    one_hot = s2_1.prepare_labels(labels, one_hot=True)
    assert one_hot.shape == (3, 10) and one_hot[0, 5] == 1 and one_hot.sum() == 3
    assert s2_1.prepare_labels(labels, one_hot=False).tolist() == [5, 0, 4]


def test_quick_runs_use_the_first_2000_training_and_500_test_digits():
    assert QUICK_SUBSET == (2000, 500)


# --- 2.3 and 2.4: operations and gradients --------------------------------------------------------

def test_naive_operations_equal_numpy():
    rng = np.random.default_rng(0)
    x, y, v = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(4,))
    np.testing.assert_allclose(s2_3.naive_relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(s2_3.naive_add(x, y), x + y)
    np.testing.assert_allclose(s2_3.naive_add_matrix_and_vector(x, v), x + v)
    np.testing.assert_allclose(s2_3.naive_matrix_dot(x, y.T), x @ y.T)
    np.testing.assert_allclose(s2_3.naive_vector_dot(v, v), v @ v)


def test_the_slides_gradients_are_exact():
    assert s2_4.persistent_tape_gradients() == {"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0}
    assert s2_4.workshop_gradients() == {"df/dx": 40.0, "df/dy": 3.0}
    assert s2_4.simple_gradients() == {"d(2x+3)/dx": 2.0, "d(x^2)/dx at 3 (Variable)": 6.0,
                                       "d(x^2)/dx at 3 (watched constant)": 6.0}
    assert s2_4.second_order_gradients() == {"speed at t=0": 0.0, "acceleration": pytest.approx(9.8)}


def test_one_step_of_linear_regression_moves_w_by_the_learning_rate_times_the_gradient():
    x, y, w, b, _ = s2_4.linear_regression(steps=1, seed=1)
    # From w = b = 0, d(mean (y - b - w x)^2)/dw = -2 mean(x y) and d/db = -2 mean(y); learning rate 0.1.
    assert w == pytest.approx(0.1 * 2 * np.mean(x * y), rel=1e-5)
    assert b == pytest.approx(0.1 * 2 * np.mean(y), rel=1e-5)


def test_linear_regression_recovers_the_line_y_equals_2_plus_3x():
    _, _, w, b, losses = s2_4.linear_regression(steps=200, seed=1)
    assert w == pytest.approx(3.0, abs=0.1) and b == pytest.approx(2.0, abs=0.05)


def test_the_two_classes_are_1000_points_around_0_3_and_3_0():
    inputs, targets = s2_4.make_two_classes(seed=0)
    assert inputs.shape == (2000, 2) and targets[:1000].sum() == 0 and targets[1000:].min() == 1
    np.testing.assert_allclose(inputs[:1000].mean(axis=0), [0, 3], atol=0.1)
    np.testing.assert_allclose(inputs[1000:].mean(axis=0), [3, 0], atol=0.1)
    np.testing.assert_allclose(np.cov(inputs[:1000].T), [[1, 0.5], [0.5, 1]], atol=0.1)


def test_a_linear_classifier_step_is_gradient_descent_with_learning_rate_0_1():
    inputs = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    targets = np.array([[0.0], [1.0]], np.float32)
    classifier = s2_4.LinearClassifier(seed=0)
    classifier.W.assign(tf.zeros((2, 1)))
    classifier.training_step(inputs, targets)
    # From W = b = 0 the predictions are 0: dloss/dW = -2/N X^T t, dloss/db = -2 mean(t).
    np.testing.assert_allclose(classifier.W.numpy(), 0.1 * (2 / 2) * inputs.T @ targets, rtol=1e-6)
    np.testing.assert_allclose(classifier.b.numpy(), [0.1 * 2 * 0.5], rtol=1e-6)


def test_the_linear_classifier_reaches_the_books_loss_in_40_steps():
    inputs, targets = s2_4.make_two_classes(seed=0)
    classifier = s2_4.LinearClassifier(seed=0)
    losses = [classifier.training_step(inputs, targets) for _ in range(40)]
    assert losses[-1] < 0.04  # the book: ~0.025


# --- 2.5: the network from scratch ----------------------------------------------------------------

def test_the_from_scratch_recipe_is_10_epochs_of_128_at_learning_rate_1e_3():
    assert (s2_5.EPOCHS, s2_5.BATCH_SIZE, s2_5.LEARNING_RATE) == (10, 128, 1e-3)


def test_naive_model_has_four_weight_tensors_drawn_in_0_to_0_1():
    tf.random.set_seed(0)
    model = s2_5.naive_model()
    assert [tuple(w.shape) for w in model.weights] == [(784, 512), (512,), (512, 10), (10,)]
    first_kernel = model.weights[0].numpy()
    assert 0 <= first_kernel.min() and 0.099 < first_kernel.max() <= 0.1 and model.weights[1].numpy().max() == 0


def test_update_weights_subtracts_the_gradient_times_1e_3():
    tf.random.set_seed(0)
    model = s2_5.naive_model()
    before = [w.numpy().copy() for w in model.weights]
    s2_5.update_weights([tf.ones_like(w) for w in model.weights], model.weights)
    for old, weight in zip(before, model.weights):
        np.testing.assert_allclose(weight.numpy(), old - 1e-3, rtol=1e-5, atol=1e-7)


def test_a_few_steps_from_scratch_lower_the_loss():
    tf.random.set_seed(0)
    model = s2_5.naive_model()
    rng = np.random.default_rng(0)
    images = (rng.random((128, 784)) < 0.13).astype("float32")  # sparse ink, like MNIST's ~13% mean
    labels = rng.integers(0, 10, 128)
    losses = [float(s2_5.one_training_step(model, images, labels)) for _ in range(5)]
    assert losses[-1] < losses[0]


def test_the_batch_generator_walks_the_data_in_order():
    generator = s2_5.BatchGenerator(np.arange(172 * 2).reshape(172, 2), np.arange(172), batch_size=100)
    assert generator.num_batches == 2
    (first, first_labels), (second, _) = generator.next(), generator.next()
    assert len(first) == 100 and len(second) == 72 and first_labels[0] == 0


# --- the chapter from the command line ----------------------------------------------------------

@pytest.fixture(scope="module")
def quick_chapter(tmp_path_factory):
    """`all --quick` once, as a user without data or internet runs it; the tests below read what it wrote."""
    tmp_path = tmp_path_factory.mktemp("ch2")
    result = run_cli(MODULE, "all", "--quick", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, tmp_path / "outputs" / "ch2_building_blocks"


def test_every_section_runs_quick_offline_on_the_mnist_sample(quick_chapter):
    result, out = quick_chapter
    assert "OFFLINE SAMPLE" in result.stdout
    assert [d.name.split("-")[0] for d in sorted(out.iterdir())] == ["2.1", "2.2", "2.3", "2.4", "2.5"]
    first = results_of(out, "2.1")
    assert first["book_check.first_network"]["value"] == "MATCH"
    assert first["test_accuracy"]["book"] == 0.978 and 0.5 < first["test_accuracy"]["value"] <= 1.0
    assert "not the full MNIST" in first["test_accuracy"]["note"]
    assert results_of(out, "2.2")["train_images_ndim"]["value"] == 3
    assert results_of(out, "2.4")["persistent_tape"]["value"] == {"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0}
    assert results_of(out, "2.5")["naive_model_weight_tensors"]["value"] == 4
    for figure in ("2.2-*/digit.png", "2.4-*/linear_classifier.png", "2.1-*/first_network_book/curves.png"):
        assert list(out.glob(figure)), figure


def test_first_network_trains_as_compiled_with_the_books_epochs(quick_chapter):
    facts = training_of(quick_chapter[1], "2.1")["first_network_book"]
    assert (facts["optimizer"], facts["loss"]) == ("RMSprop", "categorical_crossentropy")
    assert facts["learning_rate"] == pytest.approx(0.001)  # Keras's "rmsprop", as the book
    assert (facts["book_epochs"], facts["epochs"]) == (5, 1)


def test_workshop_variant_reads_a_full_npz_from_the_data_dir_and_honours_epochs(tmp_path):
    data = tmp_path / "my_data" / "mnist"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(data / "mnist.npz", x_train=rng.integers(0, 256, (256, 28, 28), np.uint8),
             y_train=rng.integers(0, 10, 256, np.uint8), x_test=rng.integers(0, 256, (64, 28, 28), np.uint8),
             y_test=rng.integers(0, 10, 64, np.uint8))
    code, out, err = run_in_process(CHAPTER, ["2.1", "--variant", "workshop", "--epochs", "2", "--data-dir",
                                              tmp_path / "my_data", "--output-dir", "out"], cwd=tmp_path)
    assert code == 0, err[-3000:]
    assert "OFFLINE SAMPLE" not in out and "my_data" in out
    facts = training_of(tmp_path / "out")["first_network_workshop"]
    assert (facts["optimizer"], facts["loss"], facts["epochs_done"]) == ("SGD", "mean_squared_error", 2)
    assert "workshop_test_accuracy" in results_of(tmp_path / "out")


def test_summary_only_checks_the_model_and_trains_nothing(tmp_path):
    code, out, err = run_in_process(CHAPTER, ["2.1", "--summary-only", "--edition", "2",
                                                "--output-dir", tmp_path / "out"])
    assert code == 0, err
    assert results_of(tmp_path / "out")["book_check.first_network"]["value"] == "MATCH"
    assert training_of(tmp_path / "out") == {} and "MNIST:" not in out


def test_a_missing_data_dir_is_one_line(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["2.1", "--data-dir", tmp_path / "missing",
                                            "--output-dir", tmp_path / "out"])
    assert code == 2 and err == f"error: --data-dir {tmp_path / 'missing'}: no such folder\n"


def test_the_table_of_contents_lists_every_section_with_its_command(capsys):
    from chapters.__main__ import main

    main()
    out = capsys.readouterr().out
    for number in ["2.1", "2.2", "2.3", "2.4", "2.5"]:
        assert f"python -m chapters.ch2_building_blocks {number}" in out
