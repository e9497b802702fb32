"""6.3 Advanced use of recurrent neural networks: forecasting the temperature in Jena 24 hours ahead.

1st edition: samples of the last 10 days (one reading an hour) predict the
temperature 24 hours later. A common-sense baseline (tomorrow is as warm as
now: MAE 0.29, 2.57 degC), then a dense model, a GRU, a GRU with dropout,
two stacked GRUs, a GRU reading the days backwards and a bidirectional GRU;
then, on IMDB, an LSTM reading reviews backwards and a bidirectional LSTM.
2nd edition (its chapter 10): 5 days of hourly readings, targets in degC, the
mean squared error as the loss: the baseline, a dense model, a 1D convnet, an
LSTM, an LSTM with recurrent dropout, stacked GRUs and a bidirectional LSTM.

The Jena CSV is not in every data folder: without it the section says where to
get it and runs what it can (the IMDB models of the 1st edition).
"""

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from chapters.ch6_text_and_sequences import (
    CHAPTER,
    best_weights,
    chosen,
    compile_settings,
    quick_note,
    record_validation,
)
from chapters.figures import save_figure
from datasets import DataNotFoundError, jena
from datasets.arrays import array_dataset
from datasets.imdb import load_padded_imdb
from models.text_networks import (
    IMDB_BIDIRECTIONAL_LSTM_BOOK_PARAMS,
    IMDB_REVERSED_LSTM_BOOK_PARAMS,
    imdb_bidirectional_lstm,
    imdb_reversed_lstm,
)
from models.timeseries_networks import (
    JENA_BIDIRECTIONAL_GRU_1ST_EDITION_BOOK_PARAMS,
    JENA_BIDIRECTIONAL_LSTM_2ND_EDITION_BOOK_PARAMS,
    JENA_CONVNET_2ND_EDITION_BOOK_PARAMS,
    JENA_DENSE_1ST_EDITION_BOOK_PARAMS,
    JENA_DENSE_2ND_EDITION_BOOK_PARAMS,
    JENA_GRU_1ST_EDITION_BOOK_PARAMS,
    JENA_LSTM_2ND_EDITION_BOOK_PARAMS,
    JENA_LSTM_DROPOUT_2ND_EDITION_BOOK_PARAMS,
    JENA_STACKED_GRU_1ST_EDITION_BOOK_PARAMS,
    JENA_STACKED_GRU_2ND_EDITION_BOOK_PARAMS,
    jena_bidirectional_gru_1st_edition,
    jena_bidirectional_lstm_2nd_edition,
    jena_convnet_2nd_edition,
    jena_dense_1st_edition,
    jena_dense_2nd_edition,
    jena_gru_1st_edition,
    jena_lstm_2nd_edition,
    jena_lstm_dropout_2nd_edition,
    jena_stacked_gru_1st_edition,
    jena_stacked_gru_2nd_edition,
)

# The book's recipes. 1st edition: 10 days back (1440 readings of 10 minutes), one reading an hour (step 6), the
# temperature 24 hours after the last reading (delay 144); rows 0-200,000 train, 200,001-300,000 validate; batches
# of 128, 500 per epoch (fit_generator(steps_per_epoch=500): 64,000 random samples); RMSprop, mean absolute error.
# (The book's text says lookback = 720, 5 days; its code, and the printed parameter counts, use 1440.)
# IMDB: the 10,000 most frequent words, reviews cut to 500 words, rmsprop, 10 epochs of 128.
JENA = dict(lookback=1440, step=6, delay=144, batch_size=128, train_rows=200_000, validation_rows=300_000,
            steps_per_epoch=500)
IMDB = dict(max_features=10_000, maxlen=500, epochs=10, batch_size=128)
# 2nd edition (chapter 10): 5 days back (120 hourly readings), the temperature 24 hours after the last one; half
# the rows train, a quarter validate, the rest test; batches of 256; rmsprop, mean squared error.
JENA_2ND_EDITION = dict(sampling_rate=6, sequence_length=120, delay=6 * (120 + 24 - 1), batch_size=256)
EPOCHS = {1: {"dense": 20, "gru": 20, "gru_dropout": 40, "stacked_gru": 40, "reversed_gru": 20,
              "bidirectional_gru": 40, "reversed_lstm": 10, "bidirectional_lstm": 10},
          2: {"dense": 10, "convnet": 10, "lstm": 10, "lstm_dropout": 50, "stacked_gru": 50, "bidirectional_lstm": 10}}
WORKLOADS = {"dense": "dense", "convnet": "conv"}  # the others: "recurrent" (chapters.performance)
READ_BACKWARDS = {"reversed_gru", "reversed_lstm"}

# GRU parameters: the 1st edition's Keras (one bias per gate, reset_after=False) or Keras 3's default;
# the 2nd edition's Keras already used reset_after=True.
GRU_RESET_AFTER = {1: {"book": False, "keras3": True}, 2: {"book": True, "keras3": True}}
CHAPTER.option("--gru-reset-after", choices=["book", "keras3"], default="book", defines_model=True,
               help="6.3, 6.4: GRU layers as the edition's book computes them (default; the 1st edition's counts "
                    "need reset_after=False) or Keras 3's default reset_after=True (more parameters; cuDNN on a GPU)")


def jena_models_1st_edition(gru):
    """name -> (what it is, its builder, the book's count per layer); `gru` "book" or "keras3": the GRU layers."""
    reset_after = GRU_RESET_AFTER[1][gru]
    return {
        "dense": ("Flatten -> Dense(32, relu) -> Dense(1)",
                  lambda: jena_dense_1st_edition(JENA["lookback"] // JENA["step"]), JENA_DENSE_1ST_EDITION_BOOK_PARAMS),
        "gru": ("GRU(32) -> Dense(1)", lambda: jena_gru_1st_edition(reset_after),
                JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
        "gru_dropout": ("GRU(32, dropout 0.2, recurrent dropout 0.2) -> Dense(1)",
                        lambda: jena_gru_1st_edition(reset_after, dropout=0.2, recurrent_dropout=0.2,
                                                     name="jena_gru_dropout"), JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
        "stacked_gru": ("GRU(32) -> GRU(64, relu), dropout 0.1, recurrent dropout 0.5 -> Dense(1)",
                        lambda: jena_stacked_gru_1st_edition(reset_after),
                        JENA_STACKED_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
        "reversed_gru": ("GRU(32) -> Dense(1), each sample read backwards in time",
                         lambda: jena_gru_1st_edition(reset_after, name="jena_reversed_gru"),
                         JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
        "bidirectional_gru": ("Bidirectional(GRU(32)) -> Dense(1)",
                              lambda: jena_bidirectional_gru_1st_edition(reset_after),
                              JENA_BIDIRECTIONAL_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
    }


IMDB_MODELS = {
    "reversed_lstm": ("Embedding(10000, 128) -> LSTM(32), each review read backwards", imdb_reversed_lstm,
                      IMDB_REVERSED_LSTM_BOOK_PARAMS),
    "bidirectional_lstm": ("Embedding(10000, 32) -> Bidirectional(LSTM(32))", imdb_bidirectional_lstm,
                           IMDB_BIDIRECTIONAL_LSTM_BOOK_PARAMS),
}


def jena_models_2nd_edition(gru):
    """name -> (what it is, its builder, the book's count per layer)."""
    return {
        "dense": ("Flatten -> Dense(16, relu) -> Dense(1)", jena_dense_2nd_edition, JENA_DENSE_2ND_EDITION_BOOK_PARAMS),
        "convnet": ("Conv1D(8, 24) ... GlobalAveragePooling1D -> Dense(1)", jena_convnet_2nd_edition,
                    JENA_CONVNET_2ND_EDITION_BOOK_PARAMS),
        "lstm": ("LSTM(16) -> Dense(1)", jena_lstm_2nd_edition, JENA_LSTM_2ND_EDITION_BOOK_PARAMS),
        "lstm_dropout": ("LSTM(32, recurrent dropout 0.25) -> Dropout(0.5) -> Dense(1)", jena_lstm_dropout_2nd_edition,
                         JENA_LSTM_DROPOUT_2ND_EDITION_BOOK_PARAMS),
        "stacked_gru": ("GRU(32) -> GRU(32), recurrent dropout 0.5 -> Dropout(0.5) -> Dense(1)",
                        lambda: jena_stacked_gru_2nd_edition(reset_after=GRU_RESET_AFTER[2][gru]),
                        JENA_STACKED_GRU_2ND_EDITION_BOOK_PARAMS[gru]),
        "bidirectional_lstm": ("Bidirectional(LSTM(16)) -> Dense(1)", jena_bidirectional_lstm_2nd_edition,
                               JENA_BIDIRECTIONAL_LSTM_2ND_EDITION_BOOK_PARAMS),
    }


MODELS = {1: (*jena_models_1st_edition("book"), *IMDB_MODELS), 2: tuple(jena_models_2nd_edition("book"))}

# The book's numbers beside ours.
BOOK_BASELINE = {"mae": 0.29, "celsius": 2.57}
BOOK_SAMPLES_SHAPE, BOOK_VALIDATION_STEPS = [128, 240, 14], 769  # (300000 - 200001 - 1440) // 128
BOOK_SPLIT_2ND_EDITION = (210_225, 105_112, 105_114)  # printed by the book (a file of 420,451 rows)
BOOK_BASELINE_2ND_EDITION = {"validation_mae": 2.44, "test_mae": 2.62}
BOOK_SAMPLES_SHAPE_2ND_EDITION = [256, 120, 14]
BOOK = {1: {
    "dense": {"best_validation_mae": "0.2994 (epoch 2)", "final_validation_mae": 0.3545},
    "gru": {"best_validation_mae": "0.2644 (epoch 6); ~0.265", "final_validation_mae": 0.3034,
            "best_validation_mae_celsius": 2.35},
    "gru_dropout": {"best_validation_mae": "0.2619 (epoch 33)", "final_validation_mae": 0.2719},
    "stacked_gru": {"best_validation_mae": "0.2633 (epoch 16)", "final_validation_mae": 0.2782},
    "reversed_gru": {"best_validation_mae": "0.3990 (epoch 11); worse than the baseline",
                     "final_validation_mae": 0.4261},
    "bidirectional_gru": {"best_validation_mae": "0.2615 (epoch 4)", "final_validation_mae": 0.3289},
    "reversed_lstm": {"best_validation_accuracy": "0.8770 (epoch 3); as good as forwards",
                      "final_validation_accuracy": 0.8566},
    "bidirectional_lstm": {"best_validation_accuracy": "0.8856 (epoch 4); above 0.88",
                           "final_validation_accuracy": 0.8792},
}, 2: {
    "dense": {"test_mae": "not reliably below the baseline (2.62)"},
    "convnet": {"best_validation_mae": "~2.9"},
    "lstm": {"best_validation_mae": 2.36, "test_mae": 2.55},
    "lstm_dropout": {"best_validation_mae": 2.27, "test_mae": 2.45},
    "stacked_gru": {"test_mae": 2.39},
    "bidirectional_lstm": {"best_validation_mae": "not as good as the plain LSTM (2.36)"},
}}
# The models the book reloads from their best checkpoint and evaluates on the test set (its notebook skips
# lstm_dropout's evaluation, its text gives the number); the bidirectional LSTM's test MAE is ours.
BOOK_TESTS_2ND_EDITION = {"dense", "convnet", "lstm", "lstm_dropout", "stacked_gru"}


@CHAPTER.section("6.3", "Advanced use of recurrent neural networks",
                 "Jena temperature forecasting: baseline MAE 0.29 (2.57 degC), dense, GRU, dropout, stacked, "
                 "reversed, bidirectional; IMDB reversed and bidirectional LSTM (336,705; ~0.88); 2nd ed.: chapter 10",
                 distributable=True)
def advanced_recurrent(run):
    {1: advanced_recurrent_1st_edition, 2: timeseries_2nd_edition}[run.edition](run)


def advanced_recurrent_1st_edition(run):
    names, gru = chosen(run, MODELS[1]), run.options.gru_reset_after
    jena_models = {name: model for name, model in jena_models_1st_edition(gru).items() if name in names}

    # 6.3.1-6.3.2 The data: the CSV normalised with the first 200,000 rows' mean and std; samples of 240 hourly
    # readings, random ones to train on (500 batches an epoch), the next 100,000 rows in order to validate on.
    data = missing = None
    if jena_models and not run.summary_only:
        try:
            data = jena.load_jena_1st_edition(run.data_dir, JENA["train_rows"], JENA["validation_rows"])
        except DataNotFoundError as e:
            missing = e
            print(f"The Jena models are not trained: {e}")
            run.record("jena.missing", str(e), label="Jena models not trained")
    if data is not None:
        train, validation, val_steps = jena_generators(run, data)
        run.record("jena.samples_shape", list(next(iter(train))[0].shape), book=BOOK_SAMPLES_SHAPE,
                   label="a batch of samples (batch, timesteps, features)")
        run.record("jena.validation_steps", val_steps, book=BOOK_VALIDATION_STEPS,
                   note=quick_note(run, "a few batches"), label="validation batches (val_steps)")
        # 6.3.3 A common-sense baseline: the temperature 24 hours from now is the one now.
        baseline = jena.evaluate_naive_method(validation, data.temperature_column)
        run.record("common_sense_baseline_mae", baseline, book=BOOK_BASELINE["mae"], note=data.note,
                   label="common-sense baseline: validation MAE (normalised)")
        run.record("common_sense_baseline_mae_celsius", baseline * float(data.std[data.temperature_column]),
                   book=BOOK_BASELINE["celsius"], label="common-sense baseline: validation MAE in degC")

    # 6.3.4-6.3.8 The models: dense, GRU, GRU with dropout, stacked GRUs, a GRU reading backwards, a bidirectional
    # GRU, each checked against the book (GRU counts as chosen by --gru-reset-after).
    histories = {}
    for name, (title, build, book_params) in jena_models.items():
        run.clear_session()
        model = build()
        run.check_against_book(model, book_params, f"DLwP 1e 6.3, GRU {gru}, {title}")
        if data is None:
            continue
        train, validation, _ = jena_generators(run, data, reverse=name in READ_BACKWARDS)
        model.compile(optimizer="rmsprop", loss="mae",
                      **compile_settings(run, WORKLOADS.get(name, "recurrent"), JENA["steps_per_epoch"]))
        history = histories[name] = run.fit(model, train, name=name, epochs=EPOCHS[1][name],
                                            steps_per_epoch=JENA["steps_per_epoch"], validation_data=validation)
        record_validation(run, name, history["val_loss"], "mae", min, BOOK[1][name],
                          quick_note(run, f"{len(history['loss'])} epochs of a few batches"),
                          scale=float(data.std[data.temperature_column]), unit="celsius")
    if histories:
        plot_validation_mae(run, {name: h["val_loss"] for name, h in histories.items()}, baseline,
                            "Validation MAE (normalised temperature)")

    # 6.3.8 On IMDB: do words read backwards carry the same meaning? And both directions at once.
    imdb_names = [name for name in names if name in IMDB_MODELS]
    imdb = imdb_read_backwards(run) if imdb_names and not run.summary_only else None
    for name in imdb_names:
        title, build, book_params = IMDB_MODELS[name]
        run.clear_session()
        model = build(IMDB["max_features"])
        run.check_against_book(model, book_params, f"DLwP 1e 6.3, GRU {gru}, {title}")
        if imdb is None:
            continue
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **compile_settings(run, "recurrent"))
        train = array_dataset(imdb.x_train, imdb.y_train, run.batch_size(IMDB["batch_size"]), shuffle=True,
                              seed=run.seed)
        history = run.fit(model, train, name=name, epochs=EPOCHS[1][name],
                          validation_data=array_dataset(imdb.x_val, imdb.y_val, 512))
        note = f"{imdb.note}, {len(history['loss'])} epochs" if imdb.note else ""
        record_validation(run, name, history["val_accuracy"], "accuracy", max, BOOK[1][name], note)
        model, epoch = best_weights(run, name, model, history)
        run.record(f"{name}.test_accuracy_best_checkpoint",
                   float(model.evaluate(array_dataset(imdb.x_test, imdb.y_test, 512), verbose=0)[1]), note=note,
                   label=f"{name}: test accuracy (best checkpoint, epoch {epoch})")
    if missing is not None and not imdb_names:
        raise missing  # nothing could run


def jena_generators(run, data, reverse=False):
    """6.3.2's generators of samples of the last 10 days, one reading an hour (--batch-size overrides 128)."""
    return jena.generators_1st_edition(data, JENA["lookback"], JENA["step"], JENA["delay"],
                                       run.batch_size(JENA["batch_size"]), seed=run.seed, reverse=reverse,
                                       quick=run.quick)


def imdb_read_backwards(run):
    """The book reverses x_train and x_test before pad_sequences(maxlen=500) for its reversed LSTM, and its
    bidirectional LSTM then trains on those same arrays: both see each review's first 500 words, read backwards
    (not its last 500)."""
    return load_padded_imdb(IMDB["maxlen"], IMDB["max_features"], run.data_dir, reverse=True, quick=run.quick)


def timeseries_2nd_edition(run):
    names, gru, recipe = chosen(run, MODELS[2]), run.options.gru_reset_after, JENA_2ND_EDITION
    jena_models = jena_models_2nd_edition(gru)

    # 10.2.1 The data: every column normalised with the training half's mean and std; the targets stay in degC.
    climate = missing = None
    if not run.summary_only:
        try:
            climate = jena.load_jena(run.data_dir)
        except DataNotFoundError as e:
            missing = e  # the models are still checked; then the one line saying where to get the file
    if climate is not None:
        sizes = jena.split_sizes(len(climate.float_data))
        run.record("split_sizes", [sizes.train, sizes.val, sizes.test], book=list(BOOK_SPLIT_2ND_EDITION),
                   label="training, validation and test rows")
        column = climate.temperature_column
        data, mean, std = jena.normalize(climate.float_data, sizes.train)
        train, val, test = jena.datasets_2nd_edition(
            data, climate.float_data[:, column], sizes, recipe["sampling_rate"], recipe["sequence_length"],
            recipe["delay"], run.batch_size(recipe["batch_size"]), seed=run.seed)
        if run.quick:
            train, val, test = train.take(4), val.take(2), test.take(2)
        samples, targets = next(iter(train))
        run.record("samples_shape", list(samples.shape), book=BOOK_SAMPLES_SHAPE_2ND_EDITION,
                   label="a batch of samples (batch, timesteps, features)")

        # 10.2.2 The common-sense baseline: the last temperature of the sample, back in degC.
        baseline = {}
        for part, dataset in (("validation", val), ("test", test)):
            errors = [np.abs(np.asarray(s)[:, -1, column] * std[column] + mean[column] - np.asarray(t))
                      for s, t in dataset]
            baseline[part] = float(np.mean(np.concatenate(errors)))
            run.record(f"common_sense_baseline.{part}_mae", baseline[part],
                       book=BOOK_BASELINE_2ND_EDITION[f"{part}_mae"], label=f"common-sense baseline: {part} MAE (degC)")

    # 10.2.3-10.4 The models: dense, a 1D convnet, an LSTM, with recurrent dropout, stacked GRUs, a bidirectional
    # LSTM; each evaluated at its best checkpoint.
    histories = {}
    for name in names:
        title, build, book_params = jena_models[name]
        run.clear_session()
        model = build()
        run.check_against_book(model, book_params, f"DLwP 2e 10, {title}")
        if climate is None:
            continue
        model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"],
                      **compile_settings(run, WORKLOADS.get(name, "recurrent")))
        history = histories[name] = run.fit(model, train, name=name, epochs=EPOCHS[2][name], validation_data=val)
        note = quick_note(run, f"a few batches, {len(history['loss'])} epochs")
        record_validation(run, name, history["val_mae"], "mae", min, BOOK[2][name], note)
        model, epoch = best_weights(run, name, model, history)
        ours = None if name in BOOK_TESTS_2ND_EDITION else "ours: the book neither checkpoints nor tests this model"
        run.record(f"{name}.test_mae", float(model.evaluate(test, verbose=0)[1]), book=BOOK[2][name].get("test_mae"),
                   note=", ".join(filter(None, [note, ours])),
                   label=f"{name}: test MAE in degC (best checkpoint, epoch {epoch})")
    if histories:
        plot_validation_mae(run, {name: h["val_mae"] for name, h in histories.items()},
                            baseline["validation"], "Validation MAE (degC)")
    if missing is not None:
        raise missing


def plot_validation_mae(run, curves, baseline, ylabel):
    """Every model's validation MAE by epoch, and the common-sense baseline as a line to beat."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    ax.axhline(baseline, color="k", linestyle="--", label="common-sense baseline")
    ax.set_xlabel("Epochs")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title("Jena temperature 24 hours ahead: validation MAE")
    ax.legend()
    print(f"Saved {save_figure(fig, run.path('validation_mae.png'))}")

