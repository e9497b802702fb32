"""8.3's pictures as VGG19 sees them: the content and style images preprocessed, and the generated image back.

VGG19 takes BGR images with the ImageNet channel means subtracted
(keras.applications.vgg19.preprocess_input); `deprocess_image` undoes it for
saving. The book resizes both pictures to the generated image's size.
"""

from dataclasses import dataclass

import keras
import numpy as np

from datasets.images import LoadedImage, load_image, resize, target_size

# ImageNet channel means (BGR) that VGG19's preprocess_input subtracts.
IMAGENET_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def preprocess_image(pixels, height, width):
    """RGB uint8 -> a (1, height, width, 3) float32 batch as VGG19 expects (BGR, mean-centred)."""
    resized = resize(pixels, height, width).astype("float32")
    return keras.applications.vgg19.preprocess_input(resized[None])


@dataclass
class ImagePair:
    """The content and style pictures, and both as VGG19 inputs of the generated image's size."""

    content: LoadedImage
    style: LoadedImage
    height: int
    width: int
    content_image: np.ndarray  # (1, height, width, 3), preprocessed
    style_image: np.ndarray


def load_image_pair(content_spec, style_spec, height, data_dir=None):
    """Load both pictures; the generated image is `height` high, its width by the content's aspect ratio.

    The book resizes the style picture to the generated image's size too.
    """
    content = load_image(content_spec, "content", data_dir)
    style = load_image(style_spec, "style", data_dir)
    height, width = target_size(content, height)
    return ImagePair(content, style, height, width, preprocess_image(content.pixels, height, width),
                     preprocess_image(style.pixels, height, width))


def deprocess_image(x):
    """The inverse: add the ImageNet means back, BGR -> RGB, clip to 0-255 uint8."""
    x = np.array(x, dtype=np.float32).reshape(x.shape[-3:])
    x = x + IMAGENET_MEAN_BGR
    x = x[:, :, ::-1]
    return np.clip(x, 0, 255).round().astype("uint8")
