"""8.5, 2nd edition (the book's 12.5): the CelebA DCGAN's models against the book, its training step, the loader,
a --quick run on a tiny synthetic CelebA folder, and the one-line errors (no CelebA, --images).
"""

import numpy as np
import pytest
from PIL import Image

from chapters.ch8_generative import CHAPTER
from chapters.ch8_generative import gan_2nd_edition as section
from datasets import DataNotFoundError
from datasets.celeba import celeba_dataset, find_celeba
from models import gan
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    layer_params,
    results_of,
    run_folders,
    run_in_process,
    training_of,
)

# The book's summaries (Sequential: no input row). Discriminator: Conv2D(64, 4, s2) 3,136; LeakyReLU;
# Conv2D(128, 4, s2) 131,200; LeakyReLU; Conv2D(128, 4, s2) 262,272; LeakyReLU; Flatten; Dropout; Dense 8,193.
BOOK_DISCRIMINATOR = [3_136, 0, 131_200, 0, 262_272, 0, 0, 0, 8_193]
# Generator: Dense 1,056,768; Reshape; Conv2DTranspose 262,272 / 524,544 / 2,097,664 each with a LeakyReLU;
# Conv2D(3, 5) 38,403.
BOOK_GENERATOR = [1_056_768, 0, 262_272, 0, 524_544, 0, 2_097_664, 0, 38_403]
CELEBA_SIZE = (178, 218)  # an aligned CelebA picture, width x height


def write_celeba(data, count=8, seed=0):
    """<data>/celeba_gan/img_align_celeba/ with `count` noisy JPEGs of CelebA's size."""
    folder = data / "celeba_gan" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = rng.integers(0, 256, (CELEBA_SIZE[1], CELEBA_SIZE[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i + 1:06d}.jpg")
    return folder


def one_error_line(code, out, err):
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err[-2000:]
    return lines[0]


# ---------------------------------------------------------------------------
# The models and the recipe
# ---------------------------------------------------------------------------

def test_the_discriminator_and_the_generator_have_the_books_per_layer_counts():
    discriminator, generator = gan.gan_discriminator_2nd_edition(), gan.gan_generator_2nd_edition()
    assert layer_params(discriminator) == gan.GAN_DISCRIMINATOR_2ND_EDITION_BOOK_PARAMS == BOOK_DISCRIMINATOR
    assert layer_params(generator) == gan.GAN_GENERATOR_2ND_EDITION_BOOK_PARAMS == BOOK_GENERATOR
    assert (discriminator.count_params(), generator.count_params()) == (404_801, 3_979_651)
    assert discriminator.input_shape == (None, 64, 64, 3) and discriminator.output_shape == (None, 1)
    assert generator.input_shape == (None, 128) and generator.output_shape == (None, 64, 64, 3)


def test_the_recipe_is_100_epochs_of_32_latent_128_adam_1e_4_label_noise_0_05():
    assert (section.EPOCHS, section.BATCH_SIZE, section.LABEL_NOISE, section.FACES_SHOWN) == (100, 32, 0.05, 10)
    assert (gan.LATENT_DIM_2ND_EDITION, gan.FACE_SIZE_2ND_EDITION) == (128, 64)
    optimizer = gan.adam_2nd_edition()
    assert type(optimizer).__name__ == "Adam" and float(optimizer.learning_rate) == pytest.approx(1e-4)
    assert section.optimizer_description(optimizer) == "Adam(learning_rate=0.0001)"


def test_a_few_train_steps_change_both_networks_and_give_finite_losses():
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = gan.GAN(gan.gan_generator_2nd_edition(), gan.gan_discriminator_2nd_edition(),
                    gan.LATENT_DIM_2ND_EDITION, label_noise=section.LABEL_NOISE, seed=0)
    model.compile(gan.adam_2nd_edition(), gan.adam_2nd_edition())
    before = {name: [np.array(w) for w in network.weights]
              for name, network in (("generator", model.generator), ("discriminator", model.discriminator))}
    real = np.random.default_rng(1).uniform(size=(6, 64, 64, 3)).astype("float32")
    history = model.fit(tf.data.Dataset.from_tensor_slices(real).batch(2), epochs=1, shuffle=False,
                        verbose=0).history
    for name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
        assert any(not np.array_equal(a, np.asarray(b)) for a, b in zip(before[name], network.weights)), name
    assert int(model.optimizer.iterations) == int(model.discriminator_optimizer.iterations) == 3
    assert np.isfinite(history["d_loss"][-1]) and np.isfinite(history["g_loss"][-1])
    faces = np.asarray(model.generator.predict(np.zeros((2, 128), "float32"), verbose=0))
    assert faces.shape == (2, 64, 64, 3) and faces.min() >= 0 and faces.max() <= 1  # sigmoid, as the data


# ---------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------

def test_the_loader_crops_to_a_square_resizes_to_64_and_scales_to_0_1(tmp_path):
    folder = tmp_path / "data" / "img_align_celeba"  # also found directly in a data directory
    folder.mkdir(parents=True)
    pixels = np.zeros((80, 40, 3), np.uint8)  # tall: red top and bottom quarters, a green square in the middle
    pixels[:20, :, 0] = pixels[60:, :, 0] = 255
    pixels[20:60, :, 1] = 255
    Image.fromarray(pixels).save(folder / "000001.png")
    assert find_celeba(tmp_path / "data") == folder
    dataset, count = celeba_dataset(folder, 64, batch_size=32, seed=0)
    faces = np.asarray(next(iter(dataset)))
    assert count == 1 and faces.shape == (1, 64, 64, 3)
    assert faces[..., 1].min() == pytest.approx(1) and faces[..., 0].max() == pytest.approx(0)  # the book's crop


def test_a_data_zip_not_yet_unzipped_is_named_with_the_books_unzip(tmp_path):
    (tmp_path / "data" / "celeba_gan").mkdir(parents=True)
    (tmp_path / "data" / "celeba_gan" / "data.zip").write_bytes(b"PK\x03\x04")
    with pytest.raises(DataNotFoundError, match=r"data\.zip is there but not its pictures; .*unzip -qq"):
        find_celeba(tmp_path / "data")


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """8.5 --edition 2 --quick on 8 synthetic faces, in mixed bfloat16 (forced: on any CPU) and with --distribute
    mirrored (on one device)."""
    folder = tmp_path_factory.mktemp("celeba")
    with pytest.MonkeyPatch.context() as patch:  # what conftest's autouse fixture does, for a module fixture
        patch.delenv("DLWP_DATA_DIR", raising=False)
        patch.setenv("KERAS_HOME", str(folder / "keras_home"))
        patch.setenv("DLWP_OFFLINE", "1")
        patch.chdir(folder)
        write_celeba(folder / "data")
        result = run_in_process(CHAPTER, ["8.5", "--edition", "2", "--quick", "--batch-size", "4",
                                          *MIXED_BFLOAT16_MIRRORED, "--data-dir", folder / "data",
                                          "--output-dir", folder / "out"])
    return folder / "out", result


def test_the_quick_run_records_the_faces_the_book_checks_and_the_losses(quick_run):
    out, (code, stdout, err) = quick_run
    assert code == 0, err[-2000:]
    results = results_of(out, "8.5")
    assert set(results) == {"faces", "book_check.discriminator", "book_check.generator", "discriminator_optimizer",
                            "generator_optimizer", "epochs", "final_d_loss", "final_g_loss"}
    assert (results["faces"]["value"], results["faces"]["book"]) == (8, 202_599)
    assert results["book_check.discriminator"]["value"] == results["book_check.generator"]["value"] == "MATCH"
    assert results["discriminator_optimizer"]["value"] == results["generator_optimizer"]["value"] == \
        "Adam(learning_rate=0.0001)"
    assert (results["epochs"]["value"], results["epochs"]["book"]) == (1, 100)
    assert all(np.isfinite(results[key]["value"]) for key in ("final_d_loss", "final_g_loss"))
    facts = training_of(out, "8.5")["gan"]
    assert facts["optimizer"] == "Adam" and facts["learning_rate"] == pytest.approx(1e-4)
    assert (facts["book_epochs"], facts["epochs"]) == (100, 1)
    assert "Found 8 files" in stdout


def test_the_quick_run_saves_the_generated_faces_of_each_epoch_and_real_ones(quick_run):
    out, _ = quick_run
    run = run_folders(out, "8.5")[-1]
    for name in ("generated/epoch_001.png", "generated_grid.png", "real_grid.png", "gan/history.csv",
                 "gan/last.weights.h5"):
        assert (run / name).is_file(), name
    with Image.open(run / "generated/epoch_001.png") as grid:  # 2 rows of 5 faces of 64x64, zoomed x2
        assert grid.size == (5 * 64 * 2, 2 * 64 * 2)


def test_8_5_second_edition_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(
        quick_run):
    assert assert_trained_in_mixed_bfloat16(quick_run[0], "8.5") == 1


def test_8_5_second_edition_under_mirrored_builds_every_model_in_the_strategys_scope(quick_run):
    assert_trained_with_mirrored_variables(quick_run[0], "8.5")


def test_without_celeba_it_is_one_line_saying_where_to_put_it(tmp_path):
    line = one_error_line(*run_in_process(CHAPTER, ["8.5", "--edition", "2", "--quick",
                                                    "--output-dir", tmp_path / "out"]))
    assert "CelebA not found" in line and "celeba_gan/img_align_celeba/" in line
    assert "https://drive.google.com/uc?id=1O7m1010EJjLE5QxLZiM9Fpjs7Oj6e684" in line and "1.44 GB" in line


def test_images_with_the_2nd_edition_is_a_one_line_usage_error(tmp_path):
    line = one_error_line(*run_in_process(CHAPTER, ["8.5", "--edition", "2", "--images", "mnist",
                                                    "--output-dir", tmp_path / "out"]))
    assert "--images mnist" in line and "CelebA faces only" in line and "--edition 1" in line
