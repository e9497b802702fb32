"""8.5 Introduction to generative adversarial networks: a DCGAN that learns to draw frogs (or digits).

A generator maps random points of a 32-dimensional latent space to pictures;
a discriminator learns to tell them from real ones, and the generator learns
to fool it. The book trains on the 5,000 frogs of CIFAR-10 for 10,000 steps of
20 real and 20 generated pictures, with RMSprop, gradient clipping and noisy
labels; both losses should hover around ln 2 = 0.69 (neither side wins).

Keras 3 no longer freezes the discriminator inside the combined model the way
the book's listing relies on: `models.gan.GAN` writes the two updates as one
training step in which each update changes only its own network.

CIFAR-10 is often not at hand offline: `--images mnist` runs the same recipe
on 28x28 MNIST digits, and measures what the generator makes with the 5.1
convnet (a collapsed GAN draws one digit only).

`--edition 2` runs the 2nd edition's GAN (its 12.5: CelebA faces at 64x64),
in `gan_2nd_edition`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch8_generative import CHAPTER
from chapters.ch8_generative.gan_2nd_edition import gan_2nd_edition
from chapters.figures import save_figure, save_png
from datasets.arrays import without_autotuning
from datasets.cifar10 import CLASS_NAMES, load_cifar10
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.convnets import mnist_convnet_1st_edition
from models.gan import (
    GAN,
    GAN_DISCRIMINATOR_1ST_EDITION_BOOK_PARAMS,
    GAN_DISCRIMINATOR_MNIST_PARAMS,
    GAN_GENERATOR_1ST_EDITION_BOOK_PARAMS,
    GAN_GENERATOR_MNIST_PARAMS,
    LATENT_DIM_1ST_EDITION,
    discriminator_optimizer_1st_edition,
    gan_discriminator_1st_edition,
    gan_generator_1st_edition,
    gan_optimizer_1st_edition,
)

# The book's loop: 10,000 steps of batch 20, a print and a saved picture every 100 steps. Here an "epoch" of
# fit() is those 100 steps, so that the history, the backup and the pictures follow the book's rhythm.
STEPS, BATCH_SIZE, STEPS_PER_REPORT = 10_000, 20, 100
FROG = CLASS_NAMES.index("frog")  # class 6
GRID_SIDE = 5  # a 5x5 grid of generated pictures every 100 steps, always from the same 25 latent points
MEASURED_DIGITS, CONFIDENT = 1_000, 0.9  # --images mnist: what the 5.1 convnet says of 1,000 generated digits
BOOK_LOSSES = ("both hover around ln 2 = 0.69: d in [0.66, 1.51] (median 0.69), adversarial in [0.51, 1.14] "
               "(median 0.76)")
QUICK_IMAGES, QUICK_MEASURED_DIGITS = 200, 100  # --quick: real pictures to draw batches from; digits to classify


def cifar10_frogs(run):
    """The book's data: the 5,000 CIFAR-10 training frogs, scaled to [0, 1] (the book's scaling)."""
    cifar = load_cifar10(run.data_dir)
    return scale_to_unit(cifar.train_images[cifar.train_labels == FROG]), "CIFAR-10 frogs (class 6)"


def mnist_digits(run):
    """Our adaptation: the 60,000 MNIST training digits, all classes, as (28, 28, 1) in [0, 1]."""
    mnist = load_mnist(run.data_dir)
    return scale_to_unit(mnist.train_images[..., None]), f"MNIST training digits ({mnist.source})"


@dataclass(frozen=True)
class Images:
    """What the GAN learns to draw: the pictures' shape, the networks' per-layer counts and the loader."""
    title: str
    shape: tuple  # (height, width, channels)
    generator_params: list
    discriminator_params: list
    params_source: str
    load: Callable  # run -> ((N, height, width, channels) float32 in [0, 1], description)


IMAGES = {
    "frogs": Images("CIFAR-10 frogs", (32, 32, 3), GAN_GENERATOR_1ST_EDITION_BOOK_PARAMS,
                    GAN_DISCRIMINATOR_1ST_EDITION_BOOK_PARAMS, "DLwP 1e 8.5", cifar10_frogs),
    "mnist": Images("MNIST digits", (28, 28, 1), GAN_GENERATOR_MNIST_PARAMS, GAN_DISCRIMINATOR_MNIST_PARAMS,
                    "DLwP 1e 8.5's recipe on 28x28x1 digits (our arithmetic, not a table of the book)", mnist_digits),
}

DEFAULT_IMAGES = "frogs"
CHAPTER.option("--images", choices=list(IMAGES), defines_model=True,
               help="8.5, 1st edition: what the GAN learns to draw: the book's CIFAR-10 frogs (default; needs "
                    "CIFAR-10), or MNIST digits (the same recipe on 28x28x1, runs offline); the 2nd edition draws "
                    "CelebA faces only")


@CHAPTER.section("8.5", "Introduction to generative adversarial networks",
                 "a DCGAN (generator 6,264,579, discriminator 790,913) on CIFAR-10 frogs, 10,000 steps of 20; "
                 "--images mnist: the same recipe on digits; 2nd ed. 12.5: CelebA faces at 64x64 (3,979,651 and "
                 "404,801), 100 epochs",
                 distributable=True)
def generative_adversarial_network(run):
    if run.edition == 2:
        return gan_2nd_edition(run)
    images = IMAGES[run.options.images or DEFAULT_IMAGES]
    height, width, channels = images.shape

    # The two networks, checked layer by layer.
    generator = gan_generator_1st_edition(LATENT_DIM_1ST_EDITION, height, width, channels)
    discriminator = gan_discriminator_1st_edition(height, width, channels)
    run.check_against_book(generator, images.generator_params, f"{images.params_source}, the generator")
    run.check_against_book(discriminator, images.discriminator_params, f"{images.params_source}, the discriminator")
    if run.summary_only:
        return

    # The data: real pictures in [0, 1], taken 20 at a time in their order, round and round, as the book's loop.
    real_images, description = images.load(run)
    if run.quick:
        real_images = real_images[:QUICK_IMAGES]
    print(f"Real pictures: {len(real_images):,} {description}, shape {real_images.shape[1:]}")
    batch_size = run.batch_size(BATCH_SIZE)

    # The GAN: the discriminator's RMSprop(0.0008) and the combined model's RMSprop(0.0004), both clipped at 1.0.
    gan = GAN(generator, discriminator, LATENT_DIM_1ST_EDITION, seed=run.seed, name="gan")
    gan.compile(discriminator_optimizer_1st_edition(), gan_optimizer_1st_edition(),
                **run.compile_settings("conv", steps_per_epoch=STEPS_PER_REPORT))
    run.record("discriminator_optimizer", optimizer_description(gan.discriminator_optimizer))
    run.record("gan_optimizer", optimizer_description(gan.optimizer))
    # --images mnist: the digit classifier the end needs, found (or trained) before the long training, not after.
    classifier = mnist_classifier(run) if images is IMAGES["mnist"] else None

    # 10,000 steps = 100 fits of 100 steps; after each 100, a grid of pictures from 25 fixed latent points.
    grid_points = np.random.default_rng(run.seed).normal(size=(GRID_SIDE * GRID_SIDE, LATENT_DIM_1ST_EDITION))
    pictures = GeneratedPictures(run, grid_points.astype("float32"), STEPS_PER_REPORT, images.title)
    history = run.fit(gan, real_picture_batches(real_images, batch_size), name="gan",
                      epochs=STEPS // STEPS_PER_REPORT, steps_per_epoch=STEPS_PER_REPORT, callbacks=[pictures],
                      whole_model=False)
    steps_done = len(history["loss"]) * run.steps_per_epoch(STEPS_PER_REPORT)
    run.record("steps", steps_done, book=STEPS)
    run.record("final_d_loss", history["d_loss"][-1], book=BOOK_LOSSES,
               label=f"discriminator loss, mean of the last {run.steps_per_epoch(STEPS_PER_REPORT)} steps")
    run.record("final_g_loss", history["g_loss"][-1], book=BOOK_LOSSES,
               label=f"adversarial (generator) loss, mean of the last {run.steps_per_epoch(STEPS_PER_REPORT)} steps")
    print(f"Saved the losses to {plot_losses(history, run.steps_per_epoch(STEPS_PER_REPORT), run.path('losses.png'))}")
    final = pictures.save_grid(steps_done, run.path("generated_grid.png"))
    print(f"Saved the last grid of generated pictures to {final}")
    real = picture_grid(real_images[:GRID_SIDE * GRID_SIDE])
    save_png(real, run.path("real_grid.png"), f"real {images.title}")

    # --images mnist: what do the generated digits look like to a trained digit classifier?
    if classifier is not None:
        measure_generated_digits(run, gan, *classifier)


def scale_to_unit(images):
    return images.astype("float32") / 255


def real_picture_batches(real_images, batch_size):
    """The book's `x_train[start: start + 20]`, start going round the pictures in order: an endless dataset."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(real_images).batch(batch_size, drop_remainder=True).repeat()
    return without_autotuning(dataset.prefetch(2))


def optimizer_description(optimizer):
    config = optimizer.get_config()
    schedule = config["learning_rate"]["config"]
    return (f"{type(optimizer).__name__}(learning_rate={schedule['initial_learning_rate']}, "
            f"decay={schedule['decay_rate']}, clipvalue={config['clipvalue']})")


def picture_grid(pictures, side=GRID_SIDE, zoom=3):
    """(side * side, height, width, channels) floats -> one RGB uint8 picture, each pixel `zoom` x `zoom`.

    Values outside [0, 1] are clipped (the generator ends in tanh, the real pictures are in [0, 1]).
    """
    pictures = np.clip(np.asarray(pictures[: side * side]), 0, 1)
    count, height, width, channels = pictures.shape
    if channels == 1:
        pictures = np.repeat(pictures, 3, axis=-1)
    grid = pictures.reshape(side, side, height, width, 3).transpose(0, 2, 1, 3, 4).reshape(side * height,
                                                                                          side * width, 3)
    grid = np.repeat(np.repeat(grid, zoom, axis=0), zoom, axis=1)
    return (grid * 255).round().astype("uint8")


class GeneratedPictures(keras.callbacks.Callback):
    """After every 100 steps: the generator's pictures of 25 fixed latent points, as `generated/step_NNNNN.png`."""

    def __init__(self, run, latent_points, steps_per_epoch, title):
        super().__init__()
        self.run, self.latent_points, self.title = run, latent_points, title
        self.steps_per_epoch = run.steps_per_epoch(steps_per_epoch)

    def save_grid(self, step, path):
        pictures = self.model.generator.predict(self.latent_points, verbose=0)
        return save_png(picture_grid(pictures), path, f"8.5 GAN, generated {self.title} after {step} steps")

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.steps_per_epoch
        self.save_grid(step, self.run.path(f"generated/step_{step:05d}.png"))
        print(f"step {step}: discriminator loss {logs.get('d_loss', float('nan')):.4f}, adversarial loss "
              f"{logs.get('g_loss', float('nan')):.4f} (means of the last {self.steps_per_epoch} steps)", flush=True)


def plot_losses(history, steps_per_epoch, path):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = steps_per_epoch * np.arange(1, len(history["d_loss"]) + 1)
    ax.plot(steps, history["d_loss"], "b.-", label="discriminator loss")
    ax.plot(steps, history["g_loss"], "r.-", label="adversarial (generator) loss")
    ax.axhline(np.log(2), color="gray", linestyle="--", label="ln 2 (neither wins)")
    ax.set_xlabel("Steps")
    ax.set_ylabel(f"Binary crossentropy (mean of {steps_per_epoch} steps)")
    ax.set_title("8.5 GAN: the two losses")
    ax.legend()
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# --images mnist: the 5.1 convnet's view of the generated digits
# ---------------------------------------------------------------------------

MNIST_CONVNET_CHECKPOINT = "5.1-*/mnist_convnet/best.keras"  # in a chapter 5 output folder


def mnist_convnet_folders(run):
    """Where earlier 5.1 runs are looked for: beside this chapter's output folder, and ./outputs."""
    return sorted({run.output_base.parent / "ch5_convnets", Path("outputs/ch5_convnets")})


def find_trained_mnist_convnet(run):
    """The best model of the newest 5.1 run in `mnist_convnet_folders`."""
    found = sorted((path for folder in mnist_convnet_folders(run) for path in folder.glob(MNIST_CONVNET_CHECKPOINT)),
                   key=lambda path: path.parent.parent.name)
    return found[-1] if found else None


def mnist_classifier(run):
    """(model, source): the 5.1 convnet trained by an earlier run, else one trained here for one epoch (said so)."""
    checkpoint = find_trained_mnist_convnet(run)
    if checkpoint is not None:
        try:
            model = keras.models.load_model(checkpoint)
            if model.input_shape[1:] != (28, 28, 1) or model.output_shape[1:] != (10,):
                raise ValueError(f"takes {model.input_shape[1:]}, gives {model.output_shape[1:]}; not 5.1's convnet")
            print(f"Classifying with the MNIST convnet of an earlier 5.1 run: {checkpoint}")
            return model, str(checkpoint)
        except Exception as e:  # an empty or damaged file, another model
            reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
            print(f"The 5.1 convnet of {checkpoint.parent.parent} cannot be loaded ({reason}); training one here "
                  "for 1 epoch")
    else:
        print(f"No trained 5.1 convnet found in {' or '.join(map(str, mnist_convnet_folders(run)))} (python -m "
              "chapters.ch5_convnets 5.1 trains one): training it here for 1 epoch on the MNIST training digits to "
              "classify the generated ones")
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    model = mnist_convnet_1st_edition()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(scale_to_unit(mnist.train_images[..., None]), mnist.train_labels.astype("int64"), epochs=1,
              batch_size=64, verbose=2)
    _, accuracy = model.evaluate(scale_to_unit(mnist.test_images[..., None]), mnist.test_labels.astype("int64"),
                                 verbose=0)
    return model, f"a 5.1 convnet trained here for 1 epoch (test accuracy {accuracy:.4f})"


def measure_generated_digits(run, gan, classifier, source):
    count = QUICK_MEASURED_DIGITS if run.quick else MEASURED_DIGITS
    latent_points = np.random.default_rng(run.seed + 1).normal(size=(count, gan.latent_dim))
    digits = np.clip(gan.generator.predict(latent_points.astype("float32"), batch_size=100, verbose=0), 0, 1)
    classify_generated_digits(run, digits, "8.5 GAN on MNIST", classifier, source)


def classify_generated_digits(run, digits, title, classifier, source):
    """What `classifier` (from mnist_classifier) says of generated (N, 28, 28, 1) digits in [0, 1]: results and a
    histogram.

    Also used by the 3rd edition's diffusion model (chapters.ch17_diffusion) on its digits.
    """
    count = len(digits)
    probabilities = classifier.predict(digits, batch_size=250, verbose=0)
    confident = probabilities.max(axis=1) >= CONFIDENT
    classes = probabilities.argmax(axis=1)
    histogram = np.bincount(classes, minlength=10)
    run.record("classifier", source)
    run.record("share_classified_confidently", float(confident.mean()),
               label=f"generated digits the 5.1 convnet classifies with confidence >= {CONFIDENT}")
    run.record("class_histogram", histogram.tolist(), label=f"classes of {count:,} generated digits (0-9)")
    run.record("largest_class_share", float(histogram.max() / count),
               note="0.1 for ten equal classes; near 1 when the model has collapsed onto one digit")
    path = plot_class_histogram(histogram, np.bincount(classes[confident], minlength=10),
                                run.path("generated_digit_classes.png"), title)
    print(f"Saved the classes of the generated digits to {path}")


def plot_class_histogram(histogram, confident_histogram, path, title):
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(10), histogram, color="lightsteelblue", label="all")
    ax.bar(range(10), confident_histogram, color="steelblue", label=f"confidence >= {CONFIDENT}")
    ax.set_xticks(range(10))
    ax.set_xlabel("class the 5.1 convnet gives")
    ax.set_ylabel(f"generated digits (of {histogram.sum():,})")
    ax.set_title(f"{title}: what the generated digits look like to a digit classifier")
    ax.legend()
    return save_figure(fig, path)
