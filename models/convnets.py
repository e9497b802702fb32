"""The book's convnets of Chapter 5, with the book's parameter count for every layer.

5.1: a small convnet on 28x28 digits (MNIST, and the Persian Hoda digits).
5.2: a convnet trained from scratch on 2,000 pictures of dogs and cats.

Builders only: no data, no training. The `*_BOOK_PARAMS` lists give the
book's count for each entry of `model.layers` (0 for pooling, flatten,
dropout, rescaling and augmentation), for `check_against_book`.
"""

import keras
from keras import layers

# ---------------------------------------------------------------------------
# 5.1 The MNIST convnet
# ---------------------------------------------------------------------------

# 1st edition (the slides): 3x3 kernels, so Conv2D(32) on 1 channel has
# 3*3*1*32 + 32 = 320 parameters, Conv2D(64) on 32 channels 3*3*32*64 + 64 =
# 18,496, Conv2D(64) on 64 channels 36,928; Flatten gives 3*3*64 = 576 inputs
# to Dense(64): 36,928; Dense(10): 650.
MNIST_CONVNET_BOOK_PARAMS = {
    1: [320, 0, 18_496, 0, 36_928, 0, 36_928, 650],  # total 93,322
    2: [320, 0, 18_496, 0, 73_856, 0, 11_530],  # total 104,202
}
# 2nd edition without pooling: Flatten sees 22*22*128 = 61,952 values.
MNIST_CONVNET_NO_POOLING_BOOK_PARAMS = [320, 18_496, 73_856, 0, 619_530]  # total 712,202
MNIST_CONVNET_BOOK_OUTPUT_SHAPES = {
    1: [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)],
    2: [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 128), (1152,), (10,)],
}


def build_mnist_convnet(edition=1, pooling=True, input_shape=(28, 28, 1), num_classes=10):
    """The 5.1 convnet: stacked Conv2D + MaxPooling2D, then a small classifier.

    1st edition: Conv(32) pool Conv(64) pool Conv(64) -> Flatten -> Dense(64) -> Dense(10).
    2nd edition: Conv(32) pool Conv(64) pool Conv(128) -> Flatten -> Dense(10);
    `pooling=False` gives its no-pooling variant, the book's counter-example.
    """
    if edition == 1:
        stack = [
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
        ]
        name = "mnist_convnet_1st_edition"
    else:
        def pool():  # a new layer each time: one layer object used twice would share its output
            return [layers.MaxPooling2D(pool_size=2)] if pooling else []

        stack = [
            layers.Conv2D(32, kernel_size=3, activation="relu"), *pool(),
            layers.Conv2D(64, kernel_size=3, activation="relu"), *pool(),
            layers.Conv2D(128, kernel_size=3, activation="relu"),
            layers.Flatten(),
        ]
        name = "mnist_convnet_2nd_edition" + ("" if pooling else "_no_max_pool")
    # float32 output, so that probabilities stay exact under --mixed-precision.
    classifier = layers.Dense(num_classes, activation="softmax", dtype="float32")
    return keras.Sequential([keras.Input(shape=input_shape), *stack, classifier], name=name)


def mnist_convnet_book_params(edition=1, pooling=True):
    if edition == 2 and not pooling:
        return MNIST_CONVNET_NO_POOLING_BOOK_PARAMS
    return MNIST_CONVNET_BOOK_PARAMS[edition]


# ---------------------------------------------------------------------------
# 5.2 The dogs-vs-cats convnet
# ---------------------------------------------------------------------------

DOGS_VS_CATS_IMAGE_SIZE = {1: (150, 150), 2: (180, 180)}

# 1st edition, 150x150x3: four Conv2D + MaxPooling2D stages end at 7x7x128,
# so Flatten gives 6,272 values and Dense(512) has 6,272*512 + 512 = 3,211,776.
_DOGS_1ST = [896, 0, 18_496, 0, 73_856, 0, 147_584, 0, 0]
DOGS_VS_CATS_BOOK_PARAMS = {
    (1, False): _DOGS_1ST + [3_211_776, 513],  # total 3,453,121
    (1, True): _DOGS_1ST + [0, 3_211_776, 513],  # + Dropout(0.5) after Flatten, same total
    # 2nd edition, 180x180x3, Rescaling inside the model: 7x7x256 = 12,544 -> Dense(1).
    (2, False): [0, 896, 0, 18_496, 0, 73_856, 0, 295_168, 0, 590_080, 0, 12_545],  # total 991,041
    (2, True): [0, 0, 896, 0, 18_496, 0, 73_856, 0, 295_168, 0, 590_080, 0, 0, 12_545],  # + augmentation, dropout
}


def dogs_vs_cats_book_params(edition=1, augmentation=False):
    return DOGS_VS_CATS_BOOK_PARAMS[(edition, augmentation)]


def build_book_augmentation(seed=None):
    """The 1st edition's ImageDataGenerator transformations, as Keras 3 preprocessing layers.

    rotation_range=40 degrees, width/height_shift_range=0.2, shear_range=0.2
    (Keras 2 read it in radians: x moves by up to tan(0.2) ~ 0.2 of y),
    zoom_range=0.2, horizontal_flip=True, fill_mode="nearest". Works on
    batches of images in [0, 255] or [0, 1]; the values stay in that range.
    """
    fill = dict(fill_mode="nearest")
    return keras.Sequential(
        [
            layers.RandomRotation(40 / 360, seed=seed, **fill),  # a fraction of a full turn
            layers.RandomTranslation(0.2, 0.2, seed=seed, **fill),
            layers.RandomShear(x_factor=0.2, y_factor=0.0, seed=seed, **fill),  # 0-0.2, random sign
            layers.RandomZoom(0.2, 0.2, seed=seed, **fill),
            layers.RandomFlip("horizontal", seed=seed),
        ],
        name="data_augmentation",
    )


def build_augmentation_2nd_edition(seed=None):
    """The 2nd edition's lighter augmentation: flips, rotations of +-10% of a turn, zooms."""
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.1, seed=seed),
            layers.RandomZoom(0.2, seed=seed),
        ],
        name="data_augmentation",
    )


def build_dogs_vs_cats_convnet(edition=1, dropout=False, seed=None):
    """The 5.2 convnet: a sigmoid unit on top of Conv2D/MaxPooling2D stages.

    1st edition: 150x150 inputs already scaled to [0, 1] by the data pipeline
    (as ImageDataGenerator(rescale=1./255) did), augmentation also in the
    pipeline, so the summary is the book's. 2nd edition: 180x180 inputs in
    [0, 255]; Rescaling (and, with `dropout=True`, the augmentation) is part
    of the model, as in the book.
    """
    height, width = DOGS_VS_CATS_IMAGE_SIZE[edition]
    inputs = keras.Input(shape=(height, width, 3))
    if edition == 1:
        stack = [
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(128, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            *([layers.Dropout(0.5)] if dropout else []),
            layers.Dense(512, activation="relu"),
        ]
        name = "dogs_vs_cats_1st_edition" + ("_dropout" if dropout else "")
    else:
        stack = [
            *([build_augmentation_2nd_edition(seed)] if dropout else []),
            layers.Rescaling(1.0 / 255),
        ]
        for filters in (32, 64, 128, 256):
            stack += [layers.Conv2D(filters, kernel_size=3, activation="relu"), layers.MaxPooling2D(pool_size=2)]
        stack += [layers.Conv2D(256, kernel_size=3, activation="relu"), layers.Flatten()]
        stack += [layers.Dropout(0.5)] if dropout else []
        name = "dogs_vs_cats_2nd_edition" + ("_augmentation_dropout" if dropout else "")
    output = layers.Dense(1, activation="sigmoid", dtype="float32")
    return keras.Sequential([inputs, *stack, output], name=name)
