"""model.fit with Keras's own callbacks for history, checkpoints and resume.

`fit(run, model, data, name=..., epochs=...)` trains into `<run folder>/<name>/`:

    history.csv   keras.callbacks.CSVLogger, one row per epoch, as it trains
    backup/       keras.callbacks.BackupAndRestore: weights, optimizer state and epoch
    best.keras    keras.callbacks.ModelCheckpoint(save_best_only=True), lowest validation loss
                  (best.weights.h5 with whole_model=False)
    best.json     which epoch best.keras holds, and its validation loss
    history.json, curves.png, last.keras   after training

Two small subclasses make Keras's callbacks safe against `kill -9`: Keras
writes its files in place (a kill leaves half a file) and BackupAndRestore
writes the weights and the epoch as two files (a kill between them pairs one
epoch's weights with another's number). Ours write each file to a temporary
name and rename it, and the backup's weights file is named by its epoch and
committed by renaming its small metadata file last. On `--resume` the backup is
the truth: the history is cut back to the epochs it holds, and the best
checkpoint's threshold is the lowest validation loss so far, so that best.keras
stays the best epoch of the whole run.
"""

import csv
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

from chapters.figures import plot_history
from chapters.performance import compute_dtypes, variables_mirrored
from chapters.runs import Interrupted, RunFailed, atomic_write, save_json, write_atomically


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore whose backup is never torn: `epoch-N.weights.h5`, then `training_metadata.json` naming it.

    The weights file holds the optimizer's state too (the model is compiled).
    The backup is kept when training ends, so that `--resume` of a finished
    training trains nothing.
    """

    def __init__(self, backup_dir):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=False)

    def saved_epochs(self):
        """How many epochs the backup holds (0 if none)."""
        metadata = Path(self._training_metadata_path)
        if not metadata.exists():
            return 0
        return int(json.loads(metadata.read_text())["epoch"])

    def _load_model(self):
        metadata = Path(self._training_metadata_path)
        if not metadata.exists():
            return
        saved = json.loads(metadata.read_text())
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(Path(self.backup_dir) / saved["weights"])
        self.model._initial_epoch = int(saved["epoch"])

    def _save_model(self):
        folder = Path(self.backup_dir)
        folder.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{self._current_epoch:04d}.weights.h5"
        write_atomically(folder / weights, lambda path: self.model.save_weights(path))
        save_json(self._training_metadata_path, {"epoch": self._current_epoch, "weights": weights})
        for old in folder.glob("epoch-*.weights.h5"):  # the commit is done: older epochs can go
            if old.name != weights:
                old.unlink()


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint(save_best_only=True) written atomically, with `best.json` saying which epoch it holds."""

    def __init__(self, filepath, monitor, history_so_far=()):
        """`history_so_far`: the monitored values of the epochs already trained (on --resume).

        `filepath` ending in `.weights.h5` saves the weights only (models that model.save cannot write).
        """
        super().__init__(filepath, monitor=monitor, save_best_only=True, mode="min",
                         save_weights_only=str(filepath).endswith(".weights.h5"),
                         initial_value_threshold=min(history_so_far) if len(history_so_far) else None)
        self.record_path = Path(filepath).parent / "best.json"
        # A kill after the backup of epoch N but before best.keras was written: if epoch N is the
        # best so far, the backup's weights (restored at the start of training) are the best ones.
        last_is_best = len(history_so_far) and int(np.argmin(history_so_far)) == len(history_so_far) - 1
        self.missing_best = (len(history_so_far), float(history_so_far[-1])) if last_is_best else None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.missing_best and self.saved_epoch() != self.missing_best[0]:
            self.save_now(*self.missing_best)

    def saved_epoch(self):
        if not self.record_path.exists():
            return None
        return json.loads(self.record_path.read_text())["epoch"]

    def save_now(self, epoch, value):
        write_atomically(self.filepath, lambda path: save_model_or_weights(self.model, path))
        save_json(self.record_path, {"epoch": epoch, self.monitor: value})

    def _save_model(self, epoch, batch, logs):
        value = (logs or {}).get(self.monitor)
        if value is not None and self._should_save_model(epoch, batch, logs, self.filepath):
            self.save_now(epoch + 1, float(value))


def save_model_or_weights(model, path):
    """model.save for `.keras`, model.save_weights for `.weights.h5`."""
    if str(path).endswith(".weights.h5"):
        model.save_weights(path)
    else:
        model.save(path)


def read_history(path):
    """history.csv (CSVLogger's) as {metric: [one float per epoch]}, without its epoch column."""
    if not Path(path).exists():
        return {}
    with open(path, newline="") as f:
        rows = [row for row in csv.DictReader(f)]
    history = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch" and key is not None and value != "NA":  # NA: no validation data
                history.setdefault(key, []).append(float(value))
    return history


def cut_history(path, epochs):
    """Keep the header and the first `epochs` complete rows of history.csv (the epochs the backup holds)."""
    if not Path(path).exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], [row for row in rows[1:] if len(row) == len(rows[0])]
    out = [header] + body[:epochs]
    atomic_write(path, "".join(",".join(row) + "\r\n" for row in out) if epochs else "")


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
    folder.mkdir(parents=True, exist_ok=True)
    book_epochs, epochs = epochs, run.epochs(epochs)
    book_steps, steps_per_epoch = steps_per_epoch, run.steps_per_epoch(steps_per_epoch)
    monitor = monitor or ("val_loss" if validation_data is not None else "loss")
    history_csv = folder / "history.csv"

    backup = ResumableBackup(folder / "backup")
    done = backup.saved_epochs() if run.resumed else 0
    if not run.resumed and (folder / "backup").exists():
        raise ValueError(f"{folder}: a second training named {name} in one run")
    cut_history(history_csv, done)  # the history moves with the weights
    best = BestCheckpoint(folder / f"best{suffix}", monitor, read_history(history_csv).get(monitor, []))
    nan_guard = keras.callbacks.TerminateOnNaN(raise_error=True)
    all_callbacks = [keras.callbacks.CSVLogger(history_csv, append=True), backup, best, nan_guard,
                     ProgressMark(run), *callbacks]

    facts = {**run.training.get(name, {}), **optimizer_facts(model), "book_epochs": book_epochs, "epochs": epochs,
             "book_steps_per_epoch": book_steps, "steps_per_epoch": steps_per_epoch,  # kept: what a run before measured
             "compute_dtypes": compute_dtypes(model), "variables_mirrored": variables_mirrored(model)}
    print(f"{name} computes in {', '.join(facts['compute_dtypes']['hidden']) or '-'} (hidden layers), "
          f"{', '.join(facts['compute_dtypes']['output'])} (output layer)")
    if done >= epochs:
        print(f"{name}: the run already has its {done} epochs in {folder}: nothing to train")
        backup.set_model(model)
        backup._load_model()  # the trained weights, for what the section does next
        best.set_model(model)
        best.on_train_begin()
    else:
        if done:
            print(f"Resuming {name} at epoch {done + 1} of {epochs} "
                  f"(weights and optimizer state from {backup.backup_dir})")
        start = time.time()
        fit_arguments = {"shuffle": False} if not isinstance(data, (np.ndarray, list, tuple)) else {}
        try:
            model.fit(data, epochs=epochs, validation_data=validation_data, steps_per_epoch=steps_per_epoch,
                      callbacks=all_callbacks, verbose=1 if sys.stdout.isatty() else 2, **fit_arguments)
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
    history = _write_history_outputs(run, name, folder)
    write_atomically(folder / f"last{suffix}", lambda path: save_model_or_weights(model, path))
    facts["epochs_done"] = len(history.get("loss", []))
    facts["best_epoch"] = best.saved_epoch()
    run.record_training(name, facts)
    return history


class ProgressMark(keras.callbacks.Callback):
    """After the first saved epoch, the run folder is worth resuming."""

    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
        self.run.mark_progress()


def _write_history_outputs(run, name, folder):
    history = read_history(folder / "history.csv")
    if history:
        save_json(folder / "history.json", history)
        plot_history(history, folder / "curves.png", title=f"{run.chapter} {run.section}: {name}")
    return history


def best_checkpoint(run, name, model=None):
    """(model, epoch) of `<name>/best.keras`: the epoch with the lowest validation loss of the whole run.

    With `model`, its weights are set from `<name>/best.weights.h5` instead (fit's whole_model=False).
    """
    folder = run.path(name)
    epoch = json.loads((folder / "best.json").read_text())["epoch"]
    if model is None:
        return keras.models.load_model(folder / "best.keras"), epoch
    model.load_weights(folder / "best.weights.h5")
    return model, epoch
