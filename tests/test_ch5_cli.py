"""Chapter 5 from the command line, as a student runs it: --quick runs, the book check, --resume, missing data."""

import json
import shutil

import pytest

from chapters.ch5_convnets import CHAPTER
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    make_split_folder,
    results_of,
    run_folders,
    run_in_process,
    synthetic_glyphs,
    training_of,
    write_cdb,
    write_mat,
)

MODULE = "chapters.ch5_convnets"


def test_summary_only_matches_the_book_for_every_model(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["all", "--summary-only", "--output-dir", tmp_path / "out"])
    assert code == 0, err
    checks = {key: entry["value"] for section in ("5.1", "5.1h", "5.2")
              for key, entry in results_of(tmp_path / "out", section).items() if key.startswith("book_check.")}
    assert checks == {"book_check.mnist_convnet_1st_edition": "MATCH", "book_check.dogs_vs_cats_1st_edition": "MATCH",
                      "book_check.dogs_vs_cats_1st_edition_dropout": "MATCH"}
    assert results_of(tmp_path / "out", "5.1")["output_shapes_match_the_book"]["value"] is True


def test_summary_only_of_the_second_edition_checks_its_models(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["all", "--summary-only", "--edition", "2",
                                            "--output-dir", tmp_path / "out"])
    assert code == 0, err
    first = results_of(tmp_path / "out", "5.1")
    assert first["book_check.mnist_convnet_2nd_edition"]["value"] == "MATCH"
    assert first["book_check.mnist_convnet_2nd_edition_no_max_pool"]["value"] == "MATCH"
    dogs = results_of(tmp_path / "out", "5.2")
    assert dogs["book_check.dogs_vs_cats_2nd_edition"]["value"] == "MATCH"
    assert dogs["book_check.dogs_vs_cats_2nd_edition_augmentation_dropout"]["value"] == "MATCH"


def test_mnist_convnet_quick_trains_the_books_recipe_then_5_1f_draws_its_filters(tmp_path):
    code, out, err = run_in_process(CHAPTER, ["5.1", "--quick", "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert code == 0, err[-2000:]
    assert "MNIST OFFLINE SAMPLE" in out
    facts = training_of(tmp_path / "out", "5.1")["mnist_convnet"]
    assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == (
        "RMSprop", pytest.approx(1e-3), "categorical_crossentropy")
    assert (facts["book_epochs"], facts["epochs"]) == (5, 1)
    accuracy = results_of(tmp_path / "out", "5.1")["test_accuracy"]
    assert 0.5 < accuracy["value"] <= 1 and accuracy["book"] == 0.991

    code, out, err = run_in_process(CHAPTER, ["5.1f", "--quick", "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert code == 0, err[-2000:]
    assert "Using the MNIST convnet trained by an earlier 5.1 run" in out
    run = run_folders(tmp_path / "out", "5.1f")[-1]
    for name in ("edge_filters.png", "first_layer_filters.png", "feature_maps.png"):
        assert (run / name).stat().st_size > 5000, name
    assert results_of(tmp_path / "out", "5.1f")["sobel_layer_minus_conv2d"]["value"] < 1e-5


@pytest.fixture(scope="module")
def hoda_quick_run(tmp_path_factory):
    """5.1h --quick for 2 epochs on synthetic files in Hoda's formats, in mixed bfloat16 (forced: on any CPU) and
    with --distribute mirrored (on one device)."""
    tmp_path = tmp_path_factory.mktemp("hoda")
    data = tmp_path / "data"
    train, train_labels = synthetic_glyphs(200, seed=4)
    test, test_labels = synthetic_glyphs(50, seed=5)
    write_mat(data / "hoda" / "original" / "Data_hoda_full.mat", train, train_labels)
    write_cdb(data / "hoda" / "original" / "Test 20000.cdb", test, test_labels)
    code, out, err = run_in_process(CHAPTER, ["5.1h", "--quick", "--epochs", "2", *MIXED_BFLOAT16_MIRRORED,
                                              "--data-dir", data, "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert code == 0, err[-2000:]
    return tmp_path / "out", out


def test_hoda_quick_on_synthetic_files(hoda_quick_run):
    out, printed = hoda_quick_run
    assert "Hoda: 200 training and 50 test digits" in printed
    assert 0 <= results_of(out)["test_accuracy"]["value"] <= 1
    assert training_of(out)["hoda_convnet"]["epochs_done"] == 2
    assert (run_folders(out, "5.1h")[-1] / "hoda_digits.png").exists()


def test_5_1h_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(hoda_quick_run):
    assert assert_trained_in_mixed_bfloat16(hoda_quick_run[0], "5.1h") == 1


def test_5_1h_under_mirrored_builds_every_model_in_the_strategys_scope(hoda_quick_run):
    assert_trained_with_mirrored_variables(hoda_quick_run[0], "5.1h")


@pytest.fixture(scope="module")
def dogs_quick_run(tmp_path_factory):
    """5.2 --quick on a small synthetic split folder, both trainings; then --resume with one more epoch. Both in
    mixed bfloat16 (forced: on any CPU) and with --distribute mirrored (on one device)."""
    tmp_path = tmp_path_factory.mktemp("dogs")
    data = tmp_path / "data"
    make_split_folder(data / "cats_and_dogs_small", {"train": 8, "validation": 4, "test": 4})
    first = run_in_process(CHAPTER, ["5.2", "--quick", *MIXED_BFLOAT16_MIRRORED, "--data-dir", data,
                                     "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert first[0] == 0, first[2][-2000:]
    training_after_first = training_of(tmp_path / "out")
    second = run_in_process(CHAPTER, ["5.2", "--quick", "--augmentation", "on", "--epochs", "2", "--resume",
                                      *MIXED_BFLOAT16_MIRRORED, "--data-dir", data, "--output-dir", tmp_path / "out"],
                            cwd=tmp_path)
    return tmp_path / "out", first, training_after_first, second


def test_dogs_vs_cats_trains_without_augmentation_30_book_epochs_at_rmsprop_1e_4(dogs_quick_run):
    _, _, training, _ = dogs_quick_run
    facts = training["no_augmentation"]
    assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == (
        "RMSprop", pytest.approx(1e-4), "binary_crossentropy")
    assert (facts["book_epochs"], facts["epochs"], facts["book_steps_per_epoch"]) == (30, 1, None)


def test_dogs_vs_cats_with_augmentation_takes_100_batches_per_book_epoch_and_2_with_quick(dogs_quick_run):
    out, first, training, _ = dogs_quick_run
    facts = training["augmentation_dropout"]
    assert facts["learning_rate"] == pytest.approx(1e-4)
    assert (facts["book_epochs"], facts["book_steps_per_epoch"], facts["steps_per_epoch"]) == (100, 100, 2)
    assert "An epoch is 2 batches of 32 augmented pictures" in first[1]


def test_dogs_vs_cats_writes_the_books_figures_and_checkpoints(dogs_quick_run):
    out = dogs_quick_run[0]
    run = run_folders(out, "5.2")[-1]
    for name in ("augmented_images.png", "curves_side_by_side.png", "no_augmentation/best.keras",
                 "augmentation_dropout/last.keras", "augmentation_dropout/history.csv"):
        assert (run / name).exists(), name


def test_dogs_vs_cats_quick_results_say_how_many_pictures_and_epochs(dogs_quick_run):
    out, _, _, _ = dogs_quick_run
    results = results_of(out)
    note = results["augmentation_dropout.final_validation_accuracy"]["note"]
    assert note == "--quick: 16 pictures, 2 epochs"  # 8 per class; after the resume with --epochs 2
    assert results["no_augmentation.final_validation_accuracy"]["book"] == "0.71-0.72"
    assert results["augmentation_dropout.final_validation_accuracy"]["book"] == "0.82-0.84"
    assert (results["no_augmentation.test_accuracy_best_checkpoint"]["book"],
            results["augmentation_dropout.test_accuracy_best_checkpoint"]["book"]) == (0.695, 0.835)
    assert 0 <= results["augmentation_dropout.test_accuracy_best_checkpoint"]["value"] <= 1


def test_dogs_vs_cats_resume_continues_the_same_run_from_its_backup(dogs_quick_run):
    out, _, _, second = dogs_quick_run
    code, stdout, stderr = second
    assert code == 0, stderr[-2000:]
    assert len(run_folders(out, "5.2")) == 1
    assert "Resuming augmentation_dropout at epoch 2 of 2" in stdout
    history = json.loads((run_folders(out, "5.2")[-1] / "augmentation_dropout" / "history.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2


def test_5_2_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(dogs_quick_run):
    assert assert_trained_in_mixed_bfloat16(dogs_quick_run[0], "5.2") == 2  # no_augmentation, augmentation_dropout


def test_5_2_under_mirrored_builds_every_model_in_the_strategys_scope(dogs_quick_run):
    assert_trained_with_mirrored_variables(dogs_quick_run[0], "5.2")


def test_dogs_vs_cats_without_data_is_one_clear_line(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["5.2", "--quick", "--output-dir", tmp_path / "out"])
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: Dogs vs. Cats not found")
    assert "kagglecatsanddogs_5340.zip" in err and "cats_and_dogs_small/{train,validation,test}/{cats,dogs}/" in err


def test_resume_with_another_edition_is_refused_in_one_line(dogs_quick_run, tmp_path):
    shutil.copytree(dogs_quick_run[0], tmp_path / "out")  # a 1st-edition run with saved epochs
    run = run_folders(tmp_path / "out", "5.2")[-1]
    state = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**state, "status": "stopped"}))  # as if Ctrl-C had stopped it
    code, _, err = run_in_process(CHAPTER, ["5.2", "--quick", "--edition", "2", "--resume", "--output-dir", "out"],
                                  cwd=tmp_path)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: --resume: the run in out/{run.name} was made with other "
                                                    "options: --edition 1 (now 2).")


def test_sigterm_stops_like_ctrl_c_keeps_the_epochs_and_removes_the_temporary_pictures(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tests.helpers import REPO

    data = tmp_path / "data"
    make_split_folder(data / "cats_and_dogs_small", {"train": 8, "validation": 4, "test": 4})
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "DLWP_OFFLINE": "1", "TMPDIR": str(temporary),
           "KERAS_HOME": str(tmp_path / "keras_home")}
    process = subprocess.Popen([sys.executable, "-m", MODULE, "5.2", "--quick", "--augmentation", "off", "--epochs",
                                "50", "--data-dir", data, "--output-dir", tmp_path / "out"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("Epoch 3/50"):
            process.send_signal(signal.SIGTERM)
            break
    _, errors = process.communicate(timeout=120)
    assert process.returncode == 130, errors[-2000:]
    assert "interrupted: training of no_augmentation stopped after 2 of 50 epochs" in errors
    assert "Traceback" not in errors
    assert list(temporary.glob("dlwp-cats-dogs-*")) == []
    run = run_folders(tmp_path / "out", "5.2")[-1]
    assert json.loads((run / "no_augmentation" / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    assert json.loads((run / "run.json").read_text())["status"] == "stopped"
