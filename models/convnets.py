"""The book's convnets of Chapter 5, one builder per edition, with the book's parameter count for every layer.

5.1: a small convnet on 28x28 digits (MNIST, and the Persian Hoda digits).
5.1c: the PyTorch workshop's LeNet-style convnet on CIFAR-10, in Keras.
5.2: a convnet trained from scratch on 2,000 pictures of dogs and cats, and
     the data augmentation of each edition.

Builders only: no data, no training. The `*_BOOK_PARAMS` lists give the
book's count for each entry of `model.layers` (0 for pooling, flatten,
dropout, rescaling and augmentation), for the book check.
"""

import math

import keras
from keras import layers, ops

# ---------------------------------------------------------------------------
# 5.1 The MNIST convnet
# ---------------------------------------------------------------------------

# 1st edition (the slides): 3x3 kernels, so Conv2D(32) on 1 channel has
# 3*3*1*32 + 32 = 320 parameters, Conv2D(64) on 32 channels 3*3*32*64 + 64 =
# 18,496, Conv2D(64) on 64 channels 36,928; Flatten gives 3*3*64 = 576 inputs
# to Dense(64): 36,928; Dense(10): 650. Total 93,322.
MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS = [320, 0, 18_496, 0, 36_928, 0, 36_928, 650]
MNIST_CONVNET_1ST_EDITION_OUTPUT_SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,),
                                           (64,), (10,)]
# 2nd edition: Conv2D(128) last, Flatten (1,152) straight into Dense(10). Total 104,202.
MNIST_CONVNET_2ND_EDITION_BOOK_PARAMS = [320, 0, 18_496, 0, 73_856, 0, 11_530]
MNIST_CONVNET_2ND_EDITION_OUTPUT_SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 128),
                                           (1152,), (10,)]
# 2nd edition without pooling, the book's counter-example: Flatten sees 22*22*128 = 61,952 values. Total 712,202.
MNIST_CONVNET_NO_POOLING_BOOK_PARAMS = [320, 18_496, 73_856, 0, 619_530]


def mnist_convnet_1st_edition():
    """Conv(32) pool Conv(64) pool Conv(64) -> Flatten -> Dense(64, relu) -> Dense(10, softmax)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        # float32 output, so that probabilities stay exact under --mixed-precision.
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="mnist_convnet_1st_edition")


def mnist_convnet_2nd_edition():
    """Conv(32) pool Conv(64) pool Conv(128) -> Flatten -> Dense(10, softmax)."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(64, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(128, kernel_size=3, activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="mnist_convnet_2nd_edition")


def mnist_convnet_2nd_edition_no_pooling():
    """The 2nd edition's counter-example: the same convolutions without max pooling."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=3, activation="relu"),
        layers.Conv2D(64, kernel_size=3, activation="relu"),
        layers.Conv2D(128, kernel_size=3, activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax", dtype="float32"),
    ], name="mnist_convnet_2nd_edition_no_max_pool")


# ---------------------------------------------------------------------------
# 5.1c The workshop's CIFAR-10 convnet (PyTorch's "Training a classifier" tutorial)
# ---------------------------------------------------------------------------

# 32x32x3 -> Conv2D(6, 5x5) 5*5*3*6 + 6 = 456 -> pool -> Conv2D(16, 5x5) 5*5*6*16 + 16 = 2,416 -> pool
# -> Flatten (16*5*5 = 400) -> Dense(120) 48,120 -> Dense(84) 10,164 -> Dense(10) 850. Total 62,006,
# the number PyTorch counts for the workshop's `Net`.
CIFAR10_CONVNET_BOOK_PARAMS = [456, 0, 2_416, 0, 0, 48_120, 10_164, 850]
CIFAR10_CONVNET_OUTPUT_SHAPES = [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16), (400,), (120,), (84,), (10,)]


def torch_default_initializers(fan_in):
    """PyTorch's default initialisation of Conv2d and Linear: weights and biases uniform in +-1/sqrt(fan_in).

    (kaiming_uniform_ with a = sqrt(5) is VarianceScaling(1/3, fan_in, uniform).)
    The workshop's short SGD recipe starts from these, so the translation does too.
    """
    limit = 1.0 / math.sqrt(fan_in)
    return dict(kernel_initializer=keras.initializers.VarianceScaling(1.0 / 3, "fan_in", "uniform"),
                bias_initializer=keras.initializers.RandomUniform(-limit, limit))


def cifar10_convnet():
    """conv1 (6@5x5) -> pool -> conv2 (16@5x5) -> pool -> fc1 (120) -> fc2 (84) -> fc3 (10), ReLU between.

    The workshop's PyTorch `Net` ends with the 10 logits and nn.CrossEntropyLoss
    applies the softmax; here fc3 has the softmax, and Keras's cross-entropy
    reads the logits under it, so the loss is computed the same way.
    """
    return keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(6, 5, activation="relu", name="conv1", **torch_default_initializers(5 * 5 * 3)),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu", name="conv2", **torch_default_initializers(5 * 5 * 6)),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="relu", name="fc1", **torch_default_initializers(400)),
        layers.Dense(84, activation="relu", name="fc2", **torch_default_initializers(120)),
        layers.Dense(10, activation="softmax", name="fc3", dtype="float32", **torch_default_initializers(84)),
    ], name="cifar10_convnet")


# ---------------------------------------------------------------------------
# 5.2 The dogs-vs-cats convnet
# ---------------------------------------------------------------------------

# 1st edition, 150x150x3: four Conv2D + MaxPooling2D stages end at 7x7x128,
# so Flatten gives 6,272 values and Dense(512) has 6,272*512 + 512 = 3,211,776. Total 3,453,121.
DOGS_VS_CATS_1ST_EDITION_BOOK_PARAMS = [896, 0, 18_496, 0, 73_856, 0, 147_584, 0, 0, 3_211_776, 513]
# The same with Dropout(0.5) after Flatten: one more layer, the same total.
DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS = [896, 0, 18_496, 0, 73_856, 0, 147_584, 0, 0, 0, 3_211_776, 513]
# 2nd edition, 180x180x3, Rescaling inside the model: 7x7x256 = 12,544 -> Dense(1). Total 991,041.
DOGS_VS_CATS_2ND_EDITION_BOOK_PARAMS = [0, 896, 0, 18_496, 0, 73_856, 0, 295_168, 0, 590_080, 0, 12_545]
# With the augmentation layers in front and Dropout(0.5) before the classifier.
DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS = [0, 0, 896, 0, 18_496, 0, 73_856, 0, 295_168, 0, 590_080, 0, 0,
                                                  12_545]
DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE = (150, 150)
DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE = (180, 180)


def dogs_vs_cats_convnet_1st_edition(dropout=None):
    """Four Conv2D + MaxPooling2D stages -> Flatten -> [Dropout] -> Dense(512, relu) -> Dense(1, sigmoid).

    The inputs are already scaled to [0, 1] by the data pipeline, as
    ImageDataGenerator(rescale=1./255) did, and the augmentation also runs in
    the pipeline, so the summary is the book's.
    """
    return keras.Sequential([
        keras.Input(shape=(*DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE, 3)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(128, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        *([layers.Dropout(dropout)] if dropout else []),
        layers.Dense(512, activation="relu"),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="dogs_vs_cats_1st_edition" + ("_dropout" if dropout else ""))


def dogs_vs_cats_convnet_2nd_edition(augmentation=None, dropout=None):
    """[augmentation] -> Rescaling(1/255) -> Conv 32, 64, 128, 256 (each + pooling) -> Conv 256 -> Flatten
    -> [Dropout] -> Dense(1, sigmoid), on 180x180 pictures in [0, 255]."""
    return keras.Sequential([
        keras.Input(shape=(*DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE, 3)),
        *([augmentation] if augmentation is not None else []),
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(32, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(64, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(128, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(256, kernel_size=3, activation="relu"),
        layers.MaxPooling2D(pool_size=2),
        layers.Conv2D(256, kernel_size=3, activation="relu"),
        layers.Flatten(),
        *([layers.Dropout(dropout)] if dropout else []),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="dogs_vs_cats_2nd_edition" + ("_augmentation_dropout" if augmentation is not None else ""))


def augmentation_1st_edition(seed=None):
    """ImageDataGenerator(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
    zoom_range=0.2, horizontal_flip=True, fill_mode="nearest"), as one Keras layer."""
    return RandomAffine(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
                        zoom_range=0.2, horizontal_flip=True, fill_mode="nearest", seed=seed,
                        name="data_augmentation")


def augmentation_2nd_edition(seed=None):
    """The 2nd edition's lighter augmentation: flips, rotations of +-10% of a turn, zooms of +-20%."""
    return keras.Sequential([
        layers.RandomFlip("horizontal", seed=seed),
        layers.RandomRotation(0.1, seed=seed),
        layers.RandomZoom(0.2, seed=seed),
    ], name="data_augmentation")


@keras.saving.register_keras_serializable(package="dlwp")
class RandomAffine(layers.Layer):
    """The 1st edition's ImageDataGenerator transformations as one Keras preprocessing layer.

    ImageDataGenerator drew a rotation, a shift, a shear and a zoom for each
    picture, multiplied them into one matrix and warped the picture once,
    sampling the nearest pixel (Keras 2.0 used order=0); then it flipped half
    of the pictures. This layer does the same on a batch, with one warp (Keras
    3's RandomRotation, RandomTranslation, RandomShear and RandomZoom warp the
    batch once each, which costs more: benchmarks/ch5_dogs_pipeline.py and the
    README measure it). The arguments are ImageDataGenerator's: degrees for
    the rotation, fractions of the size for the shifts, radians for the shear,
    and zoom factors drawn in [1 - zoom_range, 1 + zoom_range] for each axis.
    Does nothing unless called with training=True; values stay in their range.
    """

    def __init__(self, rotation_range=0.0, width_shift_range=0.0, height_shift_range=0.0, shear_range=0.0,
                 zoom_range=0.0, horizontal_flip=False, fill_mode="nearest", interpolation="nearest", seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rotation_range, self.shear_range, self.zoom_range = rotation_range, shear_range, zoom_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.horizontal_flip, self.fill_mode, self.interpolation = horizontal_flip, fill_mode, interpolation
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training:
            return images
        batch, height, width = ops.shape(images)[0], ops.shape(images)[1], ops.shape(images)[2]
        height, width = ops.cast(height, "float32"), ops.cast(width, "float32")
        draws = keras.random.uniform((batch, 7), seed=self.generator)  # one row of draws per picture

        def between_minus_and_plus(column, limit):
            return (2.0 * draws[:, column] - 1.0) * limit

        theta = between_minus_and_plus(0, self.rotation_range) * (math.pi / 180)
        shift_rows = between_minus_and_plus(1, self.height_shift_range) * height
        shift_columns = between_minus_and_plus(2, self.width_shift_range) * width
        shear = between_minus_and_plus(3, self.shear_range)
        zoom_rows = 1.0 + between_minus_and_plus(4, self.zoom_range)
        zoom_columns = 1.0 + between_minus_and_plus(5, self.zoom_range)
        one, zero = ops.ones_like(theta), ops.zeros_like(theta)
        flip = ops.cast(draws[:, 6] < 0.5, "float32") if self.horizontal_flip else zero

        def matrix(rows):  # 3x3 matrices, one per picture, in (row, column) coordinates
            return ops.stack([ops.stack(row, axis=-1) for row in rows], axis=-2)

        # Where each output pixel samples the input, as ImageDataGenerator built it:
        # about the centre, rotation @ shift @ shear @ zoom; then the flip of the result.
        centre_row, centre_column = (height - 1) / 2, (width - 1) / 2
        steps = [
            matrix([[one, zero, one * centre_row], [zero, one, one * centre_column], [zero, zero, one]]),
            matrix([[ops.cos(theta), -ops.sin(theta), zero], [ops.sin(theta), ops.cos(theta), zero],
                    [zero, zero, one]]),
            matrix([[one, zero, shift_rows], [zero, one, shift_columns], [zero, zero, one]]),
            matrix([[one, -ops.sin(shear), zero], [zero, ops.cos(shear), zero], [zero, zero, one]]),
            matrix([[zoom_rows, zero, zero], [zero, zoom_columns, zero], [zero, zero, one]]),
            matrix([[one, zero, -one * centre_row], [zero, one, -one * centre_column], [zero, zero, one]]),
            matrix([[one, zero, zero], [zero, 1 - 2 * flip, flip * (width - 1)], [zero, zero, one]]),
        ]
        m = steps[0]
        for step in steps[1:]:
            m = ops.matmul(m, step)
        # affine_transform takes (x, y) = (column, row) coordinates: swap them.
        transform = ops.stack([m[:, 1, 1], m[:, 1, 0], m[:, 1, 2], m[:, 0, 1], m[:, 0, 0], m[:, 0, 2], zero, zero],
                              axis=1)
        return ops.image.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation_range": self.rotation_range,
                "width_shift_range": self.width_shift_range, "height_shift_range": self.height_shift_range,
                "shear_range": self.shear_range, "zoom_range": self.zoom_range,
                "horizontal_flip": self.horizontal_flip, "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "seed": self.seed}
