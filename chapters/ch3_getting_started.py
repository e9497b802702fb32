"""Chapter 3: Getting started with neural networks.

    python -m chapters.ch3_getting_started 3.5        # IMDB reviews, positive or negative
    python -m chapters.ch3_getting_started 3.6        # Reuters newswires, 46 topics
    python -m chapters.ch3_getting_started 3.7        # Boston house prices, K-fold validation
    python -m chapters.ch3_getting_started all --quick

Three small Dense networks on three kinds of problem: binary classification
(3.5), single-label multiclass classification (3.6) and scalar regression
(3.7). Each section follows the book: look at the data, vectorise it, build
and check the network, watch it overfit on a validation set, then retrain for
the best number of epochs and evaluate once on the test set.
"""

import math
import time

import keras
import matplotlib

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.common import Chapter, Section, UsageError, check_against_book, save_figure, save_json
from datasets.boston_housing import load_boston_housing
from datasets.imdb import (decode_review, load_imdb, load_imdb_word_index, multi_hot_dataset,
                           vectorize_sequences)
from datasets.reuters import NUM_TOPICS, decode_newswire, load_reuters, load_reuters_word_index
from models.dense_networks import (BOSTON_BOOK_PARAMS, IMDB_BOOK_PARAMS, REUTERS_BOOK_PARAMS,
                                   REUTERS_BOTTLENECK_BOOK_PARAMS, build_boston_network, build_imdb_network,
                                   build_reuters_network)

BOOK_IMDB_TEST_ACCURACY = {1: 0.885, 2: 0.883}  # 1st ed 0.88496, 2nd ed 0.88328
BOOK_REUTERS_TEST_ACCURACY = {1: 0.777, 2: 0.797}
BOOK_REUTERS_FINAL_EPOCHS = {1: 8, 2: 9}
BOOK_BOSTON_TEST_MAE = {1: 2.55, 2: 2.46}
BOOK_BOSTON_FINAL_EPOCHS = {1: 80, 2: 130}
BOOK_BOSTON_KFOLD_BATCH = {1: 1, 2: 16}


def quick_note(ctx):
    return "--quick: a small subset, the book's number does not apply" if ctx.quick else ""


def binary_dataset(data, labels, batch_size, shuffle=False, seed=None):
    """Multi-hot reviews, built batch by batch in tf.data; labels as float32 (for binary crossentropy)."""
    return multi_hot_dataset(data, np.asarray(labels, dtype="float32"), batch_size, shuffle=shuffle, seed=seed)


# ---------------------------------------------------------------------------
# 3.5 Classifying movie reviews (IMDB)
# ---------------------------------------------------------------------------

def compile_imdb_network(ctx, model):
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                  **ctx.compile_settings("dense"))
    return model


def show_imdb_data(imdb, word_index):
    """What the book prints about the data before any training."""
    first = imdb.train_data[0]
    print(f"train_data[0][:10] = {first[:10].tolist()} ... ({len(first)} tokens; book: 218)")
    print(f"train_labels[0] = {imdb.train_labels[0]} (book: 1)")
    print(f"largest word index = {max(int(s.max()) for s in imdb.train_data)} (book: 9999)")
    print(f"Decoded: {decode_review(first, word_index)[:300]} ...")


def imdb_reviews(ctx):
    model = build_imdb_network()
    check_against_book(model, IMDB_BOOK_PARAMS, "DLwP 3.5 (160,305 parameters)")
    if ctx.summary_only:
        return

    imdb = load_imdb(num_words=10000, data_dir=ctx.data_dir)
    word_index = load_imdb_word_index(ctx.data_dir)
    show_imdb_data(imdb, word_index)
    if ctx.quick:
        imdb = imdb.head(2000, 1000)
    ctx.record("first review tokens", len(imdb.train_data[0]), book=218)

    # The book's vectors: one 10,000-long row of 0s and 1s per review. We show
    # them for two reviews; the network gets the same vectors built batch by batch
    # from each review's word indices (1 GB of float32 for 25,000 reviews is never built).
    sample = vectorize_sequences(imdb.train_data[:2])
    print(f"vectorize_sequences(train_data[:2]): shape {sample.shape}, {int(sample[0].sum())} ones in row 0; "
          f"first 10 entries of row 0: {sample[0, :10].tolist()}")

    # Validation: the first 10,000 training reviews are set apart.
    n_val = 500 if ctx.quick else 10000
    batch_size, seed = ctx.batch_size(512), ctx.args.seed
    x_val, y_val = imdb.train_data[:n_val], imdb.train_labels[:n_val]
    partial_x, partial_y = imdb.train_data[n_val:], imdb.train_labels[n_val:]
    model = compile_imdb_network(ctx, model)
    history = ctx.fit(model, binary_dataset(partial_x, partial_y, batch_size, shuffle=True, seed=seed),
                      name="validation_run", epochs=ctx.epochs(20),
                      validation_data=binary_dataset(x_val, y_val, 2048))
    best = int(np.argmax(history["val_accuracy"]))
    ctx.record("best validation accuracy", history["val_accuracy"][best], book="~0.89 at epoch 3-4",
               note=f"epoch {best + 1}; training accuracy at the end {history['accuracy'][-1]:.3f}")

    # Retrain from scratch on all 25,000 for the book's 4 epochs, evaluate once on the test set.
    model = compile_imdb_network(ctx, build_imdb_network())
    ctx.fit(model, binary_dataset(imdb.train_data, imdb.train_labels, batch_size, shuffle=True, seed=seed),
            name="final_model", epochs=ctx.epochs(4))
    test_loss, test_accuracy = model.evaluate(binary_dataset(imdb.test_data, imdb.test_labels, 2048), verbose=0)
    ctx.record("test accuracy", float(test_accuracy), book=BOOK_IMDB_TEST_ACCURACY[ctx.edition],
               note=quick_note(ctx))
    ctx.record("test loss", float(test_loss))

    # The book's last step: the model's confidence on a few test reviews.
    probabilities = model.predict(binary_dataset(imdb.test_data[:5], imdb.test_labels[:5], 5), verbose=0)[:, 0]
    print("\nPredictions on the first test reviews (probability of 'positive'):")
    for sequence, label, p in zip(imdb.test_data, imdb.test_labels, probabilities):
        print(f"  {p:.3f} (label {label}): {decode_review(sequence[1:], word_index)[:150]} ...")


# ---------------------------------------------------------------------------
# 3.6 Classifying newswires (Reuters)
# ---------------------------------------------------------------------------

def reuters_dataset(ctx, data, labels, batch_size, shuffle=False):
    """1st edition: one-hot labels (categorical crossentropy); 2nd: the integers (sparse)."""
    targets = keras.utils.to_categorical(labels, NUM_TOPICS) if ctx.edition == 1 else labels.astype("int64")
    return multi_hot_dataset(data, targets, batch_size, shuffle=shuffle, seed=ctx.args.seed)


def compile_reuters_network(ctx, model):
    loss = "categorical_crossentropy" if ctx.edition == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"], **ctx.compile_settings("dense"))
    return model


def random_baseline(test_labels, seed):
    """The accuracy of guessing by shuffling the test labels (the book's ~19 %)."""
    shuffled = np.array(test_labels)
    np.random.RandomState(seed).shuffle(shuffled)
    return float(np.mean(shuffled == test_labels))


def reuters_newswires(ctx):
    model = build_reuters_network()
    check_against_book(model, REUTERS_BOOK_PARAMS, "DLwP 3.6 (647,214 parameters)")
    check_against_book(build_reuters_network(bottleneck_units=4, name="reuters_bottleneck"),
                       REUTERS_BOTTLENECK_BOOK_PARAMS, "DLwP 3.6, the 4-unit bottleneck (640,554 parameters)")
    if ctx.summary_only:
        return

    reuters = load_reuters(num_words=10000, data_dir=ctx.data_dir)
    word_index = load_reuters_word_index(ctx.data_dir)
    print(f"train_labels[10] = {reuters.train_labels[10]} (book: 3)")
    print(f"Decoded train_data[0]: {decode_newswire(reuters.train_data[0], word_index)[:200]} ...")
    if ctx.quick:
        reuters = reuters.head(2000, 500)

    n_val = 300 if ctx.quick else 1000
    batch_size = ctx.batch_size(512)
    x_val, y_val = reuters.train_data[:n_val], reuters.train_labels[:n_val]
    partial_x, partial_y = reuters.train_data[n_val:], reuters.train_labels[n_val:]
    validation = reuters_dataset(ctx, x_val, y_val, 2048)
    model = compile_reuters_network(ctx, model)
    history = ctx.fit(model, reuters_dataset(ctx, partial_x, partial_y, batch_size, shuffle=True),
                      name="validation_run", epochs=ctx.epochs(20), validation_data=validation)
    best = int(np.argmin(history["val_loss"]))
    ctx.record("lowest validation loss at epoch", best + 1, book="~9",
               note=f"validation accuracy there {history['val_accuracy'][best]:.3f}")

    # Retrain on all 8,982 for the book's number of epochs; evaluate on the test set.
    model = compile_reuters_network(ctx, build_reuters_network())
    ctx.fit(model, reuters_dataset(ctx, reuters.train_data, reuters.train_labels, batch_size, shuffle=True),
            name="final_model", epochs=ctx.epochs(BOOK_REUTERS_FINAL_EPOCHS[ctx.edition]))
    _, test_accuracy = model.evaluate(reuters_dataset(ctx, reuters.test_data, reuters.test_labels, 2048), verbose=0)
    ctx.record("test accuracy", float(test_accuracy), book=BOOK_REUTERS_TEST_ACCURACY[ctx.edition],
               note=quick_note(ctx))
    ctx.record("random baseline accuracy", random_baseline(reuters.test_labels, ctx.args.seed), book="~0.19")

    probabilities = model.predict(reuters_dataset(ctx, reuters.test_data[:3], reuters.test_labels[:3], 3),
                                  verbose=0)
    print(f"Predictions for the first 3 test newswires: each sums to {probabilities.sum(axis=1).round(4).tolist()}; "
          f"topics {probabilities.argmax(axis=1).tolist()}, labelled {reuters.test_labels[:3].tolist()}")

    # An information bottleneck: 4 units cannot carry 46 topics' worth of information.
    bottleneck = compile_reuters_network(ctx, build_reuters_network(bottleneck_units=4, name="reuters_bottleneck"))
    bottleneck_history = ctx.fit(bottleneck, reuters_dataset(ctx, partial_x, partial_y, ctx.batch_size(128),
                                                             shuffle=True),
                                 name="bottleneck", epochs=ctx.epochs(20), validation_data=validation)
    ctx.record("bottleneck validation accuracy", bottleneck_history["val_accuracy"][-1], book="~0.71",
               note=f"the 64-unit network's best: {max(history['val_accuracy']):.3f}")


# ---------------------------------------------------------------------------
# 3.7 Predicting house prices (Boston housing)
# ---------------------------------------------------------------------------

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


def compile_boston_network(ctx, model):
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"], **ctx.compile_settings("dense"))
    return model


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


def train_boston_network(ctx, model, x, y, epochs, batch_size, validation_data=None):
    """--boston-loop graph (default): train_in_graph; keras: the book's model.fit. Returns the validation MAEs."""
    if ctx.args.boston_loop == "graph":
        return train_in_graph(model, x, y, epochs, batch_size, validation_data)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data, verbose=0)
    return history.history.get("val_mae", [])


def smooth_curve(points, factor=0.9):
    """The book's exponential moving average, to read the trend of a noisy curve."""
    smoothed = []
    for point in points:
        smoothed.append(smoothed[-1] * factor + point * (1 - factor) if smoothed else point)
    return smoothed


def plot_validation_mae(average_mae, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(average_mae) + 1)
    axes[0].plot(epochs, average_mae)
    axes[0].set_title("Validation MAE by epoch (mean of the folds)")
    skip = 10 if len(average_mae) > 20 else 0  # the first points are on another scale
    axes[1].plot(epochs[skip:], smooth_curve(average_mae[skip:]))
    axes[1].set_title(f"Smoothed, without the first {skip} epochs")
    for ax in axes:
        ax.set_xlabel("Epochs")
        ax.set_ylabel("Validation MAE")
    return save_figure(fig, path)


def boston_housing(ctx):
    model = build_boston_network()
    check_against_book(model, BOSTON_BOOK_PARAMS, "DLwP 3.7 (5,121 parameters)")
    if ctx.summary_only:
        return

    data = load_boston_housing(ctx.data_dir)
    print(f"train_data.shape = {data.train_data.shape} (book: (404, 13)); test_data.shape = {data.test_data.shape}")
    print(f"train_targets[:10] = {data.train_targets[:10].tolist()} (thousands of dollars)")
    train_data, test_data = normalize_features(data.train_data, data.test_data)
    train_targets, test_targets = data.train_targets, data.test_targets
    if ctx.quick:
        train_data, train_targets = train_data[:100], train_targets[:100]

    # K-fold validation: with 404 samples one validation split would be too noisy.
    k = ctx.args.folds
    num_epochs = ctx.args.kfold_epochs if ctx.args.kfold_epochs else ctx.epochs(500)
    batch_size = ctx.batch_size(BOOK_BOSTON_KFOLD_BATCH[ctx.edition])
    report_epoch = min(100, num_epochs)  # the book's first K-fold run is 100 epochs long
    print(f"\n{k}-fold validation: {num_epochs} epochs per fold, batch size {batch_size}, "
          f"{'one graph call per epoch' if ctx.args.boston_loop == 'graph' else 'model.fit'}")
    all_mae_histories, fold_mae = [], []
    start = time.time()
    for fold, (validation, training) in enumerate(k_fold_splits(len(train_data), k)):
        model = compile_boston_network(ctx, build_boston_network())
        # Not ctx.fit: it would save two models per epoch, 2,000 times here.
        val_mae = train_boston_network(ctx, model, train_data[training], train_targets[training], num_epochs,
                                       batch_size, (train_data[validation], train_targets[validation]))
        all_mae_histories.append(val_mae)
        fold_mae.append(val_mae[report_epoch - 1])
        print(f"  fold {fold + 1}: validation MAE {fold_mae[-1]:.3f} after {report_epoch} epochs, "
              f"{val_mae[-1]:.3f} after {num_epochs} ({time.time() - start:.0f} s so far)")
    average_mae = np.mean(all_mae_histories, axis=0)
    save_json(ctx.path("kfold_val_mae.json"), {"folds": all_mae_histories, "mean": average_mae})
    ctx.record(f"validation MAE per fold after {report_epoch} epochs", [round(m, 3) for m in fold_mae])
    ctx.record(f"mean validation MAE after {report_epoch} epochs", float(np.mean(fold_mae)), book="~2.4-2.6",
               note=quick_note(ctx))
    ctx.record("K-fold training time (s)", round(time.time() - start, 1))
    smoothed = smooth_curve(average_mae[10:]) if num_epochs > 20 else list(average_mae)
    ctx.record("epoch of the lowest smoothed validation MAE",
               int(np.argmin(smoothed)) + (11 if num_epochs > 20 else 1), book="~80-140")
    print(f"Saved the MAE curves to {plot_validation_mae(average_mae, ctx.path('validation_mae.png'))}")

    # The final model: all the training data, the book's epochs, batch 16; one evaluation on the test set.
    # With 404 samples the test MAE moves by +-0.2 from one random start to the next, so we train
    # --final-runs models (seeds seed, seed + 1, ...) and report their mean beside the book's single run.
    final_epochs = ctx.epochs(BOOK_BOSTON_FINAL_EPOCHS[ctx.edition])
    test_maes = []
    for run in range(ctx.args.final_runs):
        keras.utils.set_random_seed(ctx.args.seed + run)  # independent of how long the K-fold runs were
        model = compile_boston_network(ctx, build_boston_network())
        train_boston_network(ctx, model, train_data, train_targets, final_epochs, ctx.batch_size(16))
        test_maes.append(float(model.evaluate(test_data, test_targets, verbose=0)[1]))
        print(f"  final model {run + 1} (seed {ctx.args.seed + run}): test MAE {test_maes[-1]:.3f}")
    spread = f"; each: {[round(m, 3) for m in test_maes]}, std {np.std(test_maes):.3f}" if len(test_maes) > 1 else ""
    ctx.record("test MAE", float(np.mean(test_maes)), book=BOOK_BOSTON_TEST_MAE[ctx.edition],
               note=(f"mean of {len(test_maes)} final models, {final_epochs} epochs" + spread + ". "
                     + quick_note(ctx)).strip(" ."))
    predictions = model.predict(test_data[:5], verbose=0)[:, 0]
    print(f"First 5 test prices, predicted: {[round(float(p), 1) for p in predictions]}; "
          f"actual: {test_targets[:5].tolist()} (thousands of dollars)")


def add_arguments(parser):
    parser.add_argument("--folds", type=int, default=4, help="3.7: K for K-fold validation (default 4)")
    parser.add_argument("--kfold-epochs", type=int,
                        help="3.7: epochs per fold (default the book's 500; per-fold MAE is read at epoch 100)")
    parser.add_argument("--final-runs", type=int, default=5,
                        help="3.7: final models trained with seeds seed, seed+1, ...; the test MAE is their mean "
                             "(default 5; 1 = the book's single run)")
    parser.add_argument("--boston-loop", choices=["graph", "keras"], default="graph",
                        help="3.7: train each epoch in one compiled graph call (default, several times faster "
                             "with small batches) or with the book's model.fit")


def check_arguments(run):
    """Reject impossible 3.7 options with one line rather than a traceback."""
    def checked(ctx):
        if ctx.args.folds < 2:
            raise UsageError(f"--folds must be at least 2, got {ctx.args.folds}")
        if ctx.args.final_runs < 1:
            raise UsageError(f"--final-runs must be at least 1, got {ctx.args.final_runs}")
        if ctx.args.kfold_epochs is not None and ctx.args.kfold_epochs < 1:
            raise UsageError(f"--kfold-epochs must be at least 1, got {ctx.args.kfold_epochs}")
        return run(ctx)
    return checked


CHAPTER = Chapter(
    name="ch3_getting_started",
    title="Chapter 3: Getting started with neural networks",
    description=__doc__.split("\n\n", 2)[2].strip(),
    default_section="3.5",
    add_arguments=add_arguments,
    sections=[
        Section("3.5", "Classifying movie reviews (IMDB)",
                "multi-hot reviews, Dense(16) x 2 -> Dense(1): 160,305 parameters, test accuracy ~0.885",
                imdb_reviews),
        Section("3.6", "Classifying newswires (Reuters)",
                "46 topics, Dense(64) x 2 -> Dense(46): 647,214 parameters, test accuracy ~0.78-0.80",
                reuters_newswires),
        Section("3.7", "Predicting house prices (Boston housing)",
                "normalised features, Dense(64) x 2 -> Dense(1): 5,121 parameters, 4-fold validation, "
                "test MAE ~2.5", check_arguments(boston_housing)),
    ],
)

if __name__ == "__main__":
    CHAPTER.main()
