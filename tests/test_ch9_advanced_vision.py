"""Chapter 9 from the command line and the Oxford-IIIT Pets loader, on small synthetic pictures and trimaps.

The synthetic data has the real format: images/<Breed>_<n>.jpg pictures and
annotations/trimaps/<Breed>_<n>.png 8-bit grayscale trimaps of the values 1
(the animal), 2 (the background) and 3 (the contour), as the two archives
unpack; or the archives themselves. Each --quick run happens once per module.
"""

import contextlib
import json
import random
import tarfile

import numpy as np
import pytest
from PIL import Image

import chapters
from chapters.ch9_advanced_vision import CHAPTER
from datasets import DataError, oxford_pets
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    fingerprint,
    make_split_folder,
    results_file,
    run_folders,
    run_in_process,
    training_of,
)


def run_chapter(*args):
    return run_in_process(CHAPTER, args)


@contextlib.contextmanager
def isolated(folder):
    """What conftest's autouse fixture does, for module-scoped fixtures: no data dir, no cache, no downloads."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DLWP_DATA_DIR", raising=False)
        patch.setenv("KERAS_HOME", str(folder / "keras_home"))
        patch.setenv("DLWP_OFFLINE", "1")
        patch.chdir(folder)
        yield


def one_error_line(code, out, err):
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err[-2000:]
    return lines[0]


def write_pets(root, count=10, size=(60, 44)):
    """root/images/*.jpg and root/annotations/trimaps/*.png: an ellipse (1) on a background (2), its rim 3."""
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    width, height = size
    rows, columns = np.mgrid[:height, :width]
    rng = np.random.default_rng(0)
    for i in range(count):
        name = ("Abyssinian", "beagle")[i % 2] + f"_{i + 1}"
        distance = ((columns - width / 2) / (width / 3)) ** 2 + ((rows - height / 2) / (height / 3)) ** 2
        trimap = np.where(distance < 0.8, 1, np.where(distance < 1.2, 3, 2)).astype("uint8")
        picture = rng.integers(0, 60, (height, width, 3)).astype("uint8")
        picture[trimap == 1] += np.array([180, 120, 40], dtype="uint8")
        Image.fromarray(picture).save(root / "images" / f"{name}.jpg", quality=90)
        Image.fromarray(trimap, mode="L").save(root / "annotations" / "trimaps" / f"{name}.png")
    (root / "annotations" / "trimaps" / "._Abyssinian_1.png").write_bytes(b"macOS metadata, not a trimap")
    return root


def pack_archives(folder, destination):
    """images.tar.gz and annotations.tar.gz as the VGG site serves them: images/... and annotations/... inside."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("images", "annotations"):
        with tarfile.open(destination / f"{name}.tar.gz", "w:gz") as tar:
            tar.add(folder / name, arcname=name)
    return destination


# ---------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------

def test_the_book_split_shuffles_the_sorted_pairs_with_seed_1337_and_keeps_the_last_1000():
    names = sorted(f"{breed}_{i}" for breed in ("Abyssinian", "beagle", "pug") for i in range(1, 2465))[:7390]
    pairs = [(f"images/{n}.jpg", f"annotations/trimaps/{n}.png") for n in names]
    train, validation = oxford_pets.book_split(pairs)
    pictures, trimaps = [p for p, _ in pairs], [t for _, t in pairs]
    random.Random(1337).shuffle(pictures)  # the book: two shuffles with the same seed
    random.Random(1337).shuffle(trimaps)
    assert (len(train), len(validation)) == (6390, 1000)
    assert train + validation == list(zip(pictures, trimaps))


def test_a_smaller_copy_of_the_data_keeps_a_fifth_for_validation_and_too_few_pairs_stop():
    train, validation = oxford_pets.book_split([(i, i) for i in range(40)])
    assert (len(train), len(validation)) == (32, 8)
    with pytest.raises(DataError, match="too few"):
        oxford_pets.book_split([(0, 0), (1, 1)])


def test_targets_are_the_trimap_values_minus_one_at_200x200_nearest(tmp_path):
    root = write_pets(tmp_path / "pets", count=1)
    pairs = oxford_pets.image_trimap_pairs(root)
    images, targets, skipped = oxford_pets.load_pairs(pairs)
    assert images.shape == (1, 200, 200, 3) and targets.shape == (1, 200, 200, 1) and not skipped
    assert images.dtype == targets.dtype == np.uint8
    assert set(np.unique(targets).tolist()) == {0, 1, 2}
    assert targets[0, 100, 100, 0] == 0 and targets[0, 2, 2, 0] == 1  # the animal in the middle, background outside


def test_a_trimap_with_other_values_than_1_2_3_stops_with_its_name(tmp_path):
    root = write_pets(tmp_path / "pets", count=1)
    Image.fromarray(np.zeros((44, 60), "uint8"), mode="L").save(root / "annotations" / "trimaps" / "Abyssinian_1.png")
    with pytest.raises(DataError, match="Abyssinian_1.png: a trimap has the values 1, 2 and 3 only"):
        oxford_pets.load_pairs(oxford_pets.image_trimap_pairs(root))


def test_the_archives_are_unpacked_into_the_keras_cache_once_and_the_data_folder_is_untouched(tmp_path, capsys):
    pack_archives(write_pets(tmp_path / "made"), tmp_path / "data" / "oxford_pets")
    before = fingerprint(tmp_path / "data")
    root = oxford_pets.find_oxford_pets(tmp_path / "data")
    assert root == tmp_path / "keras_home" / "datasets" / "oxford_pets"
    assert len(oxford_pets.image_trimap_pairs(root)) == 10
    assert "Unpacking" in capsys.readouterr().out
    assert oxford_pets.find_oxford_pets(tmp_path / "data") == root and "Unpacking" not in capsys.readouterr().out
    assert fingerprint(tmp_path / "data") == before
    assert not [p for p in root.iterdir() if p.name.startswith(".unpacking-")]


def test_online_the_two_archives_are_downloaded_into_the_keras_cache_and_unpacked_there(tmp_path, monkeypatch):
    pack_archives(write_pets(tmp_path / "made"), tmp_path / "site" / "data")
    monkeypatch.setattr(oxford_pets, "SITE", (tmp_path / "site").as_uri() + "/")  # the VGG site's layout
    monkeypatch.delenv("DLWP_OFFLINE")
    root = oxford_pets.find_oxford_pets()
    cache = tmp_path / "keras_home" / "datasets" / "oxford_pets"
    assert root == cache and (cache / "images.tar.gz").is_file() and (cache / "annotations.tar.gz").is_file()
    assert len(oxford_pets.image_trimap_pairs(root)) == 10


def test_a_broken_archive_is_one_data_error_and_leaves_nothing_half_unpacked(tmp_path):
    archives = pack_archives(write_pets(tmp_path / "made"), tmp_path / "data")
    whole = (archives / "images.tar.gz").read_bytes()
    (archives / "images.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="images.tar.gz: not a complete tar.gz archive"):
        oxford_pets.find_oxford_pets(tmp_path / "data")
    assert not (tmp_path / "keras_home" / "datasets" / "oxford_pets" / "images").exists()


def test_without_the_data_9_2_says_in_one_line_what_to_download_from_where(tmp_path):
    line = one_error_line(*run_chapter("9.2", "--quick", "--output-dir", tmp_path / "out"))
    assert "images.tar.gz" in line and "annotations.tar.gz" in line and oxford_pets.SITE in line
    assert "<data dir>/oxford_pets/" in line


# ---------------------------------------------------------------------------
# The chapter's command
# ---------------------------------------------------------------------------

def test_the_chapter_is_listed_with_its_two_sections_and_has_only_the_2nd_edition(tmp_path):
    assert CHAPTER in chapters.all_chapters() and list(CHAPTER.sections) == ["9.2", "9.3"]
    assert all(section.summary.startswith(f"2nd ed. {number}:") for number, section in CHAPTER.sections.items())
    code, _, err = run_chapter("9.3", "--edition", "1", "--summary-only")
    assert code == 2 and "unrecognized arguments: --edition" in err


def test_summary_only_checks_every_model_of_both_sections_without_data(tmp_path):
    code, _, err = run_chapter("all", "--summary-only", "--output-dir", tmp_path / "out")
    assert code == 0, err[-2000:]
    checks = {key: entry["value"] for section in ("9.2", "9.3")
              for key, entry in results_file(tmp_path / "out", section)["results"].items()
              if key.startswith("book_check.")}
    assert checks == {f"book_check.{name}": "MATCH" for name in (
        "segmentation_model", "residual_filters_change", "residual_with_pooling", "residual_blocks_model",
        "batchnorm_after_activation", "batchnorm_before_activation", "mini_xception")}
    assert results_file(tmp_path / "out", "9.3")["edition"] == 2


@pytest.fixture(scope="module")
def segmentation_run(tmp_path_factory):
    """9.2 --quick on 10 synthetic pairs (8 to train, 2 to validate), batches of 4, in mixed bfloat16 (forced: on
    any CPU) and with --distribute mirrored (on one device)."""
    folder = tmp_path_factory.mktemp("segmentation")
    with isolated(folder):
        write_pets(folder / "data" / "oxford_pets")
        result = run_chapter("9.2", "--quick", "--batch-size", "4", *MIXED_BFLOAT16_MIRRORED, "--data-dir",
                             folder / "data", "--output-dir", folder / "out")
    return folder / "out", result


def test_segmentation_trains_with_rmsprop_and_sparse_crossentropy_for_50_book_epochs(segmentation_run):
    out, (code, _, err) = segmentation_run
    assert code == 0, err[-2000:]
    facts = training_of(out, "9.2")["segmentation"]
    assert (facts["optimizer"], facts["loss"], facts["book_epochs"], facts["epochs"]) == (
        "RMSprop", "sparse_categorical_crossentropy", 50, 1)


def test_segmentation_records_the_split_the_book_check_and_what_the_best_checkpoint_gets_right(segmentation_run):
    out = segmentation_run[0]
    results = results_file(out, "9.2")["results"]
    assert results["book_check.segmentation_model"]["value"] == "MATCH"
    assert (results["picture_trimap_pairs"]["value"], results["picture_trimap_pairs"]["book"]) == (10, 7390)
    assert (results["training_pairs"]["value"], results["validation_pairs"]["value"]) == (8, 2)
    assert (results["training_pairs"]["book"], results["validation_pairs"]["book"]) == (6390, 1000)
    assert results["best_epoch"]["value"] == 1
    assert 0 <= results["validation_pixel_accuracy"]["value"] <= 1
    assert all(0 <= results[f"validation_iou.{name}"]["value"] <= 1 for name in oxford_pets.TRIMAP_CLASSES)


def test_segmentation_draws_a_picture_with_its_predicted_and_true_masks_and_keeps_the_best_model(segmentation_run):
    run = run_folders(segmentation_run[0], "9.2")[-1]
    assert (run / "segmentation.png").stat().st_size > 5000
    assert (run / "segmentation" / "best.keras").exists()
    assert json.loads((run / "segmentation" / "best.json").read_text())["epoch"] == 1


def test_9_2_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(segmentation_run):
    assert assert_trained_in_mixed_bfloat16(segmentation_run[0], "9.2") == 1


def test_9_2_under_mirrored_builds_every_model_in_the_strategys_scope(segmentation_run):
    assert_trained_with_mirrored_variables(segmentation_run[0], "9.2")


@pytest.fixture(scope="module")
def xception_run(tmp_path_factory):
    """9.3 --quick on a tiny dogs-vs-cats split (6 + 6 training pictures), then --resume for a second epoch; both in
    mixed bfloat16 (forced: on any CPU) and with --distribute mirrored (on one device)."""
    folder = tmp_path_factory.mktemp("xception")
    with isolated(folder):
        make_split_folder(folder / "data" / "cats_and_dogs_small")
        common = ["9.3", "--quick", "--batch-size", "4", *MIXED_BFLOAT16_MIRRORED, "--data-dir", folder / "data",
                  "--output-dir", folder / "out"]
        first = run_chapter(*common)
        second = run_chapter(*common, "--epochs", "2", "--resume")
    return folder / "out", first, second


def test_the_mini_xception_trains_with_rmsprop_and_binary_crossentropy_for_100_book_epochs(xception_run):
    out, (code, _, err), _ = xception_run
    assert code == 0, err[-2000:]
    facts = training_of(out, "9.3")["mini_xception"]
    assert (facts["optimizer"], facts["loss"], facts["book_epochs"]) == ("RMSprop", "binary_crossentropy", 100)


def test_the_mini_xception_is_tested_beside_the_books_90_8_percent(xception_run):
    results = results_file(xception_run[0], "9.3")["results"]
    assert results["test_accuracy_last_epoch"]["book"] == 0.908
    assert 0 <= results["test_accuracy_last_epoch"]["value"] <= 1
    assert 0 <= results["test_accuracy_best_checkpoint"]["value"] <= 1
    assert results["mini_xception_params"]["value"] == 721_857


def test_the_mini_xception_resumes_the_same_run_for_a_second_epoch(xception_run):
    out, _, (code, output, err) = xception_run
    assert code == 0, err[-2000:]
    assert "Resuming mini_xception at epoch 2 of 2" in output
    assert len(run_folders(out, "9.3")) == 1
    run = run_folders(out, "9.3")[-1]
    assert len(json.loads((run / "mini_xception" / "history.json").read_text())["loss"]) == 2


def test_9_3_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(xception_run):
    assert assert_trained_in_mixed_bfloat16(xception_run[0], "9.3") == 1


def test_9_3_under_mirrored_builds_every_model_in_the_strategys_scope(xception_run):
    assert_trained_with_mirrored_variables(xception_run[0], "9.3")


def test_the_mini_xception_trains_in_the_books_batches_of_32_for_100_epochs():
    from chapters.ch9_advanced_vision import modern_convnet_patterns

    assert (modern_convnet_patterns.BOOK_BATCH_SIZE, modern_convnet_patterns.BOOK_EPOCHS) == (32, 100)


def test_9_2_each_picture_keeps_its_own_trimap_when_another_trimap_is_missing(tmp_path):
    root = write_pets(tmp_path / "pets", count=6)
    (root / "annotations" / "trimaps" / "Abyssinian_3.png").unlink()
    with pytest.warns(UserWarning, match="1 pictures .* have no trimap"):
        pairs = oxford_pets.image_trimap_pairs(root)
    assert [picture.stem for picture, _ in pairs] == ["Abyssinian_1", "Abyssinian_5", "beagle_2", "beagle_4",
                                                      "beagle_6"]
    assert all(picture.stem == trimap.stem for picture, trimap in pairs)
