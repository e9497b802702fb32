"""The 2nd edition's 9.3 Modern convnet architecture patterns: residual blocks, batch normalisation, a mini Xception.

The listings of the section, in the book's order:
- a residual connection around a block that changes the number of filters
  (the residual goes through a 1x1 convolution to the new number of filters);
- one around a block that ends with max pooling (the 1x1 projection has
  strides=2, to halve the residual's size as the pooling does);
- `residual_block()` and the small model the book builds from three of them;
- where batch normalisation goes: after a convolution without bias, before its
  activation;
- the mini Xception-like model the book trains from scratch on dogs vs cats:
  BatchNormalization, ReLU, SeparableConv2D twice per block, max pooling, and a
  strided 1x1 residual, for blocks of 32 to 512 filters.

The book prints no summary of these models: each `*_BOOK_PARAMS` list below is
the count that the listing's layers have by their shapes (worked out in the
comment beside it), one entry per `model.layers` (0 for inputs, pooling,
activations, additions, dropout, rescaling and augmentation).
"""

import keras
from keras import layers

from models.convnets import augmentation_2nd_edition  # 8.2's (5.2 here): the book reuses it for this model

RESIDUAL_LISTING_INPUT_SHAPE = (32, 32, 3)  # the listings' toy inputs
MINI_XCEPTION_IMAGE_SIZE = (180, 180)  # the dogs-vs-cats pictures of the 2nd edition
MINI_XCEPTION_BLOCK_SIZES = (32, 64, 128, 256, 512)

# ---------------------------------------------------------------------------
# Residual connections
# ---------------------------------------------------------------------------

# Input; Conv2D(32, 3) on 3 channels 3*3*3*32 + 32 = 896; Conv2D(64, 3) on 32 channels 3*3*32*64 + 64 = 18,496;
# the residual's Conv2D(64, 1) 32*64 + 64 = 2,112; Add. Total 21,504.
RESIDUAL_FILTERS_CHANGE_BOOK_PARAMS = [0, 896, 18_496, 2_112, 0]
# The same with MaxPooling2D(2) after the block, and the 1x1 projection strided by 2. Total 21,504.
RESIDUAL_WITH_POOLING_BOOK_PARAMS = [0, 896, 18_496, 0, 2_112, 0]
# Input; Rescaling; three residual blocks, each Conv2D, Conv2D, [MaxPooling2D], the residual's 1x1 Conv2D, Add:
#   32 filters on 3 channels, pooling:   896 + 9,248 + 0 + (3*32 + 32 = 128) + 0
#   64 filters on 32 channels, pooling:  18,496 + 36,928 + 0 + (32*64 + 64 = 2,112) + 0
#   128 filters on 64 channels:          73,856 + 147,584 + (64*128 + 128 = 8,320) + 0
# GlobalAveragePooling2D; Dense(1) 128 + 1 = 129. Total 297,697.
RESIDUAL_BLOCKS_MODEL_BOOK_PARAMS = [0, 0, 896, 9_248, 0, 128, 0, 18_496, 36_928, 0, 2_112, 0, 73_856, 147_584, 8_320,
                                     0, 0, 129]


def residual_filters_change_summary():
    """The residual goes through Conv2D(64, 1) to have the 64 filters of the block's output."""
    inputs = keras.Input(shape=RESIDUAL_LISTING_INPUT_SHAPE)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    residual = x  # set the residual aside
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)  # 32 -> 64 filters
    residual = layers.Conv2D(64, 1)(residual)  # project the residual to 64 filters too
    x = layers.add([x, residual])
    return keras.Model(inputs, x, name="residual_filters_change")


def residual_with_pooling_summary():
    """The block ends with MaxPooling2D(2): the residual's 1x1 projection has strides=2 to match its size."""
    inputs = keras.Input(shape=RESIDUAL_LISTING_INPUT_SHAPE)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    residual = x
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    residual = layers.Conv2D(64, 1, strides=2)(residual)  # 30x30 -> 15x15, as the pooling
    x = layers.add([x, residual])
    return keras.Model(inputs, x, name="residual_with_pooling")


def residual_block(x, filters, pooling=False):
    """Two 3x3 convolutions (and pooling) with a residual connection, projected when the shapes change."""
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2)(residual)
    elif filters != residual.shape[-1]:
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.add([x, residual])


def residual_blocks_model():
    """The book's small model of three residual blocks (32 and 64 filters with pooling, then 128 without)."""
    inputs = keras.Input(shape=RESIDUAL_LISTING_INPUT_SHAPE)
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = residual_block(x, filters=32, pooling=True)
    x = residual_block(x, filters=64, pooling=True)
    x = residual_block(x, filters=128, pooling=False)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="residual_blocks_model")


# ---------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------

# The book's "how not to": Conv2D(32, 3, relu) 3*3*3*32 + 32 = 896, then BatchNormalization 4*32 = 128
# (gamma, beta, and the moving mean and variance).
BATCHNORM_AFTER_ACTIVATION_BOOK_PARAMS = [0, 896, 128]
# The book's way: Conv2D(32, 3, use_bias=False) 3*3*3*32 = 864 (the normalisation centres the output, so a bias
# would be redundant), BatchNormalization 128, then the ReLU.
BATCHNORM_BEFORE_ACTIVATION_BOOK_PARAMS = [0, 864, 128, 0]


def batchnorm_after_activation_summary():
    """What the book advises against: the ReLU inside the convolution, normalisation after it."""
    inputs = keras.Input(shape=RESIDUAL_LISTING_INPUT_SHAPE)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    return keras.Model(inputs, x, name="batchnorm_after_activation")


def batchnorm_before_activation_summary():
    """The book's placement: a convolution without bias or activation, BatchNormalization, then the ReLU."""
    inputs = keras.Input(shape=RESIDUAL_LISTING_INPUT_SHAPE)
    x = layers.Conv2D(32, 3, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    return keras.Model(inputs, x, name="batchnorm_before_activation")


# ---------------------------------------------------------------------------
# The mini Xception-like model
# ---------------------------------------------------------------------------

# Input; augmentation; Rescaling; Conv2D(32, 5, use_bias=False) 5*5*3*32 = 2,400. Then per block of `size` filters
# on `c` channels: BatchNormalization 4c, ReLU, SeparableConv2D(size, 3, use_bias=False) 9c + c*size (depthwise,
# then pointwise), BatchNormalization 4*size, ReLU, SeparableConv2D 9*size + size*size, MaxPooling2D, the residual's
# Conv2D(size, 1, strides=2, use_bias=False) c*size, Add:
#   32 on 32:    128, 0, 1,312, 128, 0, 1,312, 0, 1,024, 0
#   64 on 32:    128, 0, 2,336, 256, 0, 4,672, 0, 2,048, 0
#   128 on 64:   256, 0, 8,768, 512, 0, 17,536, 0, 8,192, 0
#   256 on 128:  512, 0, 33,920, 1,024, 0, 67,840, 0, 32,768, 0
#   512 on 256:  1,024, 0, 133,376, 2,048, 0, 266,752, 0, 131,072, 0
# GlobalAveragePooling2D; Dropout(0.5); Dense(1) 512 + 1 = 513. Total 721,857, of which 3,008 are the
# normalisations' moving means and variances (not trained): 718,849 trainable.
MINI_XCEPTION_BOOK_PARAMS = [
    0, 0, 0, 2_400,
    128, 0, 1_312, 128, 0, 1_312, 0, 1_024, 0,
    128, 0, 2_336, 256, 0, 4_672, 0, 2_048, 0,
    256, 0, 8_768, 512, 0, 17_536, 0, 8_192, 0,
    512, 0, 33_920, 1_024, 0, 67_840, 0, 32_768, 0,
    1_024, 0, 133_376, 2_048, 0, 266_752, 0, 131_072, 0,
    0, 0, 513,
]


def mini_xception(augmentation=None, image_size=MINI_XCEPTION_IMAGE_SIZE):
    """Augmentation (default: the 2nd edition's flips, rotations, zooms) -> Rescaling -> Conv2D(32, 5) -> five blocks
    of (BN, ReLU, SeparableConv2D) x2 + pooling with a strided 1x1 residual -> GlobalAveragePooling2D -> Dropout(0.5)
    -> Dense(1, sigmoid), on pictures in [0, 255]."""
    inputs = keras.Input(shape=(*image_size, 3))
    x = (augmentation or augmentation_2nd_edition())(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    # No bias before a normalisation; a plain convolution first: RGB channels are not independent, which
    # separable convolutions assume.
    x = layers.Conv2D(filters=32, kernel_size=5, use_bias=False)(x)
    for size in MINI_XCEPTION_BLOCK_SIZES:
        residual = x
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same", use_bias=False)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same", use_bias=False)(residual)
        x = layers.add([x, residual])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mini_xception")
