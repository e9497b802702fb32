"""run.fit: Keras's callbacks keep the history, the best checkpoint and the resume state, and survive kills."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from chapters.errors import Interrupted, RunFailed
from chapters.history_files import read_history
from chapters.training import BestCheckpoint
from tests.helpers import REPO, make_run, tiny_data, tiny_dataset, tiny_model


class StopAt(keras.callbacks.Callback):
    """Raise `error` in the middle of epoch `epoch` (0-based), after `batch` batches: what Ctrl-C does."""

    def __init__(self, epoch, batch=1, error=KeyboardInterrupt):
        super().__init__()
        self.epoch, self.batch, self.error = epoch, batch, error

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch + 1 == self.batch:
            raise self.error


class WeightsPerEpoch(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch + 1] = [w.copy() for w in self.model.get_weights()]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_fit_writes_history_curves_and_checkpoints_and_records_the_recipe(tmp_path):
    x, y = tiny_data()
    run = make_run(tmp_path)
    history = run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=3, validation_data=tiny_dataset(x, y))
    folder = run.path("tiny")
    assert {"history.csv", "history.json", "curves.png", "best.keras", "best.json", "last.keras", "backup"} <= {
        p.name for p in folder.iterdir()}
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert json.loads((folder / "history.json").read_text()) == history
    facts = json.loads(run.path("results.json").read_text())["training"]["tiny"]
    assert facts["optimizer"] == "RMSprop" and facts["learning_rate"] == pytest.approx(0.01)
    assert facts["loss"] == "binary_crossentropy"
    assert (facts["book_epochs"], facts["epochs"], facts["epochs_done"]) == (3, 3, 3)


def test_quick_trains_one_epoch_of_two_steps_and_epochs_overrides_it(tmp_path):
    x, y = tiny_data()
    data = tiny_dataset(x, y).repeat()
    run = make_run(tmp_path, quick=True)
    run.fit(tiny_model(), data, name="quick", epochs=30, steps_per_epoch=100)
    facts = run.training["quick"]
    assert (facts["book_epochs"], facts["epochs"], facts["book_steps_per_epoch"], facts["steps_per_epoch"]) == (
        30, 1, 100, 2)
    run = make_run(tmp_path, quick=True, epochs=3)
    run.fit(tiny_model(), data, name="quick", epochs=30, steps_per_epoch=100)
    assert run.training["quick"]["epochs"] == 3 and run.training["quick"]["epochs_done"] == 3


def test_resume_after_ctrl_c_mid_epoch_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    x, y = tiny_data()
    reference = tiny_model()
    reference.fit(tiny_dataset(x, y), epochs=4, verbose=0, shuffle=False)

    run = make_run(tmp_path)
    with pytest.raises(Interrupted, match="after 2 of 4 epochs.*--resume"):
        run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=4, callbacks=[StopAt(epoch=2, batch=2)])
    run.finish("stopped")
    assert len(read_history(run.path("tiny/history.csv"))["loss"]) == 2

    resumed = make_run(tmp_path, resume=True)
    assert resumed.folder == run.folder
    model = tiny_model(seed=1)  # other initial weights: only the restored ones can give the reference
    history = resumed.fit(model, tiny_dataset(x, y), name="tiny", epochs=4)
    assert len(history["loss"]) == 4
    # Weights and RMSprop's moving averages were restored: the same numbers as never stopping.
    assert_same_weights(model.get_weights(), reference.get_weights())
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations) == 16


def test_the_first_resumed_epoch_continues_the_loss_curve(tmp_path):
    x, y = tiny_data()
    run = make_run(tmp_path)
    with pytest.raises(Interrupted):
        run.fit(tiny_model(learning_rate=0.05), tiny_dataset(x, y), name="tiny", epochs=6,
                callbacks=[StopAt(epoch=3, batch=1)])
    run.finish("stopped")
    history = make_run(tmp_path, resume=True).fit(tiny_model(seed=3, learning_rate=0.05), tiny_dataset(x, y),
                                                 name="tiny", epochs=6)
    losses = history["loss"]
    assert losses[3] < losses[0] and losses[3] <= losses[2] * 1.05


def test_best_keras_stays_the_lowest_validation_loss_of_the_whole_run_across_a_resume(tmp_path):
    # Validation labels are the opposite of the training labels: every epoch's validation loss is
    # worse than the one before, so epoch 1 is the best of the whole run, before and after the resume.
    x, y = tiny_data()
    _, y_opposite = tiny_data(flip=True)
    weights = WeightsPerEpoch()
    run = make_run(tmp_path)
    with pytest.raises(Interrupted):
        run.fit(tiny_model(learning_rate=0.05), tiny_dataset(x, y), name="tiny", epochs=5,
                validation_data=tiny_dataset(x, y_opposite), callbacks=[weights, StopAt(epoch=2, batch=1)])
    run.finish("stopped")
    resumed = make_run(tmp_path, resume=True)
    history = resumed.fit(tiny_model(learning_rate=0.05), tiny_dataset(x, y), name="tiny", epochs=5,
                          validation_data=tiny_dataset(x, y_opposite))
    assert int(np.argmin(history["val_loss"])) == 0
    assert json.loads(resumed.path("tiny/best.json").read_text())["epoch"] == 1
    assert_same_weights(keras.models.load_model(resumed.path("tiny/best.keras")).get_weights(), weights.weights[1])
    assert resumed.training["tiny"]["best_epoch"] == 1


def test_best_checkpoint_does_not_replace_a_better_epoch_from_before_the_resume(tmp_path):
    model = tiny_model()
    best = BestCheckpoint(tmp_path / "best.keras", "val_loss", history_so_far=[0.5, 0.3, 0.4])
    best.set_model(model)
    best.on_epoch_end(3, {"val_loss": 0.35})
    assert not (tmp_path / "best.keras").exists()
    best.on_epoch_end(4, {"val_loss": 0.25})
    assert json.loads((tmp_path / "best.json").read_text()) == {"epoch": 5, "val_loss": 0.25}


def test_a_kill_after_the_backup_and_before_the_best_checkpoint_is_repaired_on_resume(tmp_path, monkeypatch):
    x, y = tiny_data()
    weights = WeightsPerEpoch()
    original_save = BestCheckpoint.save_now

    def dies_at_epoch_2(self, epoch, value):
        if epoch == 2:
            raise KeyboardInterrupt  # stands for a kill: the epoch-2 backup is written, best.keras is not
        original_save(self, epoch, value)

    monkeypatch.setattr(BestCheckpoint, "save_now", dies_at_epoch_2)
    run = make_run(tmp_path)
    with pytest.raises(Interrupted):
        run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=3, validation_data=tiny_dataset(x, y),
                callbacks=[weights])
    run.finish("stopped")
    assert json.loads(run.path("tiny/best.json").read_text())["epoch"] == 1
    monkeypatch.setattr(BestCheckpoint, "save_now", original_save)
    resumed = make_run(tmp_path, resume=True)
    history = resumed.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=3, validation_data=tiny_dataset(x, y))
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    assert json.loads(resumed.path("tiny/best.json").read_text())["epoch"] == best_epoch >= 2
    if best_epoch == 2:
        assert_same_weights(keras.models.load_model(resumed.path("tiny/best.keras")).get_weights(),
                            weights.weights[2])


def test_a_checkpoint_write_that_fails_midway_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    x, y = tiny_data()
    run = make_run(tmp_path)
    run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=1, validation_data=tiny_dataset(x, y))
    before = run.path("tiny/best.keras").read_bytes()

    def half_a_file(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", half_a_file)
    model = tiny_model(seed=5)
    best = BestCheckpoint(run.path("tiny/best.keras"), "val_loss")
    best.set_model(model)
    with pytest.raises(OSError, match="disk full"):
        best.on_epoch_end(0, {"val_loss": 0.0})
    assert run.path("tiny/best.keras").read_bytes() == before
    assert [p.name for p in run.path("tiny").iterdir() if ".tmp-" in p.name] == []


def test_nan_loss_stops_training_with_one_line(tmp_path):
    x, y = tiny_data()
    y[5] = np.nan  # a NaN target makes the loss NaN whatever the kernels (a NaN input can vanish in ReLU's max)
    run = make_run(tmp_path)
    with pytest.raises(RunFailed, match="loss became NaN"):
        run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=2)


KILLED_TRAINING = textwrap.dedent("""
    import os, signal, sys
    import keras
    from chapters.storage import write_atomically
    from chapters import training
    from tests.helpers import make_run, tiny_data, tiny_dataset, tiny_model
    from pathlib import Path

    where, resume = sys.argv[1], sys.argv[2] == "resume"
    x, y = tiny_data()
    run = make_run(Path("."), resume=resume)

    class KillMidEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if where == "mid_epoch" and not resume and self.epoch == 2 and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    if where == "backup_write" and not resume:
        original = training.EpochBackup.save
        def dies_while_writing(self, epochs_done):
            if epochs_done == 3:
                def half(path):
                    Path(path).write_bytes(b"half")
                    os.kill(os.getpid(), signal.SIGKILL)
                write_atomically(Path(self.backup_dir) / "epoch-0003.weights.h5", half)
            original(self, epochs_done)
        training.EpochBackup.save = dies_while_writing
    history = run.fit(tiny_model(), tiny_dataset(x, y), name="tiny", epochs=5, validation_data=tiny_dataset(x, y),
                      callbacks=[KillMidEpoch()])
    print("epochs", len(history["loss"]))
""")


@pytest.mark.parametrize("where", ["mid_epoch", "backup_write"])
def test_kill_9_then_resume_keeps_history_and_weights_together(tmp_path, where):
    script = tmp_path / "train.py"
    script.write_text(KILLED_TRAINING)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, str(script), where, "new"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    folder = next((tmp_path / "out").glob("9.1-*"))
    # Killed in epoch 3, or while writing epoch 3's backup: the backup holds 2 epochs, and so will the history.
    metadata = json.loads((folder / "tiny/backup/training_metadata.json").read_text())
    assert metadata["epoch"] == 2
    leftovers = [p for p in folder.rglob("*") if ".tmp-" in p.name]
    assert leftovers or where == "mid_epoch"

    second = subprocess.run([sys.executable, str(script), where, "resume"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming tiny at epoch 3 of 5" in second.stdout and "epochs 5" in second.stdout
    history = read_history(folder / "tiny/history.csv")
    assert len(history["loss"]) == 5 and history["loss"][2] < history["loss"][0]
    assert [p for p in folder.rglob("*") if ".tmp-" in p.name] == []


class Subclassed(keras.Model):
    """A subclassed model without get_config: model.save cannot write it, its weights can be saved."""

    def __init__(self):
        super().__init__()
        self.hidden, self.out = keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")

    def call(self, x):
        return self.out(self.hidden(x))


def test_weights_only_checkpoints_serve_models_that_cannot_be_saved_whole(tmp_path):
    from chapters.training import best_checkpoint

    x, y = tiny_data()
    keras.utils.set_random_seed(0)
    model = Subclassed()
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="binary_crossentropy")
    model(x[:1])
    run = make_run(tmp_path)
    run.fit(model, tiny_dataset(x, y), name="sub", epochs=2, validation_data=tiny_dataset(x, y), whole_model=False)
    names = {p.name for p in run.path("sub").iterdir()}
    assert {"best.weights.h5", "best.json", "last.weights.h5"} <= names and "best.keras" not in names
    fresh = Subclassed()
    fresh(x[:1])
    loaded, epoch = best_checkpoint(run, "sub", fresh)
    assert epoch in (1, 2) and loaded is fresh
