"""VGG19 as the feature extractor of neural style transfer (DLwP 8.3).

The book uses VGG19 without its classifier, trained on ImageNet, and reads the
activations of six of its layers: one for the content, five for the style.
Its weights come from `models.pretrained` (the Keras cache or download, a file,
or untrained weights for a demo).
"""

import keras

from models.pretrained import pretrained_network

CONTENT_LAYER = "block5_conv2"
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

# VGG19 without top, layer by layer as model.summary() lists them (input, convs, pools). Total 20,024,384.
_CONV = {1: [1_792, 36_928], 2: [73_856, 147_584], 3: [295_168] + [590_080] * 3,
         4: [1_180_160] + [2_359_808] * 3, 5: [2_359_808] * 4}
VGG19_NOTOP_BOOK_PARAMS = [0] + [p for block in range(1, 6) for p in _CONV[block] + [0]]


def vgg19_without_top(weights="imagenet", dtype_policy=None):
    """VGG19 without its classifier, for images of any size; `dtype_policy` e.g. "mixed_bfloat16".

    The policy applies to this network only; the global policy is left as it was.
    """
    previous = keras.mixed_precision.global_policy()
    if dtype_policy is not None:
        keras.mixed_precision.set_global_policy(dtype_policy)
    try:
        return pretrained_network("vgg19_notop", weights, input_shape=(None, None, 3))
    finally:
        keras.mixed_precision.set_global_policy(previous)


def feature_extractor(vgg, layer_names=None):
    """A model that maps an image to the activations of the named layers (a dict).

    By default the six layers style transfer reads. Only the layers up to the
    deepest of them are computed (block5_conv3, block5_conv4 and the last
    pooling layer are never run).
    """
    layer_names = layer_names or [CONTENT_LAYER] + STYLE_LAYERS
    outputs = {name: vgg.get_layer(name).output for name in layer_names}
    return keras.Model(inputs=vgg.input, outputs=outputs, name="vgg19_features")
