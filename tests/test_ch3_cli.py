"""Chapter 3 and 4.4 from the command line, on small synthetic data written by the tests."""

import json

import numpy as np

import pytest

from chapters.ch3_getting_started import CHAPTER
from tests.conftest import results_of, run_cli


def ragged(rng, count, vocabulary, max_length):
    sequences = np.empty(count, dtype=object)
    sequences[:] = [list(map(int, rng.integers(1, vocabulary, rng.integers(5, max_length)))) for _ in range(count)]
    return sequences


def write_synthetic_data(root):
    """Small files with the Keras layout: enough reviews and newswires for the --quick splits."""
    rng = np.random.default_rng(0)
    (root / "imdb").mkdir(parents=True)
    np.savez(root / "imdb" / "imdb.npz", x_train=ragged(rng, 700, 12000, 60), y_train=rng.integers(0, 2, 700),
             x_test=ragged(rng, 300, 12000, 60), y_test=rng.integers(0, 2, 300))
    word_index = json.dumps({f"word{i}": i for i in range(1, 12000)})
    (root / "imdb" / "imdb_word_index.json").write_text(word_index)
    (root / "reuters").mkdir()
    np.savez(root / "reuters" / "reuters.npz", x=ragged(rng, 1000, 12000, 60), y=rng.integers(0, 46, 1000))
    (root / "reuters" / "reuters_word_index.json").write_text(word_index)
    (root / "boston_housing").mkdir()
    np.savez(root / "boston_housing" / "boston_housing.npz", x=rng.normal(size=(60, 13)), y=rng.uniform(5, 50, 60))
    return root


def test_every_section_runs_quick(tmp_path):
    data = write_synthetic_data(tmp_path / "data")
    result = run_cli("chapters.ch3_getting_started", "all", "--quick", "--data-dir", data,
                     "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("MATCH: all 3 layers") == 4  # IMDB, Reuters, the bottleneck, Boston
    for section in ("3.5", "3.6", "3.7"):
        assert list((tmp_path / "out").glob(f"{section}-*/results.json")), section
    imdb = results_of_section(tmp_path / "out", "3.5")
    assert 0 <= imdb["test accuracy"]["value"] <= 1 and imdb["test accuracy"]["book"] == 0.885
    assert list((tmp_path / "out").glob("3.5-*/validation_run/curves.png"))
    boston = results_of_section(tmp_path / "out", "3.7")
    assert boston["test MAE"]["book"] == 2.55 and boston["test MAE"]["value"] > 0
    assert len(boston["validation MAE per fold after 1 epochs"]["value"]) == 4
    assert list((tmp_path / "out").glob("3.7-*/validation_mae.png"))


def results_of_section(out, section):
    return json.loads(sorted(out.glob(f"{section}-*/results.json"))[-1].read_text())["results"]


def run_in_process(argv, capsys):
    """CHAPTER.main() in this process (faster than a subprocess): (exit code, stdout, stderr)."""
    try:
        CHAPTER.main([str(a) for a in argv])
        code = 0
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_summary_only_matches_the_book(tmp_path, capsys):
    code, out, err = run_in_process(["all", "--summary-only", "--output-dir", tmp_path / "out"], capsys)
    assert code == 0, err
    for total in ("160,305", "647,214", "640,554", "5,121"):
        assert f"MATCH: all 3 layers and the total ({total} parameters)" in out
    assert "MISMATCH" not in out


def test_missing_data_is_one_line_and_exit_2(tmp_path, capsys):
    # The real command line once, in a subprocess: one line on stderr, no traceback.
    result = run_cli("chapters.ch3_getting_started", "3.5", "--quick", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "storage.googleapis.com" in errors[0] and "imdb.npz" in errors[0]
    assert "Traceback" not in result.stderr
    code, _, err = run_in_process(["3.6", "--quick", "--output-dir", tmp_path / "out"], capsys)
    assert code == 2 and err.startswith("error: Reuters: reuters.npz not found") and err.count("\n") == 1


def test_boston_offline_uses_the_announced_mlxtend_copy(tmp_path, capsys):
    code, out, err = run_in_process(["3.7", "--quick", "--kfold-epochs", "2", "--folds", "2", "--final-runs", "2",
                                     "--output-dir", tmp_path / "out"], capsys)
    assert code == 0, err
    assert "OFFLINE" in out and "mlxtend" in out
    assert "404 training and 102 test samples" in out
    results = results_of(tmp_path / "out")
    assert "validation MAE per fold after 2 epochs" in results
    assert "mean of 2 final models" in results["test MAE"]["note"]


@pytest.mark.parametrize("flag", ["--folds", "--final-runs"])
def test_bad_3_7_options_are_usage_errors(tmp_path, capsys, flag):
    code, _, err = run_in_process(["3.7", flag, "0", "--output-dir", tmp_path / "out"], capsys)
    assert code == 2 and err.startswith(f"error: {flag} must be at least") and err.count("\n") == 1
