"""Chapter 17 (3rd edition), 17.2 diffusion models: the U-Net's counts, the schedule, the Flowers loader, and one
--quick run on synthetic digits (then --resume for a second epoch), in this process."""

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from chapters.ch17_diffusion import CHAPTER
from datasets.flowers import find_flowers, flower_dataset
from models.diffusion import denoising_unet, diffusion_schedule, unet_params
from tests.helpers import (
    MIXED_BFLOAT16,
    assert_trained_in_mixed_bfloat16,
    results_of,
    run_folders,
    run_in_process,
    training_of,
)


def run_chapter(*args, cwd=None):
    return run_in_process(CHAPTER, args, cwd=cwd)


def write_digits(data, count=40):
    """mnist/mnist.npz: digit k a bright bar at row 2 + 2k on faint noise."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[2 + 2 * label: 4 + 2 * label, 4:24] = 255
    (data / "mnist").mkdir(parents=True)
    np.savez(data / "mnist" / "mnist.npz", x_train=images, y_train=labels, x_test=images[:10], y_test=labels[:10])


# ---------------------------------------------------------------------------
# The model and the schedule
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("image_size, channels, total", [(128, 3, 1_943_525), (32, 1, 1_943_395)])
def test_the_unet_has_our_per_layer_counts_for_the_books_widths_32_64_96_128(image_size, channels, total):
    unet = denoising_unet(image_size, channels)
    assert [layer.count_params() for layer in unet.layers] == unet_params(image_size, channels)
    assert unet.count_params() == sum(unet_params(image_size, channels)) == total
    assert len(unet.layers) == 84
    # The first residual block (33 channels in: 32 features + the noise rate): BN 2 * 33, conv 3*3*33*32 + 32,
    # conv 3*3*32*32 + 32, the 1x1 projection 33*32 + 32, the sum; the last 1x1 conv from 32 channels.
    assert unet_params(image_size, channels)[5:10] == [66, 9_536, 9_248, 1_088, 0]
    assert unet_params(image_size, channels)[-1] == 32 * channels + channels


def test_the_schedule_goes_from_signal_rate_0_95_to_0_02_and_keeps_unit_variance():
    noise_rates, signal_rates = (np.asarray(rates) for rates in diffusion_schedule(np.array([0.0, 0.5, 1.0])))
    assert signal_rates[0] == pytest.approx(0.95, abs=1e-6) and signal_rates[-1] == pytest.approx(0.02, abs=1e-6)
    assert np.all(np.diff(signal_rates) < 0) and np.all(np.diff(noise_rates) > 0)
    np.testing.assert_allclose(noise_rates ** 2 + signal_rates ** 2, 1.0, atol=1e-6)


# ---------------------------------------------------------------------------
# Oxford Flowers
# ---------------------------------------------------------------------------

def test_the_flowers_folder_is_found_and_cropped_to_square_batches(tmp_path):
    folder = tmp_path / "data" / "102flowers" / "jpg"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3)).astype(np.uint8)).save(folder / f"image_{i:05d}.jpg")
    found = find_flowers(tmp_path / "data")
    assert found == folder
    with contextlib.redirect_stdout(io.StringIO()):
        batches = [batch.numpy() for batch in flower_dataset(found, 16, 2, seed=0)]
    assert [batch.shape for batch in batches] == [(2, 16, 16, 3)] * 2  # 5 pictures: the last, odd one dropped
    assert 0 <= min(batch.min() for batch in batches) and max(batch.max() for batch in batches) <= 255


def test_the_flowers_archive_is_extracted_into_the_keras_cache_not_the_data_folder(tmp_path):
    import tarfile

    source = tmp_path / "source" / "jpg"
    source.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(source / f"image_{i:05d}.jpg")
    (tmp_path / "data").mkdir()
    with tarfile.open(tmp_path / "data" / "102flowers.tgz", "w:gz") as archive:
        archive.add(source, arcname="jpg")
    with contextlib.redirect_stdout(io.StringIO()):
        found = find_flowers(tmp_path / "data")
    assert found == tmp_path / "keras_home" / "datasets" / "102flowers" / "jpg" and len(list(found.iterdir())) == 3
    assert [path.name for path in (tmp_path / "data").iterdir()] == ["102flowers.tgz"]
    assert find_flowers(tmp_path / "data") == found  # the next run finds the extracted folder


def test_the_book_run_without_oxford_flowers_is_one_line(tmp_path):
    code, _, err = run_chapter("17.2", "--images", "flowers", "--quick", "--output-dir", tmp_path / "out")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err[-2000:]
    assert "102flowers.tgz" in lines[0] and "102flowers/" in lines[0]


# ---------------------------------------------------------------------------
# The chapter's command
# ---------------------------------------------------------------------------

def test_the_chapter_is_listed_for_the_3rd_edition_only(capsys):
    from chapters.__main__ import main

    main()
    assert "python -m chapters.ch17_diffusion 17.2" in capsys.readouterr().out
    assert CHAPTER.editions == (3,) and "--edition" not in CHAPTER.parser().format_help()
    assert CHAPTER.sections["17.2"].summary.startswith("3rd ed. 17:")


def h5_arrays(path):
    """Every array in a .weights.h5 file, by its path inside the file."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return arrays


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """--quick on 40 synthetic digits (2 denoising steps per picture), then --resume of the finished run; both in
    mixed bfloat16 (forced: on any CPU).

    An untrained 5.1 convnet stands in for an earlier 5.1 run's (the section classifies with it instead of
    training one). The resumed run has nothing left to train: it loads the backup and generates again.
    """
    import keras

    from models.convnets import mnist_convnet_1st_edition

    folder = tmp_path_factory.mktemp("diffusion")
    write_digits(folder / "data")
    classifier = folder / "ch5_convnets" / "5.1-20260101-000000" / "mnist_convnet" / "best.keras"
    classifier.parent.mkdir(parents=True)
    mnist_convnet_1st_edition().save(classifier)
    keras.backend.clear_session()
    common = ("--quick", "--batch-size", "8", "--diffusion-steps", "2", *MIXED_BFLOAT16, "--data-dir",
              folder / "data", "--output-dir", folder / "out")
    first = run_chapter("17.2", *common, cwd=folder)
    run = run_folders(folder / "out", "17.2")[-1]
    backup = h5_arrays(run / "diffusion_model" / "backup" / "epoch-0001.weights.h5")
    second = run_chapter("17.2", *common, "--resume", cwd=folder)
    return folder / "out", first, second, backup


def test_the_model_trains_with_adamw_its_decaying_rate_and_weight_averaging_for_100_book_epochs(quick_runs):
    out, (code, _, err), _, _ = quick_runs
    assert code == 0, err[-2000:]
    facts = training_of(out, "17.2")["diffusion_model"]
    assert facts["optimizer"] == "AdamW" and facts["learning_rate"]["schedule"] == "InverseTimeDecay"
    assert (facts["learning_rate"]["initial_learning_rate"], facts["learning_rate"]["decay_steps"],
            facts["learning_rate"]["decay_rate"]) == (1e-3, 1000, 0.1)
    assert (facts["book_epochs"], facts["epochs_done"]) == (100, 1)
    results = results_of(out, "17.2")
    assert "use_ema=True, ema_momentum=0.99, ema_overwrite_frequency=100" in results["optimizer"]["value"]
    assert "weight_decay=0.004" in results["optimizer"]["value"]
    assert (results["diffusion_steps"]["value"], results["diffusion_steps"]["book"]) == (2, 20)
    assert results["book_check.denoising_model"]["value"] == "MATCH"
    assert 0 < results["final_loss"]["value"] < 2  # the MAE of unit-variance noise starts near 0.8


def test_the_run_saves_its_grids_and_what_a_digit_classifier_makes_of_100_generated_digits(quick_runs):
    out = quick_runs[0]
    run = run_folders(out, "17.2")[-1]
    for name in ("generated/epoch_001.png", "generated_grid.png", "generated_digit_classes.png",
                 "diffusion_model/history.csv", "diffusion_model/last.weights.h5"):
        assert (run / name).is_file(), name
    with Image.open(run / "generated_grid.png") as grid:
        assert grid.size == (6 * 32 * 3, 3 * 32 * 3)  # the book's 3x6 grid, 32x32 digits drawn 3x larger
    results = results_of(out, "17.2")
    assert sum(results["class_histogram"]["value"]) == 100
    assert 0 <= results["share_classified_confidently"]["value"] <= 1
    assert results["classifier"]["value"].endswith("best.keras")  # the earlier 5.1 run's convnet


def test_resume_loads_the_saved_weights_of_the_subclassed_model(quick_runs):
    out, _, (code, stdout, err), backup = quick_runs
    assert code == 0, err[-2000:]
    assert len(run_folders(out, "17.2")) == 1 and "nothing to train" in stdout
    run = run_folders(out, "17.2")[-1]
    resumed = h5_arrays(run / "diffusion_model" / "last.weights.h5")  # written right after the backup was loaded
    assert resumed.keys() == backup.keys()
    assert all(np.array_equal(resumed[name], backup[name]) for name in backup)
    final_kernels = [array for array in backup.values() if array.shape == (1, 1, 32, 1)]
    assert final_kernels and any(np.any(kernel != 0) for kernel in final_kernels)  # trained away from its zeros


def test_17_2_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_runs):
    assert assert_trained_in_mixed_bfloat16(quick_runs[0], "17.2") == 1


def test_17_2_normalises_with_the_statistics_of_every_training_picture(tmp_path):
    from tests.helpers import first_fit

    write_digits(tmp_path / "data")
    call = first_fit(CHAPTER, ["17.2", "--quick", "--batch-size", "8", "--data-dir", tmp_path / "data",
                               "--output-dir", tmp_path / "out"], cwd=tmp_path)
    with np.load(tmp_path / "data" / "mnist" / "mnist.npz") as mnist:
        pictures = np.pad(mnist["x_train"], ((0, 0), (2, 2), (2, 2))).astype("float64")  # all 40, padded to 32x32
    normalizer = call["model"].normalizer
    assert float(np.squeeze(normalizer.mean)) == pytest.approx(pictures.mean(), rel=1e-4)
    assert float(np.squeeze(normalizer.variance)) == pytest.approx(pictures.var(), rel=1e-3)
