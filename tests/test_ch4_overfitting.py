"""Section 4.4 from the command line, on synthetic IMDB files written by the test."""

from chapters.ch4_overfitting import CHAPTER
from tests.conftest import results_of, run_cli
from tests.test_ch3_cli import write_synthetic_data


def test_quick_run_draws_one_figure_per_comparison(tmp_path):
    data = write_synthetic_data(tmp_path / "data")
    result = run_cli("chapters.ch4_overfitting", "--quick", "--compare", "capacity", "dropout",
                     "--data-dir", data, "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    for total in ("160,305", "40,029", "5,383,681"):
        assert f"the total ({total} parameters)" in result.stdout
    results = results_of(tmp_path / "out")
    assert set(results) == {f"{name}: lowest validation loss" for name in ("original", "smaller", "bigger",
                                                                            "dropout")}
    run_dir = next((tmp_path / "out").glob("4.4-*"))
    for figure in ("capacity_val_loss.png", "capacity_training_loss.png", "dropout_val_loss.png"):
        assert (run_dir / figure).stat().st_size > 1000, figure


def test_summary_only_checks_every_variant(tmp_path, capsys):
    CHAPTER.main(["--summary-only", "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert out.count("MATCH: all") == 7 and "MISMATCH" not in out


def test_missing_imdb_is_one_line(tmp_path, capsys):
    try:
        CHAPTER.main(["--quick", "--compare", "l2", "--output-dir", str(tmp_path / "out")])
        code = 0
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: IMDB: imdb.npz not found") and err.count("\n") == 1


def test_each_edition_trains_and_validates_on_the_books_reviews():
    from types import SimpleNamespace

    import numpy as np

    from chapters.ch4_overfitting import training_and_validation

    imdb = SimpleNamespace(train_data=np.arange(10), train_labels=np.arange(10) % 2,
                           test_data=np.arange(100, 104), test_labels=np.array([1, 0, 1, 0]))
    (x, y), (x_val, y_val) = training_and_validation(imdb, edition=1)
    assert x.tolist() == list(range(10)) and x_val.tolist() == [100, 101, 102, 103] and y_val.tolist() == [1, 0, 1, 0]
    (x, y), (x_val, y_val) = training_and_validation(imdb, edition=2)  # validation_split=0.4: the last 40%
    assert x.tolist() == list(range(6)) and x_val.tolist() == [6, 7, 8, 9] and y_val.tolist() == [0, 1, 0, 1]
