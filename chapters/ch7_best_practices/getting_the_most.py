"""7.3 Getting the most out of your models (2nd edition: 13.1).

1st edition: batch normalisation (chapter 5's MNIST convnet with and without
it), a depthwise separable convnet (38,949 parameters, against 282,282 with
regular convolutions), a hyperparameter search, and an ensemble of models.
2nd edition (13.1): the hyperparameter search and the ensemble.

The search is the 2nd edition's KerasTuner recipe (the 1st edition only
names Hyperopt and Hyperas): a Dense(units) network on MNIST, units in 16, 32,
48, 64 and rmsprop or adam, BayesianOptimization on the validation accuracy,
2 executions per trial, up to 100 epochs with early stopping; then the best
configurations are retrained for 1.2 times their best number of epochs on all
60,000 digits. The book asks for 100 trials; --trials sizes it to this
machine. The ensemble averages several of chapter 3's IMDB networks and
compares the average with the best of them on the test set.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np

from chapters.ch7_best_practices import CHAPTER
from chapters.ch7_best_practices.tuner_trials import completed_trials, make_tuner
from chapters.cli import positive_int, whole_number
from chapters.storage import save_json, save_npz
from datasets.arrays import array_dataset
from datasets.imdb import load_imdb, multi_hot_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.best_practices import (
    MNIST_CONVNET_BATCH_NORMALIZED_BOOK_PARAMS,
    REGULAR_CONVNET_PARAMS,
    SEPARABLE_CLASSES,
    SEPARABLE_CONVNET_BOOK_PARAMS,
    SEPARABLE_CONVNET_OUTPUT_SHAPES,
    SEPARABLE_HEIGHT,
    SEPARABLE_WIDTH,
    mnist_convnet_batch_normalized,
    separable_convnet,
    tunable_mnist_network,
    tunable_mnist_network_book_params,
)
from models.convnets import MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS, mnist_convnet_1st_edition
from models.dense_networks import IMDB_BOOK_PARAMS, NUM_WORDS, imdb_network


@dataclass(frozen=True)
class Edition:
    parts: tuple  # names in PARTS, in the book's order


EDITIONS = {
    1: Edition(parts=("batch_normalization", "separable_convnet", "hyperparameter_search", "ensemble")),
    2: Edition(parts=("hyperparameter_search", "ensemble")),  # 13.1.1 and 13.1.3
}

# 7.3.1: chapter 5's convnet and its batch-normalised twin, trained with 5.1's recipe (rmsprop, batches of 64) for
# one epoch each (our choice: enough to compare them), on the same batches.
BATCH_NORMALIZATION_EPOCHS, BATCH_NORMALIZATION_BATCH_SIZE = 1, 64
BATCH_STATISTICS_SAMPLES = 256  # the batch whose statistics the first BatchNormalization layer shows
# 7.3.2: the separable convnet, compiled as the book does (rmsprop, categorical crossentropy); the book never
# trains it: 2 epochs of 32 on 256 random images, to see that it trains.
SEPARABLE_SAMPLES, SEPARABLE_EPOCHS, SEPARABLE_BATCH_SIZE = 256, 2, 32
QUICK_RANDOM_SAMPLES = 64  # --quick

# 2nd edition 13.1.1: the search space, the tuner and the training of each trial.
SEARCH_UNITS = dict(min_value=16, max_value=64, step=16)
SEARCH_OPTIMIZERS = ["rmsprop", "adam"]
TUNER_OBJECTIVE, BOOK_MAX_TRIALS, BOOK_EXECUTIONS_PER_TRIAL = "val_accuracy", 100, 2
SEARCH_EPOCHS, SEARCH_BATCH_SIZE, SEARCH_PATIENCE = 100, 128, 5
SEARCH_VALIDATION_DIGITS, QUICK_SEARCH_VALIDATION_DIGITS = 10_000, 500  # the last training digits
# Then the top 4 configurations: the best epoch found again with a patience of 10, and the model retrained on
# all the training digits for int(best epoch * 1.2) epochs.
BOOK_TOP_N, RETRAIN_PATIENCE, FINAL_EPOCHS_FACTOR = 4, 10, 1.2
QUICK_TRIALS = 2  # --quick: two trials of one execution, one retrained model

# 7.3.3 (13.1.3): the book's four models a-d; here chapter 3's IMDB network with 3.5's final recipe (rmsprop,
# binary crossentropy, 4 epochs of 512 on all 25,000 training reviews), one per seed.
ENSEMBLE_EPOCHS, ENSEMBLE_BATCH_SIZE = 4, 512
QUICK_IMDB_REVIEWS = (2000, 1000)

CHAPTER.option("--trials", type=positive_int, default=4,
               help=f"7.3: KerasTuner trials (default 4; the book: {BOOK_MAX_TRIALS})")
CHAPTER.option("--executions-per-trial", type=positive_int, default=BOOK_EXECUTIONS_PER_TRIAL,
               help=f"7.3: models trained per trial, their validation accuracies averaged "
                    f"(default the book's {BOOK_EXECUTIONS_PER_TRIAL})")
CHAPTER.option("--retrain-best", type=whole_number(1, BOOK_TOP_N), default=1,
               help=f"7.3: how many of the best configurations to retrain on all the training digits "
                    f"(default 1; the book: {BOOK_TOP_N})")
CHAPTER.option("--ensemble-size", type=positive_int, default=4,
               help="7.3: IMDB networks averaged in the ensemble (default 4, the book's models a-d)")


@CHAPTER.section("7.3", "Getting the most out of your models",
                 "batch normalisation, a separable convnet (38,949), a KerasTuner search on MNIST, an ensemble of "
                 "IMDB networks against the best single one")
def getting_the_most(run):
    edition = EDITIONS[run.edition]

    # The models, checked against the book (the tuner's network at both ends of its search space).
    for part in edition.parts:
        run.clear_session()
        CHECKS[part](run)
    if run.summary_only:
        return
    for part in edition.parts:
        print(f"\n--- {part.replace('_', ' ')} ---")
        run.clear_session()
        PARTS[part](run)


# ---------------------------------------------------------------------------
# 7.3.1 Batch normalisation
# ---------------------------------------------------------------------------

def check_batch_normalization(run):
    run.check_against_book(mnist_convnet_1st_edition(), MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS,
                           "DLwP 1e 5.1, without batch normalisation")
    model = mnist_convnet_batch_normalized()
    run.check_against_book(model, MNIST_CONVNET_BATCH_NORMALIZED_BOOK_PARAMS,
                           "DLwP 1e 7.3.1: BatchNormalization after each Conv2D and the hidden Dense (counted)")
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    run.record("batch_normalization.non_trainable_params", non_trainable,
               label="non-trainable parameters: the BatchNormalization layers' moving means and variances",
               note=f"2 x (32 + 64 + 64 + 64) = {2 * (32 + 64 + 64 + 64)}")


def difference_from_the_formula(before, after, epsilon):
    """Largest gap between `after` and (before - batch mean) / sqrt(batch variance + epsilon), per channel, relative
    to the formula's largest value; computed in float32."""
    before, after = np.asarray(before, "float32"), np.asarray(after, "float32")
    mean, variance = before.mean(axis=(0, 1, 2)), before.var(axis=(0, 1, 2))
    by_hand = (before - mean) / np.sqrt(variance + epsilon)
    return float(np.abs(after - by_hand).max() / np.abs(by_hand).max())


def batch_normalization(run):
    """BatchNormalization centres and scales each channel with the batch's statistics while training."""
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    train_images = mnist.train_images.reshape((-1, 28, 28, 1)).astype("float32") / 255
    test_images = mnist.test_images.reshape((-1, 28, 28, 1)).astype("float32") / 255
    train_labels, test_labels = mnist.train_labels.astype("int64"), mnist.test_labels.astype("int64")

    # What the layer does to a batch while training: each channel minus its batch mean, divided by
    # sqrt(batch variance + epsilon), then scaled by gamma (1 at first) and shifted by beta (0 at first).
    model = mnist_convnet_batch_normalized()
    conv, normalization = model.layers[0], model.layers[1]
    probe = keras.Model(model.inputs[0], [conv.output, normalization.output])
    # In float32 whatever the policy: NumPy's sums over bfloat16 arrays (--mixed-precision) lose the statistics.
    before, after = (keras.ops.convert_to_numpy(t).astype("float32")
                     for t in probe(train_images[:BATCH_STATISTICS_SAMPLES], training=True))
    mean = before.mean(axis=(0, 1, 2))
    run.record("batch_normalization.formula_relative_difference",
               difference_from_the_formula(before, after, normalization.epsilon),
               label="first BatchNormalization layer against (x - batch mean) / sqrt(batch variance + epsilon), "
                     "largest difference relative to the largest value")
    run.record("batch_normalization.channel_means_before_and_after",
               [round(float(mean.mean()), 4), round(float(after.mean(axis=(0, 1, 2)).mean()), 4)],
               label="first Conv2D's output, mean of the channel means: before / after BatchNormalization")
    run.record("batch_normalization.channel_stds_before_and_after",
               [round(float(before.std(axis=(0, 1, 2)).mean()), 4), round(float(after.std(axis=(0, 1, 2)).mean()), 4)],
               label="mean of the channel standard deviations: before / after",
               note=f"after: sqrt(variance / (variance + {normalization.epsilon})) per channel, 1 for channels whose "
                    "variance is well above epsilon")

    # The same convnet with and without it, one epoch each on the same batches.
    accuracies = {}
    for name, build in (("without_batch_normalization", mnist_convnet_1st_edition),
                        ("with_batch_normalization", mnist_convnet_batch_normalized)):
        keras.utils.set_random_seed(run.seed)
        model = build()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **run.compile_settings("conv"))
        run.fit(model, array_dataset(train_images, train_labels, run.batch_size(BATCH_NORMALIZATION_BATCH_SIZE),
                                     shuffle=True, seed=run.seed),
                name=name, epochs=BATCH_NORMALIZATION_EPOCHS)
        _, accuracies[name] = model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)
        run.record(f"{name}.test_accuracy", float(accuracies[name]), note=mnist.book_note,
                   label=f"{name.replace('_', ' ')}: test accuracy after {BATCH_NORMALIZATION_EPOCHS} epoch")
    moving_mean = keras.ops.convert_to_numpy(model.layers[1].moving_mean)
    print(f"The first BatchNormalization layer's moving mean after training (it starts at 0): "
          f"{np.round(moving_mean[:6], 3).tolist()} ...")


# ---------------------------------------------------------------------------
# 7.3.2 Depthwise separable convolution
# ---------------------------------------------------------------------------

def check_separable_convnet(run):
    model = separable_convnet()
    run.check_against_book(model, SEPARABLE_CONVNET_BOOK_PARAMS, "DLwP 1e 7.3.2, SeparableConv2D convnet")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    run.record("separable_convnet.output_shapes_match_the_book", shapes == SEPARABLE_CONVNET_OUTPUT_SHAPES,
               label="separable convnet: output shapes equal the book's")
    regular = separable_convnet("regular")
    run.check_against_book(regular, REGULAR_CONVNET_PARAMS, "the same network with regular Conv2D (not in the book)")
    run.record("separable_convnet.params_against_regular", [model.count_params(), regular.count_params()],
               label="parameters: separable / regular convolutions",
               note=f"{regular.count_params() / model.count_params():.1f} times fewer")


def separable_convnet_on_random_images(run):
    rng = np.random.default_rng(run.seed)
    n = QUICK_RANDOM_SAMPLES if run.quick else SEPARABLE_SAMPLES
    images = rng.random((n, SEPARABLE_HEIGHT, SEPARABLE_WIDTH, 3), dtype="float32")
    labels = keras.utils.to_categorical(rng.integers(0, SEPARABLE_CLASSES, n), SEPARABLE_CLASSES)
    model = separable_convnet()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("conv"))
    history = run.fit(model, array_dataset(images, labels, run.batch_size(SEPARABLE_BATCH_SIZE), shuffle=True,
                                           seed=run.seed), name="separable_convnet", epochs=SEPARABLE_EPOCHS)
    run.record("separable_convnet.loss_first_and_last_epoch", [round(history["loss"][0], 4),
                                                                round(history["loss"][-1], 4)], note="random images")


# ---------------------------------------------------------------------------
# 7.3.2 (13.1.1) Hyperparameter optimisation with KerasTuner
# ---------------------------------------------------------------------------

def check_search_space(run):
    for units in (SEARCH_UNITS["min_value"], SEARCH_UNITS["max_value"]):
        run.check_against_book(tunable_mnist_network(units), tunable_mnist_network_book_params(units),
                               f"DLwP 2e 13.1.1, build_model(hp) with units={units}")


def make_build_model(compile_settings, precision="float32"):
    """The book's build_model(hp): the tuner chooses the units and the optimizer, then it compiles the model."""
    def build_model(hp):
        # KerasTuner clears the Keras session before each trial, which resets the dtype policy: set the run's again.
        keras.mixed_precision.set_global_policy(precision)
        units = hp.Int("units", **SEARCH_UNITS)
        model = tunable_mnist_network(units)
        optimizer = hp.Choice("optimizer", values=SEARCH_OPTIMIZERS)
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **compile_settings)
        return model
    return build_model


def hyperparameter_search(run):
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    x_train_full = mnist.train_images.reshape((-1, 28 * 28)).astype("float32") / 255
    y_train_full = mnist.train_labels.astype("int64")
    x_test = mnist.test_images.reshape((-1, 28 * 28)).astype("float32") / 255
    y_test = mnist.test_labels.astype("int64")
    n_val = QUICK_SEARCH_VALIDATION_DIGITS if run.quick else SEARCH_VALIDATION_DIGITS
    x_train, y_train = x_train_full[:-n_val], y_train_full[:-n_val]
    x_val, y_val = x_train_full[-n_val:], y_train_full[-n_val:]

    options = run.options
    trials = min(options.trials, QUICK_TRIALS) if run.quick else options.trials
    executions = 1 if run.quick else options.executions_per_trial
    build_model = make_build_model(run.compile_settings("dense"), run.session.precision)
    tuner = make_tuner(run, build_model, TUNER_OBJECTIVE, trials, executions, run.path("tuner/mnist"))
    tuner.search_space_summary()
    batch_size, epochs = run.batch_size(SEARCH_BATCH_SIZE), run.epochs(SEARCH_EPOCHS)
    print(f"Searching: {trials} trials of {executions} execution(s), up to {epochs} epochs of {batch_size}, "
          f"EarlyStopping(val_loss, patience={SEARCH_PATIENCE}); trials are kept in {run.path('tuner/mnist')}")
    start = time.time()
    try:
        tuner.search(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val),
                     callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=SEARCH_PATIENCE)],
                     verbose=2)
    except RuntimeError as e:  # KerasTuner gives up after 3 failed trials in a row; completed_trials says why
        if "consecutive failures" not in str(e):
            raise
    seconds = time.time() - start

    # Every trial, best first: which won, and by how much over the worst.
    done = completed_trials(tuner)
    table = [{"trial": t.trial_id, **t.hyperparameters.values, "val_accuracy": round(float(t.score), 4)}
             for t in done]
    print("Trials, best first:")
    for row in table:
        print(f"  trial {row['trial']}: units {row['units']}, {row['optimizer']}: val_accuracy {row['val_accuracy']}")
    save_json(run.path("tuner_trials.json"), table)
    best, worst = table[0], table[-1]
    run.record("search.trials", len(table), book=BOOK_MAX_TRIALS, label="trials run",
               note=f"{executions} execution(s) each; {seconds:.0f} s for this run's trials")
    run.record("search.best_trial", best, label="best trial")
    run.record("search.worst_trial", worst, label="worst trial")
    run.record("search.best_minus_worst_val_accuracy", round(best["val_accuracy"] - worst["val_accuracy"], 4),
               label="validation accuracy: best trial minus worst trial", note=mnist.book_note)
    if not run.quick and len(table):
        per_execution = seconds / (len(table) * executions)
        book_minutes = per_execution * BOOK_EXECUTIONS_PER_TRIAL * BOOK_MAX_TRIALS / 60
        run.record("search.book_search_minutes", round(book_minutes),
                   note=f"{BOOK_MAX_TRIALS} trials of {BOOK_EXECUTIONS_PER_TRIAL} executions at this run's "
                        f"{per_execution:.0f} s per execution", label="the book's full search would take (minutes)")

    # The best configurations: find their best epoch again, then retrain on all the training digits.
    retrain = min(options.retrain_best, len(table))
    if retrain < options.retrain_best:
        print(f"--retrain-best {options.retrain_best}: only {len(table)} trial(s) completed; retraining {retrain}")
    for rank, hp in enumerate(tuner.get_best_hyperparameters(retrain), start=1):
        name = f"best_model_{rank}"
        run.clear_session()
        history = run.fit(build_model(hp), array_dataset(x_train, y_train, batch_size, shuffle=True, seed=run.seed),
                          name=f"{name}_best_epoch", epochs=SEARCH_EPOCHS,
                          validation_data=array_dataset(x_val, y_val, 1024),
                          callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=RETRAIN_PATIENCE)])
        best_epoch = int(np.argmin(history["val_loss"])) + 1
        model = build_model(hp)
        run.fit(model, array_dataset(x_train_full, y_train_full, batch_size, shuffle=True, seed=run.seed),
                name=f"{name}_final", epochs=int(best_epoch * FINAL_EPOCHS_FACTOR))
        _, test_accuracy = model.evaluate(array_dataset(x_test, y_test, 1024), verbose=0)
        run.record(f"search.{name}.test_accuracy", float(test_accuracy), note=mnist.book_note,
                   label=f"{name} ({hp.values}), best epoch {best_epoch}, retrained "
                         f"{int(best_epoch * FINAL_EPOCHS_FACTOR)} epochs on all training digits: test accuracy")


# ---------------------------------------------------------------------------
# 7.3.3 (13.1.3) Model ensembling
# ---------------------------------------------------------------------------

def check_ensemble_member(run):
    run.check_against_book(imdb_network(), IMDB_BOOK_PARAMS, "DLwP 3.5, the ensemble's member")


def average_predictions(predictions, weights=None):
    """The ensemble's prediction: the (weighted) mean of its members' predictions, sample by sample."""
    return np.average(np.asarray(predictions), axis=0, weights=weights)


def ensemble(run):
    imdb = load_imdb(num_words=NUM_WORDS, data_dir=run.data_dir)
    if run.quick:
        imdb = imdb.head(*QUICK_IMDB_REVIEWS)
    test = multi_hot_dataset(imdb.test_data, imdb.test_labels.astype("float32"), 2048, dimension=NUM_WORDS)
    test_labels = imdb.test_labels.astype("int64")
    size = run.options.ensemble_size
    predictions, accuracies = [], []
    for member in range(1, size + 1):
        run.clear_session()
        keras.utils.set_random_seed(run.seed + member - 1)  # the members differ by their random start
        model = imdb_network()
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **run.compile_settings("dense"))
        train = multi_hot_dataset(imdb.train_data, imdb.train_labels.astype("float32"),
                                  run.batch_size(ENSEMBLE_BATCH_SIZE), dimension=NUM_WORDS, shuffle=True,
                                  seed=run.seed + member - 1)
        run.fit(model, train, name=f"ensemble_member_{member}", epochs=ENSEMBLE_EPOCHS)
        predictions.append(model.predict(test, verbose=0)[:, 0])
        accuracies.append(accuracy(predictions[-1], test_labels))
        print(f"member {member}: test accuracy {accuracies[-1]:.4f}")
    save_npz(run.path("ensemble_predictions.npz"), members=np.array(predictions), labels=test_labels)
    average = average_predictions(predictions)
    ensemble_accuracy = accuracy(average, test_labels)
    best_single = max(accuracies)
    note = "--quick: a small subset" if run.quick else ""
    run.record("ensemble.member_test_accuracies", [round(a, 4) for a in accuracies],
               label="test accuracy of each network", note=note)
    run.record("ensemble.best_single_test_accuracy", best_single, label="the best single network", note=note)
    run.record("ensemble.test_accuracy", ensemble_accuracy, label=f"the average of the {size} networks", note=note)
    run.record("ensemble.gain_over_best_single", round(ensemble_accuracy - best_single, 4),
               label="ensemble minus the best single network (test accuracy)", note=note)


def accuracy(probabilities, labels):
    """Share of the reviews whose probability of 'positive' is on the right side of 0.5."""
    return float(np.mean((probabilities > 0.5) == labels))


CHECKS = {"batch_normalization": check_batch_normalization, "separable_convnet": check_separable_convnet,
          "hyperparameter_search": check_search_space, "ensemble": check_ensemble_member}
PARTS = {"batch_normalization": batch_normalization, "separable_convnet": separable_convnet_on_random_images,
         "hyperparameter_search": hyperparameter_search, "ensemble": ensemble}
