"""The shared run plumbing: atomic files, the book check, run folders, fit outputs, Ctrl-C and --resume."""

import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from chapters.common import (Interrupted, RunContext, atomic_write, check_against_book, history_to_csv,
                             save_model)


def make_args(tmp_path, **overrides):
    args = dict(epochs=None, batch_size=None, seed=0, quick=False, data_dir=None, output_dir=str(tmp_path / "out"),
                summary_only=False, edition=1, resume=False, jit_compile="auto", steps_per_execution=None,
                mixed_precision=False)
    args.update(overrides)
    return SimpleNamespace(**args)


def tiny_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32")


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "result.json"
    atomic_write(path, "first")
    atomic_write(path, b"second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_save_model_round_trip(tmp_path):
    model = tiny_model()
    save_model(model, tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    x, _ = tiny_data()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_book_check_reports_match_and_mismatch(capsys):
    model = tiny_model()  # 4*8+8 = 40, 8+1 = 9
    assert check_against_book(model, [40, 9], "a test")
    assert "MATCH: all 2 layers and the total (49 parameters)" in capsys.readouterr().out
    assert not check_against_book(model, [40, 10], "a test")
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "<-- differs" in out


def test_history_to_csv():
    text = history_to_csv({"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]})
    assert text.splitlines() == ["epoch,loss,accuracy", "1,1,0.5", "2,0.5,0.75"]


def test_each_run_gets_its_own_folder(tmp_path):
    first = RunContext(make_args(tmp_path), "chX", "9.1", "CPU")
    second = RunContext(make_args(tmp_path), "chX", "9.1", "CPU")  # the same second
    assert first.run_dir != second.run_dir and first.run_dir.is_dir() and second.run_dir.is_dir()
    first.record("accuracy", 0.5, book=0.9)
    results = json.loads((first.run_dir / "results.json").read_text())["results"]
    assert results["accuracy"] == {"value": 0.5, "book": 0.9}


def test_hyperparameters_default_to_the_book_and_quick_means_one_epoch(tmp_path):
    ctx = RunContext(make_args(tmp_path), "chX", "9.1", "CPU")
    assert ctx.epochs(5) == 5 and ctx.batch_size(128) == 128
    ctx = RunContext(make_args(tmp_path, quick=True, batch_size=7), "chX", "9.1", "CPU")
    assert ctx.epochs(5) == 1 and ctx.batch_size(128) == 7
    ctx = RunContext(make_args(tmp_path, quick=True, epochs=3, steps_per_execution=5, jit_compile="on"),
                     "chX", "9.1", "CPU")
    assert ctx.epochs(5) == 3
    assert ctx.compile_settings("dense") == {"jit_compile": True, "steps_per_execution": 5}


def test_fit_writes_history_curves_and_checkpoints(tmp_path):
    ctx = RunContext(make_args(tmp_path), "chX", "9.1", "CPU")
    x, y = tiny_data()
    history = ctx.fit(tiny_model(), x, y=y, validation_data=(x, y), epochs=3, name="tiny", batch_size=16)
    assert len(history["loss"]) == 3 and "val_loss" in history
    folder = ctx.run_dir / "tiny"
    assert {"history.json", "history.csv", "best.keras", "last.keras", "curves.png"} <= {p.name for p in
                                                                                      folder.iterdir()}
    assert json.loads((folder / "history.json").read_text()) == history
    assert history["loss"][-1] < history["loss"][0]


class StopAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt  # what Ctrl-C does


def test_ctrl_c_keeps_outputs_and_resume_continues(tmp_path):
    x, y = tiny_data()
    ctx = RunContext(make_args(tmp_path), "chX", "9.1", "CPU")
    with pytest.raises(Interrupted, match="--resume"):
        ctx.fit(tiny_model(), x, y=y, epochs=5, name="tiny", batch_size=16, callbacks=[StopAtEpoch(2)])
    folder = ctx.run_dir / "tiny"
    assert len(json.loads((folder / "history.json").read_text())["loss"]) == 2
    assert (folder / "last.keras").exists() and (folder / "curves.png").exists()

    resumed = RunContext(make_args(tmp_path, resume=True), "chX", "9.1", "CPU")
    assert resumed.run_dir == ctx.run_dir  # continues in the same folder
    model = tiny_model()
    history = resumed.fit(model, x, y=y, epochs=5, name="tiny", batch_size=16)
    assert len(history["loss"]) == 5
    # The resumed model starts from the saved weights, not from scratch.
    saved = keras.models.load_model(folder / "last.keras")
    np.testing.assert_allclose(model.get_weights()[0], saved.get_weights()[0])
    # Seconds per epoch count only the 3 epochs this run trained; a finished run trains none and reports none.
    assert resumed.seconds_per_epoch["tiny"] > 0
    finished = RunContext(make_args(tmp_path, resume=True), "chX", "9.1", "CPU")
    assert len(finished.fit(tiny_model(), x, y=y, epochs=5, name="tiny", batch_size=16)["loss"]) == 5
    assert finished.seconds_per_epoch == {}


def test_all_runs_the_other_sections_when_one_lacks_its_data(tmp_path, capsys):
    from chapters.common import Chapter, Section
    from datasets import DataError

    ran = []

    def needs_data(ctx):
        raise DataError("put x.npz in <data dir>/x/")

    chapter = Chapter(name="chx_test", title="Test chapter", default_section="1.1", sections=[
        Section("1.1", "first", "runs", lambda ctx: ran.append("1.1")),
        Section("1.2", "second", "lacks its data", needs_data),
        Section("1.3", "third", "runs", lambda ctx: ran.append("1.3")),
    ])
    with pytest.raises(SystemExit) as stop:
        chapter.main(["all", "--output-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert ran == ["1.1", "1.3"]
    errors = capsys.readouterr().err
    assert "1.2 skipped: put x.npz in <data dir>/x/" in errors
    assert "1.2 could not run without their data" in errors
    # One section alone still stops with its own one-line error.
    with pytest.raises(SystemExit) as stop:
        chapter.main(["1.2", "--output-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert "error: put x.npz" in capsys.readouterr().err
