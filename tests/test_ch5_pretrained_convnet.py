"""5.3 Using a pretrained convnet: VGG16, the classifiers, freezing, the recipes, the feature cache, --quick."""

import dataclasses
import json

import keras
import numpy as np
import pytest

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets import pretrained_convnet as s5_3
from datasets import dogs_vs_cats
from models import convnets, pretrained_convnets
from models.pretrained import NETWORKS, keras_models_dir
from tests.helpers import (
    MIXED_BFLOAT16,
    assert_trained_in_mixed_bfloat16,
    layer_params,
    make_run,
    make_split_folder,
    results_of,
    run_folders,
    run_in_process,
    training_of,
)
from tests.test_pretrained import write_weights_file

VGG16_NOTOP = [0, 1_792, 36_928, 0, 73_856, 147_584, 0, 295_168, 590_080, 590_080, 0,
               1_180_160, 2_359_808, 2_359_808, 0, 2_359_808, 2_359_808, 2_359_808, 0]


# --- VGG16 and the classifiers, layer by layer ----------------------------------------------------------

@pytest.fixture(scope="module")
def conv_base():
    keras.utils.set_random_seed(0)
    return pretrained_convnets.vgg16_conv_base("random", (150, 150))


def test_the_conv_base_is_vgg16_without_top_14_714_688_parameters_ending_at_4_4_512(conv_base):
    assert layer_params(conv_base) == pretrained_convnets.VGG16_NOTOP_BOOK_PARAMS == VGG16_NOTOP
    assert conv_base.count_params() == 14_714_688
    assert conv_base.output.shape[1:] == (4, 4, 512)
    assert [layer.name for layer in conv_base.layers][-4:] == ["block5_conv1", "block5_conv2", "block5_conv3",
                                                               "block5_pool"]


def test_the_full_vgg16_adds_the_slides_classifier_138_357_544_parameters():
    assert pretrained_convnets.VGG16_BOOK_PARAMS == VGG16_NOTOP[:-1] + [0, 0, 102_764_544, 16_781_312, 4_097_000]
    assert sum(pretrained_convnets.VGG16_BOOK_PARAMS) == 138_357_544
    assert pretrained_convnets.VGG16_FEATURE_SHAPES == {(150, 150): (4, 4, 512), (180, 180): (5, 5, 512)}


@pytest.fixture(scope="module")
def conv_base_180():
    keras.utils.set_random_seed(0)
    return pretrained_convnets.vgg16_conv_base("random", (180, 180))


def test_the_second_editions_180_pixel_conv_base_gives_5_5_512(conv_base_180):
    assert conv_base_180.output.shape[1:] == (5, 5, 512)


def test_the_first_editions_feature_classifier_2_097_665_on_8192_flattened_features():
    model = pretrained_convnets.feature_classifier_1st_edition()
    assert layer_params(model) == pretrained_convnets.FEATURE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS == [2_097_408, 0, 257]
    assert model.input_shape == (None, 8192)
    assert [model.layers[0].activation.__name__, model.layers[1].rate, model.layers[2].activation.__name__] == [
        "relu", 0.5, "sigmoid"]
    features = np.zeros((3, 4, 4, 512), "float32")
    assert s5_3.FIRST_EDITION.shape_features(features).shape == (3, 8192)


def test_the_second_editions_feature_classifier_3_277_313_flattens_5_5_512_and_has_no_hidden_activation():
    model = pretrained_convnets.feature_classifier_2nd_edition()
    assert layer_params(model) == pretrained_convnets.FEATURE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS == [
        0, 3_277_056, 0, 257]
    assert model.input_shape == (None, 5, 5, 512)
    assert [model.layers[1].activation.__name__, model.layers[2].rate, model.layers[3].activation.__name__] == [
        "linear", 0.5, "sigmoid"]
    features = np.zeros((3, 5, 5, 512), "float32")
    assert s5_3.SECOND_EDITION.shape_features(features).shape == (3, 5, 5, 512)


def test_the_first_edition_freezes_30_trainable_tensors_to_4_and_fine_tunes_9_177_089_parameters(conv_base):
    model = pretrained_convnets.conv_base_classifier_1st_edition(conv_base)
    assert layer_params(model) == pretrained_convnets.CONV_BASE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS == [
        14_714_688, 0, 2_097_408, 257]
    assert model.count_params() == 16_812_353
    assert len(model.trainable_weights) == 30
    pretrained_convnets.freeze(conv_base)
    assert len(model.trainable_weights) == 4
    assert pretrained_convnets.trainable_parameters(model) == 2_097_665
    pretrained_convnets.unfreeze_from_block5_conv1_1st_edition(conv_base)
    assert pretrained_convnets.trainable_parameters(model) == 9_177_089
    assert [layer.name for layer in conv_base.layers if layer.trainable] == [
        "block5_conv1", "block5_conv2", "block5_conv3", "block5_pool"]
    pretrained_convnets.freeze(conv_base)


def test_the_second_edition_has_augmentation_and_preprocessing_inside_17_992_001_and_fine_tunes_10_356_737(
        conv_base_180):
    base = conv_base_180
    model = pretrained_convnets.conv_base_classifier_2nd_edition(base, convnets.augmentation_2nd_edition(0))
    assert layer_params(model) == pretrained_convnets.CONV_BASE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS == [
        0, 0, 0, 14_714_688, 0, 3_277_056, 0, 257]
    assert model.count_params() == 17_992_001
    assert [type(layer).__name__ for layer in model.layers][1:3] == ["Sequential", "VGG16Preprocessing"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.5]
    pretrained_convnets.freeze(base)
    assert (len(model.trainable_weights), pretrained_convnets.trainable_parameters(model)) == (4, 3_277_313)
    pretrained_convnets.unfreeze_last_four_layers_2nd_edition(base)
    assert pretrained_convnets.trainable_parameters(model) == 10_356_737


def test_vgg16_preprocessing_layer_is_preprocess_input_and_saves_inside_a_model(tmp_path):
    pictures = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    layer = pretrained_convnets.VGG16Preprocessing()
    np.testing.assert_allclose(layer(pictures), keras.applications.vgg16.preprocess_input(pictures.copy()),
                               rtol=1e-6)
    model = keras.Sequential([keras.Input((8, 8, 3)), layer, keras.layers.Flatten(), keras.layers.Dense(1)])
    model.save(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "model.keras").predict(pictures, verbose=0),
                               model.predict(pictures, verbose=0), rtol=1e-5)


def test_the_conv_base_loads_imagenet_weights_from_the_keras_cache_or_a_named_copy(conv_base, tmp_path):
    cached = write_weights_file(conv_base, keras_models_dir() / NETWORKS["vgg16_notop"].file)
    loaded = pretrained_convnets.vgg16_conv_base("imagenet", (150, 150))
    np.testing.assert_array_equal(loaded.get_layer("block5_conv3").kernel.numpy(),
                                  conv_base.get_layer("block5_conv3").kernel.numpy())
    copy = tmp_path / "elsewhere" / "my_vgg16.h5"
    copy.parent.mkdir()
    cached.rename(copy)
    loaded = pretrained_convnets.vgg16_conv_base(s5_3.weights_for("vgg16_notop", str(copy)), (180, 180))
    np.testing.assert_array_equal(loaded.get_layer("block1_conv1").bias.numpy(),
                                  conv_base.get_layer("block1_conv1").bias.numpy())


def test_a_junk_weights_file_is_one_line_naming_the_file_expected(tmp_path):
    junk = tmp_path / "vgg16.h5"
    junk.write_bytes(b"<html>not the weights</html>")
    code, out, err = run_in_process(CHAPTER, ["5.3", "--weights", junk, "--output-dir", tmp_path / "out"])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert "not the weights of VGG16 without its classifier" in errors[0]
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in errors[0]


def test_weights_option_takes_a_folder_holding_the_networks_file(tmp_path):
    assert s5_3.weights_for("vgg16_notop", "imagenet") == "imagenet"
    assert s5_3.weights_for("vgg16_notop", "random") == "random"
    assert s5_3.weights_for("vgg16", str(tmp_path)) == str(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5")
    assert s5_3.weights_for("vgg16_notop", str(tmp_path / "copy.h5")) == str(tmp_path / "copy.h5")


# --- the recipes ----------------------------------------------------------------------------------------

def recipe_facts(training):
    optimizer = training.optimizer()
    return (type(optimizer).__name__, pytest.approx(float(optimizer.learning_rate)), training.epochs,
            training.batch_size, training.steps_per_epoch, training.pipeline_augmentation)


def test_the_first_edition_trains_at_rmsprop_2e_5_30_epochs_then_fine_tunes_at_1e_5_100_epochs_of_100_batches():
    trainings = s5_3.FIRST_EDITION.trainings
    assert recipe_facts(trainings["feature_extraction"]) == ("RMSprop", 2e-5, 30, 20, None, None)
    assert recipe_facts(trainings["augmentation"]) == ("RMSprop", 2e-5, 30, 20, 100,
                                                       convnets.augmentation_1st_edition)
    assert recipe_facts(trainings["fine_tuning"]) == ("RMSprop", 1e-5, 100, 20, 100, convnets.augmentation_1st_edition)


def test_the_first_edition_reads_150_pixels_divided_by_255_and_unfreezes_from_block5_conv1():
    edition = s5_3.FIRST_EDITION
    assert (edition.image_size, edition.rescale_in_pipeline, edition.preprocessing) == ((150, 150), True,
                                                                                         "rescale 1/255")
    assert edition.unfreeze is pretrained_convnets.unfreeze_from_block5_conv1_1st_edition
    assert edition.build_feature_classifier is pretrained_convnets.feature_classifier_1st_edition
    pictures = np.random.default_rng(0).random((2, 4, 4, 3)).astype("float32")
    np.testing.assert_array_equal(edition.preprocess_features(pictures), pictures)  # no VGG16 preprocessing


def test_the_second_edition_trains_20_50_and_30_epochs_of_32_with_rmsprop_1e_3_1e_3_1e_5():
    trainings = s5_3.SECOND_EDITION.trainings
    assert recipe_facts(trainings["feature_extraction"]) == ("RMSprop", 1e-3, 20, 32, None, None)
    assert recipe_facts(trainings["augmentation"]) == ("RMSprop", 1e-3, 50, 32, None, None)
    assert recipe_facts(trainings["fine_tuning"]) == ("RMSprop", 1e-5, 30, 32, None, None)


def test_the_second_edition_reads_180_pixels_through_vgg16_preprocess_input():
    edition = s5_3.SECOND_EDITION
    assert (edition.image_size, edition.rescale_in_pipeline, edition.preprocessing) == (
        (180, 180), False, "vgg16.preprocess_input")
    assert edition.preprocess_features is keras.applications.vgg16.preprocess_input
    assert edition.unfreeze is pretrained_convnets.unfreeze_last_four_layers_2nd_edition


def test_the_books_results_beside_each_training():
    first, second = s5_3.FIRST_EDITION.trainings, s5_3.SECOND_EDITION.trainings
    assert [first[name].book_validation_accuracy for name in ("feature_extraction", "augmentation")] == [
        "~0.90", "~0.96"]
    assert first["fine_tuning"].book_test_accuracy == 0.97
    assert second["feature_extraction"].book_validation_accuracy == "~0.97"
    assert [second[name].book_test_accuracy for name in ("augmentation", "fine_tuning")] == [0.975, 0.985]


def test_fine_tuning_comes_after_the_augmentation_training_and_quick_keeps_10_5_5_pictures_per_class():
    assert s5_3.TECHNIQUES_CHOSEN == {"fast": ["feature_extraction"], "augmentation": ["augmentation"],
                                      "fine_tuning": ["augmentation", "fine_tuning"],
                                      "all": ["feature_extraction", "augmentation", "fine_tuning"]}
    assert s5_3.QUICK_IMAGES_PER_CLASS == {"train": 10, "validation": 5, "test": 5}


def test_the_smoothed_curves_are_the_books_moving_average_with_factor_0_8():
    assert s5_3.SMOOTHING == 0.8
    assert s5_3.smooth_curve([1.0, 0.0, 0.0]) == pytest.approx([1.0, 0.8, 0.64])


# --- the feature cache ----------------------------------------------------------------------------------

@pytest.fixture
def small_splits(tmp_path):
    root = make_split_folder(tmp_path / "data" / "cats_and_dogs_small", {"train": 3, "validation": 2, "test": 2})
    return {split: dogs_vs_cats.load_split(root, split) for split in ("train", "validation", "test")}


def tiny_conv_base(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3, strides=4)])


def extract(tmp_path, splits, edition, conv_base):
    run = make_run(tmp_path)
    features = s5_3.extract_all_features(run, conv_base, splits, edition, edition.trainings["feature_extraction"])
    run.finish()
    return features, {key.split(".")[1]: entry["value"] for key, entry in run.results.items()
                      if key.endswith("_from_cache")}


def test_a_second_extraction_reads_the_cache_and_gives_the_same_features(tmp_path, small_splits):
    edition = dataclasses.replace(s5_3.FIRST_EDITION, image_size=(32, 32))
    first, cached = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    assert cached == {"train_features_from_cache": False, "validation_features_from_cache": False,
                      "test_features_from_cache": False}
    assert first["train"][0].shape == (6, 8, 8, 4) and sorted(first["train"][1]) == [0, 0, 0, 1, 1, 1]
    second, cached = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    assert all(cached.values())
    np.testing.assert_array_equal(second["test"][0], first["test"][0])
    assert list((tmp_path / "out" / s5_3.FEATURE_CACHE).glob("vgg16_train_*.npz"))


def test_a_damaged_cache_file_is_extracted_again_and_the_run_goes_on(tmp_path, small_splits):
    edition = dataclasses.replace(s5_3.FIRST_EDITION, image_size=(32, 32))
    first, _ = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    [damaged] = (tmp_path / "out" / s5_3.FEATURE_CACHE).glob("vgg16_train_*.npz")
    damaged.write_bytes(damaged.read_bytes()[:100])  # a copy cut short
    second, cached = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    assert cached == {"train_features_from_cache": False, "validation_features_from_cache": True,
                      "test_features_from_cache": True}
    np.testing.assert_array_equal(second["train"][0], first["train"][0])
    with np.load(damaged) as repaired:  # rewritten whole
        np.testing.assert_array_equal(repaired["labels"], first["train"][1])


def test_another_image_size_or_other_weights_are_extracted_again(tmp_path, small_splits):
    edition = dataclasses.replace(s5_3.FIRST_EDITION, image_size=(32, 32))
    extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    _, cached = extract(tmp_path, small_splits, dataclasses.replace(edition, image_size=(36, 36)), tiny_conv_base(0))
    assert not any(cached.values())
    _, cached = extract(tmp_path, small_splits, edition, tiny_conv_base(1))
    assert not any(cached.values())



def test_a_bfloat16_conv_bases_features_are_float32_and_a_float32_run_extracts_its_own(tmp_path, small_splits):
    edition = dataclasses.replace(s5_3.FIRST_EDITION, image_size=(32, 32))
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        in_bfloat16, _ = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert in_bfloat16["train"][0].dtype == np.float32
    _, cached = extract(tmp_path, small_splits, edition, tiny_conv_base(0))
    assert not any(cached.values())


# --- the command line, as a student runs it -------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """5.3 --quick with an untrained VGG16 on a small generated split; then --technique fast reusing its features.
    Both in mixed bfloat16 (forced: on any CPU)."""
    tmp_path = tmp_path_factory.mktemp("ch5_3")
    data = make_split_folder(tmp_path / "data" / "cats_and_dogs_small", {"train": 4, "validation": 2, "test": 2})
    out = tmp_path / "out"
    outputs = [run_in_process(CHAPTER, ["5.3", "--quick", "--weights", "random", "--batch-size", "4", *MIXED_BFLOAT16,
                                         "--data-dir", data, "--output-dir", out, *extra], cwd=tmp_path)
               for extra in ([], ["--technique", "fast"])]
    first, second = sorted(run_folders(out, "5.3"))
    return out, outputs, json.loads((first / "results.json").read_text()), first, \
        json.loads((second / "results.json").read_text())


def test_quick_run_checks_every_model_against_the_book(quick_runs):
    _, outputs, written, _, _ = quick_runs
    assert outputs[0][0] == 0, outputs[0][2][-2000:]
    results = written["results"]
    checks = {key: entry["value"] for key, entry in results.items() if key.startswith("book_check.")}
    assert checks == {"book_check.vgg16": "MATCH", "book_check.feature_classifier_1st_edition": "MATCH",
                      "book_check.conv_base_classifier_1st_edition": "MATCH"}
    assert [results[key]["value"] for key in ("trainable_weights_before_freezing", "trainable_weights_after_freezing",
                                              "trainable_params_frozen", "trainable_params_fine_tuning")] == [
        30, 4, 2_097_665, 9_177_089]


def test_quick_run_trains_the_three_recipes_and_marks_everything_untrained(quick_runs):
    _, _, written, first, _ = quick_runs
    training = written["training"]
    facts = {name: (entry["optimizer"], pytest.approx(entry["learning_rate"]), entry["book_epochs"], entry["epochs"],
                    entry["book_steps_per_epoch"], entry["steps_per_epoch"], entry["loss"])
             for name, entry in training.items()}
    assert facts == {
        "feature_extraction_untrained-vgg16": ("RMSprop", 2e-5, 30, 1, None, None, "binary_crossentropy"),
        "augmentation_untrained-vgg16": ("RMSprop", 2e-5, 30, 1, 100, 2, "binary_crossentropy"),
        "fine_tuning_untrained-vgg16": ("RMSprop", 1e-5, 100, 1, 100, 2, "binary_crossentropy")}
    results = written["results"]
    accuracies = {key: entry for key, entry in results.items() if "accuracy" in key}
    assert len(accuracies) == 9
    for key, entry in accuracies.items():
        assert "book" not in entry and entry["note"].startswith("UNTRAINED VGG16"), key
    for name in ("fine_tuning_smoothed_untrained-vgg16.png", "fine_tuning_untrained-vgg16/curves.png",
                 "augmentation_untrained-vgg16/best.keras"):
        assert (first / name).exists(), name


def test_a_second_run_reuses_the_extracted_features(quick_runs):
    out, outputs, written, _, second_written = quick_runs
    assert outputs[1][0] == 0, outputs[1][2][-2000:]
    first, second = written["results"], second_written["results"]
    keys = [f"feature_extraction.{split}_features_from_cache" for split in ("train", "validation", "test")]
    assert [first[key]["value"] for key in keys] == [False] * 3
    assert [second[key]["value"] for key in keys] == [True] * 3
    assert training_of(out, "5.3").keys() == {"feature_extraction_untrained-vgg16"}


def test_5_3_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_runs):
    out, _, written, _, _ = quick_runs
    first_run = [facts["compute_dtypes"] for facts in written["training"].values()]  # its three trainings
    assert first_run == [{"hidden": ["bfloat16"], "output": ["float32"]}] * 3
    assert assert_trained_in_mixed_bfloat16(out, "5.3") == 1  # the second run's; and the saved models of both


def test_offline_without_the_imagenet_weights_is_one_line_naming_the_file(tmp_path):
    make_split_folder(tmp_path / "data" / "cats_and_dogs_small", {"train": 1, "validation": 1, "test": 1})
    code, out, err = run_in_process(CHAPTER, ["5.3", "--quick", "--data-dir", tmp_path / "data", "--output-dir",
                                     tmp_path / "out"])
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in errors[0] and "--weights random" in errors[0]


def test_summary_only_of_the_second_edition_matches_every_model(tmp_path):
    code, out, err = run_in_process(CHAPTER, ["5.3", "--summary-only", "--edition", "2",
                                              "--output-dir", tmp_path / "out"])
    assert code == 0, err[-2000:]
    results = results_of(tmp_path / "out", "5.3")
    checks = {key: entry["value"] for key, entry in results.items() if key.startswith("book_check.")}
    assert checks == {"book_check.vgg16": "MATCH", "book_check.vgg16_with_classifier": "MATCH",
                      "book_check.feature_classifier_2nd_edition": "MATCH",
                      "book_check.conv_base_classifier_2nd_edition": "MATCH"}
    assert results["trainable_params_fine_tuning"]["value"] == 10_356_737
    assert results["conv_base_output_shape"]["value"] == [5, 5, 512]
