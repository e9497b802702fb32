"""Chapter 8 from the command line (8.1, 8.2, 8.4, 8.5): --quick runs on synthetic data, the book check, resume,
missing data.

Each quick run happens once per module, in this process (`CHAPTER.main`), and several tests read its results.
"""

import contextlib
import json

import numpy as np
import pytest
from PIL import Image

import chapters.ch8_style_transfer
from chapters.ch8_generative import CHAPTER
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    make_run,
    results_of,
    run_folders,
    run_in_process,
    training_of,
)


def run_chapter(*args):
    """The chapter's command line in this process: (exit code, stdout, stderr)."""
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


# --- synthetic data -------------------------------------------------------------------------------

def write_text(data):
    words = ["will", "to", "power", "truth", "is", "a", "woman", "--", "what", "then?", "the", "free", "spirit",
             "beyond", "good", "and", "evil."]
    rng = np.random.default_rng(0)
    text = "PREFACE\n\n" + " ".join(rng.choice(words, 500))
    (data / "nietzsche").mkdir(parents=True)
    (data / "nietzsche" / "nietzsche.txt").write_text(text, encoding="utf-8")
    return text


def write_digits(data, n_train=300, n_test=100):
    """mnist/mnist.npz with digit k drawn as a bar at row 2 + 2k."""
    rng = np.random.default_rng(1)

    def digits(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for image, label in zip(images, labels):
            image[2 + 2 * label: 4 + 2 * label, 4:24] = 255
        return images, labels

    (x_train, y_train), (x_test, y_test) = digits(n_train), digits(n_test)
    (data / "mnist").mkdir(parents=True, exist_ok=True)
    np.savez(data / "mnist" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def write_reviews(data):
    """aclImdb/ with train/{pos,neg} and test/{pos,neg} (no train/unsup, as in ../shared/data)."""
    rng = np.random.default_rng(2)
    words = "this movie was great bad awful wonderful film acting plot boring loved hated story".split()
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = data / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in range(3):
                (folder / f"{i}_7.txt").write_text(" ".join(rng.choice(words, 30)) + "<br />The end.")


# ---------------------------------------------------------------------------
# The chapter's command
# ---------------------------------------------------------------------------

def test_the_default_section_is_8_1_and_the_old_command_still_runs_8_3(monkeypatch):
    assert CHAPTER.default_section == "8.1"
    assert list(CHAPTER.sections) == ["8.1", "8.2", "8.3", "8.4", "8.5"]
    calls = []
    monkeypatch.setattr(chapters.ch8_style_transfer.chapter_8.CHAPTER, "main", calls.append)
    chapters.ch8_style_transfer.main(["--quick"])
    assert calls == [["8.3", "--quick"]]


def test_summary_only_matches_the_book_for_every_model_of_both_editions(tmp_path):
    code, _, err = run_chapter("all", "--summary-only", "--output-dir", tmp_path / "one")
    assert code == 0, err[-2000:]
    checks = {key: entry["value"] for section in ("8.1", "8.2", "8.3", "8.4", "8.5")
              for key, entry in results_of(tmp_path / "one", section).items() if key.startswith("book_check.")}
    assert checks == {f"book_check.{name}": "MATCH" for name in (
        "character_lstm", "inception_v3", "vgg19", "vae_encoder_1st_edition", "vae_decoder_1st_edition",
        "generator", "discriminator")}
    assert results_of(tmp_path / "one", "8.4")["total_params"]["value"] == 550_629
    assert results_of(tmp_path / "one", "8.2")["total_params"]["value"] == 21_802_784
    assert sum(results_of(tmp_path / "one", "8.5")["book_check.generator"]["book"]) == 6_264_579
    for section in ("8.1", "8.4", "8.5"):
        code, _, err = run_chapter(section, "--summary-only", "--edition", "2", "--output-dir", tmp_path / "two")
        assert code == 0, err[-2000:]
    assert results_of(tmp_path / "two", "8.1")["book_check.transformer_text_generator"]["value"] == "MATCH"
    gan = results_of(tmp_path / "two", "8.5")  # the 2nd edition's GAN, built without CelebA
    assert gan["book_check.generator"]["value"] == gan["book_check.discriminator"]["value"] == "MATCH"
    assert sum(gan["book_check.generator"]["book"]) == 3_979_651
    assert sum(gan["book_check.discriminator"]["book"]) == 404_801
    second = results_of(tmp_path / "two", "8.4")
    assert second["book_check.vae_encoder_2nd_edition"]["value"] == second["book_check.vae_decoder_2nd_edition"][
        "value"] == "MATCH"


# ---------------------------------------------------------------------------
# 8.1
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """8.1 --quick on a synthetic text, then --resume with --epochs 2; both in mixed bfloat16 (forced: any CPU) and
    with --distribute mirrored (on one device)."""
    folder = tmp_path_factory.mktemp("text")
    with isolated(folder):
        text = write_text(folder / "data")
        common = ["8.1", "--quick", *MIXED_BFLOAT16_MIRRORED, "--data-dir", folder / "data",
                  "--output-dir", folder / "out"]
        first = run_chapter(*common)
        training = training_of(folder / "out", "8.1")
        second = run_chapter(*common, "--epochs", "2", "--resume")
    return folder / "out", text, first, training, second


def test_text_generation_trains_with_rmsprop_0_01_for_60_book_epochs(text_run):
    out, _, first, training, _ = text_run
    assert first[0] == 0, first[2][-2000:]
    facts = training["character_lstm"]
    assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == (
        "RMSprop", pytest.approx(0.01), "categorical_crossentropy")
    assert (facts["book_epochs"], facts["epochs"]) == (60, 1)


def test_text_generation_counts_the_corpus_its_samples_and_characters(text_run):
    out, text, _, _, _ = text_run
    results = results_of(out, "8.1")
    assert results["corpus_length"]["value"] == len(text) and results["corpus_length"]["book"] == 600_893
    assert results["number_of_sequences"]["value"] == len(range(0, len(text) - 60, 3))
    assert results["unique_characters"]["value"] == len(set(text.lower()))
    assert results["lowest_loss"]["book"] == 1.3014 and results["lowest_loss_epoch"]["book"] == 54


def test_text_generation_writes_text_at_four_temperatures_after_each_epoch(text_run):
    out = text_run[0]
    run = run_folders(out, "8.1")[-1]
    report = (run / "generated" / "epoch_001.txt").read_text()
    seed = report.splitlines()[1].split('"')[1]
    assert len(seed) == 60
    for temperature in (0.2, 0.5, 1.0, 1.2):
        assert f"------ temperature: {temperature}\n" in report
    samples = report.split("------ temperature: ")[1:]
    assert all(len(sample.split("\n", 1)[1].rstrip("\n")) == 60 + 40 for sample in samples)
    assert (run / "loss_vs_book.png").stat().st_size > 5000


def test_text_generation_resumes_the_same_run_for_a_second_epoch(text_run):
    out, _, _, _, second = text_run
    assert second[0] == 0, second[2][-2000:]
    assert "Resuming character_lstm at epoch 2 of 2" in second[1]
    run = run_folders(out, "8.1")[-1]
    assert len(run_folders(out, "8.1")) == 1 and (run / "generated" / "epoch_002.txt").exists()
    assert len(json.loads((run / "character_lstm" / "history.json").read_text())["loss"]) == 2


def test_8_1_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(text_run):
    assert assert_trained_in_mixed_bfloat16(text_run[0], "8.1") == 1


def test_8_1_under_mirrored_builds_every_model_in_the_strategys_scope(text_run):
    assert_trained_with_mirrored_variables(text_run[0], "8.1")


def test_text_generation_without_the_text_is_one_line(tmp_path):
    line = one_error_line(*run_chapter("8.1", "--quick", "--output-dir", tmp_path / "out"))
    assert "nietzsche.txt" in line and "600,901 bytes" in line and "<data dir>/nietzsche/" in line


def test_a_text_shorter_than_one_window_is_one_line(tmp_path):
    (tmp_path / "data" / "nietzsche").mkdir(parents=True)
    (tmp_path / "data" / "nietzsche" / "nietzsche.txt").write_text("Supposing that truth is a woman\n")
    line = one_error_line(*run_chapter("8.1", "--quick", "--data-dir", tmp_path / "data",
                                       "--output-dir", tmp_path / "out"))
    assert "nietzsche.txt has 32 characters, fewer than one 60-character window" in line


def test_the_second_edition_trains_a_transformer_on_the_reviews_there_and_says_unsup_is_missing(tmp_path):
    write_reviews(tmp_path / "data")
    code, out, err = run_chapter("8.1", "--edition", "2", "--quick", "--batch-size", "3", "--data-dir",
                                 tmp_path / "data", "--output-dir", tmp_path / "out")
    assert code == 0, err[-2000:]
    facts = training_of(tmp_path / "out")["transformer_text_generator"]
    assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == (
        "RMSprop", pytest.approx(1e-3), "sparse_categorical_crossentropy")
    assert (facts["book_epochs"], facts["epochs"]) == (200, 1)
    reviews = results_of(tmp_path / "out")["reviews"]
    assert (reviews["value"], reviews["book"]) == (12, 100_000) and "train/unsup/" in reviews["note"]
    report = (run_folders(tmp_path / "out", "8.1")[-1] / "generated" / "epoch_001.txt").read_text()
    continued = [line for line in report.splitlines() if line.startswith("This movie")]
    assert len(continued) == 5 and all(len(line.split()) == 2 + 5 for line in continued)


# ---------------------------------------------------------------------------
# 8.2
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dream_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dream")
    with isolated(folder):
        photo = folder / "photo.png"
        Image.fromarray(np.random.default_rng(3).integers(0, 256, (170, 200, 3), dtype=np.uint8)).save(photo)
        result = run_chapter("8.2", "--quick", "--weights", "random", "--image", photo, "--output-dir",
                             folder / "out")
    return folder / "out", result


def test_deep_dream_runs_three_octaves_on_an_untrained_network_and_says_so(dream_run):
    out, (code, _, err) = dream_run
    assert code == 0, err[-2000:]
    results = results_of(out, "8.2")
    assert "UNTRAINED" in results["weights"]["value"]
    assert [tuple(shape) for shape in results["octave_shapes"]["value"]] == [(81, 95), (114, 134), (160, 188)]
    assert results["steps_per_octave"]["value"] == [2, 2, 2]
    run = run_folders(out, "8.2")[-1]
    for name in ("dream_untrained-inception_v3.png", "side_by_side_untrained-inception_v3.png",
                 "octaves/octave_3_untrained-inception_v3.png"):
        assert (run / name).is_file(), name
    with Image.open(run / "dream_untrained-inception_v3.png") as dream:
        assert dream.size == (188, 160) and "UNTRAINED" in dream.text["Description"]


def test_a_photo_too_small_for_the_octaves_states_8_2s_own_rule(tmp_path):
    Image.new("RGB", (3000, 20)).save(tmp_path / "thin.png")
    line = one_error_line(*run_chapter("8.2", "--quick", "--weights", "random", "--image", tmp_path / "thin.png",
                                       "--output-dir", tmp_path / "out"))
    assert "3000x20 pixels" in line and "InceptionV3 needs 75 pixels at the smallest" in line
    assert "shorter side must be at least 147 pixels" in line and "VGG19" not in line


def test_deep_dream_without_the_imagenet_weights_is_one_line(tmp_path):
    line = one_error_line(*run_chapter("8.2", "--quick", "--output-dir", tmp_path / "out"))
    assert "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5" in line and "--weights random" in line


# ---------------------------------------------------------------------------
# 8.4
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vae_runs(tmp_path_factory):
    """8.4 --quick in the 1st edition; and in the 2nd, in mixed bfloat16 (forced: any CPU) and with --distribute
    mirrored (on one device)."""
    folder = tmp_path_factory.mktemp("vae")
    with isolated(folder):
        write_digits(folder / "data")
        first = run_chapter("8.4", "--quick", "--data-dir", folder / "data", "--output-dir", folder / "one")
        second = run_chapter("8.4", "--quick", "--edition", "2", *MIXED_BFLOAT16_MIRRORED, "--data-dir",
                             folder / "data", "--output-dir", folder / "two")
    return folder, first, second


def test_the_vae_trains_with_rmsprop_for_10_book_epochs_and_validates_on_the_test_digits(vae_runs):
    folder, (code, _, err), _ = vae_runs
    assert code == 0, err[-2000:]
    facts = training_of(folder / "one")["vae"]
    assert (facts["optimizer"], facts["learning_rate"], facts["book_epochs"], facts["epochs"]) == (
        "RMSprop", pytest.approx(1e-3), 10, 1)
    results = results_of(folder / "one")
    assert results["final_validation_loss"]["book"] == 0.1801 and 0 < results["final_validation_loss"]["value"] < 1
    run = run_folders(folder / "one", "8.4")[-1]
    assert (run / "latent_grid.png").stat().st_size > 20_000 and (run / "latent_space.png").is_file()
    assert (run / "vae" / "last.weights.h5").is_file()


def test_the_second_edition_vae_trains_with_adam_for_30_book_epochs_without_validation(vae_runs):
    folder, _, (code, _, err) = vae_runs
    assert code == 0, err[-2000:]
    facts = training_of(folder / "two")["vae"]
    assert (facts["optimizer"], facts["learning_rate"], facts["book_epochs"]) == ("Adam", pytest.approx(1e-3), 30)
    results = results_of(folder / "two")
    assert "final_validation_loss" not in results and results["final_loss"]["value"] > 1  # summed over 784 pixels


def test_8_4_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(vae_runs):
    folder, _, (code, _, err) = vae_runs  # the 2nd edition's run
    assert code == 0, err[-2000:]
    assert assert_trained_in_mixed_bfloat16(folder / "two", "8.4") == 1


def test_8_4_under_mirrored_builds_every_model_in_the_strategys_scope(vae_runs):
    folder, _, (code, _, err) = vae_runs  # the 2nd edition's run
    assert code == 0, err[-2000:]
    assert_trained_with_mirrored_variables(folder / "two", "8.4")


# ---------------------------------------------------------------------------
# 8.5
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """8.5 --quick on MNIST digits, in mixed bfloat16 (forced: any CPU) and with --distribute mirrored (on one
    device)."""
    folder = tmp_path_factory.mktemp("gan")
    with isolated(folder):
        write_digits(folder / "data")
        result = run_chapter("8.5", "--images", "mnist", "--quick", "--batch-size", "4", *MIXED_BFLOAT16_MIRRORED,
                             "--data-dir", folder / "data", "--output-dir", folder / "out")
    return folder / "out", result


def test_the_gan_trains_100_book_epochs_of_100_steps_with_the_combined_models_rmsprop(gan_run):
    out, (code, _, err) = gan_run
    assert code == 0, err[-2000:]
    facts = training_of(out, "8.5")["gan"]
    assert facts["optimizer"] == "RMSprop" and facts["clipvalue"] == 1.0
    assert facts["learning_rate"]["schedule"] == "InverseTimeDecay"
    assert (facts["learning_rate"]["initial_learning_rate"], facts["learning_rate"]["decay_rate"]) == (0.0004, 1e-8)
    assert (facts["book_epochs"], facts["book_steps_per_epoch"], facts["epochs"], facts["steps_per_epoch"]) == (
        100, 100, 1, 2)
    results = results_of(out, "8.5")
    assert results["discriminator_optimizer"]["value"] == "RMSprop(learning_rate=0.0008, decay=1e-08, clipvalue=1.0)"
    assert (results["steps"]["value"], results["steps"]["book"]) == (2, 10_000)


def test_the_gan_saves_its_pictures_losses_and_what_a_digit_classifier_makes_of_them(gan_run):
    out, (_, stdout, _) = gan_run
    run = run_folders(out, "8.5")[-1]
    for name in ("generated/step_00002.png", "generated_grid.png", "real_grid.png", "losses.png",
                 "generated_digit_classes.png", "gan/history.csv", "gan/last.weights.h5"):
        assert (run / name).is_file(), name
    with Image.open(run / "generated_grid.png") as grid:
        assert grid.size == (5 * 28 * 3, 5 * 28 * 3)
    results = results_of(out, "8.5")
    assert sum(results["class_histogram"]["value"]) == 100  # --quick: 100 digits (1,000 in a full run)
    assert 0 <= results["share_classified_confidently"]["value"] <= 1
    assert 0.1 <= results["largest_class_share"]["value"] <= 1
    assert "training it here for 1 epoch" in stdout and "trained here" in results["classifier"]["value"]


def test_8_5_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(gan_run):
    assert assert_trained_in_mixed_bfloat16(gan_run[0], "8.5") == 1


def test_8_5_under_mirrored_builds_every_model_in_the_strategys_scope(gan_run):
    assert_trained_with_mirrored_variables(gan_run[0], "8.5")


def test_an_unreadable_5_1_model_beside_the_output_folder_is_said_and_one_is_trained_instead(tmp_path, capsys):
    from chapters.ch8_generative.generative_adversarial_network import mnist_classifier

    write_digits(tmp_path / "data", n_train=64, n_test=32)
    run = make_run(tmp_path, section="8.5", quick=True, data_dir=tmp_path / "data")
    empty = run.output_base.parent / "ch5_convnets" / "5.1-20991231-000000" / "mnist_convnet" / "best.keras"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    model, source = mnist_classifier(run)
    assert model.output_shape == (None, 10) and source.startswith("a 5.1 convnet trained here for 1 epoch")
    assert f"The 5.1 convnet of {empty.parent.parent} cannot be loaded" in capsys.readouterr().out


def test_the_gan_on_frogs_without_cifar10_is_one_line(tmp_path):
    line = one_error_line(*run_chapter("8.5", "--quick", "--output-dir", tmp_path / "out"))
    assert "cifar-10-python.tar.gz" in line and "163 MB" in line
