"""Chapter 5 from the command line, as a student runs it: --quick runs, the book check, --resume, missing data."""

import json

from conftest import results_of, run_cli
from test_ch5_data import make_split_folder, synthetic_glyphs, write_cdb, write_mat

MODULE = "chapters.ch5_convnets"


def test_summary_only_matches_the_book_for_every_model(tmp_path):
    # 5.1, 5.1h, and 5.2's two models; the 2nd edition's are checked in test_ch5_models.
    result = run_cli(MODULE, "all", "--summary-only", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("MATCH: all") == 4 and "MISMATCH" not in result.stdout
    for total in ("93,322", "3,453,121"):
        assert f"({total} parameters) equal the book's" in result.stdout
    assert "Output shapes equal the book's" in result.stdout


def test_mnist_convnet_quick_then_its_filters(tmp_path):
    # No data directory: the embedded MNIST sample, with a banner saying so.
    result = run_cli(MODULE, "5.1", "--quick", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MNIST OFFLINE SAMPLE" in result.stdout
    results = results_of(tmp_path / "out")
    assert 0.5 < results["test accuracy"]["value"] <= 1 and results["test accuracy"]["book"] == 0.991

    # 5.1f finds the convnet that 5.1 just trained and draws its filters and feature maps.
    result = run_cli(MODULE, "5.1f", "--quick", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Using the MNIST convnet trained by an earlier 5.1 run" in result.stdout
    run = sorted((tmp_path / "out").glob("5.1f-*"))[-1]
    for name in ("edge_filters.png", "first_layer_filters.png", "feature_maps.png"):
        assert (run / name).stat().st_size > 5000, name
    results = json.loads((run / "results.json").read_text())["results"]
    assert results["Sobel: max |Conv2D layer - tf.nn.conv2d|"]["value"] < 1e-5


def test_hoda_quick_on_synthetic_files(tmp_path):
    data = tmp_path / "data"
    train, train_labels = synthetic_glyphs(200, seed=4)
    test, test_labels = synthetic_glyphs(50, seed=5)
    write_mat(data / "hoda" / "original" / "Data_hoda_full.mat", train, train_labels)
    write_cdb(data / "hoda" / "original" / "Test 20000.cdb", test, test_labels)
    result = run_cli(MODULE, "5.1h", "--quick", "--epochs", "2", "--data-dir", data, "--output-dir", tmp_path / "out",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Hoda: 200 training and 50 test digits" in result.stdout
    results = results_of(tmp_path / "out")
    assert 0 <= results["Hoda test accuracy (50 digits)"]["value"] <= 1
    assert (sorted((tmp_path / "out").glob("5.1h-*"))[-1] / "hoda_digits.png").exists()


def test_dogs_vs_cats_quick_then_resume(tmp_path):
    data = tmp_path / "data"
    make_split_folder(data / "cats_and_dogs_small", {"train": 8, "validation": 4, "test": 4})
    out = tmp_path / "out"
    result = run_cli(MODULE, "5.2", "--quick", "--data-dir", data, "--output-dir", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("MATCH: all") == 2
    # With augmentation the data repeats and an epoch is a fixed number of batches, as the book's generator.
    assert "An epoch is 2 batches of 32 augmented pictures" in result.stdout
    run = sorted(out.glob("5.2-*"))[-1]
    for name in ("augmented_images.png", "curves_side_by_side.png", "no_augmentation/best.keras",
                 "augmentation_dropout/last.keras", "augmentation_dropout/history.csv"):
        assert (run / name).exists(), name
    results = results_of(out)
    assert 0 <= results["augmentation_dropout: final validation accuracy"]["value"] <= 1

    # --resume continues the latest run from its last checkpoint, in the same folder.
    result = run_cli(MODULE, "5.2", "--quick", "--augmentation", "on", "--epochs", "2", "--resume",
                     "--data-dir", data, "--output-dir", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Resuming augmentation_dropout at epoch 2 of 2" in result.stdout
    history = json.loads((run / "augmentation_dropout" / "history.json").read_text())
    assert len(history["loss"]) == 2 and len(history["val_accuracy"]) == 2


def test_dogs_vs_cats_without_data_is_one_clear_line(tmp_path):
    result = run_cli(MODULE, "5.2", "--quick", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: Dogs vs. Cats not found")
    assert "Traceback" not in result.stderr and "kagglecatsanddogs_5340.zip" in errors[0]
    assert "cats_and_dogs_small/{train,validation,test}/{cats,dogs}/" in errors[0]
