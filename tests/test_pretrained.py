"""models/pretrained.py: where ImageNet weights come from, and the one-line messages when they cannot."""

import hashlib

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

from datasets import DataError, DataNotFoundError
from models import pretrained


def write_weights_file(model, path):
    """A weights file in the ImageNet files' format: Keras's legacy layer-by-layer HDF5."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


@pytest.fixture(scope="module")
def vgg19_random():
    keras.utils.set_random_seed(0)
    return pretrained.pretrained_network("vgg19_notop", "random", input_shape=(None, None, 3))


def test_each_network_names_the_file_and_md5_keras_checks():
    expected = {"vgg16": "64373286793e3c8b2b4e3219cbf3544b", "vgg16_notop": "6d6bbae143d832006294945121d1f1fc",
                "vgg19_notop": "253f8cb515780f3b799900260a226db6",
                "inception_v3_notop": "bcbd6486424b2319ff4ef7d526e38f63",
                "xception": "0a58e3b7378bc2990ea3b43d5981f1f6", "xception_notop": "b0042744bf5b25fce3cb969f33bebb97"}
    assert {name: network.md5 for name, network in pretrained.NETWORKS.items()} == expected
    assert pretrained.NETWORKS["vgg16_notop"].url == ("https://storage.googleapis.com/tensorflow/keras-applications/"
                                                      "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_offline_without_the_file_says_what_to_fetch_in_one_line():
    with pytest.raises(DataNotFoundError) as error:
        pretrained.pretrained_network("vgg16_notop", "imagenet")
    message = str(error.value)
    network = pretrained.NETWORKS["vgg16_notop"]
    assert "\n" not in message
    for part in (network.file, network.size, network.md5, network.url, str(pretrained.keras_models_dir()),
                 "--weights random"):
        assert part in message


def test_a_failed_download_gives_the_same_message_with_its_reason(monkeypatch):
    monkeypatch.delenv("DLWP_OFFLINE")

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -3]")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(DataNotFoundError, match="the download failed: URL fetch failure.*--weights random"):
        pretrained.weights_file("vgg19_notop", "imagenet")


def test_online_the_keras_download_is_asked_for_the_file_and_its_md5(monkeypatch, tmp_path):
    monkeypatch.delenv("DLWP_OFFLINE")
    asked = {}

    def get_file(name, origin, cache_subdir, file_hash):
        asked.update(name=name, origin=origin, cache_subdir=cache_subdir, file_hash=file_hash)
        return str(tmp_path / name)

    monkeypatch.setattr(keras.utils, "get_file", get_file)
    network = pretrained.NETWORKS["inception_v3_notop"]
    assert pretrained.weights_file("inception_v3_notop") == tmp_path / network.file
    assert asked == {"name": network.file, "origin": network.url, "cache_subdir": "models", "file_hash": network.md5}


def test_the_file_in_the_keras_cache_is_loaded_without_a_download(vgg19_random):
    write_weights_file(vgg19_random, pretrained.keras_models_dir() / pretrained.NETWORKS["vgg19_notop"].file)
    loaded = pretrained.pretrained_network("vgg19_notop", "imagenet", input_shape=(None, None, 3))
    np.testing.assert_array_equal(loaded.get_layer("block1_conv1").kernel.numpy(),
                                  vgg19_random.get_layer("block1_conv1").kernel.numpy())


def test_a_named_weights_file_is_loaded(tmp_path, vgg19_random):
    path = write_weights_file(vgg19_random, tmp_path / "copy" / "vgg19.h5")
    loaded = pretrained.pretrained_network("vgg19_notop", str(path), input_shape=(None, None, 3))
    np.testing.assert_array_equal(loaded.get_layer("block5_conv4").bias.numpy(),
                                  vgg19_random.get_layer("block5_conv4").bias.numpy())
    assert hashlib.md5(path.read_bytes()).hexdigest() != pretrained.NETWORKS["vgg19_notop"].md5  # any copy will do


def test_a_missing_named_file_is_one_line(tmp_path):
    with pytest.raises(DataNotFoundError, match="no such file"):
        pretrained.pretrained_network("vgg19_notop", str(tmp_path / "missing.h5"))


def test_a_junk_file_is_one_line_naming_what_was_expected(tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an HDF5 file")
    with pytest.raises(DataError, match="not the weights of VGG19 without its classifier.*vgg19_weights"):
        pretrained.pretrained_network("vgg19_notop", str(junk))


def test_random_weights_are_labelled_untrained():
    assert pretrained.weights_label("vgg16_notop", "random").startswith("UNTRAINED VGG16")
    assert pretrained.weights_label("vgg16_notop", "imagenet") == "VGG16 ImageNet weights"
    assert pretrained.is_untrained("random") and not pretrained.is_untrained("imagenet")
