"""5.1, the workshop's example: the PyTorch tutorial's small convnet on CIFAR-10, translated to Keras.

The workshop trains PyTorch's "Training a classifier" network (two 5x5
convolutions, three dense layers: 62,006 parameters) with SGD at 0.001,
momentum 0.9, batches of 4, for 2 epochs, on pictures normalised to [-1, 1];
the tutorial reports about 54% test accuracy. `--recipe keras` trains the same
network a better way: Adam, batches of 32, flips and shifts, 20 epochs, with
5,000 training pictures held out to pick the best epoch.
"""

from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch5_convnets import CHAPTER
from chapters.figures import save_figure
from chapters.training import best_checkpoint
from datasets.arrays import array_dataset
from datasets.cifar10 import CLASS_NAMES, load_cifar10
from models.convnets import CIFAR10_CONVNET_BOOK_PARAMS, CIFAR10_CONVNET_OUTPUT_SHAPES, cifar10_convnet

QUICK_SUBSET = (2000, 500)  # --quick: the first 2,000 training and 500 test pictures
WORKSHOP_TEST_ACCURACY = "~0.54 (the PyTorch tutorial)"


def keras_augmentation(seed=None):
    """Mirror images and shifts of up to 10% of the picture: cheap variety for 32x32 photos."""
    return keras.Sequential([keras.layers.RandomFlip("horizontal", seed=seed),
                             keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=seed)],
                            name="data_augmentation")


@dataclass(frozen=True)
class Recipe:
    """How the network is trained."""
    title: str
    optimizer: Callable[[], keras.optimizers.Optimizer]
    batch_size: int
    epochs: int
    validation_pictures: int  # held out from the end of the training set to choose the best epoch (0: none)
    augmentation: Callable | None = None  # augmentation(seed), in the data pipeline
    book_test_accuracy: str | None = None


RECIPES = {
    "workshop": Recipe("the workshop's recipe: SGD 0.001 with momentum 0.9, batches of 4, 2 epochs",
                       lambda: keras.optimizers.SGD(learning_rate=0.001, momentum=0.9), batch_size=4, epochs=2,
                       validation_pictures=0, book_test_accuracy=WORKSHOP_TEST_ACCURACY),
    "keras": Recipe("a Keras recipe: Adam 0.001, batches of 32, flips and shifts, 20 epochs, best of 5,000 held out",
                    lambda: keras.optimizers.Adam(learning_rate=0.001), batch_size=32, epochs=20,
                    validation_pictures=5000, augmentation=keras_augmentation),
}

CHAPTER.option("--recipe", choices=list(RECIPES), default="workshop", defines_model=True,
               help="5.1c: the workshop's training (SGD 0.001, momentum 0.9, batches of 4, 2 epochs; default) or "
                    "a better one (Adam, augmentation, 20 epochs)")


@CHAPTER.section("5.1c", "The workshop's convnet on CIFAR-10",
                 "PyTorch's tutorial network in Keras: 62,006 parameters, SGD, batches of 4, 2 epochs: ~0.54",
                 distributable=True)
def cifar10_workshop_convnet(run):
    recipe = RECIPES[run.options.recipe]

    # The network, checked against PyTorch's count, layer by layer.
    model = cifar10_convnet()
    run.check_against_book(model, CIFAR10_CONVNET_BOOK_PARAMS, "the workshop's PyTorch Net (CIFAR-10 tutorial)")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    run.record("output_shapes_match_the_workshop", shapes == CIFAR10_CONVNET_OUTPUT_SHAPES,
               note=f"ours: {shapes}", label="output shapes equal the workshop's")
    if run.summary_only:
        return

    # The data: 50,000 training and 10,000 test pictures, 32x32, normalised to [-1, 1] as the workshop does.
    cifar = load_cifar10(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    print(f"Saved sample pictures to {plot_samples(cifar.train_images, cifar.train_labels, run.path('samples.png'))}")
    train_images, train_labels = normalize(cifar.train_images), cifar.train_labels.astype("int64")
    test = array_dataset(normalize(cifar.test_images), cifar.test_labels.astype("int64"), 1000)
    held_out = min(recipe.validation_pictures, len(train_images) // 10)
    validation = None
    if held_out:
        validation = array_dataset(train_images[-held_out:], train_labels[-held_out:], 1000)
        train_images, train_labels = train_images[:-held_out], train_labels[:-held_out]
    batch_size = run.batch_size(recipe.batch_size)
    train = array_dataset(train_images, train_labels, batch_size, shuffle=True, seed=run.seed)
    if recipe.augmentation is not None:
        augmentation = recipe.augmentation(run.seed)
        train = train.map(lambda x, y: (augmentation(x, training=True), y))
    print(f"Training with {recipe.title}: {len(train_images):,} pictures, "
          f"{-(-len(train_images) // batch_size):,} steps per epoch")

    # Compile and fit: cross-entropy of the integer labels, as PyTorch's nn.CrossEntropyLoss.
    model.compile(optimizer=recipe.optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("conv"))
    name = f"{run.options.recipe}_recipe"
    history = run.fit(model, train, name=name, epochs=recipe.epochs, validation_data=validation)
    if validation is not None:  # the epoch with the lowest validation loss
        model, best_epoch = best_checkpoint(run, name)
        print(f"Evaluating the best epoch ({best_epoch}) on the test pictures")

    # Test accuracy, overall and per class (the tutorial prints both).
    predictions = np.argmax(model.predict(test, verbose=0), axis=1)
    labels = cifar.test_labels.astype("int64")
    note = f"--quick: {len(labels):,} test pictures, {len(history['loss'])} epoch(s)" if run.quick else ""
    run.record("test_accuracy", float(np.mean(predictions == labels)),
               book=recipe.book_test_accuracy, note=note,
               label=f"test accuracy, {run.options.recipe} recipe ({len(labels):,} pictures)")
    per_class = {CLASS_NAMES[c]: round(float(np.mean(predictions[labels == c] == c)), 3)
                 for c in range(len(CLASS_NAMES)) if np.any(labels == c)}
    run.record("test_accuracy_per_class", per_class, note=note)


def normalize(images):
    """uint8 pictures -> float32 in [-1, 1]: the workshop's ToTensor() then Normalize((0.5,) * 3, (0.5,) * 3)."""
    return (images.astype("float32") / 255 - 0.5) / 0.5


def plot_samples(images, labels, path, count=16):
    """The first training pictures with their class names, as the tutorial shows a batch."""
    count = min(count, len(images))
    columns = 8
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.4, rows * 1.6), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < count:
            ax.imshow(images[i])
            ax.set_title(CLASS_NAMES[labels[i]], fontsize=9)
    fig.suptitle("CIFAR-10 training pictures (32x32)")
    return save_figure(fig, path)
