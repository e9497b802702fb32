"""Chapter 2: the first network's parameters, exact gradients, the from-scratch network, and the CLI."""

import numpy as np
import pytest
import tensorflow as tf

from chapters import ch2_building_blocks as ch2
from conftest import run_cli
from models.first_network import FIRST_NETWORK_BOOK_PARAMS, build_first_network

MODULE = "chapters.ch2_building_blocks"


def test_first_network_parameters_per_layer():
    model = build_first_network()
    assert [layer.count_params() for layer in model.layers] == [401_920, 5_130] == FIRST_NETWORK_BOOK_PARAMS
    assert model.count_params() == 407_050
    assert model.output_shape == (None, 10)


def test_prepare_images_and_labels():
    images = np.full((3, 28, 28), 255, np.uint8)
    prepared = ch2.prepare_images(images)
    assert prepared.shape == (3, 784) and prepared.dtype == np.float32 and prepared.max() == 1.0
    labels = np.array([5, 0, 4], np.uint8)
    one_hot = ch2.prepare_labels(labels, one_hot=True)
    assert one_hot.shape == (3, 10) and one_hot[0, 5] == 1 and one_hot.sum() == 3
    assert ch2.prepare_labels(labels, one_hot=False).tolist() == [5, 0, 4]


def test_slide_gradients_are_exact():
    assert ch2.persistent_tape_gradients() == {"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0}
    assert ch2.workshop_gradients() == {"df/dx": 40.0, "df/dy": 3.0}
    assert ch2.simple_gradients() == {"d(2x+3)/dx": 2.0, "d(x^2)/dx at 3 (Variable)": 6.0,
                                      "d(x^2)/dx at 3 (watched constant)": 6.0}
    second = ch2.second_order_gradients()
    assert second["speed at t=0"] == 0.0 and second["acceleration"] == pytest.approx(9.8)


def test_linear_regression_recovers_w_and_b():
    _, _, w, b, losses = ch2.linear_regression(steps=200, seed=1)
    assert w == pytest.approx(3.0, abs=0.1) and b == pytest.approx(2.0, abs=0.05)
    assert losses[-1] < losses[0] / 10


def test_linear_classifier_learns_in_40_steps():
    inputs, targets = ch2.make_two_classes(seed=0)
    assert inputs.shape == (2000, 2) and targets.mean() == 0.5
    classifier = ch2.LinearClassifier(seed=0)
    losses = [classifier.training_step(inputs, targets) for _ in range(40)]
    assert losses[-1] < 0.04  # the book: ~0.025
    assert all(later <= earlier + 1e-6 for earlier, later in zip(losses[5:], losses[6:]))


def test_naive_operations_equal_numpy():
    rng = np.random.default_rng(0)
    x, y, v = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(4,))
    np.testing.assert_allclose(ch2.naive_relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(ch2.naive_add(x, y), x + y)
    np.testing.assert_allclose(ch2.naive_add_matrix_and_vector(x, v), x + v)
    np.testing.assert_allclose(ch2.naive_matrix_dot(x, y.T), x @ y.T)
    np.testing.assert_allclose(ch2.naive_vector_dot(v, v), v @ v)


def test_naive_model_has_four_weight_tensors_and_a_step_lowers_the_loss():
    tf.random.set_seed(0)
    model = ch2.build_naive_model()
    assert len(model.weights) == 4
    assert sum(int(np.prod(w.shape)) for w in model.weights) == 407_050
    rng = np.random.default_rng(0)
    images = (rng.random((128, 784)) < 0.13).astype("float32")  # sparse ink, like MNIST's ~13% mean
    labels = rng.integers(0, 10, 128)
    losses = [float(ch2.one_training_step(model, images, labels)) for _ in range(5)]
    assert losses[-1] < losses[0] * 0.8
    weights_before = [w.numpy().copy() for w in model.weights]
    ch2.update_weights([tf.ones_like(w) for w in model.weights], model.weights, learning_rate=0.5)
    for before, weight in zip(weights_before, model.weights):
        np.testing.assert_allclose(weight.numpy(), before - 0.5, rtol=1e-5, atol=1e-6)
    generator = ch2.BatchGenerator(np.zeros((172, 784)), np.zeros(172), batch_size=100)
    assert generator.num_batches == 2
    first, _ = generator.next()
    second, _ = generator.next()
    assert len(first) == 100 and len(second) == 72


def test_every_section_runs_quick_offline(tmp_path):
    """The whole chapter, as a user without data or internet runs it."""
    result = run_cli(MODULE, "all", "--quick", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OFFLINE SAMPLE" in result.stdout  # says it is not the full MNIST
    assert "MATCH: all 2 layers and the total (407,050 parameters)" in result.stdout
    run_dirs = sorted((tmp_path / "outputs" / "ch2_building_blocks").iterdir())
    assert [d.name.split("-")[0] for d in run_dirs] == ["2.1", "2.2", "2.3", "2.4", "2.5"]
    first = run_dirs[0] / "first_network_book"
    assert {"history.json", "history.csv", "curves.png", "best.keras", "last.keras"} <= {p.name for p in
                                                                                      first.iterdir()}
    assert (run_dirs[1] / "digit.png").exists()
    assert (run_dirs[3] / "linear_classifier.png").exists()
    import json

    gradients = json.loads((run_dirs[3] / "results.json").read_text())["results"]
    assert gradients["persistent tape"]["value"] == {"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0}
    accuracy = json.loads((run_dirs[0] / "results.json").read_text())["results"]["test accuracy"]
    assert accuracy["book"] == 0.978 and 0.5 < accuracy["value"] <= 1.0


def test_full_npz_in_data_dir_is_used(tmp_path):
    """A (fake, small) mnist.npz in --data-dir is found; the workshop variant runs; --epochs is honoured."""
    data = tmp_path / "my_data" / "mnist"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(data / "mnist.npz", x_train=rng.integers(0, 256, (256, 28, 28), np.uint8),
             y_train=rng.integers(0, 10, 256, np.uint8), x_test=rng.integers(0, 256, (64, 28, 28), np.uint8),
             y_test=rng.integers(0, 10, 64, np.uint8))
    result = run_cli(MODULE, "2.1", "--variant", "workshop", "--epochs", "2", "--data-dir", tmp_path / "my_data",
                     "--edition", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OFFLINE SAMPLE" not in result.stdout and "my_data" in result.stdout
    assert "loss=mean_squared_error" in result.stdout
    assert "Epoch 2/2" in result.stdout


def test_summary_only_reports_match_and_trains_nothing(tmp_path):
    result = run_cli(MODULE, "2.1", "--summary-only", "--edition", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MATCH" in result.stdout and "MISMATCH" not in result.stdout
    assert "Epoch" not in result.stdout and "MNIST:" not in result.stdout


def test_bad_data_dir_is_one_line_not_a_traceback(tmp_path):
    result = run_cli(MODULE, "2.1", "--data-dir", tmp_path / "missing", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: --data-dir {tmp_path / 'missing'}: no such folder"


def test_table_of_contents_lists_every_section(tmp_path):
    result = run_cli("chapters", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for number in ["2.1", "2.2", "2.3", "2.4", "2.5"]:
        assert f"python -m chapters.ch2_building_blocks {number}" in result.stdout
