"""Chapter 5 loaders on synthetic files: Hoda .cdb/.mat/.npz, dogs vs cats folders, bad images, the split builder."""

import zipfile

import numpy as np
import pytest
import scipy.io
from PIL import Image

from datasets import DataError, DataNotFoundError, dogs_vs_cats, hoda
from tests.helpers import (
    add_bad_files,
    fingerprint,
    make_picture,
    make_split_folder,
    synthetic_glyphs,
    write_cdb,
    write_mat,
)

# ---------------------------------------------------------------------------
# Hoda
# ---------------------------------------------------------------------------


def test_cdb_reader_round_trip(tmp_path):
    bitmaps, labels = synthetic_glyphs(25)
    bitmaps[3][:, :] = 255  # rows that end with ink, and a row that starts with ink (a 0-length background run)
    path = tmp_path / "Test 20000.cdb"
    write_cdb(path, bitmaps, labels)
    images, read_labels = hoda.read_cdb(path)
    assert read_labels.tolist() == labels.tolist()
    assert len(images) == 25 and all(np.array_equal(a, b) for a, b in zip(images, bitmaps))


def test_cdb_reader_rejects_bad_files(tmp_path):
    bitmaps, labels = synthetic_glyphs(5)
    path = tmp_path / "x.cdb"
    write_cdb(path, bitmaps, labels)
    truncated = tmp_path / "truncated.cdb"
    truncated.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataError, match="truncated|ends inside"):
        hoda.read_cdb(truncated)
    short = tmp_path / "short.cdb"
    short.write_bytes(b"\0" * 100)
    with pytest.raises(DataError, match="header"):
        hoda.read_cdb(short)
    garbage = tmp_path / "garbage.cdb"
    garbage.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataError, match="not a Hoda"):
        hoda.read_cdb(garbage)


@pytest.mark.parametrize("ink", [1, 255])
def test_mat_reader_round_trip(tmp_path, ink):
    bitmaps, labels = synthetic_glyphs(12, seed=1)
    write_mat(tmp_path / "Data_hoda_full.mat", bitmaps, labels, ink=ink)
    images, read_labels = hoda.read_mat(tmp_path / "Data_hoda_full.mat")
    assert read_labels.tolist() == labels.tolist()
    assert all(np.array_equal(a, b) for a, b in zip(images, bitmaps))
    scipy.io.savemat(tmp_path / "other.mat", {"X": np.zeros(3)})
    with pytest.raises(DataError, match="Data and labels"):
        hoda.read_mat(tmp_path / "other.mat")


def test_resize_digit_keeps_the_shape_and_centres_it():
    bar = np.full((40, 4), 255, np.uint8)  # a thin, tall "1"
    resized = hoda.resize_digit(bar)
    assert resized.shape == (28, 28) and resized.dtype == np.uint8
    rows, cols = np.nonzero(resized > 127)
    assert rows.max() - rows.min() + 1 == 24  # the longer side becomes 24 pixels
    assert cols.max() - cols.min() + 1 <= 3  # and it stays thin
    assert abs((rows.min() + rows.max()) / 2 - 13.5) <= 1 and abs((cols.min() + cols.max()) / 2 - 13.5) <= 1
    assert hoda.resize_digit(np.full((1, 1), 255, np.uint8)).max() == 255  # a one-pixel "0" survives


def test_load_hoda_from_the_original_files_then_the_npz(tmp_path):
    train, train_labels = synthetic_glyphs(30, seed=2)
    test, test_labels = synthetic_glyphs(20, seed=3)
    data = tmp_path / "data"
    write_mat(data / "hoda" / "original" / "Data_hoda_full.mat", train, train_labels)
    write_cdb(data / "hoda" / "original" / "Test 20000.cdb", test, test_labels)
    loaded = hoda.load_hoda(data)
    assert loaded.train_images.shape == (30, 28, 28) and loaded.test_images.shape == (20, 28, 28)
    assert loaded.test_labels.tolist() == test_labels.tolist()
    np.testing.assert_array_equal(loaded.test_images[4], hoda.resize_digit(test[4]))
    assert "Test 20000.cdb" in loaded.source
    subset = hoda.load_hoda(data, subset=(10, 5))
    assert len(subset.train_images) == 10 and len(subset.test_labels) == 5

    # Only our npz: the same digits.
    npz_dir = tmp_path / "npz_data"
    arrays = {}
    for split, (images, labels) in {"train": (train, train_labels), "test": (test, test_labels)}.items():
        arrays[f"{split}_labels"] = labels
        arrays[f"{split}_shapes"] = np.array([b.shape for b in images], np.int32)
        arrays[f"{split}_offsets"] = np.concatenate([[0], np.cumsum([b.size for b in images])]).astype(np.int64)
        arrays[f"{split}_pixels"] = np.concatenate([b.ravel() for b in images])
    (npz_dir / "hoda").mkdir(parents=True)
    np.savez(npz_dir / "hoda" / "hoda.npz", **arrays)
    from_npz = hoda.load_hoda(npz_dir)
    np.testing.assert_array_equal(from_npz.test_images, loaded.test_images)


def test_load_hoda_missing_says_what_to_fetch(tmp_path):
    with pytest.raises(DataNotFoundError, match="Test 20000.cdb") as error:
        hoda.load_hoda(tmp_path)
    assert "HodaDatasetReader" in str(error.value)


# ---------------------------------------------------------------------------
# Dogs vs cats
# ---------------------------------------------------------------------------


def test_find_the_split_folder_in_the_data_dir(tmp_path):
    root = make_split_folder(tmp_path / "data" / "cats_and_dogs_small")
    assert dogs_vs_cats.find_cats_and_dogs_small(tmp_path / "data") == root
    assert dogs_vs_cats.find_cats_and_dogs_small(root) == root  # --data-dir at the split folder itself


def test_missing_data_explains_what_to_download(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        dogs_vs_cats.find_cats_and_dogs_small(tmp_path)
    message = str(error.value)
    assert "cats_and_dogs_small" in message and "train.zip" in message and "kaggle" in message.lower()


def test_bad_files_are_skipped_or_converted_and_the_folder_is_untouched(tmp_path):
    import tensorflow as tf

    root = make_split_folder(tmp_path / "cats_and_dogs_small")
    expected = add_bad_files(root / "train" / "cats")
    before = fingerprint(root)
    with pytest.warns(UserWarning) as caught:
        split = dogs_vs_cats.load_split(root, "train")
    messages = [str(w.message) for w in caught]
    for name, verdict in expected.items():
        word = "skipping" if verdict == "skipped" else "converted"
        assert any(word in m and name in m for m in messages), (name, messages)
    assert sorted(p.name for p, _ in split.skipped) == sorted(n for n, v in expected.items() if v == "skipped")
    assert sorted(p.name for p, _ in split.converted) == sorted(n for n, v in expected.items() if v == "converted")
    assert split.counts == {"cats": 6 + 4, "dogs": 6}

    dataset = dogs_vs_cats.make_dataset(split, (150, 150), batch_size=4, shuffle=True, seed=0)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    images, labels = np.concatenate(images), np.concatenate(labels)
    assert images.shape == (16, 150, 150, 3) and labels.shape == (16, 1)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    assert labels.sum() == 6  # dogs are class 1
    # The cats are reddish and the dogs bluish: the labels went with the right pictures.
    red_minus_blue = images[..., 0].mean(axis=(1, 2)) - images[..., 2].mean(axis=(1, 2))
    dogs = labels[:, 0] == 1
    assert np.all(red_minus_blue[dogs] < -0.2) and np.all(red_minus_blue[~dogs] > -0.02)  # gray.jpg: ~0
    assert fingerprint(root) == before
    # The pipeline caches decoded images: the second epoch gives the same pictures (reshuffled).
    second = np.concatenate([x.numpy() for x, _ in dataset])
    assert np.allclose(np.sort(second.sum(axis=(1, 2, 3))), np.sort(images.sum(axis=(1, 2, 3))))
    assert isinstance(dataset, tf.data.Dataset)


def test_empty_folder_and_one_class_only_are_clear_errors(tmp_path):
    root = tmp_path / "cats_and_dogs_small"
    (root / "train" / "cats").mkdir(parents=True)
    (root / "train" / "dogs").mkdir(parents=True)
    (root / "train" / "cats" / "broken.jpg").write_bytes(b"")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="no usable images"):
        dogs_vs_cats.load_split(root, "train")
    make_picture((1, 2, 3)).save(root / "train" / "cats" / "cat.1.jpg")
    with pytest.warns(UserWarning), pytest.raises(DataError, match="one class only"):
        dogs_vs_cats.load_split(root, "train")
    with pytest.raises(DataError, match="does not exist"):
        dogs_vs_cats.load_split(root, "validation")


SMALL_SPLITS = {"train": (0, 10), "validation": (10, 15), "test": (15, 20)}  # the book's, scaled down 100x


def fake_kaggle_names(prefix="", count=20):
    return [f"{prefix}{label}.{i}.jpg" for label in ("cat", "dog") for i in range(count)] + [f"{prefix}cat.{count}.jpg"]


@pytest.mark.parametrize("kind", ["folder", "zip", "competition_zip", "petimages"])
def test_split_builder_copies_the_books_files(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(dogs_vs_cats, "SPLITS", SMALL_SPLITS)
    data = tmp_path / "data"
    data.mkdir()
    contents = lambda name: f"picture {name}".encode()  # noqa: E731 - tiny fake files; the builder only copies
    if kind == "folder":
        (data / "train").mkdir()
        for name in fake_kaggle_names():
            (data / "train" / name).write_bytes(contents(name))
    elif kind == "petimages":
        for label in ("Cat", "Dog"):
            (data / "PetImages" / label).mkdir(parents=True)
            for i in range(21):
                (data / "PetImages" / label / f"{i}.jpg").write_bytes(contents(f"{label.lower()}.{i}.jpg"))
    else:
        inner = tmp_path / "train.zip"
        with zipfile.ZipFile(inner, "w") as archive:
            for name in fake_kaggle_names("train/"):
                archive.writestr(name, contents(name.split("/")[-1]))
        if kind == "zip":
            (data / "train.zip").write_bytes(inner.read_bytes())
        else:
            with zipfile.ZipFile(data / "dogs-vs-cats.zip", "w") as archive:
                archive.write(inner, "train.zip")
                archive.writestr("sampleSubmission.csv", "id,label\n")
    before = fingerprint(data)
    root = dogs_vs_cats.find_cats_and_dogs_small(data)
    assert root == tmp_path / "keras_home" / "datasets" / "cats_and_dogs_small"  # the Keras cache, not the data dir
    assert fingerprint(data) == before  # the source is only read
    for split, (start, stop) in dogs_vs_cats.SPLITS.items():
        for label in ("cats", "dogs"):
            names = sorted(p.name for p in (root / split / label).iterdir())
            assert names == sorted(f"{label[:-1]}.{i}.jpg" for i in range(start, stop))
            for name in names[:3]:
                assert (root / split / label / name).read_bytes() == contents(name)
    assert not list(root.parent.glob(".building-*"))  # no temporary folder left behind
    # The next search finds the built split directly.
    assert dogs_vs_cats.find_cats_and_dogs_small(data) == root


def test_split_builder_refuses_an_incomplete_source(tmp_path):
    (tmp_path / "train").mkdir()
    for name in fake_kaggle_names(count=2000)[:100]:  # cat.0 ... cat.99 only
        (tmp_path / "train" / name).write_bytes(b"x")
    with pytest.raises(DataError, match="lacks 3900 of the 4,000 pictures"):
        dogs_vs_cats.build_book_split(tmp_path / "train", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("mode", ["RGBA", "L", "P"])
@pytest.mark.parametrize("converted_suffix", [".png", ".gif"])  # sorts after / before the good cat.5.jpg
def test_two_pictures_with_one_stem_stay_two_pictures_and_the_users_files_are_unchanged(tmp_path, mode,
                                                                                         converted_suffix):
    root = make_split_folder(tmp_path / "cats_and_dogs_small", per_class={"train": 2})
    cats = root / "train" / "cats"
    make_picture((200, 60, 60), seed=5).save(cats / "cat.5.jpg", quality=90)  # red, used as it is
    make_picture((10, 250, 10), seed=6).convert(mode).save(cats / f"cat.5{converted_suffix}")  # green, converted
    before = fingerprint(root)
    with pytest.warns(UserWarning, match="converted"):
        split = dogs_vs_cats.load_split(root, "train")
    assert fingerprint(root) == before
    assert split.counts == {"cats": 4, "dogs": 2}
    dataset = dogs_vs_cats.make_dataset(split, (32, 40), batch_size=16)
    images = np.concatenate([x.numpy() for x, _ in dataset])
    labels = np.concatenate([y.numpy() for _, y in dataset])[:, 0]
    red = images[..., 0].mean(axis=(1, 2)) - images[..., 1].mean(axis=(1, 2)) > 0.2
    # cat.0, cat.1 and cat.5.jpg are red; the converted picture (green, or gray for "L") is there once too.
    assert (labels == 0).sum() == 4 and red[labels == 0].sum() == 3


def test_a_decompression_bomb_is_skipped_by_name(tmp_path):
    root = make_split_folder(tmp_path / "cats_and_dogs_small", per_class={"train": 2})
    bomb = root / "train" / "cats" / "huge.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 megapixels, a few kB on disk
    with pytest.warns(UserWarning, match="skipping .*huge.png"):
        split = dogs_vs_cats.load_split(root, "train")
    assert [p.name for p, _ in split.skipped] == ["huge.png"]
    assert split.counts == {"cats": 2, "dogs": 2}


def test_a_truncated_hoda_npz_is_one_line(tmp_path):
    (tmp_path / "hoda").mkdir()
    arrays = {f"{split}_{key}": np.arange(4) for split in ("train", "test")
              for key in ("pixels", "offsets", "shapes", "labels")}
    np.savez(tmp_path / "hoda" / "hoda.npz", **arrays)
    whole = (tmp_path / "hoda" / "hoda.npz").read_bytes()
    (tmp_path / "hoda" / "hoda.npz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"hoda.npz: cannot be read \(BadZipFile"):
        hoda.load_hoda(tmp_path)


def test_the_books_split_is_files_0_to_999_for_training_1000_to_1499_for_validation_1500_to_1999_for_test():
    assert dogs_vs_cats.SPLITS == {"train": (0, 1000), "validation": (1000, 1500), "test": (1500, 2000)}
