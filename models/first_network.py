"""The book's first network (section 2.1): two Dense layers on flattened MNIST digits."""

import keras
from keras import layers

# Dense(512): 784 * 512 weights + 512 biases; Dense(10): 512 * 10 + 10.
FIRST_NETWORK_BOOK_PARAMS = [401_920, 5_130]  # total 407,050


def build_first_network(activation="relu", output_activation="softmax"):
    """Dense(512, relu) -> Dense(10, softmax), on inputs of 28 * 28 = 784 pixels.

    The slides' workshop variant uses sigmoid for both layers.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28 * 28,)),
            layers.Dense(512, activation=activation),
            # float32 output, so that probabilities stay exact under --mixed-precision.
            layers.Dense(10, activation=output_activation, dtype="float32"),
        ],
        name="first_network",
    )
