"""5.4 Visualizing what convnets learn: gradient ascent, Grad-CAM, the recipes, the reader's model, --quick."""

import dataclasses
import json
from argparse import Namespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from chapters.ch5_convnets import CHAPTER, own_model
from chapters.ch5_convnets import class_activation_maps as cam
from chapters.ch5_convnets import filter_patterns as patterns
from chapters.ch5_convnets import intermediate_activations as activations
from chapters.ch5_convnets import visualizing_convnets as s5_4
from datasets import DataError, DataNotFoundError
from models import convnets, pretrained_convnets
from tests.helpers import make_picture, make_run, make_split_folder, run_folders, run_in_process


def small_convnet(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((24, 24, 3)), keras.layers.Conv2D(8, 3, activation="relu", name="first"),
                             keras.layers.Conv2D(6, 3, name="second")])


# --- 2. Filter patterns: gradient ascent in input space --------------------------------------------------

@pytest.mark.parametrize("edition", [1, 2])
def test_gradient_ascent_raises_each_chosen_filters_mean_activation(edition):
    model = small_convnet()
    extractor = keras.Model(model.inputs[0], model.get_layer("second").output)
    recipe = dataclasses.replace(s5_4.EDITIONS[edition].filter_patterns, image_size=24, steps=5)
    start = recipe.start(np.random.default_rng(0), 6, 24)
    scale = 1 / 255 if edition == 1 else 1.0
    grown, before, after = patterns.gradient_ascent(extractor, start, np.arange(6), recipe, scale)
    assert grown.shape == (6, 24, 24, 3)
    assert np.all(after > before), (before, after)
    border = recipe.loss_border  # the 2nd edition leaves 2 pixels of the activation map out of the loss
    activation = np.asarray(extractor(grown * scale))[:, border:24 - 4 - border, border:24 - 4 - border]
    chosen_means = activation.mean(axis=(1, 2))[np.arange(6), np.arange(6)]
    np.testing.assert_allclose(chosen_means, after, rtol=1e-4, atol=1e-6)


def test_the_first_edition_grows_vgg16s_block1_to_block4_conv1_with_40_steps_of_1_from_grey_noise():
    recipe = s5_4.FIRST_EDITION.filter_patterns
    assert recipe == patterns.FilterPatterns(
        layers=("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"), image_size=64, steps=40,
        step_size=1.0, start=patterns.grey_noise_1st_edition, normalize_gradients=patterns.normalize_by_rms,
        loss_border=0, deprocess=patterns.deprocess_1st_edition, filters=64)
    assert s5_4.FIRST_EDITION.network == "vgg16" and s5_4.FIRST_EDITION.build_network is \
        pretrained_convnets.vgg16_with_classifier
    assert s5_4.OWN_MODEL_FILTER_PATTERNS is recipe


def test_the_second_edition_grows_xceptions_block3_sepconv1_with_30_steps_of_10():
    recipe = s5_4.SECOND_EDITION.filter_patterns
    assert recipe == patterns.FilterPatterns(
        layers=("block3_sepconv1",), image_size=200, steps=30, step_size=10.0, start=patterns.grey_noise_2nd_edition,
        normalize_gradients=patterns.normalize_by_l2, loss_border=2, deprocess=patterns.deprocess_2nd_edition,
        filters=64)
    assert s5_4.SECOND_EDITION.network == "xception" and s5_4.SECOND_EDITION.book_total_params == 22_910_480


def test_the_starting_pictures_are_each_editions_grey_noise():
    rng = np.random.default_rng(0)
    first = patterns.grey_noise_1st_edition(rng, 3, 16)
    second = patterns.grey_noise_2nd_edition(rng, 3, 16)
    assert first.shape == second.shape == (3, 16, 16, 3)
    assert 128 <= first.min() and first.max() < 148 and abs(first.mean() - 138) < 1
    assert 0.4 <= second.min() and second.max() <= 0.6


def test_each_pictures_gradient_is_normalised_on_its_own():
    gradients = tf.constant(np.stack([np.full((4, 4, 3), 3.0), np.full((4, 4, 3), -0.01)]), tf.float32)
    by_rms = patterns.normalize_by_rms(gradients).numpy()
    np.testing.assert_allclose(np.sqrt((by_rms ** 2).mean(axis=(1, 2, 3))), [1, 1], rtol=1e-3)
    by_l2 = patterns.normalize_by_l2(gradients).numpy()
    np.testing.assert_allclose(np.sqrt((by_l2 ** 2).sum(axis=(1, 2, 3))), [1, 1], rtol=1e-5)


def test_patterns_are_displayed_as_the_editions_do():
    image = np.random.default_rng(0).normal(50, 7, (200, 200, 3))
    first = patterns.deprocess_1st_edition(image)
    assert first.dtype == np.uint8 and abs(first.mean() - 127.5) < 2 and abs(first.std() - 25.5) < 2
    second = patterns.deprocess_2nd_edition(image)
    assert second.shape == (150, 150, 3) and abs(second.mean() - 128) < 2 and abs(second.std() - 64) < 3


def test_patterns_are_laid_out_8_by_8_with_5_pixel_margins():
    grid = patterns.pattern_grid([np.full((64, 64, 3), i, np.uint8) for i in range(64)])
    assert grid.shape == (8 * 64 + 7 * 5, 8 * 64 + 7 * 5, 3)
    assert grid[69, 69, 0] == 9 and grid[66, 66, 0] == 0  # row 1, column 1 is filter 9; the margin is black


# --- 3. Class activation maps --------------------------------------------------------------------------

def region_model():
    """A model whose output depends on the top-left 8x8 corner of a 32x32 picture only."""
    keras.utils.set_random_seed(0)
    mask = np.zeros((1, 32, 32, 1), "float32")
    mask[:, :8, :8] = 1
    inputs = keras.Input((32, 32, 3))
    masked = keras.layers.Lambda(lambda x: x * mask, name="only_the_corner")(inputs)
    features = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="last_conv",
                                   kernel_initializer=keras.initializers.RandomUniform(0.1, 1.0))(masked)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.RandomUniform(-1, 1))(
        pooled)
    return keras.Model(inputs, outputs)


def test_grad_cam_points_at_the_only_region_the_output_depends_on():
    pictures = np.random.default_rng(1).uniform(0, 1, (3, 32, 32, 3)).astype("float32")
    model = region_model()
    winner = np.argmax(model.predict(pictures, verbose=0), axis=1)
    heatmaps = cam.grad_cam(model, "last_conv", pictures, lambda p: tf.gather(p, winner, axis=1, batch_dims=1))
    assert heatmaps.shape == (3, 32, 32) and heatmaps.min() >= 0
    for heatmap in heatmaps:
        assert heatmap.max() == pytest.approx(1.0)
        row, column = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        assert row < 9 and column < 9, (row, column)
        assert heatmap[10:, 10:].max() == 0


def test_the_class_activation_map_recipes_of_each_edition():
    first, second = s5_4.FIRST_EDITION.class_activation_map, s5_4.SECOND_EDITION.class_activation_map
    assert (first.network, first.image_size, first.last_conv_layer) == ("vgg16", (224, 224), "block5_conv3")
    assert first.preprocess is keras.applications.vgg16.preprocess_input
    assert (second.network, second.image_size, second.last_conv_layer) == ("xception", (299, 299),
                                                                         "block14_sepconv2_act")
    assert second.preprocess is keras.applications.xception.preprocess_input
    assert s5_4.DEFAULT_IMAGE == "skimage:chelsea"


def test_the_overlay_is_the_picture_plus_04_of_the_jet_heatmap():
    picture = np.full((20, 30, 3), 100, np.uint8)
    result = cam.overlay(picture, np.zeros((5, 5)))
    assert result.shape == (20, 30, 3) and result.dtype == np.uint8
    np.testing.assert_array_equal(result[0, 0], [100, 100, 150])  # jet(0) is dark blue, (0, 0, 127)


def test_without_class_names_offline_the_top_classes_are_numbers():
    predictions = np.zeros((1, 1000), "float32")
    predictions[0, [386, 101, 385]] = [0.7, 0.2, 0.1]
    assert cam.top_predictions(predictions) == [("class 386", pytest.approx(0.7)), ("class 101", pytest.approx(0.2)),
                                                 ("class 385", pytest.approx(0.1))]


def test_the_elephant_predictions_quote_the_books_text_and_its_notebook_each_named():
    quoted = s5_4.FIRST_EDITION.class_activation_map.book_predictions
    assert "text: African_elephant 0.925, tusker 0.070, Indian_elephant 0.004" in quoted
    assert "notebook: 0.9094, 0.0862, 0.0044" in quoted

# --- 1. Intermediate activations and the reader's model -------------------------------------------------

def test_the_book_draws_the_first_8_layers_16_channels_a_row_and_its_test_picture_is_cat_1700():
    assert (activations.LAYERS_SHOWN, activations.IMAGES_PER_ROW, s5_4.BOOK_TEST_PICTURE) == (8, 16, "cat.1700")
    assert activations.BOOK_FIRST_ACTIVATION_SHAPES == {(150, 150): [1, 148, 148, 32], (180, 180): [1, 178, 178, 32]}
    assert (s5_4.FIRST_EDITION.single_channels, s5_4.SECOND_EDITION.single_channels) == ((4, 7), (5,))
    grid = activations.channel_grid(np.random.default_rng(0).random((148, 148, 32)))
    assert grid.shape == (2 * 148, 16 * 148)


def test_quick_runs_grow_4_filters_for_2_steps_and_show_2_pictures_per_class():
    assert (s5_4.QUICK_FILTERS, s5_4.QUICK_STEPS, s5_4.QUICK_PICTURES_PER_CLASS) == (4, 2, 2)
    assert s5_4.OWN_MODEL_PICTURES_PER_CLASS == 4


def fake_run_folder(base, name, edition):
    folder = base / name
    (folder / "augmentation_dropout").mkdir(parents=True)
    (folder / "augmentation_dropout" / "best.keras").write_bytes(b"")
    (folder / "run.json").write_text(json.dumps({"model_settings": {"edition": edition}}))
    return folder / "augmentation_dropout" / "best.keras"


def test_the_newest_5_2_run_of_the_same_edition_gives_the_model(tmp_path):
    run = make_run(tmp_path, section="5.4")
    run.options = Namespace(model=None)
    older = fake_run_folder(run.output_base, "5.2-20260101-000000", 1)
    fake_run_folder(run.output_base, "5.2-20260102-000000", 2)
    assert own_model.find_own_model(run) == older
    run.options = Namespace(model=str(tmp_path / "mine.keras"))
    with pytest.raises(DataNotFoundError, match="--model .*mine.keras: no such file"):
        own_model.find_own_model(run)


def test_without_a_5_2_model_one_line_says_which_command_makes_it(tmp_path, capsys):
    run = make_run(tmp_path, section="5.4", edition=2)
    run.options = Namespace(model=None)
    assert own_model.load_own_model(run) is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "python -m chapters.ch5_convnets 5.2 --augmentation on --edition 2" in lines[0]


@pytest.mark.parametrize("input_shape, convolutions, message", [
    ((28, 28, 1), True,
     r"--model .*mnist.keras takes \(28, 28, 1\) inputs; 5.4 needs 5.2's dogs-vs-cats convnet \(\(150, 150, 3\)"),
    ((150, 150, 3), False, r"--model .*mnist.keras has no convolution layers to visualise"),
], ids=["mnist_convnet", "without_convolutions"])
def test_a_model_5_4_cannot_look_into_is_one_line_before_any_work(tmp_path, input_shape, convolutions, message):
    # Named layers: Keras's automatic names (conv2d, conv2d_1...) are counted per process and the runs below use them.
    layers = [keras.Input(input_shape), *([keras.layers.Conv2D(2, 3, name="conv")] if convolutions else []),
              keras.layers.Flatten(name="flat"), keras.layers.Dense(1, activation="sigmoid", name="score")]
    keras.Sequential(layers, name="not_5_2").save(tmp_path / "mnist.keras")
    run = make_run(tmp_path, section="5.4")
    run.options = Namespace(model=str(tmp_path / "mnist.keras"))
    with pytest.raises(DataError, match=message):
        own_model.load_own_model(run)


# --- the command line, as a student runs it -------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """5.4 --quick with an untrained VGG16 and a small 5.2 model; then offline without the ImageNet weights."""
    tmp_path = tmp_path_factory.mktemp("ch5_4")
    data = make_split_folder(tmp_path / "data" / "cats_and_dogs_small", {"train": 1, "validation": 1, "test": 3})
    make_picture((200, 60, 60), size=(60, 50), seed=7).save(data / "test" / "cats" / "cat.1700.jpg")
    keras.backend.clear_session()  # layer names as a reader's own 5.2 run saves them: conv2d, conv2d_1, ...
    keras.utils.set_random_seed(0)
    model_path = tmp_path / "best.keras"
    convnets.dogs_vs_cats_convnet_1st_edition(dropout=0.5).save(model_path)
    common = ["5.4", "--quick", "--model", model_path, "--data-dir", tmp_path / "data"]
    untrained = run_in_process(CHAPTER, [*common, "--weights", "random", "--output-dir", tmp_path / "out"],
                               cwd=tmp_path)
    offline = run_in_process(CHAPTER, [*common, "--output-dir", tmp_path / "offline"], cwd=tmp_path)
    return tmp_path, untrained, offline


def results(folder):
    return json.loads((run_folders(folder, "5.4")[-1] / "results.json").read_text())["results"]


def test_quick_run_shows_the_activations_of_the_readers_model_for_cat_1700(quick_runs):
    tmp_path, (code, out, err), _ = quick_runs
    assert code == 0, err[-2000:]
    found = results(tmp_path / "out")
    assert found["first_layer_activation_shape"]["value"] == [1, 148, 148, 32]
    # the 1st edition's text shows channels 4 and 7, its notebook 3 and 30: ours are the text's, and say so
    assert found["first_layer_single_channels"]["value"] == [4, 7]
    assert "text" in found["first_layer_single_channels"]["note"] and "3 and 30" in found[
        "first_layer_single_channels"]["note"]
    assert found["book_check.dogs_vs_cats_1st_edition_dropout"]["value"] == "MATCH"
    assert found["book_check.vgg16_with_classifier"]["value"] == "MATCH"
    run = run_folders(tmp_path / "out", "5.4")[-1]
    assert sorted(p.name for p in (run / "activations").iterdir()) == [
        "1_conv2d.png", "2_max_pooling2d.png", "3_conv2d_1.png", "4_max_pooling2d_1.png", "5_conv2d_2.png",
        "6_max_pooling2d_2.png", "7_conv2d_3.png", "8_max_pooling2d_3.png"]
    assert "activation of conv2d for cat.1700.jpg" in out


def test_quick_run_draws_every_filter_grid_marked_untrained_for_vgg16(quick_runs):
    tmp_path, _, _ = quick_runs
    run = run_folders(tmp_path / "out", "5.4")[-1]
    assert sorted(p.name for p in (run / "filters").iterdir()) == [
        "own_model_conv2d.png", "own_model_conv2d_1.png", "own_model_conv2d_2.png", "own_model_conv2d_3.png",
        "vgg16_block1_conv1_untrained-vgg16.png", "vgg16_block2_conv1_untrained-vgg16.png",
        "vgg16_block3_conv1_untrained-vgg16.png", "vgg16_block4_conv1_untrained-vgg16.png"]


def test_quick_run_grad_cam_marks_the_untrained_predictions_and_draws_the_readers_model(quick_runs):
    tmp_path, _, _ = quick_runs
    found = results(tmp_path / "out")
    predictions = found["grad_cam.top_predictions"]
    assert len(predictions["value"]) == 3 and "book" not in predictions
    assert predictions["note"].startswith("UNTRAINED VGG16")
    assert found["grad_cam.own_model_correct"]["value"].endswith("/4")
    run = run_folders(tmp_path / "out", "5.4")[-1]
    assert (run / "grad_cam_vgg16_with_classifier_untrained-vgg16.png").exists()
    assert (run / "grad_cam_own_model.png").exists()


def test_offline_without_imagenet_weights_the_readers_model_parts_run_then_one_line(quick_runs):
    tmp_path, _, (code, out, err) = quick_runs
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in errors[0] and "528 MB" in errors[0]
    run = run_folders(tmp_path / "offline", "5.4")[-1]
    assert (run / "grad_cam_own_model.png").exists() and (run / "filters" / "own_model_conv2d_3.png").exists()
    assert not list((run / "filters").glob("vgg16_*"))


def test_xception_has_the_books_22_910_480_and_its_conv_part_keeps_the_weights_for_any_picture_size():
    keras.utils.set_random_seed(0)
    full = pretrained_convnets.xception_with_classifier("random")
    assert full.count_params() == pretrained_convnets.XCEPTION_BOOK_TOTAL_PARAMS == 22_910_480
    base = pretrained_convnets.without_classifier("xception", full)
    assert base.input_shape == (None, None, None, 3) and len(base.layers) == len(full.layers) - 2
    np.testing.assert_array_equal(base.get_layer("block3_sepconv1").pointwise_kernel.numpy(),
                                  full.get_layer("block3_sepconv1").pointwise_kernel.numpy())
    np.testing.assert_array_equal(base.layers[-2].get_weights()[0], full.layers[-4].get_weights()[0])
