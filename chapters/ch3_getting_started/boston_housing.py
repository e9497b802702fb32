"""3.7 Predicting house prices: a regression example (Boston housing), with K-fold validation."""

import json
import math
import time
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch3_getting_started import CHAPTER
from chapters.cli import positive_int
from chapters.errors import UsageError
from chapters.figures import save_figure
from chapters.runs import stop_cleanly
from chapters.storage import save_json
from datasets.boston_housing import load_boston_housing
from models.dense_networks import BOSTON_BOOK_PARAMS, boston_network

REPORT_EPOCH = 100  # the book's first K-fold run is 100 epochs long: the per-fold MAE is read there
QUICK_TRAINING_SAMPLES = 100  # --quick


@dataclass(frozen=True)
class Recipe:
    """Where the editions differ: the K-fold batch size and the final model's epochs."""
    kfold_batch_size: int
    final_epochs: int
    book_test_mae: float
    kfold_epochs: int = 500
    final_batch_size: int = 16


RECIPES = {
    1: Recipe(kfold_batch_size=1, final_epochs=80, book_test_mae=2.55),
    2: Recipe(kfold_batch_size=16, final_epochs=130, book_test_mae=2.46),
}

CHAPTER.option("--folds", type=positive_int, default=4, defines_model=True,
               help="3.7: K for K-fold validation (default 4)")
CHAPTER.option("--kfold-epochs", type=positive_int, defines_model=True,
               help="3.7: epochs per fold (default the book's 500; the per-fold MAE is read at epoch 100)")
CHAPTER.option("--final-runs", type=positive_int, default=5,
               help="3.7: final models trained with seeds seed, seed+1, ...; the test MAE is their mean "
                    "(default 5; 1 = the book's single run)")
CHAPTER.option("--boston-loop", choices=["graph", "keras"], default="graph", defines_model=True,
               help="3.7: train each epoch in one compiled graph call (default, several times faster with small "
                    "batches) or with the book's model.fit")


@CHAPTER.section("3.7", "Predicting house prices (Boston housing)",
                 "normalised features, Dense(64) x 2 -> Dense(1): 5,121 parameters, 4-fold validation, "
                 "test MAE ~2.5")
def boston_housing(run):
    recipe, options = RECIPES[run.edition], run.options

    # The network: 13 features -> Dense(64, relu) x 2 -> Dense(1), a linear output for a price.
    run.check_against_book(boston_network(), BOSTON_BOOK_PARAMS, "DLwP 3.7")
    if run.summary_only:
        return

    # The data: 404 training and 102 test houses, 13 features each, normalised with the training statistics.
    data = load_boston_housing(run.data_dir)
    print(f"train_data.shape = {data.train_data.shape} (book: (404, 13)); test_data.shape = {data.test_data.shape}")
    print(f"train_targets[:10] = {data.train_targets[:10].tolist()} (thousands of dollars)")
    train_data, test_data = normalize_features(data.train_data, data.test_data)
    train_targets, test_targets = data.train_targets, data.test_targets
    if run.quick:
        train_data, train_targets = train_data[:QUICK_TRAINING_SAMPLES], train_targets[:QUICK_TRAINING_SAMPLES]
    if not 2 <= options.folds <= len(train_data) // 2:
        raise UsageError(f"--folds {options.folds}: K-fold validation needs 2 folds or more, and "
                         f"{len(train_data)} training samples make at most {len(train_data) // 2} folds of 2 houses")

    # K-fold validation: with 404 samples one validation split would be too noisy.
    # Each finished fold is kept on disk: Ctrl-C then --resume continues with the next fold.
    epochs = options.kfold_epochs or run.epochs(recipe.kfold_epochs)
    batch_size = run.batch_size(recipe.kfold_batch_size)
    report_epoch = min(REPORT_EPOCH, epochs)
    print(f"\n{options.folds}-fold validation: {epochs} epochs per fold, batch size {batch_size}, "
          f"{'one graph call per epoch' if options.boston_loop == 'graph' else 'model.fit'}")
    start = time.time()
    histories = []
    for fold, (validation, training) in enumerate(k_fold_splits(len(train_data), options.folds)):
        saved = run.path(f"kfold/fold_{fold + 1}.json")
        if saved.exists():
            histories.append(json.loads(saved.read_text())["val_mae"])
            print(f"  fold {fold + 1}: kept from the interrupted run")
            continue
        model = compiled_boston_network(run)
        with stop_cleanly(f"K-fold validation stopped in fold {fold + 1} of {options.folds}; the finished folds "
                          f"are in {run.path('kfold')}; run the same command with --resume to continue"):
            val_mae = train_boston_network(options.boston_loop, model, train_data[training], train_targets[training],
                                           epochs, batch_size, (train_data[validation], train_targets[validation]))
        save_json(saved, {"val_mae": val_mae, "validation_indices": [int(validation[0]), int(validation[-1])]})
        run.mark_progress()
        histories.append(val_mae)
        print(f"  fold {fold + 1}: validation MAE {val_mae[report_epoch - 1]:.3f} after {report_epoch} epochs, "
              f"{val_mae[-1]:.3f} after {epochs} ({time.time() - start:.0f} s)")
    fold_mae = [history[report_epoch - 1] for history in histories]
    average_mae = np.mean(histories, axis=0)
    save_json(run.path("kfold_val_mae.json"), {"folds": histories, "mean": average_mae})
    run.record("validation_mae_per_fold", [round(m, 3) for m in fold_mae],
               label=f"validation MAE per fold after {report_epoch} epochs")
    run.record("mean_validation_mae", float(np.mean(fold_mae)), book="~2.4-2.6",
               label=f"mean validation MAE after {report_epoch} epochs",
               note="--quick: a small subset" if run.quick else "")
    skip = 10 if epochs > 20 else 0  # the first points are on another scale
    run.record("best_smoothed_epoch", int(np.argmin(smooth_curve(average_mae[skip:]))) + skip + 1, book="~80-140",
               label="epoch of the lowest smoothed validation MAE")
    print(f"Saved the MAE curves to {plot_validation_mae(average_mae, skip, run.path('validation_mae.png'))}")

    # The final model: all the training data, the book's epochs, batch 16; one evaluation on the test set.
    # With 404 samples the test MAE moves by +-0.2 from one random start to the next, so we train
    # --final-runs models (seeds seed, seed + 1, ...) and report their mean beside the book's single run.
    final_epochs = run.epochs(recipe.final_epochs)
    test_maes, model = [], None
    for index in range(options.final_runs):
        saved = run.path(f"final/run_{index + 1}.json")
        if saved.exists():
            test_maes.append(json.loads(saved.read_text())["test_mae"])
            continue
        keras.utils.set_random_seed(run.seed + index)  # independent of how long the K-fold runs were
        model = compiled_boston_network(run)
        with stop_cleanly(f"the final models stopped at {index + 1} of {options.final_runs}; run the same command "
                          "with --resume to continue"):
            train_boston_network(options.boston_loop, model, train_data, train_targets, final_epochs,
                                 run.batch_size(recipe.final_batch_size))
        test_maes.append(float(model.evaluate(test_data, test_targets, verbose=0)[1]))
        save_json(saved, {"seed": run.seed + index, "test_mae": test_maes[-1]})
        print(f"  final model {index + 1} (seed {run.seed + index}): test MAE {test_maes[-1]:.3f}")
    spread = f"; each: {[round(m, 3) for m in test_maes]}, std {np.std(test_maes):.3f}" if len(test_maes) > 1 else ""
    run.record("test_mae", float(np.mean(test_maes)), book=recipe.book_test_mae,
               note=f"mean of {len(test_maes)} final models, {final_epochs} epochs{spread}"
                    + ("; --quick: a small subset" if run.quick else ""))
    if model is not None:
        predictions = model.predict(test_data[:5], verbose=0)[:, 0]
        print(f"First 5 test prices, predicted: {[round(float(p), 1) for p in predictions]}; "
              f"actual: {test_targets[:5].tolist()} (thousands of dollars)")


def normalize_features(train_data, test_data):
    """Feature-wise (x - mean) / std with the training set's mean and std only, for both sets."""
    mean = train_data.mean(axis=0)
    std = train_data.std(axis=0)
    return (train_data - mean) / std, (test_data - mean) / std


def k_fold_splits(num_samples, k):
    """(validation indices, training indices) for each of k consecutive folds, as the book slices them."""
    fold_size = num_samples // k
    for i in range(k):
        validation = np.arange(i * fold_size, (i + 1) * fold_size)
        training = np.concatenate([np.arange(0, i * fold_size), np.arange((i + 1) * fold_size, num_samples)])
        yield validation, training


def compiled_boston_network(run):
    model = boston_network()
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"], **run.compile_settings("dense"))
    return model


def train_boston_network(loop, model, x, y, epochs, batch_size, validation_data=None):
    """`loop` "graph": train_in_graph; "keras": the book's model.fit. Returns the validation MAE per epoch."""
    if loop == "graph":
        return train_in_graph(model, x, y, epochs, batch_size, validation_data)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data, verbose=0)
    return history.history.get("val_mae", [])


def train_in_graph(model, x, y, epochs, batch_size, validation_data=None):
    """What model.fit(x, y, epochs, batch_size, shuffle=True) does, one TensorFlow call per epoch.

    The same RMSprop (the model's compiled optimizer), the same mean squared
    error, the same batches of a reshuffled training set every epoch; only the
    loop over batches runs inside one compiled graph instead of returning to
    Python and Keras's callbacks between steps. With the 1st edition's batches
    of 1 (303 steps per epoch, 2,000 epochs over the four folds) that overhead
    is most of the time. Returns the validation MAE after each epoch.
    """
    x, y = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    num_samples, steps = len(x), math.ceil(len(x) / batch_size)
    variables = model.trainable_variables
    model.optimizer.build(variables)

    @tf.function
    def one_epoch(x_val, y_val):
        order = tf.random.shuffle(tf.range(num_samples))
        for step in tf.range(steps):
            batch = order[step * batch_size:(step + 1) * batch_size]
            with tf.GradientTape() as tape:
                predictions = model(tf.gather(x, batch), training=True)[:, 0]
                loss = tf.reduce_mean(tf.square(tf.gather(y, batch) - predictions))
            model.optimizer.apply(tape.gradient(loss, variables), variables)
        return tf.reduce_mean(tf.abs(model(x_val, training=False)[:, 0] - y_val))

    x_val, y_val = validation_data if validation_data is not None else (x[:1], y[:1])
    x_val, y_val = tf.constant(x_val, tf.float32), tf.constant(y_val, tf.float32)
    return [float(one_epoch(x_val, y_val)) for _ in range(epochs)]


def smooth_curve(points, factor=0.9):
    """The book's exponential moving average, to read the trend of a noisy curve."""
    smoothed = []
    for point in points:
        smoothed.append(smoothed[-1] * factor + point * (1 - factor) if smoothed else point)
    return smoothed


def plot_validation_mae(average_mae, skip, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(average_mae) + 1)
    axes[0].plot(epochs, average_mae)
    axes[0].set_title("Validation MAE by epoch (mean of the folds)")
    axes[1].plot(epochs[skip:], smooth_curve(average_mae[skip:]))
    axes[1].set_title(f"Smoothed, without the first {skip} epochs")
    for ax in axes:
        ax.set_xlabel("Epochs")
        ax.set_ylabel("Validation MAE")
    return save_figure(fig, path)
