"""The book's first network (section 2.1): two Dense layers on flattened MNIST digits."""

import keras
from keras import layers

# Dense(512): 784 * 512 weights + 512 biases; Dense(10): 512 * 10 + 10.
FIRST_NETWORK_BOOK_PARAMS = [401_920, 5_130]


def first_network():
    """Dense(512, relu) -> Dense(10, softmax), on inputs of 28 * 28 = 784 pixels (both editions)."""
    return _two_dense_layers("relu", "softmax", name="first_network")


def first_network_workshop():
    """The slides' workshop variant: sigmoid for both layers."""
    return _two_dense_layers("sigmoid", "sigmoid", name="first_network_workshop")


def _two_dense_layers(activation, output_activation, name):
    return keras.Sequential(
        [
            keras.Input(shape=(28 * 28,)),
            layers.Dense(512, activation=activation),
            # float32 output, so that probabilities stay exact under --mixed-precision.
            layers.Dense(10, activation=output_activation, dtype="float32"),
        ],
        name=name,
    )
