"""5.1c The workshop's CIFAR-10 convnet: its layers, PyTorch's initialisation, the two recipes, --quick."""

import json

import keras
import numpy as np
import pytest

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets import cifar10_convnet as s5_1c
from datasets.cifar10 import FOLDER
from models import convnets
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    layer_params,
    run_folders,
    run_in_process,
)
from tests.test_datasets_cifar10 import write_cifar_folder


def test_the_workshops_convnet_has_pytorchs_62_006_parameters_layer_by_layer():
    model = convnets.cifar10_convnet()
    assert layer_params(model) == convnets.CIFAR10_CONVNET_BOOK_PARAMS == [456, 0, 2_416, 0, 0, 48_120, 10_164, 850]
    assert model.count_params() == 62_006
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == convnets.CIFAR10_CONVNET_OUTPUT_SHAPES == [
        (28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]
    assert [layer.kernel_size for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [(5, 5), (5, 5)]
    assert [layer.pool_size for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)] == [(2, 2)] * 2
    assert [layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")] == [
        "relu", "relu", "relu", "relu", "softmax"]


def test_weights_and_biases_start_as_pytorchs_uniform_within_one_over_sqrt_fan_in():
    keras.utils.set_random_seed(0)
    model = convnets.cifar10_convnet()
    for name, fan_in in (("conv1", 75), ("conv2", 150), ("fc1", 400), ("fc2", 120), ("fc3", 84)):
        kernel, bias = model.get_layer(name).get_weights()
        limit = 1 / np.sqrt(fan_in)
        assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit, name
        assert np.abs(bias).max() <= limit and np.abs(bias).max() > 0.5 * limit, name


def test_the_workshop_recipe_is_sgd_0_001_momentum_0_9_batches_of_4_for_2_epochs():
    recipe = s5_1c.RECIPES["workshop"]
    optimizer = recipe.optimizer()
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert (float(optimizer.learning_rate), float(optimizer.momentum)) == (pytest.approx(0.001), pytest.approx(0.9))
    assert (recipe.batch_size, recipe.epochs, recipe.validation_pictures, recipe.augmentation) == (4, 2, 0, None)
    assert recipe.book_test_accuracy == "~0.54 (the PyTorch tutorial)"


def test_the_keras_recipe_is_adam_batches_of_32_for_20_epochs_with_5000_held_out_and_augmentation():
    recipe = s5_1c.RECIPES["keras"]
    optimizer = recipe.optimizer()
    assert isinstance(optimizer, keras.optimizers.Adam) and float(optimizer.learning_rate) == pytest.approx(0.001)
    assert (recipe.batch_size, recipe.epochs, recipe.validation_pictures) == (32, 20, 5000)
    augmentation = recipe.augmentation(0)
    assert [type(layer).__name__ for layer in augmentation.layers] == ["RandomFlip", "RandomTranslation"]


def test_pictures_are_normalised_to_minus_1_1_as_the_workshop_does():
    np.testing.assert_allclose(s5_1c.normalize(np.array([0, 51, 255], np.uint8)), [-1, -0.6, 1], atol=1e-6)
    assert s5_1c.QUICK_SUBSET == (2000, 500)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """5.1c --quick with both recipes on small files in the CIFAR-10 batch format (the Keras recipe in mixed
    bfloat16, forced: on any CPU, and with --distribute mirrored, on one device); and a run without the data."""
    tmp_path = tmp_path_factory.mktemp("ch5_1c")
    write_cifar_folder(tmp_path / "data" / "cifar10" / FOLDER, per_batch=40)
    runs = {recipe: run_in_process(CHAPTER, ["5.1c", "--quick", "--recipe", recipe, *precision, "--data-dir",
                                              tmp_path / "data", "--output-dir", tmp_path / recipe], cwd=tmp_path)
            for recipe, precision in (("workshop", []), ("keras", MIXED_BFLOAT16_MIRRORED))}
    elsewhere = tmp_path / "elsewhere"  # no ./data and an empty Keras home there
    elsewhere.mkdir()
    runs["no data"] = run_in_process(CHAPTER, ["5.1c", "--quick", "--output-dir", tmp_path / "nothing"], cwd=elsewhere)
    return tmp_path, runs


def written(folder):
    return json.loads((run_folders(folder, "5.1c")[-1] / "results.json").read_text())


def test_quick_run_trains_the_workshop_recipe_and_reports_test_accuracy_per_class(quick_runs):
    tmp_path, runs = quick_runs
    code, out, err = runs["workshop"]
    assert code == 0, err[-2000:]
    facts = written(tmp_path / "workshop")["training"]["workshop_recipe"]
    assert (facts["optimizer"], facts["learning_rate"], facts["momentum"], facts["loss"]) == (
        "SGD", pytest.approx(0.001), pytest.approx(0.9), "sparse_categorical_crossentropy")
    assert (facts["book_epochs"], facts["epochs"]) == (2, 1)
    results = written(tmp_path / "workshop")["results"]
    assert results["book_check.cifar10_convnet"]["value"] == "MATCH"
    assert results["test_accuracy"]["book"] == "~0.54 (the PyTorch tutorial)" and 0 <= results["test_accuracy"][
        "value"] <= 1
    assert set(results["test_accuracy_per_class"]["value"]) <= set(s5_1c.CLASS_NAMES)
    assert "2 epochs: 200 pictures, 50 steps per epoch" in out  # batches of 4
    assert (run_folders(tmp_path / "workshop", "5.1c")[-1] / "samples.png").exists()


def test_quick_run_of_the_keras_recipe_holds_out_a_tenth_and_trains_with_adam(quick_runs):
    tmp_path, runs = quick_runs
    code, out, err = runs["keras"]
    assert code == 0, err[-2000:]
    facts = written(tmp_path / "keras")["training"]["keras_recipe"]
    assert (facts["optimizer"], facts["learning_rate"], facts["book_epochs"]) == ("Adam", pytest.approx(0.001), 20)
    assert "180 pictures, 6 steps per epoch" in out and "Evaluating the best epoch (1)" in out


def test_5_1c_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_runs):
    tmp_path, runs = quick_runs
    assert runs["keras"][0] == 0, runs["keras"][2][-2000:]
    assert assert_trained_in_mixed_bfloat16(tmp_path / "keras", "5.1c") == 1


def test_5_1c_under_mirrored_builds_every_model_in_the_strategys_scope(quick_runs):
    tmp_path, runs = quick_runs
    assert runs["keras"][0] == 0, runs["keras"][2][-2000:]
    assert_trained_with_mirrored_variables(tmp_path / "keras", "5.1c")


def test_without_cifar10_offline_one_line_names_the_archive(quick_runs):
    _, runs = quick_runs
    code, out, err = runs["no data"]
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert "cifar-10-python.tar.gz" in errors[0] and "163 MB" in errors[0]
