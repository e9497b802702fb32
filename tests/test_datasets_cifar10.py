"""datasets/cifar10.py on small files written in the CIFAR-10 batch format (no network)."""

import errno
import io
import os
import pathlib
import pickle
import tarfile

import numpy as np
import pytest

from datasets import DataError, DataNotFoundError
from datasets.cifar10 import ARCHIVE, ARCHIVE_MD5, CLASS_NAMES, FOLDER, URL, load_cifar10
from datasets.paths import keras_cache_dir
from tests.helpers import fingerprint


def batch_bytes(images, labels):
    """A CIFAR-10 batch: rows of 3,072 bytes, the red plane, then green, then blue."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return pickle.dumps({b"batch_label": b"synthetic", b"labels": list(map(int, labels)), b"data": rows})


def synthetic_cifar(rng, n):
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_cifar_folder(folder, per_batch=6, seed=0):
    """cifar-10-batches-py/ with 5 training batches and a test batch; returns what they hold."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    train = [synthetic_cifar(rng, per_batch) for _ in range(5)]
    for i, (images, labels) in enumerate(train, start=1):
        (folder / f"data_batch_{i}").write_bytes(batch_bytes(images, labels))
    test = synthetic_cifar(rng, per_batch)
    (folder / "test_batch").write_bytes(batch_bytes(*test))
    return train, test


def test_the_folder_is_read_as_keras_reads_it(tmp_path):
    train, test = write_cifar_folder(tmp_path / "data" / "cifar10" / FOLDER)
    cifar = load_cifar10(tmp_path / "data")
    assert cifar.train_images.shape == (30, 32, 32, 3) and cifar.train_images.dtype == np.uint8
    np.testing.assert_array_equal(cifar.train_images[6:12], train[1][0])  # batch 2 follows batch 1
    np.testing.assert_array_equal(cifar.test_labels, test[1])
    np.testing.assert_array_equal(cifar.test_images[0, 0, 0], test[0][0, 0, 0])  # channels last, red first


def test_a_pixel_is_red_green_blue_from_the_three_planes(tmp_path):
    folder = tmp_path / "data" / FOLDER
    folder.mkdir(parents=True)
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 2, 5] = (200, 100, 50)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(batch_bytes(image, [6]))
    cifar = load_cifar10(tmp_path / "data")
    assert tuple(cifar.test_images[0, 2, 5]) == (200, 100, 50) and CLASS_NAMES[cifar.test_labels[0]] == "frog"


def test_the_archive_is_extracted_into_the_keras_cache_and_the_data_folder_is_untouched(tmp_path):
    source = tmp_path / "made"
    _, test = write_cifar_folder(source / FOLDER)
    data = tmp_path / "data"
    data.mkdir()
    with tarfile.open(data / ARCHIVE, "w:gz") as tar:
        tar.add(source / FOLDER, arcname=FOLDER)
    before = fingerprint(data)
    cifar = load_cifar10(data)
    assert fingerprint(data) == before
    assert cifar.source == str(keras_cache_dir() / FOLDER)
    np.testing.assert_array_equal(cifar.test_images, test[0])
    assert [p.name for p in keras_cache_dir().iterdir()] == [FOLDER]  # no half-extracted leftovers


def test_a_truncated_archive_is_one_line_and_leaves_no_folder(tmp_path):
    source = tmp_path / "made"
    write_cifar_folder(source / FOLDER)
    data = tmp_path / "data"
    data.mkdir()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source / FOLDER, arcname=FOLDER)
    (data / ARCHIVE).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DataError, match="cannot be read as cifar-10-python.tar.gz"):
        load_cifar10(data)
    assert not (keras_cache_dir() / FOLDER).exists()


def test_a_damaged_batch_is_one_line(tmp_path):
    write_cifar_folder(tmp_path / "data" / FOLDER)
    (tmp_path / "data" / FOLDER / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="data_batch_3: not a CIFAR-10 batch"):
        load_cifar10(tmp_path / "data")


def test_offline_without_cifar_says_what_to_fetch_and_where(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        load_cifar10(tmp_path)
    message = str(error.value)
    for part in (ARCHIVE, ARCHIVE_MD5, URL, "163 MB", "<data dir>/cifar10/"):
        assert part in message
    assert "\n" not in message


def test_quick_subsets_keep_the_first_pictures(tmp_path):
    train, _ = write_cifar_folder(tmp_path / "data" / FOLDER)
    cifar = load_cifar10(tmp_path / "data", subset=(4, 2))
    assert len(cifar.train_images) == 4 and len(cifar.test_images) == 2
    np.testing.assert_array_equal(cifar.train_labels, train[0][1][:4])


def write_archive(tmp_path):
    """<tmp>/data/cifar-10-python.tar.gz made from a small synthetic folder; returns the data folder."""
    source = tmp_path / "made"
    write_cifar_folder(source / FOLDER)
    data = tmp_path / "data"
    data.mkdir()
    with tarfile.open(data / ARCHIVE, "w:gz") as tar:
        tar.add(source / FOLDER, arcname=FOLDER)
    return data


def failing(code):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


def test_a_full_keras_cache_names_the_lack_of_room_and_keeps_the_archive(tmp_path, monkeypatch):
    data = write_archive(tmp_path)
    before = fingerprint(data)
    monkeypatch.setattr(pathlib.Path, "write_bytes", failing(errno.ENOSPC))
    with pytest.raises(DataError) as error:
        load_cifar10(data)
    message = str(error.value)
    assert message.startswith(f"no room to extract {data / ARCHIVE} into {keras_cache_dir() / FOLDER}")
    assert "B needed" in message and "KERAS_HOME" in message and "delete" not in message
    assert fingerprint(data) == before and not (keras_cache_dir() / FOLDER).exists()


def test_a_read_only_keras_cache_is_one_line_that_does_not_blame_the_archive(tmp_path, monkeypatch):
    data = write_archive(tmp_path)
    monkeypatch.setattr(pathlib.Path, "mkdir", failing(errno.EROFS))
    with pytest.raises(DataError) as error:
        load_cifar10(data)
    assert str(error.value).startswith(f"cannot write into {keras_cache_dir() / FOLDER}")
    assert "KERAS_HOME" in str(error.value) and "delete" not in str(error.value)


def test_labels_outside_0_to_9_are_one_line_naming_the_batch(tmp_path):
    write_cifar_folder(tmp_path / "data" / FOLDER)
    images, _ = synthetic_cifar(np.random.default_rng(1), 6)
    (tmp_path / "data" / FOLDER / "data_batch_1").write_bytes(batch_bytes(images, [255] * 6))
    with pytest.raises(DataError, match="data_batch_1: labels 255 outside 0-9"):
        load_cifar10(tmp_path / "data")
