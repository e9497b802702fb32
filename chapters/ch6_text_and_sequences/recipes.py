"""What the four sections of chapter 6 share.

- `Training`: one row of a section's table, the book's recipe for one model;
- `chosen()`: the models `--models` keeps;
- `compile_settings()`: the measured settings, with a "recurrent" kind of model;
- the IMDB arrays of the 1st edition (padded, with the book's validation_split=0.2);
- `train_classifier()` / `train_forecaster()`: compile, fit, and print the numbers beside the book's;
- the Jena data of the 1st edition (normalised, its generators, the common-sense baseline);
- `plot_side_by_side()`: several models' curves next to each other.
"""

import json
from dataclasses import dataclass, field
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.errors import UsageError
from chapters.figures import save_figure
from chapters.performance import PERFORMANCE_DEFAULTS
from chapters.training import best_checkpoint
from datasets import aclimdb, jena
from datasets.arrays import without_autotuning
from datasets.imdb import load_imdb

# Recurrent models, measured with benchmarks/ch6_recurrent_networks.py (README, Performance): on a CPU, XLA
# compiles the recurrence's loop into fused steps. On a GPU, Keras runs LSTM and GRU layers that cuDNN can
# compute (no recurrent dropout, reset_after=True) on cuDNN's kernels, which XLA cannot compile: Keras's
# jit_compile="auto" uses XLA only for models without such layers (the recurrent-dropout ones). These rows
# belong in chapters/performance.py; until they are there, the chapter adds them.
PERFORMANCE_DEFAULTS.setdefault(("CPU", "recurrent"), dict(jit_compile=True, steps_per_execution=1))
PERFORMANCE_DEFAULTS.setdefault(("GPU", "recurrent"), dict(jit_compile="auto", steps_per_execution=16))

QUICK_IMDB_REVIEWS = (256, 128)  # --quick: the first training and test reviews
QUICK_TEXT_BATCHES = {"train": 2, "val": 1, "test": 1}  # --quick: batches of 32 raw reviews (2nd edition)
QUICK_VALIDATION_STEPS = 2  # --quick: batches of a Jena validation pass
VALIDATION_SPLIT = 0.2  # the 1st edition's fit(..., validation_split=0.2): the last 20% of the training reviews


def rmsprop():
    """RMSprop with Keras's defaults (learning rate 1e-3): the book's optimizer="rmsprop"."""
    return keras.optimizers.RMSprop()


@dataclass(frozen=True)
class Training:
    """One model as the book trains it."""
    title: str
    build_model: Callable[[], keras.Model]
    book_params: list
    epochs: int
    batch_size: int | None = None  # None: the data pipeline batches (Jena's generators)
    optimizer: Callable[[], keras.optimizers.Optimizer] = rmsprop
    loss: str = "binary_crossentropy"
    metrics: tuple = ("accuracy",)
    steps_per_epoch: int | None = None  # the 1st edition's looping generators
    workload: str = "recurrent"  # which measured compile settings (chapters.performance)
    book: dict = field(default_factory=dict)  # result name -> the book's number


def chosen(run, *tables):
    """The names of `tables` (dicts of Training) that --models keeps, in the tables' order."""
    names = [name for table in tables for name in table]
    wanted = run.options.models
    if not wanted:
        return names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise UsageError(f"--models {' '.join(unknown)}: section {run.section} (edition {run.edition}) has "
                         f"{', '.join(names)}")
    return [name for name in names if name in wanted]


def compile_settings(run, workload, steps_per_epoch=None):
    """run.compile_settings; in a --quick run a recurrent model skips XLA: its few steps never repay the compilation."""
    settings = run.compile_settings(workload, steps_per_epoch=steps_per_epoch)
    if run.quick and workload == "recurrent" and run.performance["jit_compile"] == "auto" and \
            settings["jit_compile"] is True:
        settings["jit_compile"] = False
        print("--quick: XLA off (a few steps do not repay its compilation)")
    return settings


def check_models(run, trainings, edition_label):
    """Build every model of `trainings` and check it against the book; returns {name: model}."""
    models = {}
    for name, training in trainings.items():
        run.clear_session()  # layer names start again at embedding, lstm, ... as in the book
        models[name] = training.build_model()
        run.check_against_book(models[name], training.book_params, f"DLwP {edition_label}, {training.title}")
    return models


def quick_note(run, what):
    return f"--quick: {what}" if run.quick else ""


# ---------------------------------------------------------------------------
# IMDB as word indices (1st edition)
# ---------------------------------------------------------------------------

@dataclass
class ImdbArrays:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    note: str


def imdb_arrays(run, maxlen, num_words=10_000, reverse=False):
    """The book's `imdb.load_data(num_words)` + `pad_sequences(maxlen)`, and its validation_split=0.2.

    pad_sequences keeps the last `maxlen` words of a longer review and pads a
    shorter one with zeros in front. `reverse`: each review read backwards
    (reversed before padding, as the book does). Keras's validation_split
    holds out the last 20% of the training arrays.
    """
    imdb = load_imdb(num_words=num_words, data_dir=run.data_dir)
    if run.quick:
        imdb = imdb.head(*QUICK_IMDB_REVIEWS)
    train, test = imdb.train_data, imdb.test_data
    if reverse:
        train, test = [s[::-1] for s in train], [s[::-1] for s in test]
    x_train = keras.utils.pad_sequences(train, maxlen=maxlen)
    x_test = keras.utils.pad_sequences(test, maxlen=maxlen)
    print(f"{len(x_train)} train sequences, {len(x_test)} test sequences; input_train shape: {x_train.shape}")
    y_train, y_test = imdb.train_labels.astype("float32"), imdb.test_labels.astype("float32")
    split = int(len(x_train) * (1 - VALIDATION_SPLIT))
    return ImdbArrays(x_train[:split], y_train[:split], x_train[split:], y_train[split:], x_test, y_test,
                      note=quick_note(run, f"{len(x_train)} reviews"))


def train_classifier(run, name, training, model, train, validation, test=None, note=""):
    """Compile with the book's optimizer and loss, fit, print the validation accuracy beside the book's.

    With `test`, the checkpoint with the lowest validation loss is also
    evaluated on it. Returns the history.
    """
    print(f"\n--- {training.title} ---")
    model.compile(optimizer=training.optimizer(), loss=training.loss, metrics=list(training.metrics),
                  **compile_settings(run, training.workload, training.steps_per_epoch))
    history = run.fit(model, train, name=name, epochs=training.epochs, steps_per_epoch=training.steps_per_epoch,
                      validation_data=validation)
    epochs_note = f"{note}, {len(history['loss'])} epochs" if note else ""
    record_validation(run, name, training, history["val_accuracy"], "accuracy", max, epochs_note)
    if test is not None:
        best, epoch = best_weights(run, name, model, history)
        run.record(f"{name}.test_accuracy_best_checkpoint", float(best.evaluate(test, verbose=0)[1]),
                   book=training.book.get("test_accuracy"), note=epochs_note,
                   label=f"{name}: test accuracy (best checkpoint, epoch {epoch})")
    return history


def best_weights(run, name, model, history):
    """(model, epoch) with the weights of the epoch of lowest validation loss (best.keras).

    When that epoch is the last one, they are the weights `model` holds
    already: no need to load the file (and trace the model again).
    """
    epoch = json.loads((run.path(name) / "best.json").read_text())["epoch"]
    if epoch == len(history["loss"]):
        return model, epoch
    return best_checkpoint(run, name)


def record_validation(run, name, training, values, metric, best_of, note="", scale=None, unit=""):
    """Print and keep the best and the last validation value of a curve, with the book's beside them."""
    best = int(values.index(best_of(values)))
    run.record(f"{name}.best_validation_{metric}", float(values[best]),
               book=training.book.get(f"best_validation_{metric}"),
               note=", ".join(filter(None, [f"epoch {best + 1} of {len(values)}", note])),
               label=f"{name}: best validation {metric}")
    run.record(f"{name}.final_validation_{metric}", float(values[-1]),
               book=training.book.get(f"final_validation_{metric}"), note=note,
               label=f"{name}: validation {metric} at the last epoch")
    if scale is not None:
        run.record(f"{name}.best_validation_{metric}_{unit}", float(values[best] * scale),
                   book=training.book.get(f"best_validation_{metric}_{unit}"), note=note,
                   label=f"{name}: best validation {metric} in {unit}")
    return best


# ---------------------------------------------------------------------------
# The raw reviews (2nd edition, chapter 11)
# ---------------------------------------------------------------------------

TEXT_BATCH_SIZE = 32  # text_dataset_from_directory's batches


def raw_review_datasets(run):
    """(train, val, test) of (review text, label) batches of 32, as the 2nd edition reads them."""
    root = aclimdb.find_aclimdb(run.data_dir)
    train, val, test = aclimdb.text_datasets(root, batch_size=run.batch_size(TEXT_BATCH_SIZE), seed=run.seed)
    if run.quick:  # a few batches of the shuffled files (both classes); val and test the same ones every epoch
        train = train.take(QUICK_TEXT_BATCHES["train"])
        val, test = val.take(QUICK_TEXT_BATCHES["val"]).cache(), test.take(QUICK_TEXT_BATCHES["test"]).cache()
    return train, val, test


def int_sequence_datasets(run, max_tokens, max_length):
    """(train, val, test) of reviews as `max_length` word indices (TextVectorization learned on the training reviews).

    The indices are computed once and cached; each epoch then takes the cached
    batches in a new order.
    """
    train, val, test = raw_review_datasets(run)
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode="int",
                                                output_sequence_length=max_length)
    vectorizer.adapt(train.map(lambda x, y: x))

    def vectorized(dataset, shuffle=False):
        dataset = dataset.map(lambda x, y: (vectorizer(x), y), num_parallel_calls=4).cache()
        if shuffle:
            dataset = dataset.shuffle(1024, seed=run.seed, reshuffle_each_iteration=True)
        return without_autotuning(dataset.prefetch(2))

    return vectorized(train, shuffle=True), vectorized(val), vectorized(test)


# ---------------------------------------------------------------------------
# Jena climate (1st edition)
# ---------------------------------------------------------------------------

BOOK_ROWS = 420_551  # the 1st edition's file


@dataclass
class JenaData:
    """The normalised measurements and where the book's three parts of them begin and end."""
    float_data: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    train_end: int  # rows 0 - train_end for training
    val_end: int  # train_end + 1 - val_end for validation, val_end + 1 - the end for test
    temperature_column: int
    note: str


def load_jena_1st_edition(run, train_rows, val_rows):
    """The CSV as float_data, normalised with the mean and std of its first `train_rows` rows (the book's 200,000).

    A file shorter than the book's (a sample of it) keeps the book's
    proportions: its parts end at the same fractions of its rows, and the
    chapter says so.
    """
    climate = jena.load_jena(run.data_dir)
    rows, note = len(climate.float_data), ""
    if rows < BOOK_ROWS:
        train_rows, val_rows = int(rows * train_rows / BOOK_ROWS), int(rows * val_rows / BOOK_ROWS)
        note = f"a file of {rows:,} rows, fewer than the book's {BOOK_ROWS:,}: its parts end at rows {train_rows:,} " \
               f"and {val_rows:,}"
        print(f"Note: {note}")
    float_data, mean, std = jena.normalize(climate.float_data, train_rows)
    return JenaData(float_data, mean, std, train_rows, val_rows, climate.temperature_column, note)


def jena_generators(run, data, lookback, step, delay, batch_size, reverse=False):
    """(train, validation, validation steps): the book's generators over rows 0-200,000 and 200,001-300,000.

    `batch_size` is the book's (--batch-size overrides it).
    """
    batch_size = run.batch_size(batch_size)
    common = dict(lookback=lookback, delay=delay, step=step, batch_size=batch_size, reverse=reverse,
                  target_column=data.temperature_column)
    train = jena.generator(data.float_data, min_index=0, max_index=data.train_end, shuffle=True, seed=run.seed,
                           **common)
    validation = jena.generator(data.float_data, min_index=data.train_end + 1, max_index=data.val_end, **common)
    val_steps = jena.full_batches(data.train_end + 1, data.val_end, lookback, batch_size)
    if run.quick:
        val_steps = min(val_steps, QUICK_VALIDATION_STEPS)
        validation = validation.take(val_steps)
    return train, validation, val_steps


def evaluate_naive_method(validation, temperature_column=1):
    """The common-sense baseline: the temperature 24 hours from now is the last one in the sample."""
    errors = [np.abs(np.asarray(samples)[:, -1, temperature_column] - np.asarray(targets))
              for samples, targets in validation]
    return float(np.mean(np.concatenate(errors)))


def train_forecaster(run, name, training, model, train, validation, data):
    """Compile (RMSprop, mean absolute error), fit for the book's epochs of 500 batches; print the validation MAE."""
    print(f"\n--- {training.title} ---")
    model.compile(optimizer=training.optimizer(), loss=training.loss,
                  **compile_settings(run, training.workload, training.steps_per_epoch))
    history = run.fit(model, train, name=name, epochs=training.epochs, steps_per_epoch=training.steps_per_epoch,
                      validation_data=validation)
    note = quick_note(run, f"{len(history['loss'])} epochs of a few batches")
    record_validation(run, name, training, history["val_loss"], "mae", min, note,
                      scale=float(data.std[data.temperature_column]), unit="celsius")
    return history


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot_side_by_side(run, histories, titles, file_name, metrics=("accuracy", "loss")):
    """One column per model, one row per metric (training dots, validation line), shared y axes per row."""
    fig, axes = plt.subplots(len(metrics), len(histories), figsize=(5.5 * len(histories), 4 * len(metrics)),
                             squeeze=False, sharey="row")
    for column, (name, history) in enumerate(histories.items()):
        epochs = range(1, len(history["loss"]) + 1)
        for row, metric in enumerate(metrics):
            ax = axes[row][column]
            ax.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"{titles[name]}: {metric}", fontsize=10)
            ax.set_xlabel("Epochs")
            ax.legend()
    fig.tight_layout()
    path = save_figure(fig, run.path(file_name))
    print(f"Saved the curves side by side to {path}")
    return path


