"""VGG19 as the feature extractor of neural style transfer (DLwP 8.3).

The book uses VGG19 without its classifier, trained on ImageNet, and reads the
activations of six of its layers: one for the content, five for the style.
This module builds that extractor and decides where its weights come from:

    "imagenet"  the Keras cache (~/.keras/models/), else the normal Keras download
    PATH        a weights file the user names (the same .h5 file, copied by hand)
    "random"    an untrained VGG19: a demo mode that runs the whole pipeline

No data and no output files here; a missing weights file raises
`datasets.DataNotFoundError` with a message that says what to fetch.
"""

import os
from pathlib import Path

import keras

from datasets import DataError, DataNotFoundError

CONTENT_LAYER = "block5_conv2"
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]

# The file keras.applications.VGG19(include_top=False, weights="imagenet") downloads.
WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + WEIGHTS_FILE
WEIGHTS_MD5 = "253f8cb515780f3b799900260a226db6"  # the file_hash Keras checks
WEIGHTS_SIZE = "about 80 MB"

# VGG19 without top, layer by layer as model.summary() lists them (input, convs, pools).
_CONV = {1: [1_792, 36_928], 2: [73_856, 147_584], 3: [295_168] + [590_080] * 3,
         4: [1_180_160] + [2_359_808] * 3, 5: [2_359_808] * 4}
VGG19_NOTOP_BOOK_PARAMS = [0] + [p for block in range(1, 6) for p in _CONV[block] + [0]]
VGG19_NOTOP_TOTAL = 20_024_384


def keras_models_dir():
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "models"


def missing_weights_message(reason):
    return (f"the ImageNet weights of VGG19 are not here and could not be downloaded ({reason}). "
            f"Fetch {WEIGHTS_FILE} ({WEIGHTS_SIZE}, md5 {WEIGHTS_MD5}) from {WEIGHTS_URL} "
            f"and put it in {keras_models_dir()}/ (or pass --weights /path/to/{WEIGHTS_FILE}); "
            f"--weights random runs the pipeline on an untrained VGG19 as a demo")


def build_vgg19(weights="imagenet", input_shape=(None, None, 3), dtype_policy=None):
    """VGG19 without its classifier; `weights` is "imagenet", "random" or a file path.

    `dtype_policy` (e.g. "mixed_bfloat16") sets the layers' compute type; the
    global policy is left as it was.
    """
    if dtype_policy is not None:
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(dtype_policy)
        try:
            return build_vgg19(weights, input_shape)
        finally:
            keras.mixed_precision.set_global_policy(previous)
    if weights == "random":
        return keras.applications.VGG19(include_top=False, weights=None, input_shape=input_shape)
    if weights != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"--weights {weights}: no such file. "
                                    + missing_weights_message("the file you named is missing"))
        try:
            return keras.applications.VGG19(include_top=False, weights=str(path), input_shape=input_shape)
        except Exception as e:  # a truncated or wrong file: h5py/keras raise many kinds of errors
            raise DataError(f"--weights {weights}: not VGG19 no-top weights ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:120] if str(e) else 'unreadable'}); "
                            f"expected {WEIGHTS_FILE}, {WEIGHTS_SIZE}, from {WEIGHTS_URL}")
    cached = keras_models_dir() / WEIGHTS_FILE
    if cached.is_file():
        return build_vgg19(str(cached), input_shape)
    if os.environ.get("DLWP_OFFLINE"):
        raise DataNotFoundError(missing_weights_message("DLWP_OFFLINE is set, so no download was tried"))
    try:
        # The normal path for a user with internet: Keras downloads into its cache and checks the md5.
        return keras.applications.VGG19(include_top=False, weights="imagenet", input_shape=input_shape)
    except Exception as e:
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise DataNotFoundError(missing_weights_message(f"download failed: {reason}")) from None


def build_feature_extractor(vgg, layer_names=None):
    """A model that maps an image to the activations of the named layers (a dict).

    By default the six layers style transfer reads. Only the layers up to the
    deepest of them are computed (block5_conv3, block5_conv4 and the last
    pooling layer are never run).
    """
    layer_names = layer_names or [CONTENT_LAYER] + STYLE_LAYERS
    outputs = {name: vgg.get_layer(name).output for name in layer_names}
    return keras.Model(inputs=vgg.input, outputs=outputs, name="vgg19_features")
