"""The 2nd edition's 9.2 image segmentation model: an encoder-decoder that gives every pixel one of three classes.

The encoder halves the picture three times with strided convolutions (not
max pooling, which would lose where things are); the decoder brings it back
to the input's size with transposed convolutions, and a softmax over three
channels classifies each pixel as foreground, background or contour.
"""

import keras
from keras import layers

SEGMENTATION_IMAGE_SIZE = (200, 200)
SEGMENTATION_CLASSES = 3  # the trimaps' foreground, background, contour

# The book's model.summary(): input 0; Rescaling 0; Conv2D 64 (strides 2) 3*3*3*64 + 64 = 1,792; Conv2D 64 36,928;
# Conv2D 128 (strides 2) 73,856; Conv2D 128 147,584; Conv2D 256 (strides 2) 295,168; Conv2D 256 590,080;
# Conv2DTranspose 256 590,080; 256 (strides 2) 590,080; 128 295,040; 128 (strides 2) 147,584; 64 73,792;
# 64 (strides 2) 36,928; Conv2D(3, 3, softmax) 3*3*64*3 + 3 = 1,731. Total 2,880,643.
SEGMENTATION_BOOK_PARAMS = [0, 0, 1_792, 36_928, 73_856, 147_584, 295_168, 590_080, 590_080, 590_080, 295_040,
                            147_584, 73_792, 36_928, 1_731]


def segmentation_model(img_size=SEGMENTATION_IMAGE_SIZE, num_classes=SEGMENTATION_CLASSES):
    """Rescaling -> Conv2D 64, 128, 256 (each strided, then not) -> Conv2DTranspose 256, 128, 64 (each not, then
    strided) -> Conv2D(num_classes, 3, softmax): (200, 200, 3) pictures in [0, 255] to (200, 200, 3) probabilities."""
    inputs = keras.Input(shape=(*img_size, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)

    # padding="same" everywhere, so that only the strides change the size: 200 -> 100 -> 50 -> 25.
    x = layers.Conv2D(64, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(128, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(256, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(256, 3, activation="relu", padding="same")(x)

    # And back up: 25 -> 50 -> 100 -> 200.
    x = layers.Conv2DTranspose(256, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(256, 3, activation="relu", padding="same", strides=2)(x)
    x = layers.Conv2DTranspose(128, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(128, 3, activation="relu", padding="same", strides=2)(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", padding="same", strides=2)(x)

    # A 3-way softmax per pixel; float32 so that the probabilities stay exact under --mixed-precision.
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="segmentation_model")
