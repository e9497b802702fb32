"""The deep convolutional GANs of DLwP 8.5 (1st edition) and 12.5 (2nd edition), and their training step.

The generator turns a point of a 32-dimensional latent space into a 32x32
colour picture; the discriminator says whether a picture is real or
generated. The book's listing trains them with a trick Keras 3 undoes (see
`GAN`); the builders below are the book's networks, for CIFAR-10 pictures or,
with another image shape, for 28x28 MNIST digits. The 2nd edition's pair
draws 64x64 faces from a 128-dimensional latent space and trains with the
same two-update step (`GAN`) the 2nd edition writes as its `train_step`.

Builders, and the model that trains them: no data.
"""

import keras
import tensorflow as tf
from keras import layers, ops

LATENT_DIM_1ST_EDITION = 32
LABEL_NOISE_1ST_EDITION = 0.05

# The generator on CIFAR-10 (32x32x3), as model.layers lists it: input; Dense(128 * 16 * 16) 1,081,344; LeakyReLU;
# Reshape; Conv2D(256, 5) 819,456; LeakyReLU; Conv2DTranspose(256, 4, strides 2) 1,048,832; LeakyReLU;
# Conv2D(256, 5) 1,638,656; LeakyReLU; Conv2D(256, 5) 1,638,656; LeakyReLU; Conv2D(3, 7, tanh) 37,635.
# Total 6,264,579.
GAN_GENERATOR_1ST_EDITION_BOOK_PARAMS = [0, 1_081_344, 0, 0, 819_456, 0, 1_048_832, 0, 1_638_656, 0, 1_638_656, 0,
                                         37_635]
# The discriminator: input; Conv2D(128, 3) 3,584; LeakyReLU; three Conv2D(128, 4, strides 2) of 262,272, each with
# a LeakyReLU; Flatten (2 * 2 * 128 = 512); Dropout(0.4); Dense(1, sigmoid) 513. Total 790,913.
GAN_DISCRIMINATOR_1ST_EDITION_BOOK_PARAMS = [0, 3_584, 0, 262_272, 0, 262_272, 0, 262_272, 0, 0, 0, 513]

# The same recipe on 28x28x1 digits (our adaptation; the book has no such table): Dense(128 * 14 * 14) on 32 inputs
# 827,904; the last Conv2D(1, 7) 7 * 7 * 256 + 1 = 12,545. The discriminator's first Conv2D sees one channel:
# 3 * 3 * 128 + 128 = 1,280; its convolutions shrink 28 -> 26 -> 12 -> 5 -> 1, so Dense(1) has 128 + 1 = 129.
GAN_GENERATOR_MNIST_PARAMS = [0, 827_904, 0, 0, 819_456, 0, 1_048_832, 0, 1_638_656, 0, 1_638_656, 0, 12_545]
GAN_DISCRIMINATOR_MNIST_PARAMS = [0, 1_280, 0, 262_272, 0, 262_272, 0, 262_272, 0, 0, 0, 129]


def gan_generator_1st_edition(latent_dim=LATENT_DIM_1ST_EDITION, height=32, width=32, channels=3):
    """Latent point -> half-size 128-channel map -> conv -> upsample x2 -> two convs -> tanh picture."""
    generator_input = keras.Input(shape=(latent_dim,))
    x = layers.Dense(128 * (height // 2) * (width // 2))(generator_input)
    x = layers.LeakyReLU()(x)
    x = layers.Reshape((height // 2, width // 2, 128))(x)
    x = layers.Conv2D(256, 5, padding="same")(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2DTranspose(256, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(256, 5, padding="same")(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(256, 5, padding="same")(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(channels, 7, activation="tanh", padding="same", dtype="float32")(x)
    return keras.Model(generator_input, x, name="generator")


def gan_discriminator_1st_edition(height=32, width=32, channels=3):
    """Picture -> Conv2D(128, 3) -> three strided Conv2D(128, 4) -> Dropout(0.4) -> the probability it is fake."""
    discriminator_input = keras.Input(shape=(height, width, channels))
    x = layers.Conv2D(128, 3)(discriminator_input)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2D(128, 4, strides=2)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)  # the book: one important trick
    x = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(discriminator_input, x, name="discriminator")


def discriminator_optimizer_1st_edition():
    """RMSprop(lr=0.0008, clipvalue=1.0, decay=1e-8): Keras 2's decay is lr / (1 + decay * step)."""
    return keras.optimizers.RMSprop(
        learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.0008, decay_steps=1, decay_rate=1e-8),
        clipvalue=1.0)


def gan_optimizer_1st_edition():
    """The combined model's RMSprop(lr=0.0004, clipvalue=1.0, decay=1e-8): it updates the generator."""
    return keras.optimizers.RMSprop(
        learning_rate=keras.optimizers.schedules.InverseTimeDecay(0.0004, decay_steps=1, decay_rate=1e-8),
        clipvalue=1.0)


# ---------------------------------------------------------------------------
# The 2nd edition's GAN (its 12.5): CelebA faces at 64x64, a 128-dimensional latent space
# ---------------------------------------------------------------------------

LATENT_DIM_2ND_EDITION = 128
FACE_SIZE_2ND_EDITION = 64

# Sequential models: model.layers has no input. Conv2D(64, 4, strides 2) on 3 channels 4 * 4 * 3 * 64 + 64 = 3,136;
# LeakyReLU; Conv2D(128, 4, strides 2) 131,200; LeakyReLU; Conv2D(128, 4, strides 2) 262,272; LeakyReLU;
# Flatten (8 * 8 * 128 = 8,192); Dropout(0.2); Dense(1, sigmoid) 8,193. Total 404,801 (also the keras.io DCGAN's).
GAN_DISCRIMINATOR_2ND_EDITION_BOOK_PARAMS = [3_136, 0, 131_200, 0, 262_272, 0, 0, 0, 8_193]
# Dense(8 * 8 * 128) on 128 inputs 1,056,768; Reshape; Conv2DTranspose(128, 4, strides 2) 262,272; LeakyReLU;
# Conv2DTranspose(256, 4, strides 2) 524,544; LeakyReLU; Conv2DTranspose(512, 4, strides 2) 2,097,664; LeakyReLU;
# Conv2D(3, 5, sigmoid) 38,403. Total 3,979,651.
GAN_GENERATOR_2ND_EDITION_BOOK_PARAMS = [1_056_768, 0, 262_272, 0, 524_544, 0, 2_097_664, 0, 38_403]


def gan_discriminator_2nd_edition():
    """64x64 picture -> three strided Conv2D(4x4) with LeakyReLU(0.2) -> Dropout(0.2) -> the probability it is fake."""
    return keras.Sequential([
        keras.Input(shape=(FACE_SIZE_2ND_EDITION, FACE_SIZE_2ND_EDITION, 3)),
        layers.Conv2D(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),  # the book's alpha=0.2 (Keras 3 renamed it)
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="discriminator")


def gan_generator_2nd_edition(latent_dim=LATENT_DIM_2ND_EDITION):
    """Latent point -> 8x8x128 -> three Conv2DTranspose doubling the size (128, 256, 512) -> 64x64 sigmoid picture."""
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(8 * 8 * 128),
        layers.Reshape((8, 8, 128)),
        layers.Conv2DTranspose(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(256, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(512, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid", dtype="float32"),
    ], name="generator")


def adam_2nd_edition():
    """Adam(learning_rate=1e-4): the book's optimizer for both networks."""
    return keras.optimizers.Adam(learning_rate=1e-4)


class GAN(keras.Model):
    """The book's two alternating updates, written as one `train_step`.

    The book compiles the discriminator, then sets `discriminator.trainable =
    False` and compiles `gan = discriminator(generator(z))`: in Keras 2 the
    discriminator keeps learning through its own compiled `train_on_batch`
    and stays frozen inside `gan`. Keras 3 reads `trainable` when it trains,
    so that discriminator would never learn. Here each update says which
    weights it changes:

    1. `discriminator_step`: generated pictures labelled 1 ("fake") and real
       ones labelled 0, plus 0.05 * uniform noise on the labels; binary
       crossentropy; the discriminator's optimizer updates the discriminator only.
    2. `generator_step`: new latent points, targets 0 ("real": the misleading
       targets); the loss goes through the discriminator (in training mode, as
       in the book: its dropout is on) but only the generator is updated, with
       the combined model's optimizer (`self.optimizer`).

    `fit()` gets batches of real pictures; the logs hold `d_loss`, `g_loss`
    and their sum as `loss` (what Keras's NaN guard and checkpoints read).
    """

    def __init__(self, generator, discriminator, latent_dim=LATENT_DIM_1ST_EDITION,
                 label_noise=LABEL_NOISE_1ST_EDITION, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.label_noise = latent_dim, label_noise
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True  # its parts are built functional models

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.loss_tracker]

    def compile(self, discriminator_optimizer, gan_optimizer, **kwargs):
        """The combined model's optimizer is `self.optimizer` (it updates the generator)."""
        super().compile(optimizer=gan_optimizer, **kwargs)
        self.discriminator_optimizer = discriminator_optimizer
        # Built now with the weights each one updates, so that a restored backup finds the same slots.
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.optimizer.build(self.generator.trainable_variables)

    def call(self, latent_points, training=False):
        return self.generator(latent_points, training=training)

    def sample_latent_points(self, batch_size):
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def discriminator_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        generated_images = self.generator(self.sample_latent_points(batch_size), training=False)
        combined_images = ops.concatenate([generated_images, ops.cast(real_images, generated_images.dtype)], axis=0)
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        labels = labels + self.label_noise * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
        weights = self.discriminator.trainable_weights
        with tf.GradientTape() as tape:
            predictions = self.discriminator(combined_images, training=True)
            d_loss = ops.mean(keras.losses.binary_crossentropy(labels, predictions))
        self.discriminator_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        return d_loss

    def generator_step(self, batch_size):
        misleading_targets = ops.zeros((batch_size, 1))
        latent_points = self.sample_latent_points(batch_size)
        weights = self.generator.trainable_weights
        with tf.GradientTape() as tape:
            predictions = self.discriminator(self.generator(latent_points, training=True), training=True)
            g_loss = ops.mean(keras.losses.binary_crossentropy(misleading_targets, predictions))
        self.optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        return g_loss

    def train_step(self, data):
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        d_loss = self.discriminator_step(real_images)
        g_loss = self.generator_step(ops.shape(real_images)[0])
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.loss_tracker.update_state(d_loss + g_loss)
        return {metric.name: metric.result() for metric in self.metrics}
