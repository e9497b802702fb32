"""A run's folder and what it writes there: results.json, atomic files, the lock, --resume.

Every run of a section gets a new folder, `outputs/<chapter>/<section>-<date>-<time>/`,
created atomically (two runs started in the same second get `-2`, `-3`, ...).
`run.json` in it says which options made the models and whether the run
finished; a lock held for the process's life keeps a second process out.
`--resume` picks the newest run of the section that has saved progress, and
refuses if it was made with other model-defining options.

Files are written whole or not at all and read back whole or named as damaged
(chapters.storage). A folder the
machine will not let us write is a usage error naming --output-dir; a full
disk or a damaged progress file fails the run with one line, and run.json
says why.
"""

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from chapters import training
from chapters.book_check import check_against_book
from chapters.errors import Interrupted, UsageError
from chapters.performance import Device, ModelSession, compile_settings
from chapters.storage import (
    DamagedFile,
    MachineFault,
    is_machine_error,
    read_json,
    remove_temporary_files,
    save_json,
)

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

QUICK_STEPS_PER_EPOCH = 2  # --quick: an epoch of a looping pipeline is this many batches


@contextlib.contextmanager
def stop_cleanly(message):
    """Ctrl-C or SIGTERM inside the block: stop with `message` (what was saved, how to resume)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(message) from None


# ---------------------------------------------------------------------------
# The run folder
# ---------------------------------------------------------------------------

def create_run_folder(base, section):
    """A new folder `<base>/<section>-<date>-<time>[-N]`, created atomically."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in range(1, 1000):
        folder = Path(base) / (f"{section}-{stamp}" + (f"-{suffix}" if suffix > 1 else ""))
        try:
            folder.mkdir()
            return folder
        except FileExistsError:  # another run started in the same second
            continue
    raise UsageError(f"{base}: could not create a new run folder for {section}")


def make_output_base(output_dir):
    base = Path(output_dir)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--output-dir {output_dir}: not a folder (a file is in the way)") from None
    if not base.is_dir():
        raise UsageError(f"--output-dir {output_dir}: not a folder")
    return base


@contextlib.contextmanager
def writing_into(output_dir):
    """Creating or opening a run folder: a folder the machine will not let us write is the user's to change."""
    try:
        yield
    except (OSError, MachineFault) as error:
        error = error.error if isinstance(error, MachineFault) else error
        if not is_machine_error(error):
            raise
        raise UsageError(f"--output-dir {output_dir}: cannot write there ({os.strerror(error.errno)}); "
                         "choose another --output-dir") from None


def lock_run_folder(folder):
    """Hold `<folder>/.lock` until the process ends; a second process gets a one-line refusal."""
    handle = open(Path(folder) / ".lock", "a+")
    try:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            import msvcrt
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise UsageError(f"{folder} is in use by a run still going (pid {owner}); wait for it to end, "
                         "or start a new run without --resume") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def read_run_state(folder):
    try:
        return json.loads((Path(folder) / "run.json").read_text())
    except (OSError, ValueError):
        return {}


def find_run_to_resume(base, section):
    """The newest run of `section` under `base` that saved progress, or None.

    Folders with nothing to resume (left by --summary-only, a failed start, a
    section skipped for its data) are passed over. A finished run can be
    resumed too: with a larger --epochs it trains on, else it trains nothing.
    """
    for folder in sorted(Path(base).glob(f"{section}-*"), reverse=True):
        if folder.is_dir() and read_run_state(folder).get("progress"):
            return folder
    return None


def read_previous_results(folder):
    """results.json of the run being resumed; a damaged one is set aside, and the section records its results again."""
    path = Path(folder) / "results.json"
    if not path.exists():
        return {}
    try:
        previous = read_json(path, "results", "training")
        if not all(isinstance(previous[key], dict) for key in ("results", "training")):
            raise DamagedFile(path, "its results or training are not JSON objects")
        return previous
    except DamagedFile as damage:
        aside = path.with_name("results.damaged.json")
        os.replace(path, aside)
        print(f"--resume: {path} is damaged ({damage.reason}); it is set aside as {aside.name}, and the run "
              "records its results again as it goes (the training facts of earlier sessions are lost)")
        return {}


def differing_settings(saved, current):
    """The model-defining options that differ, as '--name saved (now current)' strings."""
    return [f"--{name.replace('_', '-')} {saved.get(name)} (now {current.get(name)})"
            for name in sorted(set(saved) | set(current)) if saved.get(name) != current.get(name)]


# ---------------------------------------------------------------------------
# One run of one section
# ---------------------------------------------------------------------------

class Run:
    """What a section gets: its settings by name, its folder, and ways to record and train.

    Settings: `edition`, `quick`, `seed`, `data_dir`, `summary_only`,
    `options` (the chapter's own flags), `device` (kind, precision, strategy), `replicas`.
    """

    def __init__(self, chapter, section, settings, options, output_dir, resume=False, model_settings=None,
                 device=None, distributed=False, argv=None, session=None):
        self.chapter, self.section = chapter, section
        self.edition = settings["edition"]
        self.quick = settings["quick"]
        self.seed = settings["seed"]
        self.data_dir = settings["data_dir"]
        self.summary_only = settings["summary_only"]
        self.epochs_override = settings["epochs"]
        self.batch_size_override = settings["batch_size"]
        self.performance = settings["performance"]
        self.options = options
        if device is None:
            device = Device("CPU", "float32")
        self.device = device
        if session is None:
            session = ModelSession(device.precision)
        self.session = session  # the precision policy and distribution scope the section's models are built in
        # Inside the strategy's scope (the section trains with model.fit): batches are global, over the replicas.
        self.replicas = device.replicas if distributed else 1
        self.model_settings = model_settings or {}
        self.results, self.training = {}, {}
        self.resumed = False
        with writing_into(output_dir):
            self.output_base = make_output_base(output_dir)
            self._open_folder(section, resume)
            self.state = read_run_state(self.folder) or {
                "chapter": chapter, "section": section, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "model_settings": self.model_settings, "progress": False}
            self.state.pop("reason", None)
            self.state.update(status="running", pid=os.getpid(), argv=argv if argv is not None else sys.argv[1:])
            self._save_state()

    def _open_folder(self, section, resume):
        """The newest run of the section with progress (--resume), else a new folder; locked either way."""
        folder = find_run_to_resume(self.output_base, section) if resume else None
        if folder is not None:
            self.folder_lock = lock_run_folder(folder)
            saved = read_run_state(folder)
            differ = differing_settings(saved.get("model_settings", {}), self.model_settings)
            if differ:
                raise UsageError(f"--resume: the run in {folder} was made with other options: {'; '.join(differ)}. "
                                 "Use the same options to resume it, or leave out --resume for a new run")
            remove_temporary_files(folder)
            self.folder, self.resumed = folder, True
            previous = read_previous_results(folder)
            self.results, self.training = previous.get("results", {}), previous.get("training", {})
            print(f"Resuming the run in {folder} (started {saved.get('started', '?')})")
        else:
            if resume:
                print(f"--resume: no run of {section} with saved progress in {self.output_base}; "
                      "starting a new one")
            self.folder = create_run_folder(self.output_base, section)
            self.folder_lock = lock_run_folder(self.folder)

    # -- the book's hyperparameters, unless the user says otherwise --------
    def epochs(self, book_value):
        """--epochs if given; else 1 epoch with --quick; else the book's number."""
        if self.epochs_override is not None:
            return self.epochs_override
        return 1 if self.quick else book_value

    def batch_size(self, book_value):
        """--batch-size if given, else the book's; per replica: with --distribute the global batch is N times it."""
        per_replica = self.batch_size_override if self.batch_size_override is not None else book_value
        if self.replicas > 1:
            print(f"Batch size: {per_replica} per replica x {self.replicas} replicas = {per_replica * self.replicas}")
        return per_replica * self.replicas

    def steps_per_epoch(self, book_value):
        """The book's batches per epoch of a looping pipeline; 2 with --quick."""
        if book_value is None:
            return None
        return min(book_value, QUICK_STEPS_PER_EPOCH) if self.quick else book_value

    def compile_settings(self, workload="dense", steps_per_epoch=None):
        """jit_compile and steps_per_execution for model.compile() (see chapters.performance).

        Give the book's `steps_per_epoch` when fit() will get one: Keras rounds
        an epoch up to whole groups of steps_per_execution, so the group size
        must divide it for the epoch to be exactly the book's.
        """
        return compile_settings(self.device.kind, workload, self.performance, self.steps_per_epoch(steps_per_epoch),
                                distributed=self.replicas > 1)

    # -- files -------------------------------------------------------------
    def path(self, name):
        return self.folder / name

    def _save_state(self):
        save_json(self.folder / "run.json", self.state)

    def mark_progress(self):
        """Something resumable was saved: --resume may pick this run."""
        if not self.state.get("progress"):
            self.state["progress"] = True
            self._save_state()

    def finish(self, status="finished", reason=None):
        """The run ends (finished, stopped, failed, no data): say so (and why) in run.json, release the folder."""
        self.state["status"] = status
        if reason:
            self.state["reason"] = reason
        try:
            self._save_state()
        except MachineFault:
            if status == "finished":
                raise
            # the disk that stopped the run may refuse run.json too: the line on stderr says what happened
        finally:
            self.folder_lock.close()

    def _save_results(self):
        device = {"kind": self.device.kind, "precision": self.device.precision, "replicas": self.replicas,
                  "distribute": self.device.distribute if self.replicas > 1 else "none"}
        save_json(self.path("results.json"), {"chapter": self.chapter, "section": self.section,
                                              "edition": self.edition, "quick": self.quick, "device": device,
                                              "machine": self.device.machine, "commit": self.device.commit,
                                              "started": self.state.get("started"), "argv": self.state.get("argv"),
                                              "results": self.results, "training": self.training})

    def record(self, key, value, book=None, note="", label=None):
        """Print a result beside the book's number and keep it in results.json under `key`."""
        entry = {"value": value}
        shown = f"{value:.4f}" if isinstance(value, float) else f"{value}"
        line = f"{label or key.replace('_', ' ')}: {shown}"
        if book is not None:
            entry["book"] = book
            line += f"   (book: {book})"
        if note:
            entry["note"] = note
            line += f"   [{note}]"
        print(line)
        self.results[key] = entry
        self._save_results()

    def record_training(self, name, facts):
        self.training[name] = facts
        self._save_results()

    def check_against_book(self, model, book_params, source):
        """model.summary() with the book's per-layer counts beside it; recorded under book_check.<model name>."""
        matches = check_against_book(model, book_params, source)
        self.results[f"book_check.{model.name}"] = {
            "value": "MATCH" if matches else "MISMATCH", "params": [layer.count_params() for layer in model.layers],
            "book": list(book_params)}
        self._save_results()
        return matches

    # -- models ----------------------------------------------------------------
    def clear_session(self):
        """keras.backend.clear_session() (layer names start again, as in the book's summaries), keeping this run's
        precision policy and distribution scope, which Keras's clear_session alone would reset."""
        self.session.restart()

    # -- training ------------------------------------------------------------
    def fit(self, model, data, **kwargs):
        """model.fit with checkpoints, history and resume: see chapters.training.fit."""
        return training.fit(self, model, data, **kwargs)
