"""Chapter 5's models and recipes: every layer's parameters, the augmentation's maths, the editions' recipes."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from chapters.ch5_convnets import convolution_filters as s5_1f
from chapters.ch5_convnets import dogs_vs_cats as s5_2
from chapters.ch5_convnets import mnist_convnet as s5_1
from models import convnets
from tests.helpers import layer_params


def output_shapes(model):
    return [tuple(layer.output.shape[1:]) for layer in model.layers]


def activations(model):
    return [layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")]


# --- 5.1 -----------------------------------------------------------------------------------------------

def test_the_slides_mnist_convnet_has_the_books_parameters_and_shapes():
    model = convnets.mnist_convnet_1st_edition()
    assert layer_params(model) == convnets.MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS == [
        320, 0, 18_496, 0, 36_928, 0, 36_928, 650]
    assert output_shapes(model) == convnets.MNIST_CONVNET_1ST_EDITION_OUTPUT_SHAPES == [
        (26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]
    assert activations(model) == ["relu", "relu", "relu", "relu", "softmax"]


def test_the_second_editions_mnist_convnet_and_its_no_pooling_counter_example():
    model = convnets.mnist_convnet_2nd_edition()
    assert layer_params(model) == convnets.MNIST_CONVNET_2ND_EDITION_BOOK_PARAMS == [
        320, 0, 18_496, 0, 73_856, 0, 11_530]
    assert output_shapes(model) == convnets.MNIST_CONVNET_2ND_EDITION_OUTPUT_SHAPES
    no_pooling = convnets.mnist_convnet_2nd_edition_no_pooling()
    assert layer_params(no_pooling) == convnets.MNIST_CONVNET_NO_POOLING_BOOK_PARAMS == [
        320, 18_496, 73_856, 0, 619_530]


def test_the_first_edition_trains_5_epochs_of_64_with_one_hot_labels():
    assert s5_1.RECIPES[1] == s5_1.Recipe(
        convnets.mnist_convnet_1st_edition, convnets.MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS,
        convnets.MNIST_CONVNET_1ST_EDITION_OUTPUT_SHAPES, one_hot_labels=True, loss="categorical_crossentropy",
        optimizer="rmsprop", epochs=5, batch_size=64)


def test_the_second_edition_trains_5_epochs_of_64_with_integer_labels():
    assert s5_1.RECIPES[2] == s5_1.Recipe(
        convnets.mnist_convnet_2nd_edition, convnets.MNIST_CONVNET_2ND_EDITION_BOOK_PARAMS,
        convnets.MNIST_CONVNET_2ND_EDITION_OUTPUT_SHAPES, one_hot_labels=False,
        loss="sparse_categorical_crossentropy", optimizer="rmsprop", epochs=5, batch_size=64,
        counter_examples=((convnets.mnist_convnet_2nd_edition_no_pooling, convnets.MNIST_CONVNET_NO_POOLING_BOOK_PARAMS,
                           "without max pooling: the counter-example"),))


def test_prepare_digits_adds_the_channel_axis_and_scales_to_0_1():
    prepared = s5_1.prepare_digits(np.full((3, 28, 28), 255, np.uint8))
    assert prepared.shape == (3, 28, 28, 1) and prepared.dtype == np.float32 and prepared.max() == 1.0


def test_a_few_steps_lower_the_mnist_convnets_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.arange(64) % 10  # a bright square whose place is the class
    digits = rng.random((64, 28, 28, 1)).astype("float32") * 0.2
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        digits[i, 2 + 12 * row: 12 + 12 * row, 1 + 5 * col: 6 + 5 * col] = 1.0
    model = convnets.mnist_convnet_1st_edition()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    losses = [float(model.train_on_batch(digits, labels)) for _ in range(15)]
    assert losses[-1] < losses[0] * 0.8, losses


# --- 5.1f ----------------------------------------------------------------------------------------------

def test_edge_filters_equal_scipy_and_the_sobel_conv2d_layer():
    rng = np.random.default_rng(0)
    image = rng.random((40, 50)).astype("float32")
    sobel = s5_1f.EDGE_KERNELS["Sobel"]
    assert sobel.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    by_tf = s5_1f.convolve(image, np.stack([sobel, sobel.T], axis=-1))
    # A convnet's "convolution" is a cross-correlation, zero-padded ("same").
    np.testing.assert_allclose(by_tf[..., 0], ndimage.correlate(image, sobel, mode="constant"), atol=1e-5)
    np.testing.assert_allclose(by_tf[..., 1], ndimage.correlate(image, sobel.T, mode="constant"), atol=1e-5)
    np.testing.assert_allclose(s5_1f.sobel_conv2d_layer()(image[None, :, :, None]).numpy()[0], by_tf, atol=1e-5)
    maps = s5_1f.edge_maps(image)
    np.testing.assert_allclose(maps["Sobel"], np.hypot(by_tf[..., 0], by_tf[..., 1]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps["Laplacian"], np.abs(ndimage.correlate(image, s5_1f.LAPLACIAN, mode="constant")),
                               atol=1e-5)


def test_edge_filters_see_nothing_on_a_flat_image():
    for name, edges in s5_1f.edge_maps(np.full((10, 10), 0.7, "float32")).items():
        assert np.abs(edges[1:-1, 1:-1]).max() < 1e-5, name


# --- 5.2: the convnets ---------------------------------------------------------------------------------

def test_the_first_editions_dogs_vs_cats_convnet_has_the_books_parameters():
    model = convnets.dogs_vs_cats_convnet_1st_edition()
    assert layer_params(model) == convnets.DOGS_VS_CATS_1ST_EDITION_BOOK_PARAMS
    assert model.count_params() == 3_453_121 and model.input_shape == (None, 150, 150, 3)
    flatten = next(layer for layer in model.layers if isinstance(layer, keras.layers.Flatten))
    assert flatten.output.shape[1:] == (6272,)
    assert activations(model) == ["relu"] * 5 + ["sigmoid"]


def test_the_first_editions_dropout_sits_after_flatten_and_drops_half():
    model = convnets.dogs_vs_cats_convnet_1st_edition(dropout=0.5)
    assert layer_params(model) == convnets.DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS
    assert [type(layer).__name__ for layer in model.layers][-4:] == ["Flatten", "Dropout", "Dense", "Dense"]
    assert model.layers[-3].rate == 0.5


def test_the_second_editions_convnet_rescales_inside_the_model():
    model = convnets.dogs_vs_cats_convnet_2nd_edition()
    assert layer_params(model) == convnets.DOGS_VS_CATS_2ND_EDITION_BOOK_PARAMS
    assert model.count_params() == 991_041 and model.input_shape == (None, 180, 180, 3)
    assert isinstance(model.layers[0], keras.layers.Rescaling) and model.layers[0].scale == pytest.approx(1 / 255)


def test_the_second_editions_augmented_convnet_has_augmentation_first_and_dropout_last():
    model = convnets.dogs_vs_cats_convnet_2nd_edition(augmentation=convnets.augmentation_2nd_edition(0), dropout=0.5)
    assert layer_params(model) == convnets.DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS
    assert model.layers[0].name == "data_augmentation" and model.layers[-2].rate == 0.5


# --- 5.2: the augmentations ----------------------------------------------------------------------------

def test_the_first_editions_augmentation_is_the_books_image_data_generator():
    layer = convnets.augmentation_1st_edition(seed=0)
    assert (layer.rotation_range, layer.width_shift_range, layer.height_shift_range, layer.shear_range,
            layer.zoom_range, layer.horizontal_flip, layer.fill_mode, layer.interpolation) == (
        40, 0.2, 0.2, 0.2, 0.2, True, "nearest", "nearest")


def test_the_second_editions_augmentation_flips_rotates_a_tenth_and_zooms_a_fifth():
    flip, rotation, zoom = convnets.augmentation_2nd_edition(seed=0).layers
    assert isinstance(flip, keras.layers.RandomFlip) and flip.mode == "horizontal"
    assert isinstance(rotation, keras.layers.RandomRotation) and rotation.factor == (-0.1, 0.1)
    assert isinstance(zoom, keras.layers.RandomZoom) and zoom.height_factor == 0.2


def forced_draws(monkeypatch, values):
    """Make RandomAffine's uniform draws the given 7 values for every picture (rotation, shifts, shear, zooms, flip)."""
    def uniform(shape, seed=None):
        return keras.ops.tile(keras.ops.convert_to_tensor([values], "float32"), (shape[0], 1))

    monkeypatch.setattr(keras.random, "uniform", uniform)


def test_random_affine_rotates_by_the_range_at_its_extremes(monkeypatch):
    square = np.random.default_rng(0).random((2, 21, 21, 3)).astype("float32")
    np.testing.assert_array_equal(convnets.RandomAffine()(square, training=True), square)  # all ranges 0
    rotate = convnets.RandomAffine(rotation_range=90)
    forced_draws(monkeypatch, [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9])  # 1 is +90 degrees; 0.5 "no change"
    np.testing.assert_allclose(rotate(square, training=True), np.rot90(square, -1, axes=(1, 2)), atol=1e-6)
    forced_draws(monkeypatch, [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9])  # 0 is -90 degrees
    np.testing.assert_allclose(rotate(square, training=True), np.rot90(square, 1, axes=(1, 2)), atol=1e-6)


def test_random_affine_flips_left_right_when_the_last_draw_is_below_one_half(monkeypatch):
    square = np.random.default_rng(0).random((2, 21, 21, 3)).astype("float32")
    forced_draws(monkeypatch, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2])
    np.testing.assert_array_equal(convnets.RandomAffine(horizontal_flip=True)(square, training=True),
                                  square[:, :, ::-1])


def test_random_affine_shifts_by_a_fraction_of_the_width_filling_with_the_nearest_pixel(monkeypatch):
    wide = np.random.default_rng(0).random((1, 10, 20, 3)).astype("float32")
    forced_draws(monkeypatch, [0.5, 0.5, 1.0, 0.5, 0.5, 0.5, 0.9])  # +0.2 of 20 columns = 4
    shifted = convnets.RandomAffine(width_shift_range=0.2)(wide, training=True).numpy()
    np.testing.assert_array_equal(shifted[:, :, :16], wide[:, :, 4:])
    np.testing.assert_array_equal(shifted[:, :, 16:], np.repeat(wide[:, :, 19:], 4, axis=2))


def test_random_affine_zooms_about_the_centre(monkeypatch):
    image = np.zeros((1, 21, 21, 1), "float32")
    image[0, 5:16, 5:16] = 1.0  # an 11x11 square in the middle
    forced_draws(monkeypatch, [0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.9])  # zoom factor 1 - 0.2 = 0.8: content grows
    zoomed = convnets.RandomAffine(zoom_range=0.2)(image, training=True).numpy()[0, :, :, 0]
    assert zoomed.sum() > image.sum() * 1.3 and zoomed[10, 10] == 1.0


def test_random_affine_does_nothing_at_inference_and_keeps_value_ranges():
    images = (np.random.default_rng(0).random((6, 150, 150, 3)) * 255).astype("float32")
    augmentation = convnets.augmentation_1st_edition(seed=1)
    np.testing.assert_allclose(augmentation(images, training=False), images)
    augmented = augmentation(images, training=True).numpy()
    assert augmented.shape == images.shape and 0 <= augmented.min() and augmented.max() <= 255 * (1 + 1e-5)
    assert not np.allclose(augmented, images)


def test_random_affine_flips_about_half_and_draws_anew_each_epoch():
    images = np.random.default_rng(1).random((200, 8, 8, 1)).astype("float32")
    flipped = convnets.RandomAffine(horizontal_flip=True, seed=3)(images, training=True).numpy()
    mirrored = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)]
    assert 70 < sum(mirrored) < 130
    augmentation = convnets.augmentation_1st_edition(seed=0)
    dataset = tf.data.Dataset.from_tensor_slices(images[:8]).batch(4).map(lambda x: augmentation(x, training=True))
    first, second = [np.concatenate(list(dataset.as_numpy_iterator())) for _ in range(2)]
    assert not np.array_equal(first, second)


def test_random_affine_saves_and_loads_inside_a_model(tmp_path):
    model = keras.Sequential([keras.Input((16, 16, 3)), convnets.augmentation_1st_edition(seed=2),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.save(tmp_path / "model.keras")
    assert keras.models.load_model(tmp_path / "model.keras").layers[0].get_config() == model.layers[0].get_config()


# --- 5.2: the editions' recipes ------------------------------------------------------------------------

def test_the_first_editions_recipe_is_150_pixels_30_epochs_of_20_then_100_epochs_of_100_batches_of_32():
    assert s5_2.FIRST_EDITION == {"image_size": (150, 150), "learning_rate": 1e-4, "epochs": 30, "batch_size": 20,
                                  "augmented_epochs": 100, "augmented_batch_size": 32,
                                  "augmented_steps_per_epoch": 100}


def test_the_second_editions_recipe_is_180_pixels_passes_of_32_at_keras_default_rmsprop():
    assert s5_2.SECOND_EDITION == {"image_size": (180, 180), "learning_rate": 1e-3, "epochs": 30, "batch_size": 32,
                                   "augmented_epochs": 100}
    assert float(keras.optimizers.RMSprop().learning_rate) == pytest.approx(s5_2.SECOND_EDITION["learning_rate"])


@pytest.mark.parametrize("choice, trainings", [("off", (True, False)), ("on", (False, True)), ("both", (True, True))])
def test_augmentation_chooses_which_of_the_two_trainings_run(choice, trainings):
    assert s5_2.TRAININGS_CHOSEN[choice] == trainings


def test_quick_runs_keep_40_training_20_validation_and_20_test_pictures_per_class():
    assert s5_2.QUICK_IMAGES_PER_CLASS == {"train": 40, "validation": 20, "test": 20}


def test_a_few_steps_lower_the_dogs_vs_cats_loss():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 8, "float32")[:, None]  # cats reddish, dogs bluish
    images = rng.random((16, 150, 150, 3)).astype("float32") * 0.5
    images[labels[:, 0] == 0, :, :, 0] += 0.5
    images[labels[:, 0] == 1, :, :, 2] += 0.5
    model = convnets.dogs_vs_cats_convnet_1st_edition(dropout=0.5)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=s5_2.FIRST_EDITION["learning_rate"]),
                  loss="binary_crossentropy")
    losses = [float(model.train_on_batch(images, labels)) for _ in range(8)]
    assert losses[-1] < losses[0] * 0.8, losses
