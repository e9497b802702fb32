"""8.5, 2nd edition (its 12.5): a DCGAN that learns to draw CelebA faces at 64x64.

The listing: the 202,599 CelebA pictures, cropped square and resized to 64x64,
in batches of 32, scaled to [0, 1]; a discriminator of three strided
convolutions (404,801 parameters) and a generator of three transposed ones
from a 128-dimensional latent space (3,979,651); a `GAN` model whose
`train_step` updates the discriminator on generated (label 1) and real
(label 0) pictures with 0.05 * uniform noise on the labels, then the
generator through the discriminator with the misleading label 0; binary
crossentropy, Adam(0.0001) for both; 100 epochs, with a callback that saves
10 generated faces after each (the book's `GANMonitor`).

The section function of 8.5 (chapters.ch8_generative.generative_adversarial_network) runs this for
`--edition 2`.
"""

import keras
import numpy as np

from chapters.figures import save_png
from chapters.runs import UsageError
from datasets.celeba import BOOK_FACES, celeba_dataset, find_celeba
from models.gan import (
    FACE_SIZE_2ND_EDITION,
    GAN,
    GAN_DISCRIMINATOR_2ND_EDITION_BOOK_PARAMS,
    GAN_GENERATOR_2ND_EDITION_BOOK_PARAMS,
    LATENT_DIM_2ND_EDITION,
    adam_2nd_edition,
    gan_discriminator_2nd_edition,
    gan_generator_2nd_edition,
)

EPOCHS, BATCH_SIZE = 100, 32  # the book's
LABEL_NOISE = 0.05  # the book's `labels += 0.05 * tf.random.uniform(tf.shape(labels))`
FACES_SHOWN = 10  # the book's GANMonitor(num_img=10): here one picture of 2 rows of 5 faces per epoch
GRID_ROWS, GRID_COLUMNS, ZOOM = 2, 5, 2
QUICK_BATCHES = 2  # --quick: 2 batches of faces
BOOK_EPOCHS_SHOWN = "the book's figure shows faces after 30 of the 100 epochs"


def celeba_faces(run, batch_size):
    """The book's data: every CelebA picture at 64x64 in [0, 1], shuffled, in batches (2 batches with --quick)."""
    folder = find_celeba(run.data_dir)
    dataset, count = celeba_dataset(folder, FACE_SIZE_2ND_EDITION, batch_size, seed=run.seed)
    run.record("faces", count, book=BOOK_FACES, label=f"CelebA pictures in {folder}",
               note=f"--quick: {QUICK_BATCHES} batches of them" if run.quick else "")
    return dataset.take(QUICK_BATCHES) if run.quick else dataset


def gan_2nd_edition(run):
    if run.options.images:
        raise UsageError(f"--images {run.options.images}: the 2nd edition's 8.5 (its 12.5) draws CelebA faces only; "
                         "--images chooses the 1st edition's pictures (--edition 1)")
    batch_size = run.batch_size(BATCH_SIZE)

    # The data first, as the book: CelebA's faces (--summary-only builds the models without it).
    dataset = None if run.summary_only else celeba_faces(run, batch_size)

    # The discriminator, then the generator, each checked layer by layer.
    discriminator = gan_discriminator_2nd_edition()
    run.check_against_book(discriminator, GAN_DISCRIMINATOR_2ND_EDITION_BOOK_PARAMS,
                           "DLwP 2e 12.5, the discriminator")
    generator = gan_generator_2nd_edition(LATENT_DIM_2ND_EDITION)
    run.check_against_book(generator, GAN_GENERATOR_2ND_EDITION_BOOK_PARAMS, "DLwP 2e 12.5, the generator")
    if run.summary_only:
        return

    # The GAN and its train_step (models.gan.GAN: the book's two updates), compiled with Adam(0.0001) for each
    # network; the loss, binary crossentropy, is the train_step's own.
    gan = GAN(generator, discriminator, LATENT_DIM_2ND_EDITION, label_noise=LABEL_NOISE, seed=run.seed, name="gan")
    gan.compile(adam_2nd_edition(), adam_2nd_edition(), **run.compile_settings("conv"))
    run.record("discriminator_optimizer", optimizer_description(gan.discriminator_optimizer))
    run.record("generator_optimizer", optimizer_description(gan.optimizer))

    # Fit, saving 10 generated faces after each epoch. The book draws new latent points each time; here they are
    # the same 10, so that the pictures show the generator learning.
    latent_points = np.random.default_rng(run.seed).normal(size=(FACES_SHOWN, LATENT_DIM_2ND_EDITION))
    monitor = GeneratedFaces(run, latent_points.astype("float32"))
    history = run.fit(gan, dataset, name="gan", epochs=EPOCHS, callbacks=[monitor], whole_model=False)
    epochs_done = len(history["loss"])
    run.record("epochs", epochs_done, book=EPOCHS, note=BOOK_EPOCHS_SHOWN)
    run.record("final_d_loss", history["d_loss"][-1], label=f"discriminator loss, mean of epoch {epochs_done}")
    run.record("final_g_loss", history["g_loss"][-1],
               label=f"adversarial (generator) loss, mean of epoch {epochs_done}")

    # The figures: the last generated faces, and real ones beside them.
    final = monitor.save_faces(run.path("generated_grid.png"), f"after {epochs_done} epochs")
    print(f"Saved the last generated faces to {final}")
    real = next(iter(dataset.unbatch().batch(FACES_SHOWN)))
    print(f"Saved real faces to {save_png(face_grid(real), run.path('real_grid.png'), '8.5 (2nd ed.) real faces')}")


def optimizer_description(optimizer):
    """Adam(learning_rate=0.0001): the rate as the book writes it, not as float32 keeps it (9.9999997e-05)."""
    return f"{type(optimizer).__name__}(learning_rate={optimizer.get_config()['learning_rate']:.6g})"


def face_grid(faces, rows=GRID_ROWS, columns=GRID_COLUMNS, zoom=ZOOM):
    """(rows * columns, height, width, 3) floats in [0, 1] -> one RGB uint8 picture, each pixel zoom x zoom."""
    faces = np.clip(keras.ops.convert_to_numpy(faces)[: rows * columns], 0, 1)
    count, height, width, channels = faces.shape
    if count < rows * columns:  # fewer real pictures than places (a tiny folder): black places
        faces = np.concatenate([faces, np.zeros((rows * columns - count, height, width, channels), faces.dtype)])
    grid = faces.reshape(rows, columns, height, width, channels).transpose(0, 2, 1, 3, 4)
    grid = grid.reshape(rows * height, columns * width, channels)
    grid = np.repeat(np.repeat(grid, zoom, axis=0), zoom, axis=1)
    return (grid * 255).round().astype("uint8")


class GeneratedFaces(keras.callbacks.Callback):
    """The book's GANMonitor: after each epoch, the faces of 10 latent points, as `generated/epoch_NNN.png`."""

    def __init__(self, run, latent_points):
        super().__init__()
        self.run, self.latent_points = run, latent_points

    def save_faces(self, path, when):
        faces = self.model.generator.predict(self.latent_points, verbose=0)
        return save_png(face_grid(faces), path, f"8.5 (2nd ed.) GAN, generated faces {when}")

    def on_epoch_end(self, epoch, logs=None):
        self.save_faces(self.run.path(f"generated/epoch_{epoch + 1:03d}.png"), f"after epoch {epoch + 1}")
