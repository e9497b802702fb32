"""What several test modules share: running a chapter as a user does, reading its results, small models."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def run_cli(module, *args, cwd, env=None, timeout=300):
    """Run `python -m <module> <args>` from `cwd` as a user would; returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("DLWP_DATA_DIR", None)
    full_env["DLWP_OFFLINE"] = "1"
    full_env["KERAS_HOME"] = str(Path(cwd) / "keras_home")
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_folders(output_dir, section):
    return sorted(Path(output_dir).glob(f"{section}-*"))


def results_file(output_dir, section=None):
    """The whole results.json of the newest run folder (of `section`) under output_dir."""
    pattern = f"{section}-*/results.json" if section else "*/results.json"
    files = sorted(Path(output_dir).glob(pattern))
    assert files, f"no results.json under {output_dir}"
    return json.loads(files[-1].read_text())


def results_of(output_dir, section=None):
    """The `results` of the newest run folder: {key: {"value", "book", "note"}}."""
    return results_file(output_dir, section)["results"]


def training_of(output_dir, section=None):
    """The `training` facts of the newest run folder: {name: {"optimizer", "learning_rate", "epochs", ...}}."""
    return results_file(output_dir, section)["training"]


def layer_params(model):
    return [layer.count_params() for layer in model.layers]


def make_run(tmp_path, section="9.1", resume=False, model_settings=None, **settings):
    """A chapters.runs.Run as the command line would make it, with the book's defaults."""
    from chapters.runs import Run

    defaults = dict(edition=1, quick=False, seed=0, data_dir=None, summary_only=False, epochs=None, batch_size=None,
                    performance={"jit_compile": "auto", "steps_per_execution": None})
    defaults.update(settings)
    return Run("chX", section, defaults, options=None, output_dir=tmp_path / "out", resume=resume,
               model_settings=model_settings or {"edition": defaults["edition"]}, argv=[])


def tiny_model(seed=0, learning_rate=0.01):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def tiny_data(n=64, flip=False):
    """Inputs and labels (x0 > 0); `flip` gives the opposite labels (a validation set the training makes worse)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    return x, (1 - y if flip else y)


def tiny_dataset(x, y, batch_size=16):
    """A fixed-order tf.data pipeline: the same batches every epoch, so runs are comparable step by step."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
