"""5.1 Introduction to convnets: a small convnet classifies MNIST digits."""

from dataclasses import dataclass
from typing import Callable

import keras

from chapters.ch5_convnets import CHAPTER
from datasets.arrays import array_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.convnets import (
    MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS,
    MNIST_CONVNET_1ST_EDITION_OUTPUT_SHAPES,
    MNIST_CONVNET_2ND_EDITION_BOOK_PARAMS,
    MNIST_CONVNET_2ND_EDITION_OUTPUT_SHAPES,
    MNIST_CONVNET_NO_POOLING_BOOK_PARAMS,
    mnist_convnet_1st_edition,
    mnist_convnet_2nd_edition,
    mnist_convnet_2nd_edition_no_pooling,
)

BOOK_TEST_ACCURACY = 0.991  # both editions


@dataclass(frozen=True)
class Recipe:
    """The edition's convnet and how the book trains it."""
    build_model: Callable[[], keras.Model]
    book_params: list
    book_output_shapes: list
    one_hot_labels: bool  # to_categorical + categorical crossentropy, or the integers + sparse
    loss: str
    optimizer: str = "rmsprop"
    epochs: int = 5
    batch_size: int = 64
    counter_examples: tuple = ()  # (builder, book params, what it shows): models the book shows but does not train


RECIPES = {
    1: Recipe(mnist_convnet_1st_edition, MNIST_CONVNET_1ST_EDITION_BOOK_PARAMS,
              MNIST_CONVNET_1ST_EDITION_OUTPUT_SHAPES, one_hot_labels=True, loss="categorical_crossentropy"),
    2: Recipe(mnist_convnet_2nd_edition, MNIST_CONVNET_2ND_EDITION_BOOK_PARAMS,
              MNIST_CONVNET_2ND_EDITION_OUTPUT_SHAPES, one_hot_labels=False, loss="sparse_categorical_crossentropy",
              counter_examples=((mnist_convnet_2nd_edition_no_pooling, MNIST_CONVNET_NO_POOLING_BOOK_PARAMS,
                                 "without max pooling: the counter-example"),)),
}


@CHAPTER.section("5.1", "Introduction to convnets",
                 "Conv2D/MaxPooling2D on MNIST: 93,322 parameters (2nd ed. 104,202), test accuracy ~0.991",
                 distributable=True)
def mnist_convnet(run):
    recipe = RECIPES[run.edition]

    # The convnet, checked layer by layer; the 2nd edition also shows what it would be without pooling.
    for build_counter_example, book_params, what in recipe.counter_examples:
        run.check_against_book(build_counter_example(), book_params, f"DLwP {run.edition}e 5.1, {what}")
        run.clear_session()  # layer names start again at conv2d
    model = recipe.build_model()
    run.check_against_book(model, recipe.book_params, f"DLwP {run.edition}e 5.1")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    run.record("output_shapes_match_the_book", shapes == recipe.book_output_shapes,
               note=f"ours: {shapes}", label="output shapes equal the book's")
    if run.summary_only:
        return

    # The data: MNIST digits as (28, 28, 1) tensors in [0, 1].
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    train = (prepare_digits(mnist.train_images), mnist.train_labels)
    test = (prepare_digits(mnist.test_images), mnist.test_labels)

    # Compile, fit (5 epochs of 64), evaluate on the test digits.
    test_accuracy = train_digit_convnet(run, recipe, model, train, test, name="mnist_convnet")
    run.record("test_accuracy", test_accuracy, book=BOOK_TEST_ACCURACY, note=mnist.book_note)


def prepare_digits(images):
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1]: a convnet takes height, width, channels."""
    return images.reshape((len(images), 28, 28, 1)).astype("float32") / 255


def train_digit_convnet(run, recipe, model, train, test, name):
    """Compile and fit as the book does; returns the test accuracy. (5.1h trains the same way.)"""
    (train_images, train_labels), (test_images, test_labels) = train, test
    if recipe.one_hot_labels:
        train_labels, test_labels = (keras.utils.to_categorical(y, 10) for y in (train_labels, test_labels))
    else:
        train_labels, test_labels = train_labels.astype("int64"), test_labels.astype("int64")
    model.compile(optimizer=recipe.optimizer, loss=recipe.loss, metrics=["accuracy"], **run.compile_settings("conv"))
    run.fit(model, array_dataset(train_images, train_labels, run.batch_size(recipe.batch_size), shuffle=True,
                                 seed=run.seed), name=name, epochs=recipe.epochs)
    _, test_accuracy = model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)
    return float(test_accuracy)
