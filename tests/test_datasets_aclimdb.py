"""The raw IMDB reviews: found as a folder, extracted from the official archive into the Keras cache, split 80/20
for the 2nd edition in a copy; the user's files are never changed."""

import errno
import io
import os
import shutil
import tarfile

import pytest

from datasets import DataError, DataNotFoundError, aclimdb
from datasets.paths import keras_cache_dir
from tests.helpers import fingerprint, write_aclimdb


def make_archive(path, source, extra=()):
    """aclImdb_v1.tar.gz as Stanford ships it: every file under aclImdb/; `extra`: (name, bytes) members added."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="aclImdb")
        for name, data in extra:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_an_extracted_folder_in_the_data_dir_is_found(tmp_path):
    write_aclimdb(tmp_path / "data" / "aclImdb")
    assert aclimdb.find_aclimdb(tmp_path / "data") == tmp_path / "data" / "aclImdb"


def test_a_data_dir_that_is_the_folder_itself_is_found(tmp_path):
    write_aclimdb(tmp_path / "aclImdb")
    assert aclimdb.find_aclimdb(tmp_path / "aclImdb") == tmp_path / "aclImdb"


def test_the_archive_is_extracted_into_the_keras_cache_and_left_as_it_was(tmp_path):
    source = write_aclimdb(tmp_path / "made" / "aclImdb", unsup=3)
    data = tmp_path / "data"
    data.mkdir()
    archive = make_archive(data / "aclImdb_v1.tar.gz", source)
    before = fingerprint(data)
    found = aclimdb.find_aclimdb(data)
    assert found == keras_cache_dir() / "aclImdb"
    assert fingerprint(data) == before
    assert len(list((found / "train" / "pos").glob("*.txt"))) == 20 and (found / "train" / "unsup").is_dir()
    assert archive.exists() and aclimdb.find_aclimdb(data) == found  # the second time: the extracted folder


def test_archive_members_outside_acl_imdb_are_not_extracted(tmp_path):
    source = write_aclimdb(tmp_path / "made" / "aclImdb")
    data = tmp_path / "data"
    data.mkdir()
    make_archive(data / "aclImdb_v1.tar.gz", source, extra=[("../escaped.txt", b"x"), ("other/file.txt", b"y")])
    aclimdb.find_aclimdb(data)
    assert not (keras_cache_dir().parent / "escaped.txt").exists() and not (keras_cache_dir() / "other").exists()


def test_a_damaged_archive_is_one_clear_error_and_leaves_no_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "aclImdb_v1.tar.gz").write_bytes(b"\x1f\x8b\x08not really gzip")
    with pytest.raises(DataError, match="cannot be read as aclImdb_v1.tar.gz"):
        aclimdb.find_aclimdb(data)
    assert not (keras_cache_dir() / "aclImdb").exists()


def test_offline_without_the_reviews_the_message_names_the_archive_its_size_and_address(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        aclimdb.find_aclimdb()
    message = str(error.value)
    assert "\n" not in message
    for part in ("aclImdb_v1.tar.gz", "84 MB", "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                 "<data dir>/"):
        assert part in message


def test_read_reviews_labels_neg_0_and_pos_1_in_name_order(tmp_path):
    root = write_aclimdb(tmp_path / "aclImdb", {"train": 3, "test": 2})
    texts, labels = aclimdb.read_reviews(root, "train")
    assert labels == [0, 0, 0, 1, 1, 1]
    assert "awful" in texts[0] and "wonderful" in texts[-1]
    assert aclimdb.read_reviews(root, "test", limit_per_class=1)[1] == [0, 1]


def test_the_validation_files_are_the_last_fifth_of_a_random_1337_shuffle_of_the_sorted_names():
    names = [f"{i}_3.txt" for i in range(50)]
    held_out = aclimdb.validation_files(reversed(names))
    import random
    expected = sorted(names)
    random.Random(1337).shuffle(expected)
    assert held_out == set(expected[-10:])
    assert (aclimdb.VALIDATION_SEED, aclimdb.VALIDATION_FRACTION) == (1337, 0.2)


def test_the_split_is_80_20_per_class_in_the_cache_and_the_source_is_untouched(tmp_path):
    root = write_aclimdb(tmp_path / "aclImdb", {"train": 20, "test": 5}, unsup=4)
    before = fingerprint(root)
    split = aclimdb.build_validation_split(root)
    assert split.parent == keras_cache_dir()
    for label in ("neg", "pos"):
        train = {p.name for p in (split / "train" / label).iterdir()}
        val = {p.name for p in (split / "val" / label).iterdir()}
        assert (len(train), len(val)) == (16, 4) and not train & val
        assert val == aclimdb.validation_files(p.name for p in (root / "train" / label).iterdir())
    assert not (split / "train" / "unsup").exists()
    assert fingerprint(root) == before
    assert aclimdb.build_validation_split(root) == split  # built once


def test_text_datasets_read_two_classes_even_with_unsup_present(tmp_path):
    root = write_aclimdb(tmp_path / "aclImdb", {"train": 10, "test": 5}, unsup=3)
    train, val, test = aclimdb.text_datasets(root, batch_size=4, seed=0)
    counts = [sum(int(len(y)) for _, y in dataset) for dataset in (train, val, test)]
    assert counts == [16, 4, 10]
    texts, labels = next(iter(test))
    assert texts.dtype.name == "string" and set(labels.numpy().tolist()) <= {0, 1}


def test_a_full_keras_cache_names_the_lack_of_room_and_never_says_delete(tmp_path, monkeypatch):
    source = write_aclimdb(tmp_path / "made" / "aclImdb")
    data = tmp_path / "data"
    data.mkdir()
    archive = make_archive(data / "aclImdb_v1.tar.gz", source)
    before = fingerprint(data)

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", full_disk)
    with pytest.raises(DataError) as error:
        aclimdb.find_aclimdb(data)
    message = str(error.value)
    assert message.startswith(f"no room to extract {archive} into {keras_cache_dir() / 'aclImdb'}")
    assert "B needed" in message and "KERAS_HOME" in message and "delete" not in message
    assert fingerprint(data) == before and not (keras_cache_dir() / "aclImdb").exists()
