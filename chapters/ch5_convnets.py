"""Chapter 5: deep learning for computer vision (convnets).

    python -m chapters.ch5_convnets               # 5.1, the convnet on MNIST
    python -m chapters.ch5_convnets 5.1h          # the same convnet on Persian digits (Hoda)
    python -m chapters.ch5_convnets 5.1f          # convolution as an image filter; a convnet's filters
    python -m chapters.ch5_convnets 5.2           # dogs vs cats from 2,000 pictures, with and without augmentation
    python -m chapters.ch5_convnets all --quick

5.1 trains the slides' small convnet on MNIST (99% where the dense network
of chapter 2 reached 97.8%), then on the Persian handwritten digits of the
Hoda dataset, and shows what a convolution computes: edge filters on a photo,
then the filters and feature maps a trained convnet learned. 5.2 trains a
convnet from scratch on 2,000 pictures of dogs and cats: it overfits, and data
augmentation with dropout brings the validation accuracy from ~0.72 to ~0.83.
"""

import math
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.common import Chapter, Section, check_against_book, save_figure
from datasets import dogs_vs_cats
from datasets.arrays import array_dataset
from datasets.mnist import load_mnist
from models.convnets import (DOGS_VS_CATS_IMAGE_SIZE, MNIST_CONVNET_BOOK_OUTPUT_SHAPES,
                             build_augmentation_2nd_edition, build_book_augmentation, build_dogs_vs_cats_convnet,
                             build_mnist_convnet, dogs_vs_cats_book_params, mnist_convnet_book_params)

BOOK_MNIST_TEST_ACCURACY = 0.991  # 5.1, both editions
BOOK_DOGS_VALIDATION_ACCURACY = {False: "0.71-0.72", True: "0.82-0.84"}  # 1st edition, without / with augmentation
BOOK_DOGS_TEST_ACCURACY = {False: 0.695, True: 0.835}  # 2nd edition (the 1st reports no test accuracy)


# ---------------------------------------------------------------------------
# 5.1 Introduction to convnets: MNIST
# ---------------------------------------------------------------------------

def prepare_digits(images):
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1]: a convnet takes height, width, channels."""
    return images.reshape((len(images), 28, 28, 1)).astype("float32") / 255


def build_and_check_mnist_convnets(ctx):
    """The edition's convnet, printed and checked; with --edition 2 also the no-pooling counter-example."""
    if ctx.edition == 2:
        no_pooling = build_mnist_convnet(2, pooling=False)
        check_against_book(no_pooling, mnist_convnet_book_params(2, pooling=False),
                           "DLwP 2e 5.1, without max pooling (712,202 parameters): the counter-example")
        keras.backend.clear_session()  # layer names start again at conv2d
    model = build_mnist_convnet(ctx.edition)
    total = "93,322" if ctx.edition == 1 else "104,202"
    check_against_book(model, mnist_convnet_book_params(ctx.edition), f"DLwP {ctx.edition}e 5.1 ({total} parameters)")
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    same = shapes == MNIST_CONVNET_BOOK_OUTPUT_SHAPES[ctx.edition]
    print(f"  Output shapes {'equal' if same else 'DIFFER from'} the book's: {shapes}")
    return model


def train_digit_convnet(ctx, model, train, test, name):
    """rmsprop, crossentropy, 5 epochs of batches of 64 (the book's recipe); returns the test accuracy."""
    (train_images, train_labels), (test_images, test_labels) = train, test
    one_hot = ctx.edition == 1  # 1st edition: to_categorical + categorical crossentropy
    if one_hot:
        train_labels, test_labels = (keras.utils.to_categorical(y, 10) for y in (train_labels, test_labels))
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"], **ctx.compile_settings("conv"))
    batch_size = ctx.batch_size(64)
    ctx.fit(model, array_dataset(train_images, train_labels, batch_size, shuffle=True, seed=ctx.args.seed),
            name=name, epochs=ctx.epochs(5))
    _, test_accuracy = model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)
    return float(test_accuracy)


def mnist_convnet(ctx):
    model = build_and_check_mnist_convnets(ctx)
    if ctx.summary_only:
        return
    mnist = load_mnist(ctx.data_dir)
    if ctx.quick:
        mnist = mnist.head(2000, 500)
    train = (prepare_digits(mnist.train_images), mnist.train_labels.astype("int64"))
    test = (prepare_digits(mnist.test_images), mnist.test_labels.astype("int64"))
    accuracy = train_digit_convnet(ctx, model, train, test, name="mnist_convnet")
    note = "" if mnist.is_full else "not the full MNIST: the book's number does not apply"
    ctx.record("test accuracy", accuracy, book=BOOK_MNIST_TEST_ACCURACY, note=note)


# ---------------------------------------------------------------------------
# 5.1, the slides' extra: Persian digits (Hoda), a dataset not included with Keras
# ---------------------------------------------------------------------------

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def plot_digit_grid(images, labels, path, title, per_class=4):
    """The first `per_class` digits of each class, one column per class, labelled."""
    fig, axes = plt.subplots(per_class, 10, figsize=(10 * 1.1, per_class * 1.3))
    for digit in range(10):
        picks = np.flatnonzero(labels == digit)[:per_class]
        for row in range(per_class):
            ax = axes[row][digit]
            ax.axis("off")
            if row < len(picks):
                ax.imshow(images[picks[row]], cmap=plt.cm.binary)
                ax.set_title(f"{PERSIAN_DIGITS[digit]} ({digit})", fontsize=9)
    fig.suptitle(title)
    return save_figure(fig, path)


def persian_digits(ctx):
    from datasets.hoda import load_hoda

    model = build_mnist_convnet(ctx.edition)  # the same convnet: the glyphs are resized to 28x28
    total = "93,322" if ctx.edition == 1 else "104,202"
    check_against_book(model, mnist_convnet_book_params(ctx.edition), f"DLwP {ctx.edition}e 5.1 ({total} parameters)")
    if ctx.summary_only:
        return
    hoda = load_hoda(ctx.data_dir, subset=(2000, 500) if ctx.quick else None, seed=ctx.args.seed)
    grid = plot_digit_grid(hoda.test_images, hoda.test_labels, ctx.path("hoda_digits.png"),
                           "Hoda test digits, resized to 28x28, with their labels")
    print(f"Saved sample digits to {grid}")
    train = (prepare_digits(hoda.train_images), hoda.train_labels.astype("int64"))
    test = (prepare_digits(hoda.test_images), hoda.test_labels.astype("int64"))
    accuracy = train_digit_convnet(ctx, model, train, test, name="hoda_convnet")
    ctx.record(f"Hoda test accuracy ({len(hoda.test_labels):,} digits)", accuracy, book="well above 0.98",
               note="--quick subset" if ctx.quick else "")


# ---------------------------------------------------------------------------
# 5.1, the workshop's demo: a convolution is an image filter
# ---------------------------------------------------------------------------

EDGE_KERNELS = {
    "Prewitt": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32),
    "Sobel": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
}
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def convolve(image, kernels):
    """tf.nn.conv2d of one grayscale image (H, W) with kernels (3, 3, n): the n filtered maps (H, W, n).

    What deep learning calls convolution is a cross-correlation: the kernel
    slides over the image unflipped. "SAME" padding keeps the image's size.
    """
    x = tf.constant(image[None, :, :, None], tf.float32)
    w = tf.constant(kernels[:, :, None, :], tf.float32)  # (height, width, in channels, out channels)
    return tf.nn.conv2d(x, w, strides=1, padding="SAME")[0].numpy()


def edge_maps(image):
    """Gradient magnitude for Prewitt and Sobel (x and y kernels), and the Laplacian."""
    maps = {}
    for name, kx in EDGE_KERNELS.items():
        gradients = convolve(image, np.stack([kx, kx.T], axis=-1))  # d/dx and d/dy
        maps[name] = np.sqrt((gradients ** 2).sum(axis=-1))
    maps["Laplacian"] = np.abs(convolve(image, LAPLACIAN[:, :, None])[:, :, 0])
    return maps


def sobel_conv2d_layer():
    """A Keras Conv2D layer whose two kernels are set by hand to Sobel x and y."""
    layer = keras.layers.Conv2D(2, (3, 3), padding="same", use_bias=False)
    layer.build((None, None, None, 1))
    kx = EDGE_KERNELS["Sobel"]
    layer.set_weights([np.stack([kx, kx.T], axis=-1)[:, :, None, :]])
    return layer


def find_trained_mnist_convnet(ctx):
    """The best model of the latest 5.1 run in this output folder, if there is one."""
    base = Path(ctx.args.output_dir or Path("outputs") / ctx.chapter_name)
    runs = sorted(base.glob("5.1-*/mnist_convnet/best.keras"))
    return runs[-1] if runs else None


def convnet_filters(ctx):
    from scipy import ndimage
    from skimage import data as skimage_data

    if ctx.summary_only:
        layer = sobel_conv2d_layer()
        print(f"A Conv2D layer with its kernel set to Sobel x and y: kernel shape {layer.kernel.shape}, "
              f"{layer.count_params()} parameters (no bias); nothing to train in this section")
        return
    photo = skimage_data.camera().astype(np.float32) / 255  # 512x512 grayscale, ships with scikit-image
    if ctx.quick:
        photo = photo[::4, ::4]
    maps = edge_maps(photo)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for ax, (title, picture) in zip(axes, [("scikit-image camera()", photo), *maps.items()]):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=np.percentile(picture, 99.5))  # a few strong edges set the scale
        ax.set_title(title)
        ax.axis("off")
    print(f"Saved the edge maps to {save_figure(fig, ctx.path('edge_filters.png'))}")

    # The same Sobel filtering by a Conv2D layer, and by SciPy as an independent reference.
    by_layer = keras.ops.convert_to_numpy(sobel_conv2d_layer()(photo[None, :, :, None]))[0]
    by_conv2d = convolve(photo, np.stack([EDGE_KERNELS["Sobel"], EDGE_KERNELS["Sobel"].T], axis=-1))
    by_scipy = ndimage.correlate(photo, EDGE_KERNELS["Sobel"], mode="constant")
    for name, difference in (("Sobel: max |Conv2D layer - tf.nn.conv2d|", by_layer - by_conv2d),
                             ("Sobel x: max |tf.nn.conv2d - scipy.ndimage.correlate|", by_conv2d[..., 0] - by_scipy)):
        largest = float(np.abs(difference).max())
        ctx.record(name, largest, note=f"{largest:.1e} on values up to {np.abs(by_conv2d).max():.1f}: the same")

    # What a trained convnet learned: its first-layer filters, and the feature maps of one digit.
    checkpoint = find_trained_mnist_convnet(ctx)
    mnist = load_mnist(ctx.data_dir)
    if checkpoint is not None:
        print(f"Using the MNIST convnet trained by an earlier 5.1 run: {checkpoint}")
        model = keras.models.load_model(checkpoint)
    else:
        print("No earlier 5.1 run in this output folder: training the convnet for 1 epoch first "
              "(run `python -m chapters.ch5_convnets 5.1` for the book's 5 epochs)")
        model = build_mnist_convnet(ctx.edition)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **ctx.compile_settings("conv"))
        subset = mnist.head(2000, 500) if ctx.quick else mnist
        model.fit(prepare_digits(subset.train_images), subset.train_labels.astype("int64"), epochs=1,
                  batch_size=64, verbose=2)
    plot_first_layer_filters(model, ctx.path("first_layer_filters.png"))
    digit = prepare_digits(mnist.test_images[:1])
    plot_feature_maps(model, digit, int(mnist.test_labels[0]), ctx.path("feature_maps.png"))


def plot_first_layer_filters(model, path):
    kernels = model.layers[0].get_weights()[0]  # (3, 3, 1, 32)
    count = kernels.shape[-1]
    fig, axes = plt.subplots(4, count // 4, figsize=(count // 4 * 1.2, 5))
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(kernels[:, :, 0, i], cmap="gray")
        ax.set_title(str(i), fontsize=8)
        ax.axis("off")
    fig.suptitle("The 32 learned 3x3 filters of the first Conv2D layer")
    print(f"Saved the first-layer filters to {save_figure(fig, path)}")


def plot_feature_maps(model, digit, label, path):
    """The output of each Conv2D and MaxPooling2D layer for one digit (the first 16 channels of each)."""
    feature_layers = [layer for layer in model.layers
                      if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]
    extractor = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in feature_layers])
    activations = extractor.predict(digit, verbose=0)
    channels = 16
    fig, axes = plt.subplots(len(feature_layers), channels + 1, figsize=(channels + 1, len(feature_layers) * 1.2))
    for row, (layer, activation) in enumerate(zip(feature_layers, activations)):
        axes[row][0].imshow(digit[0, :, :, 0], cmap=plt.cm.binary)
        axes[row][0].set_title(layer.name, fontsize=7)
        for channel in range(channels):
            axes[row][channel + 1].imshow(activation[0, :, :, channel], cmap="viridis")
        for ax in axes[row]:
            ax.axis("off")
    fig.suptitle(f"Feature maps of a test digit (label {label}), first {channels} channels per layer")
    print(f"Saved the feature maps to {save_figure(fig, path)}")


# ---------------------------------------------------------------------------
# 5.2 Training a convnet from scratch on a small dataset: dogs vs cats
# ---------------------------------------------------------------------------

QUICK_IMAGES_PER_CLASS = {"train": 40, "validation": 20, "test": 20}


def load_dogs_vs_cats(ctx):
    """The book's three folders, checked; --quick keeps a few pictures of each class."""
    root = dogs_vs_cats.find_cats_and_dogs_small(ctx.data_dir)
    print(f"Dogs vs. Cats from {root}")
    splits = {}
    for split in ("train", "validation", "test"):
        splits[split] = dogs_vs_cats.load_split(root, split, QUICK_IMAGES_PER_CLASS[split] if ctx.quick else None)
        print("  " + dogs_vs_cats.describe(splits[split]))
    return splits


def dogs_vs_cats_datasets(ctx, splits, batch_size, augmentation=None):
    """tf.data pipelines: the 1st edition scales to [0, 1] in the pipeline, the 2nd in the model."""
    size = DOGS_VS_CATS_IMAGE_SIZE[ctx.edition]
    scale = ctx.edition == 1
    train = dogs_vs_cats.make_dataset(splits["train"], size, batch_size, shuffle=True, seed=ctx.args.seed,
                                      augmentation=augmentation, scale=scale)
    validation = dogs_vs_cats.make_dataset(splits["validation"], size, batch_size, scale=scale)
    test = dogs_vs_cats.make_dataset(splits["test"], size, batch_size, scale=scale)
    return train, validation, test


def build_and_check_dogs_vs_cats_convnet(ctx, augmentation):
    model = build_dogs_vs_cats_convnet(ctx.edition, dropout=augmentation, seed=ctx.args.seed)
    total = "3,453,121" if ctx.edition == 1 else "991,041"
    what = "with dropout" if augmentation else "without augmentation"
    check_against_book(model, dogs_vs_cats_book_params(ctx.edition, augmentation),
                       f"DLwP {ctx.edition}e 5.2, {what} ({total} parameters)")
    return model


def train_dogs_vs_cats(ctx, splits, augmentation):
    """One of the book's two runs; returns its history."""
    name = "augmentation_dropout" if augmentation else "no_augmentation"
    print(f"\n--- {name.replace('_', ' ')} ---")
    keras.backend.clear_session()  # layer names start again at conv2d, as in the book's summary
    model = build_and_check_dogs_vs_cats_convnet(ctx, augmentation)
    # 1st edition: batches of 20 without augmentation, 32 with; the augmentation runs in the data
    # pipeline, so the model (and its summary) is the book's. The 2nd edition's is inside the model.
    batch_size = ctx.batch_size(32 if (augmentation or ctx.edition == 2) else 20)
    pipeline_augmentation = build_book_augmentation(ctx.args.seed) if augmentation and ctx.edition == 1 else None
    train, validation, test = dogs_vs_cats_datasets(ctx, splits, batch_size, pipeline_augmentation)
    compile_settings = ctx.compile_settings("conv")
    fit_arguments = {}
    if pipeline_augmentation is not None:
        # The book's generator loops over the 2,000 pictures for ever, and its epoch is 100 batches
        # of 32: 3,200 augmented pictures, each picture 1.6 times per epoch (never the same way twice).
        steps = 2 if ctx.quick else 100
        train = train.repeat()
        fit_arguments["steps_per_epoch"] = steps
        # Keras rounds an epoch up to whole groups of steps_per_execution: keep it at exactly `steps`.
        compile_settings["steps_per_execution"] = math.gcd(steps, compile_settings.get("steps_per_execution", 1))
        print(f"An epoch is {steps} batches of {batch_size} augmented pictures, as the book's generator "
              f"(steps_per_execution={compile_settings['steps_per_execution']})")
    if ctx.edition == 1:
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="binary_crossentropy",
                      metrics=["accuracy"], **compile_settings)
    else:
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"], **compile_settings)
    epochs = ctx.epochs(100 if augmentation else 30)
    history = ctx.fit(model, train, name=name, epochs=epochs, validation_data=validation, **fit_arguments)

    # The checkpoint with the lowest validation loss, as the book's 2nd edition evaluates.
    best = keras.models.load_model(ctx.path(f"{name}/best.keras"))
    _, best_test_accuracy = best.evaluate(test, verbose=0)
    _, final_test_accuracy = model.evaluate(test, verbose=0)
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    note = "--quick: a few pictures, 1 epoch" if ctx.quick else ""
    ctx.record(f"{name}: final training accuracy", history["accuracy"][-1], note=note)
    ctx.record(f"{name}: final validation accuracy", history["val_accuracy"][-1],
               book=BOOK_DOGS_VALIDATION_ACCURACY[augmentation] if ctx.edition == 1 else None, note=note)
    ctx.record(f"{name}: best validation accuracy", max(history["val_accuracy"]), note=note)
    ctx.record(f"{name}: test accuracy (best checkpoint, epoch {best_epoch})", float(best_test_accuracy),
               book=BOOK_DOGS_TEST_ACCURACY[augmentation], note=note or "the book's test number is the 2nd edition's")
    ctx.record(f"{name}: test accuracy (last epoch)", float(final_test_accuracy), note=note)
    if name in ctx.seconds_per_epoch:  # not when --resume found the run already complete
        ctx.record(f"{name}: seconds per epoch", round(ctx.seconds_per_epoch[name], 1),
                   note="epochs trained in this run, this machine")
    return history


def plot_augmented_images(ctx, splits, count=8):
    """The book's figure: one training picture, randomly augmented several times."""
    pictures = sorted((splits["train"].view / "cats").iterdir(), key=dogs_vs_cats.natural_key)
    path = pictures[min(3, len(pictures) - 1)]  # the book shows cat.3
    size = DOGS_VS_CATS_IMAGE_SIZE[ctx.edition]
    image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=size))
    if ctx.edition == 1:
        augmentation = build_book_augmentation(ctx.args.seed)
    else:
        augmentation = build_augmentation_2nd_edition(ctx.args.seed)
    batch = np.repeat(image[None], count, axis=0)
    augmented = keras.ops.convert_to_numpy(augmentation(batch, training=True))
    fig, axes = plt.subplots(2, (count + 1) // 2 + 1, figsize=(3 * ((count + 1) // 2 + 1), 6))
    axes = axes.ravel()
    axes[0].imshow(image.astype("uint8"))
    axes[0].set_title(f"original\n{path.name}")
    for ax, picture in zip(axes[1:], augmented):
        ax.imshow(np.clip(picture, 0, 255).astype("uint8"))
    for ax in axes:
        ax.axis("off")
    fig.suptitle("Random augmentations of one training picture")
    print(f"Saved augmented pictures to {save_figure(fig, ctx.path('augmented_images.png'))}")


TITLES = {"no_augmentation": "without augmentation", "augmentation_dropout": "augmentation + dropout"}


def plot_side_by_side(ctx, histories):
    """Both runs' accuracy and loss curves, next to each other: the overfitting, then its cure."""
    # Shared y axes per row, so that the two runs compare at a glance.
    fig, axes = plt.subplots(2, len(histories), figsize=(6 * len(histories), 8), squeeze=False, sharey="row")
    for column, (name, history) in enumerate(histories.items()):
        epochs = range(1, len(history["loss"]) + 1)
        for row, metric in enumerate(("accuracy", "loss")):
            ax = axes[row][column]
            ax.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"{TITLES.get(name, name)}: {metric}")
            ax.set_xlabel("Epochs")
            ax.legend()
    fig.tight_layout()
    print(f"Saved both runs' curves to {save_figure(fig, ctx.path('curves_side_by_side.png'))}")


def dogs_vs_cats_small(ctx):
    runs = {"off": [False], "on": [True], "both": [False, True]}[ctx.args.augmentation]
    if ctx.summary_only:
        for augmentation in runs:
            build_and_check_dogs_vs_cats_convnet(ctx, augmentation)
        return
    splits = load_dogs_vs_cats(ctx)
    if True in runs:
        plot_augmented_images(ctx, splits)
    histories = {}
    for augmentation in runs:
        name = "augmentation_dropout" if augmentation else "no_augmentation"
        histories[name] = train_dogs_vs_cats(ctx, splits, augmentation)
    plot_side_by_side(ctx, histories)


# ---------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("--augmentation", choices=["off", "on", "both"], default="both",
                        help="5.2: train without augmentation (30 epochs), with augmentation + dropout "
                             "(100 epochs), or both one after the other (default)")


CHAPTER = Chapter(
    name="ch5_convnets",
    title="Chapter 5: Deep learning for computer vision",
    description=__doc__.split("\n\n", 2)[2].strip(),
    default_section="5.1",
    add_arguments=add_arguments,
    sections=[
        Section("5.1", "Introduction to convnets",
                "Conv2D/MaxPooling2D on MNIST: 93,322 parameters (2nd ed. 104,202), test accuracy ~0.991",
                mnist_convnet),
        Section("5.1h", "Persian handwritten digits (Hoda)",
                "the same convnet on Hoda's .cdb/.mat files, glyphs resized to 28x28: test accuracy > 0.98",
                persian_digits),
        Section("5.1f", "Convolution as a filter",
                "Prewitt, Sobel and Laplacian on a photo; a Sobel Conv2D; a trained convnet's filters and maps",
                convnet_filters),
        Section("5.2", "Training a convnet from scratch on a small dataset",
                "dogs vs cats, 2,000 pictures: ~0.72 validation accuracy, ~0.83 with augmentation + dropout",
                dogs_vs_cats_small),
    ],
)

if __name__ == "__main__":
    CHAPTER.main()
