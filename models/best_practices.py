"""The models of Chapter 7's sections 7.2 and 7.3 (1st edition), and the 2nd edition's KerasTuner network (13.1).

Builders only: no data, no training. Beside each builder, the parameter
count for every entry of `model.layers`, for the book check. Output layers
are float32, so that probabilities stay exact under --mixed-precision.
"""

import keras
from keras import layers

# ---------------------------------------------------------------------------
# 7.2.2: the IMDB 1D convnet that TensorBoard watches
# ---------------------------------------------------------------------------

IMDB_CONVNET_MAX_FEATURES, IMDB_CONVNET_MAX_LEN = 2000, 500  # a 2,000-word vocabulary, reviews cut to 500 words
# Embedding(2000, 128): 256,000; Conv1D(32, 7) on 128: 7 * 128 * 32 + 32 = 28,704; Conv1D(32, 7) on 32: 7,200;
# Dense(1) on 32: 33. Total 291,937.
IMDB_CONVNET_BOOK_PARAMS = [256_000, 28_704, 0, 7_200, 0, 33]
IMDB_CONVNET_OUTPUT_SHAPES = [(500, 128), (494, 32), (98, 32), (92, 32), (32,), (1,)]


def imdb_convnet_for_tensorboard():
    """Embedding(2000, 128, name="embed") -> Conv1D(32, 7) -> MaxPooling1D(5) -> Conv1D(32, 7) -> global max
    pooling -> Dense(1, sigmoid).

    The book's listing ends in Dense(1) without an activation but trains it with binary crossentropy, which
    expects a probability: the sigmoid is what it meant (the same 33 parameters).
    """
    return keras.Sequential([
        keras.Input(shape=(IMDB_CONVNET_MAX_LEN,), dtype="int32"),
        layers.Embedding(IMDB_CONVNET_MAX_FEATURES, 128, name="embed"),
        layers.Conv1D(32, 7, activation="relu"),
        layers.MaxPooling1D(5),
        layers.Conv1D(32, 7, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_convnet")


# ---------------------------------------------------------------------------
# 7.3.1: batch normalisation, after the convolutions and the dense layer of chapter 5's MNIST convnet
# ---------------------------------------------------------------------------

# A BatchNormalization layer has 4 numbers per channel: gamma and beta (trained), the moving mean and variance
# (updated during training, not by the gradient): 4 * 32 = 128, 4 * 64 = 256. Chapter 5's convnet has 93,322
# parameters; with four BatchNormalization layers, 93,322 + 128 + 3 * 256 = 94,218.
MNIST_CONVNET_BATCH_NORMALIZED_BOOK_PARAMS = [320, 128, 0, 18_496, 256, 0, 36_928, 256, 0, 36_928, 256, 650]


def mnist_convnet_batch_normalized():
    """Chapter 5's MNIST convnet (1st edition) with BatchNormalization after each Conv2D and the hidden Dense,
    where the book's snippets place it."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="mnist_convnet_batch_normalized")


# ---------------------------------------------------------------------------
# 7.3.2: a depthwise separable convnet
# ---------------------------------------------------------------------------

SEPARABLE_HEIGHT = SEPARABLE_WIDTH = 64
SEPARABLE_CHANNELS, SEPARABLE_CLASSES = 3, 10
# SeparableConv2D(filters, 3) on c channels: 3 * 3 * c (depthwise) + c * filters (pointwise) + filters (biases):
# 27 + 96 + 32 = 155; 288 + 2,048 + 64 = 2,400; 576 + 4,096 + 64 = 4,736; 576 + 8,192 + 128 = 8,896;
# 1,152 + 8,192 + 64 = 9,408; 8,896; Dense(32) on 128: 4,128; Dense(10): 330. Total 38,949.
SEPARABLE_CONVNET_BOOK_PARAMS = [155, 2_400, 0, 4_736, 8_896, 0, 9_408, 8_896, 0, 4_128, 330]
SEPARABLE_CONVNET_OUTPUT_SHAPES = [(62, 62, 32), (60, 60, 64), (30, 30, 64), (28, 28, 64), (26, 26, 128),
                                   (13, 13, 128), (11, 11, 64), (9, 9, 128), (128,), (32,), (10,)]
# The same network with regular Conv2D layers, to compare (not in the book): 3 * 3 * c * filters + filters:
# 896; 18,496; 36,928; 73,856; 73,792; 73,856; then 4,128 and 330. Total 282,282.
REGULAR_CONVNET_PARAMS = [896, 18_496, 0, 36_928, 73_856, 0, 73_792, 73_856, 0, 4_128, 330]
CONVOLUTIONS = {"separable": layers.SeparableConv2D, "regular": layers.Conv2D}


def separable_convnet(convolution="separable"):
    """The book's small SeparableConv2D convnet for 64x64 RGB images in 10 classes (never trained in the book).

    `convolution="regular"` builds the same network with Conv2D layers, for comparison.
    """
    conv = CONVOLUTIONS[convolution]
    return keras.Sequential([
        keras.Input(shape=(SEPARABLE_HEIGHT, SEPARABLE_WIDTH, SEPARABLE_CHANNELS)),
        conv(32, 3, activation="relu"),
        conv(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        conv(64, 3, activation="relu"),
        conv(128, 3, activation="relu"),
        layers.MaxPooling2D(2),
        conv(64, 3, activation="relu"),
        conv(128, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(32, activation="relu"),
        layers.Dense(SEPARABLE_CLASSES, activation="softmax", dtype="float32"),
    ], name=f"{convolution}_convnet")


# ---------------------------------------------------------------------------
# 2nd edition 13.1.1: the network KerasTuner searches
# ---------------------------------------------------------------------------

def tunable_mnist_network(units):
    """784 pixels -> Dense(units, relu) -> Dense(10, softmax): the model that build_model(hp) returns.

    Dense(units) has 784 * units + units parameters, Dense(10) units * 10 + 10.
    """
    return keras.Sequential([
        keras.Input(shape=(28 * 28,)),
        layers.Dense(units, activation="relu"),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name=f"tunable_mnist_network_{units}")


def tunable_mnist_network_book_params(units):
    """The per-layer count of tunable_mnist_network(units), from the formula in its docstring."""
    return [784 * units + units, units * 10 + 10]
