"""InceptionV3 as DeepDream's network (DLwP 8.2 / 2nd edition 12.2), with its parameters layer by layer.

DeepDream maximises the activations of a few of InceptionV3's "mixed" blocks
(the concatenations that end each Inception module). The book gives one
number for the network without its classifier: 21,802,784 parameters. Below,
InceptionV3's architecture (Szegedy et al. 2015, as keras.applications builds
it) is written out convolution by convolution; every convolution has no bias
and is followed by a BatchNormalization without scale (3 values per channel:
offset, moving mean, moving variance), so each layer's count follows from the
table, and their sum is the book's total.

Builders only: no data. The ImageNet weights come from `models.pretrained`.
"""

import keras

from models.pretrained import pretrained_network

# A convolution: (filters, kernel height, kernel width). A branch: the convolutions one after another.
# A fork: ("fork", [conv, conv]) applies each conv to the branch's output and concatenates them.
# "avg_pool" / "max_pool" at the start of a branch pool the block's input first.
STEM = [(32, 3, 3), (32, 3, 3), (64, 3, 3), "max_pool", (80, 1, 1), (192, 3, 3), "max_pool"]


def _module_a(pool_filters):  # mixed0-mixed2: 35x35
    return [[(64, 1, 1)], [(48, 1, 1), (64, 5, 5)], [(64, 1, 1), (96, 3, 3), (96, 3, 3)],
            ["avg_pool", (pool_filters, 1, 1)]]


def _module_c(filters):  # mixed4-mixed7: 17x17, factorised 7x7 convolutions
    return [[(192, 1, 1)], [(filters, 1, 1), (filters, 1, 7), (192, 7, 1)],
            [(filters, 1, 1), (filters, 7, 1), (filters, 1, 7), (filters, 7, 1), (192, 1, 7)],
            ["avg_pool", (192, 1, 1)]]


_MODULE_E = [[(320, 1, 1)], [(384, 1, 1), ("fork", [(384, 1, 3), (384, 3, 1)])],  # mixed9, mixed10: 8x8
             [(448, 1, 1), (384, 3, 3), ("fork", [(384, 1, 3), (384, 3, 1)])], ["avg_pool", (192, 1, 1)]]

# The Inception modules in order: their name and branches.
MODULES = [
    ("mixed0", _module_a(32)), ("mixed1", _module_a(64)), ("mixed2", _module_a(64)),
    ("mixed3", [[(384, 3, 3)], [(64, 1, 1), (96, 3, 3), (96, 3, 3)], ["max_pool"]]),
    ("mixed4", _module_c(128)), ("mixed5", _module_c(160)), ("mixed6", _module_c(160)), ("mixed7", _module_c(192)),
    ("mixed8", [[(192, 1, 1), (320, 3, 3)], [(192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3)], ["max_pool"]]),
    ("mixed9", _MODULE_E), ("mixed10", _MODULE_E),
]


def inception_v3_convolutions():
    """Every convolution of InceptionV3 without its classifier, in the order Keras creates them: (in, filters, h, w)."""
    convolutions, channels = [], 3
    for item in STEM:
        if item != "max_pool":
            filters, height, width = item
            convolutions.append((channels, filters, height, width))
            channels = filters
    for _, branches in MODULES:
        block_input, block_output = channels, 0
        for branch in branches:
            channels = block_input
            for item in branch:
                if item in ("avg_pool", "max_pool"):
                    continue
                if item[0] == "fork":
                    convolutions += [(channels, filters, height, width) for filters, height, width in item[1]]
                    channels = sum(filters for filters, _, _ in item[1])
                else:
                    filters, height, width = item
                    convolutions.append((channels, filters, height, width))
                    channels = filters
            block_output += channels
        channels = block_output
    return convolutions


def inception_v3_book_params(model):
    """The table's count for each entry of `model.layers` (Keras lists them by depth, not in creation order).

    Keras names the k-th convolution it creates `conv2d_k` (the first plain
    `conv2d`) and its batch normalisation `batch_normalization_k`, in a fresh
    session (keras.backend.clear_session()); every other layer has no weights.
    """
    counts = {}
    for k, (inputs, filters, height, width) in enumerate(inception_v3_convolutions()):
        suffix = f"_{k}" if k else ""
        counts[f"conv2d{suffix}"] = height * width * inputs * filters  # no bias
        counts[f"batch_normalization{suffix}"] = 3 * filters  # beta, moving mean, moving variance
    return [counts.get(layer.name, 0) for layer in model.layers]


INCEPTION_V3_NOTOP_BOOK_TOTAL = 21_802_784  # what the book prints; the table above must add up to it


def inception_v3_without_top(weights="imagenet"):
    """InceptionV3 without its classifier, for pictures of any size (DeepDream works on whole photos)."""
    return pretrained_network("inception_v3_notop", weights, input_shape=(None, None, 3))


def dream_feature_extractor(model, layer_names):
    """A model that maps a picture to the activations of the named layers (a dict)."""
    return keras.Model(model.inputs, {name: model.get_layer(name).output for name in layer_names},
                       name="dream_features")
