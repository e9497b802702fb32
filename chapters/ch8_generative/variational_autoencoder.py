"""8.4 Generating images with variational autoencoders: a 2-D latent space of MNIST digits.

The encoder turns a digit into a normal distribution in a plane; a point
drawn from it is decoded back into a digit. Trained on reconstruction plus a
Kullback-Leibler term that keeps the distributions close to the standard
normal, the plane becomes a continuous map of digits: decoding a grid of
points shows digits morphing into one another (the book's figure), and the
test digits fall into regions by class.

Keras 3 removed what the 1st edition's listing relies on (`add_loss` on
symbolic inputs, `loss=None`), so both editions train through a
`keras.Model` with its own `train_step` (models/vae.py); the 1st edition keeps
its architecture, sampling and loss.
"""

from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from chapters.ch8_generative import CHAPTER
from chapters.figures import save_figure
from datasets.arrays import array_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.vae import (
    VAE_DECODER_1ST_EDITION_BOOK_PARAMS,
    VAE_DECODER_2ND_EDITION_BOOK_PARAMS,
    VAE_ENCODER_1ST_EDITION_BOOK_PARAMS,
    VAE_ENCODER_2ND_EDITION_BOOK_PARAMS,
    VariationalAutoencoder,
    sample_latent_1st_edition,
    sample_latent_2nd_edition,
    vae_decoder_1st_edition,
    vae_decoder_2nd_edition,
    vae_encoder_1st_edition,
    vae_encoder_2nd_edition,
    vae_loss_1st_edition,
    vae_loss_2nd_edition,
)

DIGIT_SIZE = 28


def digits_1st_edition(mnist):
    """The 1st edition trains on the 60,000 training digits and validates on the 10,000 test digits."""
    return mnist.train_images, mnist.train_labels, mnist.test_images


def digits_2nd_edition(mnist):
    """The 2nd edition trains on all 70,000 digits, without validation."""
    return (np.concatenate([mnist.train_images, mnist.test_images]),
            np.concatenate([mnist.train_labels, mnist.test_labels]), None)


def latent_grid_1st_edition():
    """15x15 points at the 5%...95% quantiles of the standard normal; row i has the i-th smallest y."""
    coordinates = norm.ppf(np.linspace(0.05, 0.95, 15))
    return coordinates, coordinates


def latent_grid_2nd_edition():
    """30x30 points over [-1, 1]; the top row has the largest y."""
    coordinates = np.linspace(-1, 1, 30)
    return coordinates, coordinates[::-1]


@dataclass(frozen=True)
class Recipe:
    """One edition's VAE and how the book trains it."""
    build_encoder: Callable[[], keras.Model]
    build_decoder: Callable[[], keras.Model]
    encoder_book_params: list
    decoder_book_params: list
    sample_latent: Callable
    vae_loss: Callable
    optimizer: Callable[[], keras.optimizers.Optimizer]
    epochs: int
    batch_size: int
    training_digits: Callable  # mnist -> (training images, their labels, validation images or None)
    latent_grid: Callable  # () -> (x coordinates of the columns, y coordinates of the rows)
    book_validation_loss: float | None = None
    book_final_loss: float | None = None


RECIPES = {
    # val_loss 0.1966 after epoch 1 ... 0.1801 after epoch 10; training loss 0.2109 -> 0.1794.
    1: Recipe(vae_encoder_1st_edition, vae_decoder_1st_edition, VAE_ENCODER_1ST_EDITION_BOOK_PARAMS,
              VAE_DECODER_1ST_EDITION_BOOK_PARAMS, sample_latent_1st_edition, vae_loss_1st_edition,
              lambda: keras.optimizers.RMSprop(), epochs=10, batch_size=16, training_digits=digits_1st_edition,
              latent_grid=latent_grid_1st_edition, book_validation_loss=0.1801, book_final_loss=0.1794),
    2: Recipe(vae_encoder_2nd_edition, vae_decoder_2nd_edition, VAE_ENCODER_2ND_EDITION_BOOK_PARAMS,
              VAE_DECODER_2ND_EDITION_BOOK_PARAMS, sample_latent_2nd_edition, vae_loss_2nd_edition,
              lambda: keras.optimizers.Adam(), epochs=30, batch_size=128, training_digits=digits_2nd_edition,
              latent_grid=latent_grid_2nd_edition),
}


@CHAPTER.section("8.4", "Generating images with variational autoencoders",
                 "a convolutional VAE on MNIST with a 2-D latent space (550,629 parameters; 2nd ed. 69,076 + "
                 "65,089): the decoded grid and the test digits in the plane",
                 distributable=True)
def variational_autoencoder(run):
    recipe = RECIPES[run.edition]

    # The encoder and the decoder, each checked against the book; the VAE joins them with the sampling.
    encoder, decoder = recipe.build_encoder(), recipe.build_decoder()
    run.check_against_book(encoder, recipe.encoder_book_params, f"DLwP {run.edition}e 8.4, the encoder")
    run.check_against_book(decoder, recipe.decoder_book_params, f"DLwP {run.edition}e 8.4, the decoder")
    run.record("total_params", encoder.count_params() + decoder.count_params(),
               book=sum(recipe.encoder_book_params) + sum(recipe.decoder_book_params),
               label="encoder + decoder parameters")
    if run.summary_only:
        return
    vae = VariationalAutoencoder(encoder, decoder, recipe.sample_latent, recipe.vae_loss, seed=run.seed,
                                 name="vae")

    # The data: MNIST digits as (28, 28, 1) floats in [0, 1]; no targets, the input is its own target.
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    images, labels, validation_images = recipe.training_digits(mnist)
    batch_size = run.batch_size(recipe.batch_size)
    train = array_dataset(as_float_images(images), labels, batch_size, shuffle=True, seed=run.seed)
    validation = (None if validation_images is None
                  else array_dataset(as_float_images(validation_images), mnist.test_labels, 1024))

    # Compile with the edition's optimizer (the loss is the model's own), fit.
    vae.compile(optimizer=recipe.optimizer(), **run.compile_settings("conv"))
    history = run.fit(vae, train, name="vae", epochs=recipe.epochs, validation_data=validation, whole_model=False)
    note = mnist.book_note + ("; --quick" if run.quick else "")
    run.record("final_loss", history["loss"][-1], book=recipe.book_final_loss, note=note,
               label=f"training loss after epoch {len(history['loss'])}")
    if "val_loss" in history:
        run.record("final_validation_loss", history["val_loss"][-1], book=recipe.book_validation_loss, note=note,
                   label=f"validation loss after epoch {len(history['val_loss'])}")
        run.record("lowest_validation_loss", min(history["val_loss"]), note=note)
    run.record("final_kl_loss", history["kl_loss"][-1], label="KL term after the last epoch")

    # The figures: the decoded grid of latent points, and the test digits where the encoder puts them.
    columns, rows = recipe.latent_grid()
    path = plot_latent_grid(decoder, columns, rows, run.path("latent_grid.png"),
                            f"8.4 (edition {run.edition}): digits decoded from a {len(rows)}x{len(columns)} grid "
                            "of the latent plane")
    print(f"Saved the decoded grid to {path}")
    z_mean, _ = encoder.predict(as_float_images(mnist.test_images), batch_size=1024, verbose=0)
    path = plot_latent_space(z_mean, mnist.test_labels, run.path("latent_space.png"),
                             f"8.4 (edition {run.edition}): test digits in the latent plane (z_mean)")
    print(f"Saved the test digits in the latent plane to {path}")
    run.record("latent_class_separation", class_separation(z_mean, mnist.test_labels),
               label="test digits: between-class / total variance of z_mean",
               note="0 = classes mixed, 1 = each class at one point")


def as_float_images(images):
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1]."""
    return images.reshape((len(images), DIGIT_SIZE, DIGIT_SIZE, 1)).astype("float32") / 255


def decode_grid(decoder, columns, rows):
    """One (len(rows) * 28, len(columns) * 28) picture: the digit decoded at (columns[j], rows[i]) in cell (i, j)."""
    points = np.array([[x, y] for y in rows for x in columns], dtype="float32")
    digits = decoder.predict(points, batch_size=len(points), verbose=0)[..., 0]
    digits = digits.reshape(len(rows), len(columns), DIGIT_SIZE, DIGIT_SIZE)
    return digits.transpose(0, 2, 1, 3).reshape(len(rows) * DIGIT_SIZE, len(columns) * DIGIT_SIZE)


def plot_latent_grid(decoder, columns, rows, path, title):
    figure = decode_grid(decoder, columns, rows)
    fig, ax = plt.subplots(figsize=(10, 10))
    ax.imshow(figure, cmap="Greys_r")
    centres = DIGIT_SIZE // 2 + DIGIT_SIZE * np.arange(len(columns))
    step = max(1, len(columns) // 8)
    ax.set_xticks(centres[::step], [f"{x:.2f}" for x in columns[::step]])
    ax.set_yticks(centres[::step], [f"{y:.2f}" for y in rows[::step]])
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_latent_space(z_mean, labels, path, title):
    fig, ax = plt.subplots(figsize=(9, 8))
    points = ax.scatter(z_mean[:, 0], z_mean[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    fig.colorbar(points, ax=ax, ticks=range(10), label="digit")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title)
    return save_figure(fig, path)


def class_separation(z_mean, labels):
    """Share of the variance of the latent points explained by their class (between-class over total)."""
    overall = z_mean.mean(axis=0)
    total = float(((z_mean - overall) ** 2).sum())
    between = sum(float((labels == c).sum() * ((z_mean[labels == c].mean(axis=0) - overall) ** 2).sum())
                  for c in np.unique(labels))
    return between / total if total else 0.0
