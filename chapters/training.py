"""model.fit with history, checkpoints and resume, on Keras's public callback API.

`fit(run, model, data, name=..., epochs=...)` trains into `<run folder>/<name>/`:

    history.csv   keras.callbacks.CSVLogger(append=True), one row per epoch, as it trains
    backup/       EpochBackup: weights, optimizer state and the number of epochs done
    best.keras    BestCheckpoint: the epoch with the lowest validation loss
                  (best.weights.h5 with whole_model=False)
    best.json     which epoch best.keras holds, and its validation loss
    history.json, curves.png, last.keras   after training

EpochBackup and BestCheckpoint do what keras.callbacks.BackupAndRestore and
ModelCheckpoint(save_best_only=True) do, safe against `kill -9`: Keras writes
its files in place (a kill leaves half a file) and BackupAndRestore writes the
weights and the epoch as two files (a kill between them pairs one epoch's
weights with another's number). Ours write each file to a temporary name and
rename it, and the backup's weights file is named by its epoch and committed by
renaming its small metadata file last. On `--resume` the backup is the truth:
fit starts at its `initial_epoch`, the history is cut back to the epochs it
holds (chapters.history_files rebuilds a lost one), and the best checkpoint's
threshold is the lowest validation loss so far, so that best.keras stays the
best epoch of the whole run. A damaged progress file is named in one line
(DamagedFile); a full disk or a folder that cannot be written stops the run with
one line saying which epochs it kept.
"""

import contextlib
import sys
import time
from pathlib import Path

import keras
import numpy as np

from chapters.errors import Interrupted, RunFailed, UsageError
from chapters.figures import plot_history
from chapters.history_files import as_history, epoch_span, history_for_resume, read_history_rows
from chapters.performance import compute_dtypes, variables_mirrored
from chapters.storage import MachineFault, is_machine_error, read_json, reading, save_json, write_atomically


class EpochBackup(keras.callbacks.Callback):
    """A backup after every epoch that a kill cannot tear: `epoch-N.weights.h5`, then `training_metadata.json`
    naming it (the rename of that small file commits the epoch).

    Why not keras.callbacks.BackupAndRestore as it is: it writes the weights and then the epoch into two files in
    place, so a kill between them pairs one epoch's weights with another's number, and a kill inside either leaves
    half a file. The weights file holds the optimizer's state too (the model is compiled). The backup is kept when
    training ends, so that `--resume` of a finished training trains nothing. fit() gets `initial_epoch` from
    `saved_epochs()`; the weights come back in on_train_begin, after Keras has built the model.
    """

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.metadata_path = self.backup_dir / "training_metadata.json"

    def saved_epochs(self):
        """How many epochs the backup holds (0 if none)."""
        commit = self.last_commit()
        return commit[0] if commit else 0

    def last_commit(self):
        """(epoch, weights file) that training_metadata.json commits, or None; DamagedFile if it is not ours."""
        if not self.metadata_path.exists():
            return None
        saved = read_json(self.metadata_path, "epoch", "weights")
        with reading(self.metadata_path):
            epoch = int(saved["epoch"])
            if epoch < 1 or not str(saved["weights"]).endswith(".weights.h5"):
                raise ValueError(f"epoch {saved['epoch']!r}, weights {saved['weights']!r}")
        return epoch, self.backup_dir / saved["weights"]

    def restore(self):
        """The backup's weights and optimizer state into the model (nothing when there is no backup)."""
        commit = self.last_commit()
        if commit is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its variables exist before they are loaded
        with reading(commit[1]):
            self.model.load_weights(commit[1])

    def save(self, epochs_done):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{epochs_done:04d}.weights.h5"
        write_atomically(self.backup_dir / weights, lambda path: self.model.save_weights(path))
        save_json(self.metadata_path, {"epoch": epochs_done, "weights": weights})
        for old in self.backup_dir.glob("epoch-*.weights.h5"):  # the commit is done: older epochs can go
            if old.name != weights:
                old.unlink()

    def on_train_begin(self, logs=None):
        self.restore()

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1)


class BestCheckpoint(keras.callbacks.Callback):
    """The epoch with the lowest `monitor` so far, saved whole (a temporary file, then a rename), with `best.json`
    saying which epoch it holds.

    Why not keras.callbacks.ModelCheckpoint(save_best_only=True) as it is: it writes in place (a kill leaves half
    a file), and nothing says which epoch the file holds.
    """

    def __init__(self, filepath, monitor, history_so_far=(), best_before=None):
        """`history_so_far`: the monitored values of the epochs already trained (on --resume), None where lost.

        `best_before`: best.json's value, when some of those epochs' history is lost.
        `filepath` ending in `.weights.h5` saves the weights only (models that model.save cannot write).
        """
        super().__init__()
        known = [value for value in history_so_far if value is not None]
        earlier = known[:-1] if len(history_so_far) and history_so_far[-1] is not None else known
        if best_before is not None:
            known, earlier = [*known, best_before], [*earlier, best_before]
        self.filepath, self.monitor = Path(filepath), monitor
        self.best = min(known) if known else float("inf")
        self.record_path = self.filepath.parent / "best.json"
        # A kill after the backup of epoch N but before best.keras was written: if epoch N is the
        # best so far, the backup's weights (restored at the start of training) are the best ones.
        last = history_so_far[-1] if len(history_so_far) else None
        last_is_best = last is not None and (not earlier or last < min(earlier))
        self.missing_best = (len(history_so_far), float(last)) if last_is_best else None

    def on_train_begin(self, logs=None):
        if self.missing_best and self.saved_epoch() != self.missing_best[0]:
            self.save_now(*self.missing_best)

    def saved_epoch(self):
        record = saved_best(self.record_path)
        return record["epoch"] if record else None

    def save_now(self, epoch, value):
        write_atomically(self.filepath, lambda path: save_model_or_weights(self.model, path))
        save_json(self.record_path, {"epoch": epoch, self.monitor: value})

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and float(value) < self.best:  # a NaN is never the best
            self.best = float(value)
            self.save_now(epoch + 1, float(value))


def save_model_or_weights(model, path):
    """model.save for `.keras`, model.save_weights for `.weights.h5`."""
    if str(path).endswith(".weights.h5"):
        model.save_weights(path)
    else:
        model.save(path)


def saved_best(path):
    """best.json ({"epoch": N, <monitor>: value}), or None before the first best epoch."""
    if not Path(path).exists():
        return None
    record = read_json(path, "epoch")
    with reading(path):
        record["epoch"] = int(record["epoch"])
    return record


@contextlib.contextmanager
def faults_named(folder, backup):
    """A full disk or an unwritable folder while training: one line saying which epochs the run kept (exit 1)."""
    try:
        yield
    except (MachineFault, OSError) as fault:
        if not isinstance(fault, MachineFault):
            if not is_machine_error(fault):
                raise
            fault = MachineFault(fault.filename or folder, fault)  # written in place (CSVLogger's history.csv)
        kept = backup.saved_epochs()
        epochs = f"epochs 1-{kept}" if kept > 1 else "epoch 1" if kept == 1 else "no finished epoch"
        raise RunFailed(f"{fault}; the run kept {epochs} in {folder}: {fault.remedy} and rerun with --resume") from None


def optimizer_facts(model):
    """The compiled optimizer and loss, as they are (read back from the model, not from our tables)."""
    optimizer = model.optimizer
    facts = {"optimizer": type(optimizer).__name__, "loss": model.loss}
    config = optimizer.get_config()
    for key in ("learning_rate", "momentum", "rho", "epsilon", "beta_1", "beta_2", "clipvalue", "clipnorm",
                "nesterov"):
        value = config.get(key)
        if isinstance(value, dict):  # a schedule
            facts[key] = {"schedule": value.get("class_name"), **value.get("config", {})}
        elif value is not None:
            facts[key] = float(value) if isinstance(value, (float, np.floating)) else value
    if getattr(model, "loss_weights", None) is not None:
        facts["loss_weights"] = model.loss_weights
    return facts


def fit(run, model, data, *, name, epochs, validation_data=None, steps_per_epoch=None, callbacks=(),
        monitor=None, whole_model=True):
    """Train `model` (compiled) for the book's `epochs`; returns the whole run's history (all epochs).

    `epochs` and `steps_per_epoch` are the book's numbers: `--epochs` and
    `--quick` override them here. Without validation data, best.keras follows
    the training loss. Ctrl-C or SIGTERM stops cleanly after saving what the
    finished epochs made; `--resume` continues from the backup.
    `whole_model=False` keeps best.weights.h5 and last.weights.h5 instead of
    .keras files, for models that model.save cannot write (subclassed models
    without a config); the backup holds weights in either case.
    """
    suffix = ".keras" if whole_model else ".weights.h5"
    folder = run.path(name)
    book_epochs, epochs = epochs, run.epochs(epochs)
    book_steps, steps_per_epoch = steps_per_epoch, run.steps_per_epoch(steps_per_epoch)
    monitor = monitor or ("val_loss" if validation_data is not None else "loss")
    history_csv = folder / "history.csv"

    backup = EpochBackup(folder / "backup")
    if not run.resumed and (folder / "backup").exists():
        raise ValueError(f"{folder}: a second training named {name} in one run")
    done = backup.saved_epochs() if run.resumed else 0
    best_before = saved_best(folder / "best.json") if run.resumed else None
    if best_before and not done:  # best.json is written after the backup of an epoch: the backup was lost
        raise UsageError(f"--resume: {backup.backup_dir}/ is missing or empty, so {name} cannot continue from "
                         f"the epochs it trained; start a new run without --resume (the earlier outputs stay in "
                         f"{folder})")
    if best_before and (best_before["epoch"] > done or best_before.get(monitor) is None):
        best_before = None
    with faults_named(folder, backup):
        folder.mkdir(parents=True, exist_ok=True)
        rows, lost = history_for_resume(folder, done, epochs, best_before)  # the history moves with the weights
        best = BestCheckpoint(folder / f"best{suffix}", monitor,
                              [rows.get(epoch, {}).get(monitor) for epoch in range(done)],
                              best_before=float(best_before[monitor]) if lost and best_before else None)
        facts = {**run.training.get(name, {}), **optimizer_facts(model), "book_epochs": book_epochs, "epochs": epochs,
                 "book_steps_per_epoch": book_steps, "steps_per_epoch": steps_per_epoch,  # kept: what was measured
                 "compute_dtypes": compute_dtypes(model), "variables_mirrored": variables_mirrored(model)}
        print(f"{name} computes in {', '.join(facts['compute_dtypes']['hidden']) or '-'} (hidden layers), "
              f"{', '.join(facts['compute_dtypes']['output'])} (output layer)")
        history = _train(run, model, data, name=name, epochs=epochs, folder=folder, backup=backup, best=best,
                         done=done, validation_data=validation_data, steps_per_epoch=steps_per_epoch, facts=facts,
                         callbacks=[keras.callbacks.CSVLogger(history_csv, append=True), backup, best,
                                    keras.callbacks.TerminateOnNaN(raise_error=True), ProgressMark(run), *callbacks])
        write_atomically(folder / f"last{suffix}", lambda path: save_model_or_weights(model, path))
        facts.update(epochs_done=backup.saved_epochs(), best_epoch=best.saved_epoch())
        facts.pop("history_lost_epochs", None)
        if lost:  # history.csv and the curves lack them: said beside epochs_done
            facts["history_lost_epochs"] = epoch_span(lost)
        run.record_training(name, facts)
    return history


def _train(run, model, data, *, name, epochs, folder, backup, best, done, validation_data, steps_per_epoch, callbacks,
           facts):
    """model.fit from epoch `done` to `epochs` (or the saved weights when nothing is left to train); its history."""
    if done >= epochs:
        print(f"{name}: the run already has its {done} epochs in {folder}: nothing to train")
        backup.set_model(model)
        backup.restore()  # the trained weights, for what the section does next
        best.set_model(model)
        best.on_train_begin()
    else:
        if done:
            print(f"Resuming {name} at epoch {done + 1} of {epochs} "
                  f"(weights and optimizer state from {backup.backup_dir})")
        start = time.time()
        fit_arguments = {"shuffle": False} if not isinstance(data, (np.ndarray, list, tuple)) else {}
        try:
            model.fit(data, epochs=epochs, initial_epoch=done, validation_data=validation_data,
                      steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2,
                      **fit_arguments)
        except KeyboardInterrupt:
            finished = backup.saved_epochs()
            _write_history_outputs(run, name, folder)
            raise Interrupted(f"training of {name} stopped after {finished} of {epochs} epochs; its history and "
                              f"checkpoints are in {folder}; run the same command with --resume to continue") from None
        except RuntimeError as e:
            if "NaN or Inf loss" not in str(e):
                raise
            _write_history_outputs(run, name, folder)
            raise RunFailed(f"training of {name} stopped at epoch {backup.saved_epochs() + 1}: the loss became NaN "
                            "or infinite; lower the learning rate or check the inputs") from None
        trained = epochs - done
        seconds = time.time() - start
        facts["seconds_per_epoch"] = round(seconds / trained, 2)
        print(f"Trained {name} for {trained} epochs in {seconds:.1f} s; outputs in {folder}")
    return _write_history_outputs(run, name, folder)


class ProgressMark(keras.callbacks.Callback):
    """After the first saved epoch, the run folder is worth resuming."""

    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
        self.run.mark_progress()


def _write_history_outputs(run, name, folder):
    rows = read_history_rows(folder / "history.csv")
    history = as_history(rows)
    if history:
        save_json(folder / "history.json", history)
        plot_history(history, folder / "curves.png", title=f"{run.chapter} {run.section}: {name}",
                     first_epoch=min(rows) + 1)
    return history


def best_checkpoint(run, name, model=None):
    """(model, epoch) of `<name>/best.keras`: the epoch with the lowest validation loss of the whole run.

    With `model`, its weights are set from `<name>/best.weights.h5` instead (fit's whole_model=False).
    """
    folder = run.path(name)
    epoch = saved_best(folder / "best.json")["epoch"]
    if model is None:
        with reading(folder / "best.keras"):
            return keras.models.load_model(folder / "best.keras"), epoch
    with reading(folder / "best.weights.h5"):
        model.load_weights(folder / "best.weights.h5")
    return model, epoch
