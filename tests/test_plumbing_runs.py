"""Run folders: atomic files, results.json, the lock, which run --resume picks, and the command line's errors."""

import json
import multiprocessing
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from chapters.cli import Chapter
from chapters.errors import UsageError
from chapters.runs import create_run_folder
from chapters.storage import atomic_write, save_json, save_npz, write_atomically
from datasets import DataError
from tests.helpers import REPO, make_run


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a" / "result.json"
    atomic_write(path, "first")
    atomic_write(path, b"second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_a_write_that_fails_midway_leaves_the_old_file_whole(tmp_path):
    path = tmp_path / "state.npz"
    save_npz(path, image=[1.0, 2.0], iteration=3)
    before = path.read_bytes()

    def half_then_fail(temporary):
        temporary.write_bytes(before[: len(before) // 2])
        raise OSError("killed while writing")

    with pytest.raises(OSError):
        write_atomically(path, half_then_fail)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.npz"]


def test_bfloat16_arrays_are_saved_as_float32_that_np_load_reads_back(tmp_path):
    import ml_dtypes

    save_npz(tmp_path / "activations.npz", conv2d=np.array([[0.5, -2.0]], dtype=ml_dtypes.bfloat16))
    with np.load(tmp_path / "activations.npz") as saved:
        assert saved["conv2d"].dtype == np.float32 and saved["conv2d"].tolist() == [[0.5, -2.0]]


@pytest.mark.parametrize("save", [lambda path: save_json(path, {"version": "new"}),
                                  lambda path: save_npz(path, version=2)], ids=["save_json", "save_npz"])
def test_our_result_files_are_written_whole_or_not_at_all(tmp_path, monkeypatch, save):
    path = tmp_path / "results"
    path.write_text("old")

    def killed_before_the_rename(source, destination):
        raise OSError("killed before the rename")

    monkeypatch.setattr("chapters.runs.os.replace", killed_before_the_rename)
    with pytest.raises(OSError):
        save(path)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["results"]


@pytest.fixture
def pythons_ctrl_c_handler():
    """Python's own Ctrl-C handler, as in a terminal: a shell starts its background jobs with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_a_write_waits_until_the_file_is_whole(tmp_path, pythons_ctrl_c_handler):
    path = tmp_path / "best.weights.h5"

    def interrupted_halfway(temporary):
        temporary.write_bytes(b"first half, ")
        # Ctrl-C while the checkpoint is being written, sent to the main thread (where Python runs its handlers)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        with open(temporary, "ab") as f:
            f.write(b"second half")

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, interrupted_halfway)
    assert path.read_bytes() == b"first half, second half"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_results_are_kept_under_stable_keys(tmp_path):
    run = make_run(tmp_path)
    run.record("test_accuracy", 0.5, book=0.9, label="test accuracy", note="a note")
    results = json.loads(run.path("results.json").read_text())
    assert results["results"]["test_accuracy"] == {"value": 0.5, "book": 0.9, "note": "a note"}
    assert (results["chapter"], results["section"], results["edition"]) == ("chX", "9.1", 1)


def test_each_run_gets_its_own_folder_even_in_the_same_second(tmp_path):
    first, second = make_run(tmp_path), make_run(tmp_path)
    assert first.folder != second.folder and first.folder.is_dir() and second.folder.is_dir()


def _create(base, barrier):
    barrier.wait()
    return str(create_run_folder(base, "5.2"))


def test_six_runs_started_at_once_get_six_folders(tmp_path):
    base = tmp_path / "out"
    base.mkdir()
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(6)
        with multiprocessing.get_context("fork").Pool(6) as pool:
            folders = pool.starmap(_create, [(base, barrier)] * 6)
    assert len(set(folders)) == 6


def test_resume_picks_the_newest_run_with_progress_not_the_newest_folder(tmp_path, capsys):
    interrupted = make_run(tmp_path)
    interrupted.mark_progress()
    interrupted.finish("stopped")
    for status in ("finished", "no data", "stopped"):  # newer, but nothing saved to resume from
        make_run(tmp_path).finish(status)
    resumed = make_run(tmp_path, resume=True)
    assert resumed.folder == interrupted.folder
    assert f"Resuming the run in {interrupted.folder}" in capsys.readouterr().out


def test_a_finished_run_with_progress_can_be_resumed_to_train_further(tmp_path):
    finished = make_run(tmp_path)
    finished.mark_progress()
    finished.finish()
    assert make_run(tmp_path, resume=True).folder == finished.folder


def test_resume_without_anything_to_resume_starts_a_new_run_and_says_so(tmp_path, capsys):
    make_run(tmp_path).finish()
    run = make_run(tmp_path, resume=True)
    assert "no run of 9.1 with saved progress" in capsys.readouterr().out
    assert not run.resumed


def test_resume_with_other_model_options_is_refused_naming_them(tmp_path):
    run = make_run(tmp_path, model_settings={"edition": 1, "height": 400})
    run.mark_progress()
    run.finish("stopped")
    with pytest.raises(UsageError, match=r"--edition 1 \(now 2\); --height 400 \(now 128\)"):
        make_run(tmp_path, resume=True, edition=2, model_settings={"edition": 2, "height": 128})


def test_a_run_folder_in_use_is_locked_against_a_second_process(tmp_path):
    run = make_run(tmp_path)
    run.mark_progress()  # still running: its lock is held by this process
    script = textwrap.dedent(f"""
        from pathlib import Path
        from chapters.errors import UsageError
        from tests.helpers import make_run
        try:
            make_run(Path({str(tmp_path)!r}), resume=True)
        except UsageError as e:
            print("refused:", e)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "refused:" in out.stdout and "is in use by a run still going" in out.stdout, out.stderr[-1000:]
    run.finish()


def test_temporary_files_of_a_dead_run_are_removed_when_it_is_resumed(tmp_path):
    run = make_run(tmp_path)
    run.mark_progress()
    leftover = run.path("model/.last.tmp-12345.keras")
    leftover.parent.mkdir()
    leftover.write_bytes(b"")
    run.finish("stopped")
    make_run(tmp_path, resume=True)
    assert not leftover.exists()


def test_output_dir_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        make_run(tmp_path / "a_file" / "below")


def tiny_chapter(ran):
    chapter = Chapter("chx_test", "Test chapter", "a chapter for tests")

    @chapter.section("1.1", "first", "runs")
    def first(run):
        ran.append(("1.1", run.options.colour))

    @chapter.section("1.2", "second", "lacks its data")
    def second(run):
        raise DataError("put x.npz in <data dir>/x/")

    @chapter.section("1.3", "third", "runs")
    def third(run):
        ran.append(("1.3", run.options.colour))

    chapter.option("--colour", default="blue", help="a chapter flag")
    return chapter


def test_all_runs_the_other_sections_when_one_lacks_its_data(tmp_path, capsys):
    ran = []
    with pytest.raises(SystemExit) as stop:
        tiny_chapter(ran).main(["all", "--colour", "red", "--output-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert ran == [("1.1", "red"), ("1.3", "red")]
    errors = capsys.readouterr().err
    assert "1.2 skipped: put x.npz in <data dir>/x/" in errors and "1.2 could not run without their data" in errors


def test_sections_are_listed_in_the_order_they_register():
    assert list(tiny_chapter([]).sections) == ["1.1", "1.2", "1.3"]


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-5"], "argument --seed: must be between 0 and 4294967295, got -5"),
    (["--seed", "99999999999"], "argument --seed: must be between 0 and 4294967295, got 99999999999"),
    (["--epochs", "x"], "argument --epochs: must be a whole number of at least 1, got 'x'"),
    (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
])
def test_bad_numbers_on_the_command_line_are_one_line(flags, message, capsys):
    with pytest.raises(SystemExit) as stop:
        tiny_chapter([]).main(["1.1", *flags])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_before_anything_was_saved_says_so_in_one_line(tmp_path, capsys):
    chapter = Chapter("chx_test", "Test chapter", "")

    @chapter.section("1.1", "first", "stops")
    def stops(run):
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        chapter.main(["--output-dir", str(tmp_path)])
    assert stop.value.code == 130
    assert "interrupted: 1.1 stopped before it saved anything to resume from" in capsys.readouterr().err


def test_the_table_of_contents_into_a_pipe_closed_early_prints_no_traceback():
    reader = subprocess.Popen([sys.executable, "-m", "chapters"], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    reader.stdout.readline()
    reader.stdout.close()  # what `| head -1` does after its line
    stderr = reader.stderr.read().decode()
    reader.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr[-2000:]
