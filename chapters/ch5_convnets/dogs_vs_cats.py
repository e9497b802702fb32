"""5.2 Training a convnet from scratch on a small dataset: dogs vs cats, 2,000 training pictures.

The book trains twice: a plain convnet for 30 epochs (it overfits: training
accuracy near 1, validation stuck around 0.72), then the same convnet with
data augmentation and dropout for 100 epochs (validation ~0.82). Each edition
is one function below, its listings in the book's order.
"""

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

# The book's numbers. The 1st edition's augmented generator loops for ever, and its epoch is 100 batches of 32:
# 3,200 augmented pictures, each of the 2,000 1.6 times per epoch, never twice the same way. The 2nd edition's
# optimizer is "rmsprop": Keras's default learning rate, 1e-3.
FIRST_EDITION = {"image_size": DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE, "learning_rate": 1e-4,
                 "epochs": 30, "batch_size": 20,
                 "augmented_epochs": 100, "augmented_batch_size": 32, "augmented_steps_per_epoch": 100}
SECOND_EDITION = {"image_size": DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE, "learning_rate": 1e-3,
                  "epochs": 30, "batch_size": 32, "augmented_epochs": 100}
QUICK_IMAGES_PER_CLASS = {"train": 40, "validation": 20, "test": 20}  # --quick

# --augmentation: (train the plain convnet, train the one with augmentation + dropout)
TRAININGS_CHOSEN = {"off": (True, False), "on": (False, True), "both": (True, True)}
CHAPTER.option("--augmentation", choices=list(TRAININGS_CHOSEN), default="both",
               help="5.2: train without augmentation (30 epochs), with augmentation + dropout (100 epochs), "
                    "or both one after the other (default)")


@CHAPTER.section("5.2", "Training a convnet from scratch on a small dataset",
                 "dogs vs cats, 2,000 pictures: ~0.72 validation accuracy, ~0.83 with augmentation + dropout",
                 distributable=True)
def dogs_vs_cats_from_scratch(run):
    {1: dogs_vs_cats_1st_edition, 2: dogs_vs_cats_2nd_edition}[run.edition](run)


def dogs_vs_cats_1st_edition(run):
    """Listings 5.5-5.15: 150x150 pictures scaled to [0, 1] by the generators, RMSprop at 1e-4."""
    book = FIRST_EDITION
    plain, augmented = TRAININGS_CHOSEN[run.options.augmentation]

    # The data: the book's 2,000 training, 1,000 validation and 1,000 test pictures, each one checked.
    # --summary-only reads none: the convnets are built and checked against the book, nothing trains.
    splits = None if run.summary_only else load_dogs_vs_cats(run)
    histories = {}

    if plain:
        print("\n--- without augmentation ---")
        # Listing 5.5: four Conv2D + MaxPooling2D stages, Flatten, Dense(512) and a sigmoid unit.
        run.clear_session()  # layer names start again at conv2d, as in the book's summary
        model = dogs_vs_cats_convnet_1st_edition()
        run.check_against_book(model, DOGS_VS_CATS_1ST_EDITION_BOOK_PARAMS, "DLwP 1e 5.2, without augmentation")
        if splits:
            # Listing 5.6: RMSprop at 1e-4, binary crossentropy on the sigmoid output.
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=book["learning_rate"]),
                          loss="binary_crossentropy", metrics=["accuracy"], **run.compile_settings("conv"))
            # Listing 5.7: ImageDataGenerator(rescale=1./255): batches of 20, the training pictures shuffled.
            train, validation, test = dogs_vs_cats_datasets(run, splits, book["image_size"], book["batch_size"])
            # Listings 5.8-5.9: 30 epochs, each one pass over the 2,000 pictures; run.fit saves the model.
            histories["no_augmentation"] = history = run.fit(model, train, name="no_augmentation",
                                                             epochs=book["epochs"], validation_data=validation)
            # The 1st edition evaluates on the test pictures only in 5.3; the 2nd edition's numbers are beside ours.
            evaluate(run, "no_augmentation", model, history, test, splits, book_validation_accuracy="0.71-0.72",
                     book_test_accuracy=0.695)
            # Listing 5.10: the curves. Training accuracy nears 1, validation stays near 0.72: overfitting.
            show_curves(run, "no_augmentation", "without augmentation: the plain convnet overfits")

    if augmented:
        print("\n--- augmentation + dropout ---")
        if splits:
            # Listings 5.11-5.12: ImageDataGenerator's random transformations, drawn on one training picture.
            plot_augmented_images(run, splits, book["image_size"], augmentation_1st_edition(run.seed))
        # Listing 5.13: the same convnet with Dropout(0.5) before the dense classifier.
        run.clear_session()
        model = dogs_vs_cats_convnet_1st_edition(dropout=0.5)
        run.check_against_book(model, DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
                               "DLwP 1e 5.2, augmentation + dropout")
        if splits:
            # Listing 5.13 compiles it as before.
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=book["learning_rate"]),
                          loss="binary_crossentropy", metrics=["accuracy"],
                          **run.compile_settings("conv", steps_per_epoch=book["augmented_steps_per_epoch"]))
            # Listing 5.14: only the training generator augments; it loops for ever, in batches of 32.
            train, validation, test = dogs_vs_cats_datasets(
                run, splits, book["image_size"], book["augmented_batch_size"],
                augmentation=augmentation_1st_edition(run.seed), looping_steps=book["augmented_steps_per_epoch"])
            # Listings 5.14-5.15: 100 epochs of 100 batches; run.fit saves the model.
            histories["augmentation_dropout"] = history = run.fit(
                model, train, name="augmentation_dropout", epochs=book["augmented_epochs"],
                steps_per_epoch=book["augmented_steps_per_epoch"], validation_data=validation)
            evaluate(run, "augmentation_dropout", model, history, test, splits, book_validation_accuracy="0.82-0.84",
                     book_test_accuracy=0.835)
            # Figures 5.12-5.13: the curves. Validation follows training: no more overfitting, ~0.82.
            show_curves(run, "augmentation_dropout", "with augmentation and dropout")

    # Both trainings' curves side by side, on shared axes: the overfitting, then its cure.
    if histories:
        plot_side_by_side(run, histories)


def dogs_vs_cats_2nd_edition(run):
    """Listings 8.7-8.18: 180x180 pictures in [0, 255], a Rescaling layer inside the model, RMSprop."""
    book = SECOND_EDITION
    plain, augmented = TRAININGS_CHOSEN[run.options.augmentation]

    # The data: the book's 2,000 training, 1,000 validation and 1,000 test pictures, each one checked.
    # --summary-only reads none: the convnets are built and checked against the book, nothing trains.
    splits = None if run.summary_only else load_dogs_vs_cats(run)
    histories = {}

    if plain:
        print("\n--- without augmentation ---")
        # Listing 8.7: Rescaling(1/255), five Conv2D (four with MaxPooling2D), Flatten and a sigmoid unit.
        run.clear_session()  # layer names start again at conv2d, as in the book's summary
        model = dogs_vs_cats_convnet_2nd_edition()
        run.check_against_book(model, DOGS_VS_CATS_2ND_EDITION_BOOK_PARAMS, "DLwP 2e 5.2, without augmentation")
        if splits:
            # Listing 8.8: "rmsprop", binary crossentropy on the sigmoid output.
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=book["learning_rate"]),
                          loss="binary_crossentropy", metrics=["accuracy"], **run.compile_settings("conv"))
            # Listing 8.9: image_dataset_from_directory: batches of 32 of unscaled pictures, the training ones
            # shuffled.
            train, validation, test = dogs_vs_cats_datasets(run, splits, book["image_size"], book["batch_size"],
                                                            scale=False)
            # Listing 8.11: 30 epochs; the ModelCheckpoint keeps the epoch with the lowest validation loss.
            histories["no_augmentation"] = history = run.fit(model, train, name="no_augmentation",
                                                             epochs=book["epochs"], validation_data=validation)
            # Listing 8.13: the test accuracy of the best checkpoint (~0.695).
            evaluate(run, "no_augmentation", model, history, test, splits, book_test_accuracy=0.695)
            # The curves (listing 8.12, which the book draws before evaluating): training accuracy nears 1,
            # validation peaks after a few epochs: overfitting.
            show_curves(run, "no_augmentation", "without augmentation: the plain convnet overfits")

    if augmented:
        print("\n--- augmentation + dropout ---")
        if splits:
            # Listings 8.14-8.15: flips, rotations and zooms as layers, drawn on one training picture.
            plot_augmented_images(run, splits, book["image_size"], augmentation_2nd_edition(run.seed))
        # Listing 8.16: the augmentation layers in front of the convnet, Dropout(0.5) before the classifier.
        run.clear_session()
        model = dogs_vs_cats_convnet_2nd_edition(augmentation=augmentation_2nd_edition(run.seed), dropout=0.5)
        run.check_against_book(model, DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS,
                               "DLwP 2e 5.2, augmentation + dropout")
        if splits:
            # Listing 8.16 compiles it as before.
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=book["learning_rate"]),
                          loss="binary_crossentropy", metrics=["accuracy"], **run.compile_settings("conv"))
            # Listing 8.9's datasets again: the model augments the training pictures itself, only while it trains.
            train, validation, test = dogs_vs_cats_datasets(run, splits, book["image_size"], book["batch_size"],
                                                            scale=False)
            # Listing 8.17: 100 epochs, one pass over the 2,000 pictures each.
            histories["augmentation_dropout"] = history = run.fit(
                model, train, name="augmentation_dropout", epochs=book["augmented_epochs"],
                validation_data=validation)
            # Listing 8.18: the test accuracy of the best checkpoint (~0.835).
            evaluate(run, "augmentation_dropout", model, history, test, splits, book_test_accuracy=0.835)
            # Figure 8.11: the curves. Validation follows training much longer: far less overfitting.
            show_curves(run, "augmentation_dropout", "with augmentation and dropout")

    # Both trainings' curves side by side, on shared axes: the overfitting, then its cure.
    if histories:
        plot_side_by_side(run, histories)


def load_dogs_vs_cats(run, quick_images_per_class=QUICK_IMAGES_PER_CLASS):
    """The book's three folders, every picture checked; --quick keeps a few pictures of each class."""
    root = dogs_vs_cats.find_cats_and_dogs_small(run.data_dir)
    print(f"Dogs vs. Cats from {root}")
    splits = {}
    for split in ("train", "validation", "test"):
        splits[split] = dogs_vs_cats.load_split(root, split, quick_images_per_class[split] if run.quick else None)
        print("  " + dogs_vs_cats.describe(splits[split]))
    return splits


def dogs_vs_cats_datasets(run, splits, image_size, batch_size, scale=True, augmentation=None, looping_steps=None):
    """(train, validation, test) tf.data pipelines of `image_size` pictures, scaled to [0, 1] or not.

    The training pictures are shuffled every epoch and, with `augmentation`, augmented (they alone); with
    `looping_steps`, they loop for ever as the 1st edition's generator, and an epoch is that many batches.
    """
    batch_size = run.batch_size(batch_size)
    train = dogs_vs_cats.make_dataset(splits["train"], image_size, batch_size, shuffle=True, seed=run.seed,
                                      augmentation=augmentation, scale=scale)
    if looping_steps:
        train = train.repeat()  # fit() takes steps_per_epoch batches per epoch
        print(f"An epoch is {run.steps_per_epoch(looping_steps)} batches of {batch_size} augmented pictures, "
              "as the book's generator")
    validation, test = (dogs_vs_cats.make_dataset(splits[split], image_size, batch_size, scale=scale)
                        for split in ("validation", "test"))
    return train, validation, test


def evaluate(run, name, model, history, test, splits, book_validation_accuracy=None, book_test_accuracy=None):
    """The last epoch's accuracies; the test accuracy of the checkpoint with the lowest validation loss (as the
    2nd edition does) and of the last epoch's weights."""
    best, best_epoch = best_checkpoint(run, name)
    note = f"--quick: {sum(splits['train'].counts.values())} pictures, {len(history['loss'])} epochs" \
        if run.quick else ""
    run.record(f"{name}.final_training_accuracy", history["accuracy"][-1], note=note)
    run.record(f"{name}.final_validation_accuracy", history["val_accuracy"][-1], book=book_validation_accuracy,
               note=note)
    run.record(f"{name}.best_validation_accuracy", max(history["val_accuracy"]), note=note)
    run.record(f"{name}.test_accuracy_best_checkpoint", float(best.evaluate(test, verbose=0)[1]),
               book=book_test_accuracy, note=note or "the book's test number is the 2nd edition's",
               label=f"{name}: test accuracy (best checkpoint, epoch {best_epoch})")
    run.record(f"{name}.test_accuracy_last_epoch", float(model.evaluate(test, verbose=0)[1]), note=note)


def show_curves(run, name, title):
    """run.fit drew the book's figures, training and validation accuracy and loss, in <name>/curves.png."""
    print(f"The curves {title}: {run.path(name) / 'curves.png'}")


def plot_augmented_images(run, splits, image_size, augmentation, count=8):
    """The book's figure: one training picture (cat.3), randomly augmented several times."""
    pictures = sorted((splits["train"].view / "cats").iterdir(), key=dogs_vs_cats.natural_key)
    path = pictures[min(3, len(pictures) - 1)]
    image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=image_size))
    augmented = keras.ops.convert_to_numpy(augmentation(np.repeat(image[None], count, axis=0), training=True))
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


TITLES = {"no_augmentation": "without augmentation", "augmentation_dropout": "augmentation + dropout"}


def plot_side_by_side(run, histories):
    """Both runs' accuracy and loss curves, next to each other, with shared y axes per row."""
    fig, axes = plt.subplots(2, len(histories), figsize=(6 * len(histories), 8), squeeze=False, sharey="row")
    for column, (name, history) in enumerate(histories.items()):
        epochs = range(1, len(history["loss"]) + 1)
        for row, metric in enumerate(("accuracy", "loss")):
            ax = axes[row][column]
            ax.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"{TITLES[name]}: {metric}")
            ax.set_xlabel("Epochs")
            ax.legend()
    fig.tight_layout()
    print(f"Saved both runs' curves to {save_figure(fig, run.path('curves_side_by_side.png'))}")
