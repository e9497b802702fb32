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

from chapters.ch6_text_and_sequences import CHAPTER
from chapters.ch6_text_and_sequences.recipes import (
    Training,
    best_weights,
    check_models,
    chosen,
    compile_settings,
    evaluate_naive_method,
    imdb_arrays,
    jena_generators,
    load_jena_1st_edition,
    quick_note,
    record_validation,
    train_classifier,
    train_forecaster,
)
from chapters.figures import save_figure
from datasets import DataNotFoundError, jena
from datasets.arrays import array_dataset
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

# 1st edition: 10 days back (1440 readings of 10 minutes), one reading an hour (step 6), the temperature
# 24 hours after the last reading (delay 144); rows 0-200,000 train, 200,001-300,000 validate.
# (The book's text says lookback = 720, 5 days; its code, and the printed parameter counts, use 1440.)
LOOKBACK, STEP, DELAY, BATCH_SIZE = 1440, 6, 144, 128
TRAIN_ROWS, VALIDATION_ROWS = 200_000, 300_000
STEPS_PER_EPOCH = 500  # fit_generator(steps_per_epoch=500): 64,000 random samples per epoch
BOOK_BASELINE = {"mae": 0.29, "celsius": 2.57}
BOOK_SAMPLES_SHAPE, BOOK_VALIDATION_STEPS = [128, 240, 14], 769  # (300000 - 200001 - 1440) // 128

# GRU parameters: the 1st edition's Keras (one bias per gate, reset_after=False) or Keras 3's default;
# the 2nd edition's Keras already used reset_after=True.
GRU_RESET_AFTER = {1: {"book": False, "keras3": True}, 2: {"book": True, "keras3": True}}
CHAPTER.option("--gru-reset-after", choices=["book", "keras3"], default="book", defines_model=True,
               help="6.3, 6.4: GRU layers as the edition's book computes them (default; the 1st edition's counts "
                    "need reset_after=False) or Keras 3's default reset_after=True (more parameters; cuDNN on a GPU)")


def jena_trainings_1st_edition(gru):
    """The 1st edition's Jena models; `gru` "book" or "keras3" chooses the GRU parameterisation."""
    reset_after = GRU_RESET_AFTER[1][gru]
    timesteps = LOOKBACK // STEP
    forecast = dict(loss="mae", steps_per_epoch=STEPS_PER_EPOCH, metrics=())
    return {
        "dense": Training(
            "Flatten -> Dense(32, relu) -> Dense(1)", lambda: jena_dense_1st_edition(timesteps),
            JENA_DENSE_1ST_EDITION_BOOK_PARAMS, epochs=20, workload="dense", **forecast,
            book={"best_validation_mae": "0.2994 (epoch 2)", "final_validation_mae": 0.3545}),
        "gru": Training(
            "GRU(32) -> Dense(1)", lambda: jena_gru_1st_edition(reset_after),
            JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru], epochs=20, **forecast,
            book={"best_validation_mae": "0.2644 (epoch 6); ~0.265", "final_validation_mae": 0.3034,
                  "best_validation_mae_celsius": 2.35}),
        "gru_dropout": Training(
            "GRU(32, dropout 0.2, recurrent dropout 0.2) -> Dense(1)",
            lambda: jena_gru_1st_edition(reset_after, dropout=0.2, recurrent_dropout=0.2, name="jena_gru_dropout"),
            JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru], epochs=40, **forecast,
            book={"best_validation_mae": "0.2619 (epoch 33)", "final_validation_mae": 0.2719}),
        "stacked_gru": Training(
            "GRU(32) -> GRU(64, relu), dropout 0.1, recurrent dropout 0.5 -> Dense(1)",
            lambda: jena_stacked_gru_1st_edition(reset_after),
            JENA_STACKED_GRU_1ST_EDITION_BOOK_PARAMS[gru], epochs=40, **forecast,
            book={"best_validation_mae": "0.2633 (epoch 16)", "final_validation_mae": 0.2782}),
        "reversed_gru": Training(
            "GRU(32) -> Dense(1), each sample read backwards in time",
            lambda: jena_gru_1st_edition(reset_after, name="jena_reversed_gru"),
            JENA_GRU_1ST_EDITION_BOOK_PARAMS[gru], epochs=20, **forecast,
            book={"best_validation_mae": "0.3990 (epoch 11); worse than the baseline", "final_validation_mae": 0.4261}),
        "bidirectional_gru": Training(
            "Bidirectional(GRU(32)) -> Dense(1)", lambda: jena_bidirectional_gru_1st_edition(reset_after),
            JENA_BIDIRECTIONAL_GRU_1ST_EDITION_BOOK_PARAMS[gru], epochs=40, **forecast,
            book={"best_validation_mae": "0.2615 (epoch 4)", "final_validation_mae": 0.3289}),
    }


# 1st edition, IMDB: the 10,000 most frequent words, reviews cut to 500 words, batches of 128, 10 epochs.
MAX_FEATURES, MAXLEN = 10_000, 500
IMDB_TRAININGS = {
    "reversed_lstm": Training(
        "Embedding(10000, 128) -> LSTM(32), each review read backwards", imdb_reversed_lstm,
        IMDB_REVERSED_LSTM_BOOK_PARAMS, epochs=10, batch_size=128,
        book={"best_validation_accuracy": "0.8770 (epoch 3); as good as forwards",
              "final_validation_accuracy": 0.8566}),
    "bidirectional_lstm": Training(
        "Embedding(10000, 32) -> Bidirectional(LSTM(32))", imdb_bidirectional_lstm,
        IMDB_BIDIRECTIONAL_LSTM_BOOK_PARAMS, epochs=10, batch_size=128,
        book={"best_validation_accuracy": "0.8856 (epoch 4); above 0.88", "final_validation_accuracy": 0.8792}),
}
READ_BACKWARDS = {"reversed_gru", "reversed_lstm"}
# The book reverses x_train and x_test before pad_sequences(maxlen=500) for its reversed LSTM, and its bidirectional
# LSTM then trains on those same arrays: both see each review's first 500 words (read backwards), not its last 500.
IMDB_REVERSED_BEFORE_PADDING = {"reversed_lstm", "bidirectional_lstm"}

# 2nd edition (chapter 10): 5 days back (120 hourly readings), the temperature 24 hours after the last one;
# half the rows train, a quarter validate, the rest test; batches of 256.
SAMPLING_RATE, SEQUENCE_LENGTH, BATCH_SIZE_2ND_EDITION = 6, 120, 256
DELAY_2ND_EDITION = SAMPLING_RATE * (SEQUENCE_LENGTH + 24 - 1)
BOOK_SPLIT_2ND_EDITION = (210_225, 105_112, 105_114)  # printed by the book (a file of 420,451 rows)
BOOK_BASELINE_2ND_EDITION = {"validation_mae": 2.44, "test_mae": 2.62}
BOOK_SAMPLES_SHAPE_2ND_EDITION = [256, 120, 14]
# The models the book reloads from their best checkpoint and evaluates on the test set (its notebook skips
# lstm_dropout's evaluation, its text gives the number); the bidirectional LSTM's test MAE is ours.
BOOK_TESTS_2ND_EDITION = {"dense", "convnet", "lstm", "lstm_dropout", "stacked_gru"}


def jena_trainings_2nd_edition(gru):
    forecast = dict(loss="mse", metrics=("mae",))
    return {
        "dense": Training("Flatten -> Dense(16, relu) -> Dense(1)", jena_dense_2nd_edition,
                          JENA_DENSE_2ND_EDITION_BOOK_PARAMS, epochs=10, workload="dense", **forecast,
                          book={"test_mae": "not reliably below the baseline (2.62)"}),
        "convnet": Training("Conv1D(8, 24) ... GlobalAveragePooling1D -> Dense(1)", jena_convnet_2nd_edition,
                            JENA_CONVNET_2ND_EDITION_BOOK_PARAMS, epochs=10, workload="conv", **forecast,
                            book={"best_validation_mae": "~2.9"}),
        "lstm": Training("LSTM(16) -> Dense(1)", jena_lstm_2nd_edition, JENA_LSTM_2ND_EDITION_BOOK_PARAMS,
                         epochs=10, **forecast, book={"best_validation_mae": 2.36, "test_mae": 2.55}),
        "lstm_dropout": Training("LSTM(32, recurrent dropout 0.25) -> Dropout(0.5) -> Dense(1)",
                                 jena_lstm_dropout_2nd_edition, JENA_LSTM_DROPOUT_2ND_EDITION_BOOK_PARAMS,
                                 epochs=50, **forecast, book={"best_validation_mae": 2.27, "test_mae": 2.45}),
        "stacked_gru": Training("GRU(32) -> GRU(32), recurrent dropout 0.5 -> Dropout(0.5) -> Dense(1)",
                                lambda: jena_stacked_gru_2nd_edition(reset_after=GRU_RESET_AFTER[2][gru]),
                                JENA_STACKED_GRU_2ND_EDITION_BOOK_PARAMS[gru], epochs=50, **forecast,
                                book={"test_mae": 2.39}),
        "bidirectional_lstm": Training("Bidirectional(LSTM(16)) -> Dense(1)", jena_bidirectional_lstm_2nd_edition,
                                       JENA_BIDIRECTIONAL_LSTM_2ND_EDITION_BOOK_PARAMS, epochs=10, **forecast,
                                       book={"best_validation_mae": "not as good as the plain LSTM (2.36)"}),
    }


@CHAPTER.section("6.3", "Advanced use of recurrent neural networks",
                 "Jena temperature forecasting: baseline MAE 0.29 (2.57 degC), dense, GRU, dropout, stacked, "
                 "reversed, bidirectional; IMDB reversed and bidirectional LSTM (336,705; ~0.88); 2nd ed.: chapter 10",
                 distributable=True)
def advanced_recurrent(run):
    {1: advanced_recurrent_1st_edition, 2: timeseries_2nd_edition}[run.edition](run)


def advanced_recurrent_1st_edition(run):
    jena_table = jena_trainings_1st_edition(run.options.gru_reset_after)
    names = chosen(run, jena_table, IMDB_TRAININGS)
    jena_trainings = {name: jena_table[name] for name in names if name in jena_table}
    imdb_trainings = {name: IMDB_TRAININGS[name] for name in names if name in IMDB_TRAININGS}

    # The models, checked against the book (GRU counts as chosen by --gru-reset-after).
    models = check_models(run, {**jena_trainings, **imdb_trainings}, f"1e 6.3, GRU {run.options.gru_reset_after}")
    if run.summary_only:
        return

    # Jena: the baseline, then each model on the book's generators (random training batches, 500 per epoch).
    missing = None
    if jena_trainings:
        try:
            data = load_jena_1st_edition(run, TRAIN_ROWS, VALIDATION_ROWS)
        except DataNotFoundError as e:
            missing = e
            print(f"The Jena models are not trained: {e}")
            run.record("jena.missing", str(e), label="Jena models not trained")
    if jena_trainings and missing is None:
        train, validation, val_steps = jena_generators(run, data, LOOKBACK, STEP, DELAY, BATCH_SIZE)
        run.record("jena.samples_shape", list(next(iter(train))[0].shape), book=BOOK_SAMPLES_SHAPE,
                   label="a batch of samples (batch, timesteps, features)")
        run.record("jena.validation_steps", val_steps, book=BOOK_VALIDATION_STEPS,
                   note=quick_note(run, "a few batches"), label="validation batches (val_steps)")
        baseline = evaluate_naive_method(validation, data.temperature_column)
        run.record("common_sense_baseline_mae", baseline, book=BOOK_BASELINE["mae"], note=data.note,
                   label="common-sense baseline: validation MAE (normalised)")
        run.record("common_sense_baseline_mae_celsius", baseline * float(data.std[data.temperature_column]),
                   book=BOOK_BASELINE["celsius"], label="common-sense baseline: validation MAE in degC")
        histories = {}
        for name, training in jena_trainings.items():
            train, validation, _ = jena_generators(run, data, LOOKBACK, STEP, DELAY, BATCH_SIZE,
                                                   reverse=name in READ_BACKWARDS)
            histories[name] = train_forecaster(run, name, training, models[name], train, validation, data)
        plot_validation_mae(run, {name: h["val_loss"] for name, h in histories.items()}, baseline,
                            "Validation MAE (normalised temperature)")

    # IMDB: do words read backwards carry the same meaning? And both directions at once.
    for name, training in imdb_trainings.items():
        imdb = imdb_arrays_of(run, name)
        train_classifier(run, name, training, models[name],
                         array_dataset(imdb.x_train, imdb.y_train, run.batch_size(training.batch_size),
                                       shuffle=True, seed=run.seed),
                         array_dataset(imdb.x_val, imdb.y_val, 512), test=array_dataset(imdb.x_test, imdb.y_test, 512),
                         note=imdb.note)
    if missing is not None and not imdb_trainings:
        raise missing  # nothing could run


def imdb_arrays_of(run, name):
    """The IMDB arrays the book gives model `name`: reversed before padding for both of its IMDB models."""
    return imdb_arrays(run, MAXLEN, MAX_FEATURES, reverse=name in IMDB_REVERSED_BEFORE_PADDING)


def timeseries_2nd_edition(run):
    table = jena_trainings_2nd_edition(run.options.gru_reset_after)
    trainings = {name: table[name] for name in chosen(run, table)}
    models = check_models(run, trainings, "2e 10")
    if run.summary_only:
        return

    # The data: every column normalised with the training half's mean and std; the targets stay in degC.
    climate = jena.load_jena(run.data_dir)
    sizes = jena.split_sizes(len(climate.float_data))
    run.record("split_sizes", [sizes.train, sizes.val, sizes.test], book=list(BOOK_SPLIT_2ND_EDITION),
               label="training, validation and test rows")
    column = climate.temperature_column
    data, mean, std = jena.normalize(climate.float_data, sizes.train)
    batch_size = run.batch_size(BATCH_SIZE_2ND_EDITION)
    train, val, test = jena.datasets_2nd_edition(data, climate.float_data[:, column], sizes, SAMPLING_RATE,
                                                 SEQUENCE_LENGTH, DELAY_2ND_EDITION, batch_size, seed=run.seed)
    if run.quick:
        train, val, test = train.take(4), val.take(2), test.take(2)
    samples, targets = next(iter(train))
    run.record("samples_shape", list(samples.shape), book=BOOK_SAMPLES_SHAPE_2ND_EDITION,
               label="a batch of samples (batch, timesteps, features)")

    # The baseline: the last temperature of the sample, back in degC.
    baseline = {}
    for part, dataset in (("validation", val), ("test", test)):
        errors = [np.abs(np.asarray(s)[:, -1, column] * std[column] + mean[column] - np.asarray(t))
                  for s, t in dataset]
        baseline[part] = float(np.mean(np.concatenate(errors)))
        run.record(f"common_sense_baseline.{part}_mae", baseline[part],
                   book=BOOK_BASELINE_2ND_EDITION[f"{part}_mae"], label=f"common-sense baseline: {part} MAE (degC)")

    histories = {}
    for name, training in trainings.items():
        print(f"\n--- {training.title} ---")
        model = models[name]
        model.compile(optimizer=training.optimizer(), loss=training.loss, metrics=list(training.metrics),
                      **compile_settings(run, training.workload))
        history = histories[name] = run.fit(model, train, name=name, epochs=training.epochs, validation_data=val)
        note = quick_note(run, f"a few batches, {len(history['loss'])} epochs")
        record_validation(run, name, training, history["val_mae"], "mae", min, note)
        best, epoch = best_weights(run, name, model, history)
        ours = None if name in BOOK_TESTS_2ND_EDITION else "ours: the book neither checkpoints nor tests this model"
        run.record(f"{name}.test_mae", float(best.evaluate(test, verbose=0)[1]), book=training.book.get("test_mae"),
                   note=", ".join(filter(None, [note, ours])),
                   label=f"{name}: test MAE in degC (best checkpoint, epoch {epoch})")
    if histories:
        plot_validation_mae(run, {name: h["val_mae"] for name, h in histories.items()},
                            baseline["validation"], "Validation MAE (degC)")


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

