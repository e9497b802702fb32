"""2.1 A first look at a neural network: two Dense layers classify MNIST digits."""

from dataclasses import dataclass
from typing import Callable

import keras

from chapters.ch2_building_blocks import CHAPTER
from datasets.arrays import array_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.first_network import FIRST_NETWORK_BOOK_PARAMS, first_network, first_network_workshop

BOOK_TEST_ACCURACY = 0.978  # both editions: "97.8%"


@dataclass(frozen=True)
class Recipe:
    """How the book compiles, feeds and trains the first network."""
    build_model: Callable[[], keras.Model]
    optimizer: str
    loss: str
    one_hot_labels: bool  # to_categorical labels (categorical crossentropy), or the integers
    epochs: int = 5
    batch_size: int = 128


RECIPES = {
    # The 1st edition one-hot encodes the labels; the 2nd keeps the integers (sparse crossentropy).
    ("book", 1): Recipe(first_network, "rmsprop", "categorical_crossentropy", one_hot_labels=True),
    ("book", 2): Recipe(first_network, "rmsprop", "sparse_categorical_crossentropy", one_hot_labels=False),
    # The slides' workshop version: sigmoid everywhere, mean squared error, plain SGD.
    # It learns far more slowly: that is the lesson.
    ("workshop", 1): Recipe(first_network_workshop, "sgd", "mean_squared_error", one_hot_labels=True),
    ("workshop", 2): Recipe(first_network_workshop, "sgd", "mean_squared_error", one_hot_labels=True),
}

CHAPTER.option("--variant", choices=["book", "workshop"], default="book", defines_model=True,
               help="2.1: the book's network (relu/softmax, crossentropy, rmsprop) or the slides' workshop one "
                    "(sigmoid, mean squared error, SGD)")


@CHAPTER.section("2.1", "A first look at a neural network",
                 "Dense(512) -> Dense(10) on MNIST, 5 epochs: 407,050 parameters, test accuracy ~0.978",
                 distributable=True)
def first_look_at_a_network(run):
    variant = run.options.variant
    recipe = RECIPES[variant, run.edition]

    # The network: Dense(512, relu) -> Dense(10, softmax) on 784 pixels.
    model = recipe.build_model()
    run.check_against_book(model, FIRST_NETWORK_BOOK_PARAMS, "DLwP 2.1")
    if run.summary_only:
        return

    # The data: 60,000 training and 10,000 test digits, flattened to 784 values in [0, 1].
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    train_labels = prepare_labels(mnist.train_labels, recipe.one_hot_labels)
    test_labels = prepare_labels(mnist.test_labels, recipe.one_hot_labels)

    # The compilation step: optimizer, loss and the metric to watch.
    model.compile(optimizer=recipe.optimizer, loss=recipe.loss, metrics=["accuracy"], **run.compile_settings("dense"))

    # Training: 5 epochs of batches of 128.
    batch_size = run.batch_size(recipe.batch_size)
    run.fit(model, array_dataset(train_images, train_labels, batch_size, shuffle=True, seed=run.seed),
            name=f"first_network_{variant}", epochs=recipe.epochs)

    # Evaluation on the 10,000 test digits, then the predictions for the first ten.
    _, test_accuracy = model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)
    if variant == "workshop":
        run.record("workshop_test_accuracy", float(test_accuracy), label="workshop test accuracy",
                   note="sigmoid + MSE + SGD; compare with the book's 0.978 for relu/softmax + crossentropy + rmsprop")
    else:
        run.record("test_accuracy", float(test_accuracy), book=BOOK_TEST_ACCURACY, note=mnist.book_note)
    predictions = model.predict(test_images[:10], verbose=0)
    print("First 10 test digits, predicted:", predictions.argmax(axis=1).tolist())
    print("                       labelled:", mnist.test_labels[:10].tolist())


def prepare_images(images):
    """(N, 28, 28) uint8 -> (N, 784) float32 in [0, 1], as the network expects."""
    return images.reshape((len(images), 28 * 28)).astype("float32") / 255


def prepare_labels(labels, one_hot):
    """One-hot vectors of 10 (categorical crossentropy), or the integers as int64 (sparse)."""
    return keras.utils.to_categorical(labels, 10) if one_hot else labels.astype("int64")
