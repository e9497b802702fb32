"""The ImageNet-trained convnets of 5.3, 5.4, 8.2 and 8.3, and where their weights come from, in one place.

    pretrained_network("vgg16_notop", weights, input_shape=(150, 150, 3))

`weights` is one of:
    "imagenet"  the Keras cache (~/.keras/models/ or $KERAS_HOME/models/), else Keras's own
                download (which checks the file's md5 and caches it for next time)
    PATH        a copy of the same .h5 file, wherever the user put it
    "random"    untrained weights: the whole section runs as a demo, and says UNTRAINED
                on every number and figure

Offline, a missing file stops with one line naming the file, its size, md5,
address and where to put it (`DataNotFoundError`); a file that is not the
network's weights stops with one line too (`DataError`).
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from datasets import DataError, DataNotFoundError
from datasets.paths import download_failure

KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class Pretrained:
    """A keras.applications network and its ImageNet weights file (as Keras names and checks it)."""
    title: str
    application: Callable  # keras.applications.VGG16, ...
    include_top: bool
    file: str
    md5: str  # the file_hash Keras checks
    size: str

    @property
    def url(self):
        folder = self.file.split("_weights")[0]
        return f"{KERAS_APPLICATIONS}{folder}/{self.file}"


NETWORKS = {
    "vgg16": Pretrained("VGG16", keras.applications.VGG16, True, "vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                        "64373286793e3c8b2b4e3219cbf3544b", "528 MB"),
    "vgg16_notop": Pretrained("VGG16 without its classifier", keras.applications.VGG16, False,
                              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                              "6d6bbae143d832006294945121d1f1fc", "56 MB"),
    "vgg19_notop": Pretrained("VGG19 without its classifier", keras.applications.VGG19, False,
                              "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                              "253f8cb515780f3b799900260a226db6", "76 MB"),
    "inception_v3_notop": Pretrained("InceptionV3 without its classifier", keras.applications.InceptionV3, False,
                                     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                     "bcbd6486424b2319ff4ef7d526e38f63", "84 MB"),
    "xception": Pretrained("Xception", keras.applications.Xception, True,
                           "xception_weights_tf_dim_ordering_tf_kernels.h5",
                           "0a58e3b7378bc2990ea3b43d5981f1f6", "88 MB"),
    "xception_notop": Pretrained("Xception without its classifier", keras.applications.Xception, False,
                                 "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                 "b0042744bf5b25fce3cb969f33bebb97", "80 MB"),
}


def keras_models_dir():
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(keras_home) / "models"


def is_untrained(weights):
    return weights == "random"


def weights_label(name, weights):
    """How every printed number and figure names the weights."""
    title = NETWORKS[name].title.split(" without")[0]
    if is_untrained(weights):
        return f"UNTRAINED {title} (--weights random: a demo, not the book's result)"
    return f"{title} ImageNet weights" if weights == "imagenet" else f"{title} weights from {weights}"


def missing_weights_message(network, reason):
    return (f"the ImageNet weights of {network.title} are not here ({reason}). Fetch {network.file} "
            f"({network.size}, md5 {network.md5}) from {network.url} and put it in {keras_models_dir()}/ "
            f"(or pass --weights /path/to/{network.file}); --weights random runs the section on untrained "
            "weights as a demo")


def weights_file(name, weights="imagenet"):
    """The weights file to load for `weights` "imagenet" or a path; see the module docstring."""
    network = NETWORKS[name]
    if weights != "imagenet":
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"--weights {weights}: no such file. "
                                    + missing_weights_message(network, "the file you named is missing"))
        return path
    cached = keras_models_dir() / network.file
    if cached.is_file():
        return cached
    if os.environ.get("DLWP_OFFLINE"):
        raise DataNotFoundError(missing_weights_message(network, "DLWP_OFFLINE is set, so no download was tried"))
    try:
        # What a user online gets: Keras downloads into its cache and checks the md5.
        return Path(keras.utils.get_file(network.file, network.url, cache_subdir="models", file_hash=network.md5))
    except Exception as e:  # no network, a proxy, a failed hash check...
        reason = download_failure(e)
        raise DataNotFoundError(missing_weights_message(network, f"the download failed: {reason}")) from None


def pretrained_network(name, weights="imagenet", **kwargs):
    """keras.applications' network `name` with `weights` ("imagenet", a path, or "random"); kwargs: input_shape..."""
    network = NETWORKS[name]
    if is_untrained(weights):
        return network.application(include_top=network.include_top, weights=None, **kwargs)
    path = weights_file(name, weights)
    try:
        return network.application(include_top=network.include_top, weights=str(path), **kwargs)
    except Exception as e:  # a truncated or wrong file: h5py and Keras raise many kinds of errors
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise DataError(f"{path}: not the weights of {network.title} ({type(e).__name__}: {detail}); expected "
                        f"{network.file}, {network.size}, md5 {network.md5}, from {network.url}") from None
