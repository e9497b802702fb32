"""17.2 Diffusion models (3rd edition): a U-Net learns to denoise, then draws flowers (or digits) from noise.

The book's recipe: the 8,189 Oxford Flowers photographs, cropped square and
resized to 128x128, normalized per channel; a U-Net (widths 32, 64, 96, 128,
two residual blocks per width) that takes a noisy picture and its noise rate
and predicts the noise; noise rates from a cosine schedule between signal
rates 0.95 and 0.02; the mean absolute error between the true and the
predicted noise; AdamW with an inverse-time decaying learning rate (1e-3)
and an exponential moving average of the weights; 100 epochs of 32 pictures.
Generation denoises pure noise in 20 steps; after each epoch a 3x6 grid of
generated pictures is saved.

Oxford Flowers is not on most offline machines: `--images mnist` (the
default) runs the same recipe on MNIST digits padded to 32x32 (one channel),
and measures what it draws with the 5.1 convnet, as 8.5 --images mnist does.
"""

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from chapters.ch8_generative.generative_adversarial_network import (
    MEASURED_DIGITS,
    QUICK_MEASURED_DIGITS,
    classify_generated_digits,
    mnist_classifier,
)
from chapters.ch17_diffusion import CHAPTER
from chapters.cli import positive_int
from chapters.figures import save_png
from datasets.arrays import array_dataset
from datasets.flowers import find_flowers, flower_dataset
from datasets.mnist import load_mnist
from models.diffusion import (
    DIFFUSION_STEPS_3RD_EDITION,
    DiffusionModel,
    adamw_3rd_edition,
    denoising_unet,
    unet_params,
)

EPOCHS, BATCH_SIZE = 100, 32  # the book's
GRID_ROWS, GRID_COLUMNS = 3, 6  # the book's VisualizationCallback
QUICK_DIGITS, QUICK_FLOWER_BATCHES = 256, 2  # --quick: the first 256 digits, or 2 batches of flowers
DIGIT_PADDING = 2  # 28x28 digits padded to 32x32: the U-Net halves the size three times
GENERATION_BATCH = 100  # pictures denoised together when measuring


def mnist_digits(run, batch_size):
    """The 60,000 MNIST training digits (256 with --quick), zero-padded to (32, 32, 1), 0-255 floats."""
    mnist = load_mnist(run.data_dir)
    digits = mnist.train_images[:QUICK_DIGITS] if run.quick else mnist.train_images
    pictures = np.pad(digits, ((0, 0), (DIGIT_PADDING,) * 2, (DIGIT_PADDING,) * 2))[..., None].astype("float32")
    dataset = array_dataset(pictures, mnist.train_labels[:len(pictures)], batch_size, shuffle=True, seed=run.seed)
    return dataset, pictures, f"{len(pictures):,} MNIST training digits ({mnist.source}), padded to 32x32"


def oxford_flowers(run, batch_size):
    """The book's: every Oxford Flowers photograph at 128x128 (2 batches with --quick)."""
    folder = find_flowers(run.data_dir)
    dataset = flower_dataset(folder, IMAGES["flowers"].image_size, batch_size, seed=run.seed)
    if run.quick:
        dataset = dataset.take(QUICK_FLOWER_BATCHES)
    return dataset, dataset, f"Oxford Flowers 102 from {folder}"


@dataclass(frozen=True)
class Images:
    """What the model learns to draw: the pictures' size and channels, where the U-Net's counts come from."""
    title: str
    image_size: int
    channels: int
    zoom: int  # pixels per pixel in the saved grids
    load: Callable  # (run, batch_size) -> (dataset of batches, what the normalizer adapts to, description)


IMAGES = {
    "mnist": Images("MNIST digits", 32, 1, 3, mnist_digits),
    "flowers": Images("Oxford Flowers", 128, 3, 1, oxford_flowers),
}
DEFAULT_IMAGES = "mnist"
CHAPTER.option("--images", choices=list(IMAGES), defines_model=True,
               help="17.2: what the model learns to draw: MNIST digits at 32x32 (default, runs offline), or the "
                    "book's Oxford Flowers at 128x128 (needs 102flowers.tgz)")
CHAPTER.option("--diffusion-steps", type=positive_int,
               help=f"17.2: denoising steps per generated picture (default the book's {DIFFUSION_STEPS_3RD_EDITION})")


@CHAPTER.section("17.2", "Diffusion models",
                 "3rd ed. 17: a U-Net denoising diffusion model (1,943,525 parameters) on Oxford Flowers at "
                 "128x128, AdamW with weight averaging, 100 epochs; --images mnist (default): the recipe on digits")
def diffusion_model(run):
    images = IMAGES[run.options.images or DEFAULT_IMAGES]
    diffusion_steps = run.options.diffusion_steps or DIFFUSION_STEPS_3RD_EDITION

    # The U-Net, layer by layer against our arithmetic (the book prints no summary of it).
    unet = denoising_unet(images.image_size, images.channels)
    run.check_against_book(unet, unet_params(images.image_size, images.channels),
                           f"DLwP 3e 17.2's U-Net on {images.image_size}x{images.image_size}x{images.channels} "
                           "(our arithmetic, not a table of the book)")
    run.record("total_params", unet.count_params(), label="U-Net parameters")
    if run.summary_only:
        return

    # The data, and the normalizer adapted to it (mean 0, variance 1 per channel).
    batch_size = run.batch_size(BATCH_SIZE)
    dataset, adapt_to, description = images.load(run, batch_size)
    print(f"Pictures: {description}")
    normalizer = keras.layers.Normalization()
    normalizer.adapt(adapt_to)
    model = DiffusionModel(unet, normalizer, seed=run.seed, name="diffusion_model")

    # AdamW with its decaying learning rate and the moving average of the weights; the loss is the model's own.
    model.compile(optimizer=adamw_3rd_edition(), **run.compile_settings("conv"))
    run.record("optimizer", optimizer_description(model.optimizer))
    # MNIST: the digit classifier the end needs, found (or trained) before the long training, not after.
    classifier = mnist_classifier(run) if images is IMAGES["mnist"] else None

    # Fit, with a grid of generated pictures after each epoch, always from the same noise.
    initial_noise = keras.random.normal((GRID_ROWS * GRID_COLUMNS, images.image_size, images.image_size,
                                         images.channels), seed=run.seed)
    history = run.fit(model, dataset, name="diffusion_model", epochs=EPOCHS,
                      callbacks=[GeneratedPictures(run, initial_noise, diffusion_steps, images)],
                      whole_model=False)
    # fit() ends by replacing the weights with their moving average; so does this, after a resumed run that
    # had nothing left to train (the backup holds the averages with the optimizer's state).
    model.optimizer.finalize_variable_values(model.trainable_weights)
    run.record("final_loss", history["loss"][-1],
               label=f"mean absolute error of the predicted noise, epoch {len(history['loss'])}")
    run.record("diffusion_steps", diffusion_steps, book=DIFFUSION_STEPS_3RD_EDITION)
    final = save_generated_grid(model, initial_noise, diffusion_steps, images, run.path("generated_grid.png"),
                                f"after {len(history['loss'])} epochs")
    print(f"Saved the last grid of generated pictures to {final}")

    # MNIST: what do the generated digits look like to a trained digit classifier?
    if classifier is not None:
        count = QUICK_MEASURED_DIGITS if run.quick else MEASURED_DIGITS
        print(f"Generating {count:,} digits ({diffusion_steps} denoising steps each) to classify them")
        classify_generated_digits(run, generated_digits(model, count, diffusion_steps), "17.2 diffusion on MNIST",
                                  *classifier)


def optimizer_description(optimizer):
    config = optimizer.get_config()
    schedule = config["learning_rate"]["config"]
    return (f"{type(optimizer).__name__}(learning_rate={schedule['initial_learning_rate']} / (1 + "
            f"{schedule['decay_rate']} * step / {schedule['decay_steps']}), weight_decay={config['weight_decay']}, "
            f"use_ema={config['use_ema']}, ema_momentum={config['ema_momentum']}, "
            f"ema_overwrite_frequency={config['ema_overwrite_frequency']})")


def generated_digits(model, count, diffusion_steps):
    """`count` generated digits as the 5.1 convnet reads them: (count, 28, 28, 1) in [0, 1], padding cut off."""
    batches = [keras.ops.convert_to_numpy(model.generate(min(GENERATION_BATCH, count - start), diffusion_steps))
               for start in range(0, count, GENERATION_BATCH)]
    pictures = np.concatenate(batches)
    return pictures[:, DIGIT_PADDING:-DIGIT_PADDING, DIGIT_PADDING:-DIGIT_PADDING] / 255


def picture_grid(pictures, rows, columns, zoom):
    """(rows * columns, height, width, channels) pictures in [0, 255] -> one RGB uint8 picture."""
    pictures = np.asarray(pictures[: rows * columns]).round().astype("uint8")
    count, height, width, channels = pictures.shape
    if channels == 1:
        pictures = np.repeat(pictures, 3, axis=-1)
    grid = pictures.reshape(rows, columns, height, width, 3).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * height, columns * width, 3)
    return np.repeat(np.repeat(grid, zoom, axis=0), zoom, axis=1)


def save_generated_grid(model, initial_noise, diffusion_steps, images, path, when):
    """The 3x6 grid of the pictures `model` generates from `initial_noise`, as a PNG."""
    pictures = model.generate(len(initial_noise), diffusion_steps, initial_noise)
    grid = picture_grid(keras.ops.convert_to_numpy(pictures), GRID_ROWS, GRID_COLUMNS, images.zoom)
    return save_png(grid, path, f"17.2 diffusion model, generated {images.title} {when} "
                                f"({diffusion_steps} denoising steps)")


class GeneratedPictures(keras.callbacks.Callback):
    """The book's VisualizationCallback: after each epoch, a 3x6 grid as `generated/epoch_NNN.png`.

    Each grid starts from the same noise, so the grids show the model learning.
    """

    def __init__(self, run, initial_noise, diffusion_steps, images):
        super().__init__()
        self.run, self.initial_noise, self.diffusion_steps, self.images = run, initial_noise, diffusion_steps, images

    def on_epoch_end(self, epoch, logs=None):
        save_generated_grid(self.model, self.initial_noise, self.diffusion_steps, self.images,
                            self.run.path(f"generated/epoch_{epoch + 1:03d}.png"), f"after epoch {epoch + 1}")
