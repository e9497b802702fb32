"""Chapter 5 models: the book's parameter counts per layer, augmentation, a few training steps, the filters."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import ndimage

from chapters import ch5_convnets as ch5
from models import convnets


def counts(model):
    return [layer.count_params() for layer in model.layers]


@pytest.mark.parametrize("edition, pooling, expected, total", [
    (1, True, [320, 0, 18_496, 0, 36_928, 0, 36_928, 650], 93_322),
    (2, True, [320, 0, 18_496, 0, 73_856, 0, 11_530], 104_202),
    (2, False, [320, 18_496, 73_856, 0, 619_530], 712_202),
])
def test_mnist_convnet_parameters_per_layer(edition, pooling, expected, total):
    model = convnets.build_mnist_convnet(edition, pooling=pooling)
    assert counts(model) == expected == convnets.mnist_convnet_book_params(edition, pooling)
    assert model.count_params() == total
    if pooling:
        shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
        assert shapes == convnets.MNIST_CONVNET_BOOK_OUTPUT_SHAPES[edition]


@pytest.mark.parametrize("edition, dropout, total, input_size", [
    (1, False, 3_453_121, 150), (1, True, 3_453_121, 150), (2, False, 991_041, 180), (2, True, 991_041, 180)])
def test_dogs_vs_cats_convnet_parameters_per_layer(edition, dropout, total, input_size):
    model = convnets.build_dogs_vs_cats_convnet(edition, dropout=dropout)
    assert counts(model) == convnets.dogs_vs_cats_book_params(edition, dropout)
    assert model.count_params() == total
    assert model.input_shape == (None, input_size, input_size, 3) and model.output_shape == (None, 1)
    if edition == 1:
        # The book's Flatten output: 7x7x128 = 6,272, and Dense(512) right after it.
        flatten = next(layer for layer in model.layers if layer.name.startswith("flatten"))
        assert flatten.output.shape[1:] == (6272,)
        assert [type(layer).__name__ for layer in model.layers][-3:] == (
            ["Dropout", "Dense", "Dense"] if dropout else ["Flatten", "Dense", "Dense"])


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_book_augmentation_keeps_shapes_and_value_ranges(scale):
    rng = np.random.default_rng(0)
    images = (rng.random((6, 150, 150, 3)) * scale).astype("float32")
    augmented = convnets.build_book_augmentation(seed=1)(images, training=True).numpy()
    assert augmented.shape == images.shape
    assert augmented.min() >= 0 and augmented.max() <= scale * (1 + 1e-5)
    assert not np.allclose(augmented, images)  # it did transform them
    # At inference time the augmentation layers do nothing.
    np.testing.assert_allclose(convnets.build_book_augmentation(seed=1)(images, training=False), images)
    second = convnets.build_augmentation_2nd_edition(seed=1)(images, training=True).numpy()
    assert second.shape == images.shape and second.min() >= 0 and second.max() <= scale * (1 + 1e-5)


def forced_draws(monkeypatch, values):
    """Make RandomAffine's uniform draws the given 7 values for every picture (rotation, shifts, shear, zooms, flip)."""
    import keras

    def uniform(shape, seed=None):
        return keras.ops.tile(keras.ops.convert_to_tensor([values], "float32"), (shape[0], 1))

    monkeypatch.setattr(keras.random, "uniform", uniform)


def test_random_affine_is_exact_on_rotations_and_flips(monkeypatch):
    rng = np.random.default_rng(0)
    square = rng.random((2, 21, 21, 3)).astype("float32")
    # All ranges 0: nothing moves.
    np.testing.assert_array_equal(convnets.RandomAffine()(square, training=True), square)
    # A draw of 1 is the top of the range (+90 degrees), 0 the bottom (-90); 0.5 is "no change" for the rest.
    rotate = convnets.RandomAffine(rotation_range=90)
    forced_draws(monkeypatch, [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9])
    np.testing.assert_allclose(rotate(square, training=True), np.rot90(square, -1, axes=(1, 2)), atol=1e-6)
    forced_draws(monkeypatch, [0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9])
    np.testing.assert_allclose(rotate(square, training=True), np.rot90(square, 1, axes=(1, 2)), atol=1e-6)
    # The last draw below 0.5 flips left-right, exactly.
    forced_draws(monkeypatch, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2])
    flip = convnets.RandomAffine(horizontal_flip=True)
    np.testing.assert_array_equal(flip(square, training=True), square[:, :, ::-1])
    # A shift of +0.2 of the width moves the content by 4 of 20 columns (edges filled with the nearest pixel).
    forced_draws(monkeypatch, [0.5, 0.5, 1.0, 0.5, 0.5, 0.5, 0.9])
    wide = rng.random((1, 10, 20, 3)).astype("float32")
    shifted = convnets.RandomAffine(width_shift_range=0.2)(wide, training=True).numpy()
    np.testing.assert_array_equal(shifted[:, :, :16], wide[:, :, 4:])
    np.testing.assert_array_equal(shifted[:, :, 16:], np.repeat(wide[:, :, 19:], 4, axis=2))


def test_random_affine_flips_about_half_and_draws_anew_in_tf_data():
    rng = np.random.default_rng(1)
    images = rng.random((200, 8, 8, 1)).astype("float32")
    flipped = convnets.RandomAffine(horizontal_flip=True, seed=3)(images, training=True).numpy()
    mirrored = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flipped, images)]
    unchanged = [np.array_equal(f, i) for f, i in zip(flipped, images)]
    assert all(m or u for m, u in zip(mirrored, unchanged)) and 70 < sum(mirrored) < 130
    # In a tf.data pipeline, each epoch gets new transformations.
    augmentation = convnets.build_book_augmentation(seed=0)
    dataset = tf.data.Dataset.from_tensor_slices(images[:8]).batch(4).map(lambda x: augmentation(x, training=True))
    first, second = [np.concatenate(list(dataset.as_numpy_iterator())) for _ in range(2)]
    assert first.shape == (8, 8, 8, 1) and not np.array_equal(first, second)


def test_random_affine_saves_and_loads_inside_a_model(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((16, 16, 3)), convnets.build_book_augmentation(seed=2),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    assert loaded.layers[0].rotation_range == 40 and loaded.layers[0].horizontal_flip


def test_a_few_training_steps_lower_the_loss():
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # Cats reddish, dogs bluish: something a convnet can learn in a few steps.
    labels = np.array([0, 1] * 8, "float32")[:, None]
    images = rng.random((16, 150, 150, 3)).astype("float32") * 0.5
    images[labels[:, 0] == 0, :, :, 0] += 0.5
    images[labels[:, 0] == 1, :, :, 2] += 0.5
    model = convnets.build_dogs_vs_cats_convnet(1, dropout=True)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="binary_crossentropy")
    losses = [float(model.train_on_batch(images, labels)) for _ in range(8)]
    assert losses[-1] < losses[0] * 0.8, losses

    # "Digits" whose class is where a bright square sits: learnable by a convnet in a few steps.
    digit_labels = np.arange(64) % 10
    digits = rng.random((64, 28, 28, 1)).astype("float32") * 0.2
    for i, label in enumerate(digit_labels):
        row, col = divmod(int(label), 5)
        digits[i, 2 + 12 * row: 12 + 12 * row, 1 + 5 * col: 6 + 5 * col] = 1.0
    mnist = convnets.build_mnist_convnet(1)
    mnist.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    losses = [float(mnist.train_on_batch(digits, digit_labels)) for _ in range(15)]
    assert losses[-1] < losses[0] * 0.8, losses


def test_edge_filters_equal_scipy_and_the_sobel_conv2d_layer():
    rng = np.random.default_rng(0)
    image = rng.random((40, 50)).astype("float32")
    sobel = ch5.EDGE_KERNELS["Sobel"]
    by_tf = ch5.convolve(image, np.stack([sobel, sobel.T], axis=-1))
    # A convnet's "convolution" is a cross-correlation, zero-padded ("same").
    np.testing.assert_allclose(by_tf[..., 0], ndimage.correlate(image, sobel, mode="constant"), atol=1e-5)
    np.testing.assert_allclose(by_tf[..., 1], ndimage.correlate(image, sobel.T, mode="constant"), atol=1e-5)
    by_layer = ch5.sobel_conv2d_layer()(image[None, :, :, None]).numpy()[0]
    np.testing.assert_allclose(by_layer, by_tf, atol=1e-5)
    maps = ch5.edge_maps(image)
    np.testing.assert_allclose(maps["Sobel"], np.hypot(by_tf[..., 0], by_tf[..., 1]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps["Laplacian"],
                               np.abs(ndimage.correlate(image, ch5.LAPLACIAN, mode="constant")), atol=1e-5)
    # On a flat image every edge filter gives 0 away from the border.
    flat = ch5.edge_maps(np.full((10, 10), 0.7, "float32"))
    for name, edges in flat.items():
        assert np.abs(edges[1:-1, 1:-1]).max() < 1e-5, name


def test_prepare_digits_adds_the_channel_axis():
    images = np.full((3, 28, 28), 255, np.uint8)
    prepared = ch5.prepare_digits(images)
    assert prepared.shape == (3, 28, 28, 1) and prepared.dtype == np.float32 and prepared.max() == 1.0
