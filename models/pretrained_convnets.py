"""A pretrained VGG16 used on dogs vs cats (DLwP 5.3) and looked into (5.4): the book's tables and models.

5.3 puts a small densely connected classifier on VGG16's convolutional base,
three ways: on features extracted once, on top of the frozen base (with data
augmentation), and with the base's last block unfrozen (fine-tuning). 5.4
reads the full VGG16 (2nd edition: Xception) with its ImageNet classifier.

Builders only: no data, no training. The `*_BOOK_PARAMS` lists give the
book's count for each entry of `model.layers` (0 for input, pooling, flatten,
dropout and preprocessing layers), for the book check. The weights come from
`models.pretrained` (the Keras cache or download, a file, or untrained).
"""

import keras
from keras import layers

from models.pretrained import NETWORKS, pretrained_network

# ---------------------------------------------------------------------------
# VGG16, layer by layer as model.summary() lists it
# ---------------------------------------------------------------------------

# A 3x3 convolution from c_in to c_out channels has 3*3*c_in*c_out + c_out parameters:
# block1_conv1 3*3*3*64 + 64 = 1,792 ... block5_conv3 3*3*512*512 + 512 = 2,359,808.
_VGG16_CONVOLUTIONS = {1: [1_792, 36_928], 2: [73_856, 147_584], 3: [295_168, 590_080, 590_080],
                       4: [1_180_160, 2_359_808, 2_359_808], 5: [2_359_808] * 3}
# Input, then each block's convolutions and its max pooling. Total 14,714,688: the slides' conv base.
VGG16_NOTOP_BOOK_PARAMS = [0] + [p for block in range(1, 6) for p in _VGG16_CONVOLUTIONS[block] + [0]]
# With the ImageNet classifier on 224x224 pictures: Flatten (7*7*512 = 25,088) -> fc1 Dense(4096)
# 102,764,544 -> fc2 Dense(4096) 16,781,312 -> predictions Dense(1000) 4,097,000. Total 138,357,544,
# the slides' "more than 130M parameters".
VGG16_BOOK_PARAMS = VGG16_NOTOP_BOOK_PARAMS[:-1] + [0, 0, 102_764_544, 16_781_312, 4_097_000]
VGG16_LAST_CONV_LAYER = "block5_conv3"
# Xception with its classifier (2nd edition 9.4): only the book's total is known, counted with Keras 3.
XCEPTION_BOOK_TOTAL_PARAMS = 22_910_480
XCEPTION_LAST_CONV_LAYER = "block14_sepconv2_act"

# The conv base's output on the book's pictures: (4, 4, 512) at 150x150 (1st edition), (5, 5, 512) at 180x180.
VGG16_FEATURE_SHAPES = {(150, 150): (4, 4, 512), (180, 180): (5, 5, 512)}


def vgg16_conv_base(weights="imagenet", image_size=(150, 150)):
    """VGG16(include_top=False, input_shape=(*image_size, 3)): the convolutional base of 5.3."""
    return pretrained_network("vgg16_notop", weights, input_shape=(*image_size, 3))


def vgg16_with_classifier(weights="imagenet"):
    """The full VGG16 with its ImageNet classifier (224x224 pictures, 1,000 classes)."""
    model = pretrained_network("vgg16", weights)
    model.name = "vgg16_with_classifier"  # beside the conv base, also called vgg16 by Keras
    return model


def xception_with_classifier(weights="imagenet"):
    """The full Xception with its ImageNet classifier (299x299 pictures): the 2nd edition's 9.4."""
    model = pretrained_network("xception", weights)
    model.name = "xception_with_classifier"
    return model


def without_classifier(network_name, full_model):
    """The convolutional part of `full_model` for pictures of any size, with the same weights.

    5.4 reads both parts of one network (the filters and the class activation
    maps), so one weights file serves both: the layers before the classifier
    are the same, in the same order, in the network built without its top.
    """
    application = NETWORKS[network_name].application
    base = application(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer, source in zip(base.layers, full_model.layers):
        layer.set_weights(source.get_weights())
    return base


# ---------------------------------------------------------------------------
# 5.3 The densely connected classifiers
# ---------------------------------------------------------------------------

# 1st edition, fast feature extraction: the (4, 4, 512) features flattened to 8,192 values ->
# Dense(256) 8,192*256 + 256 = 2,097,408 -> Dropout(0.5) -> Dense(1) 257. Total 2,097,665.
FEATURE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS = [2_097_408, 0, 257]
# 2nd edition: Input (5, 5, 512) -> Flatten (12,800) -> Dense(256) 3,277,056 -> Dropout -> Dense(1). Total 3,277,313.
FEATURE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS = [0, 3_277_056, 0, 257]
# 1st edition, the classifier on top of the conv base inside one model: Total 16,812,353.
CONV_BASE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS = [sum(VGG16_NOTOP_BOOK_PARAMS), 0, 2_097_408, 257]
# 2nd edition: input, augmentation, VGG16's preprocess_input, the conv base, Flatten, Dense(256), Dropout,
# Dense(1). Total 17,992,001.
CONV_BASE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS = [0, 0, 0, sum(VGG16_NOTOP_BOOK_PARAMS), 0, 3_277_056, 0, 257]


def feature_classifier_1st_edition():
    """Dense(256, relu, input_dim=4*4*512) -> Dropout(0.5) -> Dense(1, sigmoid), on flattened features."""
    return keras.Sequential([
        keras.Input(shape=(4 * 4 * 512,)),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="feature_classifier_1st_edition")


def feature_classifier_2nd_edition():
    """Input(5, 5, 512) -> Flatten -> Dense(256) -> Dropout(0.5) -> Dense(1, sigmoid).

    The 2nd edition's Dense(256) has no activation (as printed in the book).
    """
    return keras.Sequential([
        keras.Input(shape=(5, 5, 512)),
        layers.Flatten(),
        layers.Dense(256),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="feature_classifier_2nd_edition")


def conv_base_classifier_1st_edition(conv_base):
    """conv_base -> Flatten -> Dense(256, relu) -> Dense(1, sigmoid), on 150x150 pictures scaled to [0, 1].

    The 1st edition feeds VGG16 pictures divided by 255 (ImageDataGenerator's
    rescale), without VGG16's own preprocessing.
    """
    return keras.Sequential([
        keras.Input(shape=conv_base.input_shape[1:]),
        conv_base,
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="conv_base_classifier_1st_edition")


def conv_base_classifier_2nd_edition(conv_base, augmentation):
    """augmentation -> VGG16's preprocess_input -> conv_base -> Flatten -> Dense(256) -> Dropout(0.5) -> Dense(1),
    on 180x180 pictures in [0, 255]."""
    inputs = keras.Input(shape=conv_base.input_shape[1:])
    x = augmentation(inputs)
    x = VGG16Preprocessing()(x)
    x = conv_base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256)(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="conv_base_classifier_2nd_edition")


@keras.saving.register_keras_serializable(package="dlwp")
class VGG16Preprocessing(layers.Layer):
    """keras.applications.vgg16.preprocess_input as a layer: RGB -> BGR, minus ImageNet's channel means.

    A layer (rather than a function call in the model) so that the model can
    be saved and loaded as a .keras file.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("name", "vgg16_preprocess_input")
        super().__init__(**kwargs)

    def call(self, images):
        return keras.applications.vgg16.preprocess_input(images)

    def compute_output_shape(self, input_shape):
        return input_shape


# ---------------------------------------------------------------------------
# Freezing and fine-tuning the conv base
# ---------------------------------------------------------------------------

def freeze(conv_base):
    """conv_base.trainable = False: the ImageNet features are kept while the classifier learns."""
    conv_base.trainable = False


def unfreeze_from_block5_conv1_1st_edition(conv_base):
    """The 1st edition's loop: every layer from block5_conv1 on becomes trainable, the ones before stay frozen."""
    conv_base.trainable = True
    trainable = False
    for layer in conv_base.layers:
        if layer.name == "block5_conv1":
            trainable = True
        layer.trainable = trainable


def unfreeze_last_four_layers_2nd_edition(conv_base):
    """The 2nd edition: all but the last four layers (block5_conv1-3 and block5_pool) frozen again."""
    conv_base.trainable = True
    for layer in conv_base.layers[:-4]:
        layer.trainable = False


def trainable_parameters(model):
    """The number of trainable parameters (what model.summary() calls "Trainable params")."""
    return sum(int(keras.ops.size(weight)) for weight in model.trainable_weights)
