"""5.2 Training a convnet from scratch on a small dataset: dogs vs cats, 2,000 training pictures.

The book trains twice: a plain convnet for 30 epochs (it overfits: training
accuracy near 1, validation stuck around 0.72), then the same convnet with
data augmentation and dropout for 100 epochs (validation ~0.82). Each edition
has its own table of the two trainings below; the section runs the table.
"""

import functools
from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch5_convnets import CHAPTER
from chapters.figures import save_figure
from chapters.training import best_checkpoint
from datasets import dogs_vs_cats
from models.convnets import (
    DOGS_VS_CATS_1ST_EDITION_BOOK_PARAMS,
    DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
    DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE,
    DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS,
    DOGS_VS_CATS_2ND_EDITION_BOOK_PARAMS,
    DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE,
    augmentation_1st_edition,
    augmentation_2nd_edition,
    dogs_vs_cats_convnet_1st_edition,
    dogs_vs_cats_convnet_2nd_edition,
)

QUICK_IMAGES_PER_CLASS = {"train": 40, "validation": 20, "test": 20}  # --quick


@dataclass(frozen=True)
class Training:
    """One of the book's two trainings."""
    title: str
    build_model: Callable[[int], keras.Model]  # build_model(seed)
    book_params: list
    optimizer: Callable[[], keras.optimizers.Optimizer]
    epochs: int
    batch_size: int
    pipeline_augmentation: Callable | None = None  # augmentation(seed) in the data pipeline (1st edition)
    steps_per_epoch: int | None = None  # the 1st edition's looping generator: a fixed number of batches
    book_validation_accuracy: str | None = None  # the 1st edition's curves
    book_test_accuracy: float | None = None  # the 2nd edition's evaluate()


@dataclass(frozen=True)
class Edition:
    image_size: tuple
    rescale_in_pipeline: bool  # the 1st edition's ImageDataGenerator(rescale=1./255); the 2nd has a Rescaling layer
    figure_augmentation: Callable  # the augmentation the book draws, augmentation(seed)
    trainings: dict


FIRST_EDITION = Edition(
    image_size=DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE, rescale_in_pipeline=True,
    figure_augmentation=augmentation_1st_edition,
    trainings={
        "no_augmentation": Training(
            "without augmentation", lambda seed: dogs_vs_cats_convnet_1st_edition(),
            DOGS_VS_CATS_1ST_EDITION_BOOK_PARAMS, lambda: keras.optimizers.RMSprop(learning_rate=1e-4),
            epochs=30, batch_size=20, book_validation_accuracy="0.71-0.72", book_test_accuracy=0.695),
        # The book's generator loops over the 2,000 pictures for ever, and its epoch is 100 batches
        # of 32: 3,200 augmented pictures, each picture 1.6 times per epoch, never twice the same way.
        "augmentation_dropout": Training(
            "augmentation + dropout", lambda seed: dogs_vs_cats_convnet_1st_edition(dropout=0.5),
            DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS, lambda: keras.optimizers.RMSprop(learning_rate=1e-4),
            epochs=100, batch_size=32, pipeline_augmentation=augmentation_1st_edition, steps_per_epoch=100,
            book_validation_accuracy="0.82-0.84", book_test_accuracy=0.835),
    })

SECOND_EDITION = Edition(
    image_size=DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE, rescale_in_pipeline=False,
    figure_augmentation=augmentation_2nd_edition,
    trainings={
        "no_augmentation": Training(
            "without augmentation", lambda seed: dogs_vs_cats_convnet_2nd_edition(),
            DOGS_VS_CATS_2ND_EDITION_BOOK_PARAMS, lambda: keras.optimizers.RMSprop(),
            epochs=30, batch_size=32, book_test_accuracy=0.695),
        # The augmentation layers are part of the model; one pass over the 2,000 pictures per epoch.
        "augmentation_dropout": Training(
            "augmentation + dropout",
            lambda seed: dogs_vs_cats_convnet_2nd_edition(augmentation=augmentation_2nd_edition(seed), dropout=0.5),
            DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS, lambda: keras.optimizers.RMSprop(),
            epochs=100, batch_size=32, book_test_accuracy=0.835),
    })

EDITIONS = {1: FIRST_EDITION, 2: SECOND_EDITION}
TRAININGS_CHOSEN = {"off": ["no_augmentation"], "on": ["augmentation_dropout"],
                    "both": ["no_augmentation", "augmentation_dropout"]}

CHAPTER.option("--augmentation", choices=list(TRAININGS_CHOSEN), default="both",
               help="5.2: train without augmentation (30 epochs), with augmentation + dropout (100 epochs), "
                    "or both one after the other (default)")


@CHAPTER.section("5.2", "Training a convnet from scratch on a small dataset",
                 "dogs vs cats, 2,000 pictures: ~0.72 validation accuracy, ~0.83 with augmentation + dropout",
                 distributable=True)
def dogs_vs_cats_from_scratch(run):
    edition = EDITIONS[run.edition]
    trainings = {name: edition.trainings[name] for name in TRAININGS_CHOSEN[run.options.augmentation]}

    # The convnets, checked against the book: four Conv2D + MaxPooling2D stages and a sigmoid unit.
    for training in trainings.values():
        run.clear_session()  # layer names start again at conv2d, as in the book's summary
        run.check_against_book(training.build_model(run.seed), training.book_params,
                               f"DLwP {run.edition}e 5.2, {training.title}")
    if run.summary_only:
        return

    # The data: the book's 2,000 training, 1,000 validation and 1,000 test pictures, each one checked.
    splits = load_dogs_vs_cats(run)
    if "augmentation_dropout" in trainings:
        plot_augmented_images(run, splits, edition)

    histories = {}
    for name, training in trainings.items():
        print(f"\n--- {training.title} ---")
        run.clear_session()
        model = training.build_model(run.seed)
        train, validation, test = dogs_vs_cats_datasets(run, splits, edition, training)

        # Compile and fit: binary crossentropy on the sigmoid output.
        model.compile(optimizer=training.optimizer(), loss="binary_crossentropy", metrics=["accuracy"],
                      **run.compile_settings("conv", steps_per_epoch=training.steps_per_epoch))
        histories[name] = history = run.fit(model, train, name=name, epochs=training.epochs,
                                            steps_per_epoch=training.steps_per_epoch, validation_data=validation)

        # Evaluate on the 1,000 test pictures: the checkpoint with the lowest validation loss (as the
        # 2nd edition does), and the last epoch's weights.
        best, best_epoch = best_checkpoint(run, name)
        note = f"--quick: {sum(splits['train'].counts.values())} pictures, {len(history['loss'])} epochs" \
            if run.quick else ""
        run.record(f"{name}.final_training_accuracy", history["accuracy"][-1], note=note)
        run.record(f"{name}.final_validation_accuracy", history["val_accuracy"][-1],
                   book=training.book_validation_accuracy, note=note)
        run.record(f"{name}.best_validation_accuracy", max(history["val_accuracy"]), note=note)
        run.record(f"{name}.test_accuracy_best_checkpoint", float(best.evaluate(test, verbose=0)[1]),
                   book=training.book_test_accuracy, note=note or "the book's test number is the 2nd edition's",
                   label=f"{name}: test accuracy (best checkpoint, epoch {best_epoch})")
        run.record(f"{name}.test_accuracy_last_epoch", float(model.evaluate(test, verbose=0)[1]), note=note)

    # The book's two pictures side by side: the overfitting, then its cure.
    plot_side_by_side(run, histories, trainings)


def load_dogs_vs_cats(run, quick_images_per_class=QUICK_IMAGES_PER_CLASS):
    """The book's three folders, every picture checked; --quick keeps a few pictures of each class."""
    root = dogs_vs_cats.find_cats_and_dogs_small(run.data_dir)
    print(f"Dogs vs. Cats from {root}")
    splits = {}
    for split in ("train", "validation", "test"):
        splits[split] = dogs_vs_cats.load_split(root, split, quick_images_per_class[split] if run.quick else None)
        print("  " + dogs_vs_cats.describe(splits[split]))
    return splits


def dogs_vs_cats_datasets(run, splits, edition, training):
    """(train, validation, test) tf.data pipelines at the edition's size, batched as `training` says."""
    batch_size = run.batch_size(training.batch_size)
    augmentation = training.pipeline_augmentation(run.seed) if training.pipeline_augmentation else None
    make = functools.partial(dogs_vs_cats.make_dataset, image_size=edition.image_size, batch_size=batch_size,
                             scale=edition.rescale_in_pipeline)
    train = make(splits["train"], shuffle=True, seed=run.seed, augmentation=augmentation)
    if training.steps_per_epoch:
        train = train.repeat()  # a looping generator: fit() takes steps_per_epoch batches per epoch
        print(f"An epoch is {run.steps_per_epoch(training.steps_per_epoch)} batches of {batch_size} augmented "
              "pictures, as the book's generator")
    return train, make(splits["validation"]), make(splits["test"])


def plot_augmented_images(run, splits, edition, count=8):
    """The book's figure: one training picture (cat.3), randomly augmented several times."""
    pictures = sorted((splits["train"].view / "cats").iterdir(), key=dogs_vs_cats.natural_key)
    path = pictures[min(3, len(pictures) - 1)]
    image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=edition.image_size))
    augmented = keras.ops.convert_to_numpy(
        edition.figure_augmentation(run.seed)(np.repeat(image[None], count, axis=0), training=True))
    fig, axes = plt.subplots(2, (count + 1) // 2 + 1, figsize=(3 * ((count + 1) // 2 + 1), 6))
    axes = axes.ravel()
    axes[0].imshow(image.astype("uint8"))
    axes[0].set_title(f"original\n{path.name}")
    for ax, picture in zip(axes[1:], augmented):
        ax.imshow(np.clip(picture, 0, 255).astype("uint8"))
    for ax in axes:
        ax.axis("off")
    fig.suptitle("Random augmentations of one training picture")
    print(f"Saved augmented pictures to {save_figure(fig, run.path('augmented_images.png'))}")


def plot_side_by_side(run, histories, trainings):
    """Both runs' accuracy and loss curves, next to each other, with shared y axes per row."""
    fig, axes = plt.subplots(2, len(histories), figsize=(6 * len(histories), 8), squeeze=False, sharey="row")
    for column, (name, history) in enumerate(histories.items()):
        epochs = range(1, len(history["loss"]) + 1)
        for row, metric in enumerate(("accuracy", "loss")):
            ax = axes[row][column]
            ax.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"{trainings[name].title}: {metric}")
            ax.set_xlabel("Epochs")
            ax.legend()
    fig.tight_layout()
    print(f"Saved both runs' curves to {save_figure(fig, run.path('curves_side_by_side.png'))}")
