"""The book's small Dense networks of chapters 3 and 4.4: IMDB, Reuters, Boston housing and their variants.

Each builder returns a fresh `keras.Sequential`; beside it, the book's
parameter count per layer (Dropout layers count 0) for `check_against_book`.
"""

import keras
from keras import layers

NUM_WORDS = 10000  # the multi-hot vectors' length in 3.5, 3.6 and 4.4

# 3.5: Dense(16): 10,000 * 16 + 16; Dense(16): 16 * 16 + 16; Dense(1): 16 + 1.
IMDB_BOOK_PARAMS = [160_016, 272, 17]  # 160,305
# 4.4: the same network with 4 and with 512 units per hidden layer.
IMDB_SMALLER_BOOK_PARAMS = [40_004, 20, 5]  # 40,029
IMDB_BIGGER_BOOK_PARAMS = [5_120_512, 262_656, 513]  # 5,383,681
IMDB_DROPOUT_BOOK_PARAMS = [160_016, 0, 272, 0, 17]  # 160,305, dropout adds none
# 3.6: Dense(64) x 2 -> Dense(46, softmax); the bottleneck variant squeezes the middle layer to 4 units.
REUTERS_BOOK_PARAMS = [640_064, 4_160, 2_990]  # 647,214
REUTERS_BOTTLENECK_BOOK_PARAMS = [640_064, 260, 230]  # 640,554
# 3.7: 13 features -> Dense(64) -> Dense(64) -> Dense(1).
BOSTON_BOOK_PARAMS = [896, 4_160, 65]  # 5,121


def regularizer(kind, factor=0.001):
    """The weight regularisers of 4.4: 'l2', 'l1', 'l1_l2' (the factor for both) or None."""
    if kind is None:
        return None
    return {"l2": keras.regularizers.L2(factor), "l1": keras.regularizers.L1(factor),
            "l1_l2": keras.regularizers.L1L2(l1=factor, l2=factor)}[kind]


def imdb_network(units=16, weight_regularizer=None, factor=0.001, dropout=None, name="imdb_network"):
    """Multi-hot reviews -> Dense(units, relu) x 2 -> Dense(1, sigmoid) (3.5, and 4.4's variants).

    `weight_regularizer` ('l2', 'l1', 'l1_l2') penalises both hidden layers'
    kernels; `dropout` adds Dropout(rate) after each hidden layer.
    """
    model = keras.Sequential([keras.Input(shape=(NUM_WORDS,))], name=name)
    for _ in range(2):
        model.add(layers.Dense(units, activation="relu",
                               kernel_regularizer=regularizer(weight_regularizer, factor)))
        if dropout:
            model.add(layers.Dropout(dropout))
    model.add(layers.Dense(1, activation="sigmoid", dtype="float32"))
    return model


def reuters_network(hidden_units=64, bottleneck_units=None, name="reuters_network"):
    """Multi-hot newswires -> Dense(64, relu) -> Dense(64 or a bottleneck, relu) -> Dense(46, softmax)."""
    return keras.Sequential([
        keras.Input(shape=(NUM_WORDS,)),
        layers.Dense(hidden_units, activation="relu"),
        layers.Dense(bottleneck_units or hidden_units, activation="relu"),
        layers.Dense(46, activation="softmax", dtype="float32"),
    ], name=name)


def boston_network(num_features=13):
    """Normalised features -> Dense(64, relu) x 2 -> Dense(1): a linear output for a price."""
    return keras.Sequential([
        keras.Input(shape=(num_features,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(1, dtype="float32"),
    ], name="boston_network")
