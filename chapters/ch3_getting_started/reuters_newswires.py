"""3.6 Classifying newswires: a multiclass classification example (Reuters, 46 topics)."""

from dataclasses import dataclass

import keras
import numpy as np

from chapters.ch3_getting_started import CHAPTER
from datasets.imdb import multi_hot_dataset
from datasets.reuters import NUM_TOPICS, decode_newswire, load_reuters, load_reuters_word_index
from models.dense_networks import REUTERS_BOOK_PARAMS, REUTERS_BOTTLENECK_BOOK_PARAMS, reuters_network

NUM_WORDS = 10_000
VALIDATION_NEWSWIRES = 1_000
VALIDATION_RUN_EPOCHS, BATCH_SIZE = 20, 512
BOTTLENECK_UNITS, BOTTLENECK_BATCH_SIZE = 4, 128
QUICK_SUBSET, QUICK_VALIDATION_NEWSWIRES = (2000, 500), 300  # --quick


@dataclass(frozen=True)
class Recipe:
    """Where the editions differ: the labels, the loss and the final model's epochs."""
    one_hot_labels: bool
    loss: str
    final_epochs: int
    book_test_accuracy: float


RECIPES = {
    1: Recipe(one_hot_labels=True, loss="categorical_crossentropy", final_epochs=8, book_test_accuracy=0.777),
    2: Recipe(one_hot_labels=False, loss="sparse_categorical_crossentropy", final_epochs=9, book_test_accuracy=0.797),
}


@CHAPTER.section("3.6", "Classifying newswires (Reuters)",
                 "46 topics, Dense(64) x 2 -> Dense(46): 647,214 parameters, test accuracy ~0.78-0.80",
                 distributable=True)
def reuters_newswires(run):
    recipe = RECIPES[run.edition]

    # The network: Dense(64, relu) x 2 -> Dense(46, softmax); and the 4-unit bottleneck of the end.
    model = reuters_network()
    run.check_against_book(model, REUTERS_BOOK_PARAMS, "DLwP 3.6")
    run.check_against_book(reuters_network(bottleneck_units=BOTTLENECK_UNITS, name="reuters_bottleneck"),
                           REUTERS_BOTTLENECK_BOOK_PARAMS, "DLwP 3.6, the 4-unit bottleneck")
    if run.summary_only:
        return

    # The data: 8,982 training and 2,246 test newswires.
    reuters = load_reuters(num_words=NUM_WORDS, data_dir=run.data_dir)
    word_index = load_reuters_word_index(run.data_dir)
    print(f"train_labels[10] = {reuters.train_labels[10]} (book: 3)")
    print(f"Decoded train_data[0]: {decode_newswire(reuters.train_data[0], word_index)[:200]} ...")
    run.record("train_label_10", int(reuters.train_labels[10]), book=3, label="train_labels[10]")
    if run.quick:
        reuters = reuters.head(*QUICK_SUBSET)

    def dataset(data, labels, batch_size, shuffle=False):
        targets = keras.utils.to_categorical(labels, NUM_TOPICS) if recipe.one_hot_labels else labels.astype("int64")
        return multi_hot_dataset(data, targets, batch_size, dimension=NUM_WORDS, shuffle=shuffle, seed=run.seed)

    # Validation: 1,000 newswires set apart; 20 epochs show where it starts to overfit.
    n_val = QUICK_VALIDATION_NEWSWIRES if run.quick else VALIDATION_NEWSWIRES
    batch_size = run.batch_size(BATCH_SIZE)
    validation = dataset(reuters.train_data[:n_val], reuters.train_labels[:n_val], 2048)
    training = dataset(reuters.train_data[n_val:], reuters.train_labels[n_val:], batch_size, shuffle=True)
    model.compile(optimizer="rmsprop", loss=recipe.loss, metrics=["accuracy"], **run.compile_settings("dense"))
    history = run.fit(model, training, name="validation_run", epochs=VALIDATION_RUN_EPOCHS,
                      validation_data=validation)
    best = int(np.argmin(history["val_loss"]))
    run.record("lowest_validation_loss_epoch", best + 1, book="~9",
               note=f"validation accuracy there {history['val_accuracy'][best]:.3f}")

    # A new network on all 8,982 newswires for the book's number of epochs; evaluated on the test set.
    model = reuters_network()
    model.compile(optimizer="rmsprop", loss=recipe.loss, metrics=["accuracy"], **run.compile_settings("dense"))
    run.fit(model, dataset(reuters.train_data, reuters.train_labels, batch_size, shuffle=True), name="final_model",
            epochs=recipe.final_epochs)
    _, test_accuracy = model.evaluate(dataset(reuters.test_data, reuters.test_labels, 2048), verbose=0)
    run.record("test_accuracy", float(test_accuracy), book=recipe.book_test_accuracy,
               note="--quick: a small subset" if run.quick else "")
    run.record("random_baseline_accuracy", random_baseline(reuters.test_labels, run.seed), book="~0.19")
    probabilities = model.predict(dataset(reuters.test_data[:3], reuters.test_labels[:3], 3), verbose=0)
    print(f"Predictions for the first 3 test newswires: each sums to {probabilities.sum(axis=1).round(4).tolist()}; "
          f"topics {probabilities.argmax(axis=1).tolist()}, labelled {reuters.test_labels[:3].tolist()}")

    # An information bottleneck: 4 units cannot carry 46 topics' worth of information.
    bottleneck = reuters_network(bottleneck_units=BOTTLENECK_UNITS, name="reuters_bottleneck")
    bottleneck.compile(optimizer="rmsprop", loss=recipe.loss, metrics=["accuracy"], **run.compile_settings("dense"))
    training = dataset(reuters.train_data[n_val:], reuters.train_labels[n_val:],
                       run.batch_size(BOTTLENECK_BATCH_SIZE), shuffle=True)
    bottleneck_history = run.fit(bottleneck, training, name="bottleneck", epochs=VALIDATION_RUN_EPOCHS,
                                 validation_data=validation)
    run.record("bottleneck_validation_accuracy", bottleneck_history["val_accuracy"][-1], book="~0.71",
               note=f"the 64-unit network's best: {max(history['val_accuracy']):.3f}")


def random_baseline(test_labels, seed):
    """The accuracy of guessing by shuffling the test labels (the book's ~19 %)."""
    shuffled = np.array(test_labels)
    np.random.RandomState(seed).shuffle(shuffled)
    return float(np.mean(shuffled == test_labels))
