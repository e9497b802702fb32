"""The machine's faults and damaged progress files: one line and the right exit code, never a traceback or lost work.

A tiny chapter trains a tiny model through the real command line (in-process). Full disks and read-only folders
are simulated by making the write raise OSError with the errno the kernel gives (as root, chmod stops nothing).
"""

import builtins
import errno
import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest

from chapters.cli import Chapter
from tests.helpers import make_run, run_folders, run_in_process, tiny_data, tiny_dataset, tiny_model


def tiny_chapter():
    """1.1 trains a tiny model whose validation loss only grows (its labels are the training's, flipped): epoch 1
    is the best of any run, so a best epoch chosen among the later epochs only is seen at once."""
    chapter = Chapter("chx_faults", "Test chapter", "a chapter for tests", editions=(1,))

    @chapter.section("1.1", "tiny", "trains a tiny model", distributable=True)
    def tiny(run):
        x, y = tiny_data()
        _, y_opposite = tiny_data(flip=True)
        run.fit(tiny_model(learning_rate=0.05), tiny_dataset(x, y), name="tiny", epochs=2,
                validation_data=tiny_dataset(x, y_opposite))
        run.record("done", 1)

    return chapter


def train(tmp_path, *flags):
    return run_in_process(tiny_chapter(), ["1.1", "--output-dir", tmp_path / "out", *flags])


@pytest.fixture
def two_epochs(tmp_path):
    """A finished run of 2 epochs in tmp_path/out; its folder."""
    code, _, err = train(tmp_path, "--epochs", "2")
    assert code == 0, err
    return run_folders(tmp_path / "out", "1.1")[-1]


def history_rows(path):
    """{epoch (CSVLogger's 0-based column): {metric: value}} of a history.csv, read here with csv alone."""
    import csv

    with open(path, newline="") as f:
        return {int(row.pop("epoch")): {key: float(value) for key, value in row.items() if value != "NA"}
                for row in csv.DictReader(f)}


def results(folder):
    return json.loads((folder / "results.json").read_text())


def one_error_line(err):
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err[-3000:]
    return lines[0]


# --- G1: a lost history.csv -------------------------------------------------------------------------------------

def test_a_lost_history_csv_is_rebuilt_from_history_json_and_results_agree_with_it(tmp_path, two_epochs):
    (two_epochs / "tiny/history.csv").unlink()
    code, out, err = train(tmp_path, "--epochs", "4", "--resume")
    assert code == 0, err
    rows = history_rows(two_epochs / "tiny/history.csv")
    assert sorted(rows) == [0, 1, 2, 3]
    facts = results(two_epochs)["training"]["tiny"]
    assert facts["epochs_done"] == 4 and "history_lost_epochs" not in facts
    assert facts["best_epoch"] == 1 + int(np.argmin([rows[epoch]["val_loss"] for epoch in range(4)]))


def test_a_history_lost_with_its_json_is_named_and_the_best_epoch_still_covers_the_whole_run(tmp_path, two_epochs):
    (two_epochs / "tiny/history.csv").unlink()
    (two_epochs / "tiny/history.json").unlink()
    code, out, err = train(tmp_path, "--epochs", "4", "--resume")
    assert code == 0, err
    assert "the history of epochs 1-2 is lost" in out
    assert sorted(history_rows(two_epochs / "tiny/history.csv")) == [2, 3]  # epochs 3-4, numbered as such
    facts = results(two_epochs)["training"]["tiny"]
    assert (facts["epochs_done"], facts["history_lost_epochs"]) == (4, "1-2")
    assert facts["best_epoch"] == json.loads((two_epochs / "tiny/best.json").read_text())["epoch"] == 1


# --- G3: a lost backup ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["removed", "emptied"])
def test_resume_without_the_backup_is_refused_and_keeps_the_earlier_history(tmp_path, two_epochs, loss):
    import shutil

    shutil.rmtree(two_epochs / "tiny/backup")
    if loss == "emptied":
        (two_epochs / "tiny/backup").mkdir()
    before = {name: (two_epochs / "tiny" / name).read_bytes() for name in ("history.csv", "best.keras", "best.json")}
    code, _, err = train(tmp_path, "--epochs", "4", "--resume")
    assert code == 2
    line = one_error_line(err)
    assert "backup/ is missing or empty" in line and "start a new run without --resume" in line
    assert {name: (two_epochs / "tiny" / name).read_bytes() for name in before} == before
    assert json.loads((two_epochs / "run.json").read_text())["status"] == "failed"


# --- G5: a full disk --------------------------------------------------------------------------------------------

def test_a_full_disk_while_writing_a_checkpoint_fails_the_run_in_one_line_keeping_the_finished_epochs(
        tmp_path, monkeypatch):
    original = keras.Model.save_weights

    def disk_full_at_epoch_2(self, filepath, *args, **kwargs):
        if "epoch-0002" in str(filepath):
            Path(filepath).write_bytes(b"half a checkpoint")
            raise OSError(errno.ENOSPC, "Can't synchronously write data (No space left on device)")
        return original(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", disk_full_at_epoch_2)
    code, _, err = train(tmp_path, "--epochs", "4")
    assert code == 1
    folder = run_folders(tmp_path / "out", "1.1")[-1]
    line = one_error_line(err)
    assert line.startswith("error: no space left on ") and "while writing" in line and "epoch-0002.weights.h5" in line
    assert f"the run kept epoch 1 in {folder / 'tiny'}: free space and rerun with --resume" in line
    state = json.loads((folder / "run.json").read_text())
    assert state["status"] == "failed" and "no space left" in state["reason"]
    assert [p.name for p in folder.rglob("*") if ".tmp-" in p.name] == []
    assert json.loads((folder / "tiny/backup/training_metadata.json").read_text())["epoch"] == 1


def test_a_full_disk_while_writing_results_fails_the_run_in_one_line(tmp_path, monkeypatch):
    original = os.fsync

    def results_do_not_fit(fd):
        if "results" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(fd)

    monkeypatch.setattr(os, "fsync", results_do_not_fit)
    code, _, err = train(tmp_path, "--epochs", "1")
    assert code == 1
    line = one_error_line(err)
    assert line.startswith("error: no space left on ") and "results.json" in line and "--resume" in line
    folder = run_folders(tmp_path / "out", "1.1")[-1]
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"
    assert [p.name for p in folder.rglob("*") if ".tmp-" in p.name] == []


# --- G7: an output folder that cannot be written -----------------------------------------------------------------

def refuse_writes_under(monkeypatch, root, error):
    """Every write below `root` fails with `error` (EROFS: a read-only mount; EACCES: a folder not ours)."""
    root = str(Path(root).resolve())
    real_open, real_mkdir = builtins.open, os.mkdir

    def below(path):
        return str(Path(os.path.abspath(path))).startswith(root)

    def guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and below(file) and any(c in mode for c in "wax+"):
            raise OSError(error, os.strerror(error), str(file))
        return real_open(file, mode, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if below(path) and not os.path.exists(path):
            raise OSError(error, os.strerror(error), str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)


@pytest.mark.parametrize("error", [errno.EROFS, errno.EACCES], ids=["read_only", "not_ours"])
@pytest.mark.parametrize("resume", [False, True], ids=["new_run", "resume"])
def test_an_output_dir_that_cannot_be_written_is_one_usage_line(tmp_path, monkeypatch, error, resume):
    chapter = Chapter("chx_faults", "Test chapter", "", editions=(1,))
    chapter.section("1.1", "nothing", "writes nothing")(lambda run: None)
    out = tmp_path / "out"
    if resume:  # a run with progress, then the mount turned read-only: the lock file cannot be opened
        run = make_run(tmp_path, section="1.1")
        run.mark_progress()
        run.finish("stopped")
    else:
        out.mkdir()
    refuse_writes_under(monkeypatch, out, error)
    code, _, err = run_in_process(chapter, ["1.1", "--output-dir", out, *(["--resume"] if resume else [])])
    assert code == 2
    assert one_error_line(err) == (f"error: --output-dir {out}: cannot write there ({os.strerror(error)}); "
                                   "choose another --output-dir")


# --- G8: damaged progress files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("damage, reason", [
    (lambda folder: (folder / "tiny/backup/training_metadata.json").write_text('{"epoch": "x"'), "not valid JSON"),
    (lambda folder: (folder / "tiny/backup/epoch-0002.weights.h5").write_bytes(b""), "it is empty: 0 bytes"),
], ids=["training_metadata", "empty_weights"])
def test_a_damaged_backup_is_named_in_one_line_on_resume(tmp_path, two_epochs, damage, reason):
    damaged = {"not valid JSON": "training_metadata.json", "it is empty: 0 bytes": "epoch-0002.weights.h5"}[reason]
    damage(two_epochs)
    code, _, err = train(tmp_path, "--epochs", "4", "--resume")
    assert code == 1
    line = one_error_line(err)
    assert line.startswith(f"error: --resume: {two_epochs / 'tiny/backup' / damaged} is damaged ({reason}")
    assert line.endswith("restore it, or start a new run without --resume")
    state = json.loads((two_epochs / "run.json").read_text())
    assert state["status"] == "failed" and "is damaged" in state["reason"]


def test_damaged_results_json_is_rebuilt_on_resume(tmp_path, two_epochs):
    (two_epochs / "results.json").write_text('{"broken')
    code, out, err = train(tmp_path, "--epochs", "3", "--resume")
    assert code == 0, err
    saved = results(two_epochs)
    assert saved["training"]["tiny"]["epochs_done"] == 3 and saved["results"]["done"]["value"] == 1
    assert (two_epochs / "results.damaged.json").read_text() == '{"broken'


def test_a_garbage_history_csv_is_rebuilt_from_history_json_on_resume(tmp_path, two_epochs):
    (two_epochs / "tiny/history.csv").write_text("garbage,,,\n")
    code, _, err = train(tmp_path, "--epochs", "3", "--resume")
    assert code == 0, err
    assert sorted(history_rows(two_epochs / "tiny/history.csv")) == [0, 1, 2]
    assert results(two_epochs)["training"]["tiny"]["epochs_done"] == 3
    assert (two_epochs / "tiny/history.damaged.csv").read_text() == "garbage,,,\n"


def test_a_damaged_deep_dream_octaves_json_is_named_on_resume(tmp_path):
    from chapters.ch8_generative.deep_dream import load_progress
    from chapters.storage import save_npz

    run = make_run(tmp_path)
    save_npz(run.path("state.npz"), image=np.zeros((1, 8, 8, 3), "float32"), octave=1)
    run.path("octaves.json").write_text('{"octaves": [')
    run.mark_progress()
    run.finish("stopped")
    with pytest.raises(Exception) as damaged:
        load_progress(make_run(tmp_path, resume=True), np.zeros((1, 8, 8, 3), "float32"))
    assert str(damaged.value).startswith(f"--resume: {run.path('octaves.json')} is damaged (")


def test_a_damaged_gradient_tape_loop_state_is_named_on_resume(tmp_path):
    from chapters.ch7_best_practices.working_with_keras import GradientTapeLoopState

    run = make_run(tmp_path)
    folder = run.path("gradient_tape_loop")
    folder.mkdir()
    (folder / "state.json").write_text('{"epoch": 2, "weights": "epoch-0002.weights.h5", "hist')
    run.mark_progress()
    run.finish("stopped")
    model = tiny_model()
    state = GradientTapeLoopState(make_run(tmp_path, resume=True), folder)
    with pytest.raises(Exception) as damaged:
        state.restore(model, model.optimizer)
    assert str(damaged.value).startswith(f"--resume: {folder / 'state.json'} is damaged (not valid JSON")
