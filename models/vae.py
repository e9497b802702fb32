"""The variational autoencoders of DLwP 8.4 (1st edition) and 12.4 (2nd edition), on 28x28 MNIST digits.

An encoder maps a digit to the mean and log-variance of a normal
distribution in a 2-D latent space; a point is drawn from it; a decoder maps
the point back to a digit. The loss is a reconstruction term plus the
Kullback-Leibler divergence of that distribution from the standard normal.

Each edition: an encoder and a decoder builder with the book's per-layer
counts, how it draws the latent point, and its loss. The 1st edition adds its
loss inside the model (`CustomVariationalLayer`, `add_loss`), which Keras 3
no longer allows on symbolic inputs; both editions are therefore trained here
by `VariationalAutoencoder`, a `keras.Model` with its own `train_step`, the
2nd edition's way, each with its own loss.

Output layers compute in float32 (dtype="float32"): under --mixed-precision the loss and the predictions
stay in full precision while the hidden layers compute in 16 bits.
"""

import keras
import tensorflow as tf
from keras import layers, ops

LATENT_DIM = 2

# ---------------------------------------------------------------------------
# 1st edition
# ---------------------------------------------------------------------------

# Encoder: input; Conv2D(32, 3) 320; Conv2D(64, 3, strides 2) 18,496; Conv2D(64, 3) 36,928 twice; Flatten
# (14 * 14 * 64 = 12,544); Dense(32) 401,440; z_mean and z_log_var Dense(2) 66 each. Total 494,244.
VAE_ENCODER_1ST_EDITION_BOOK_PARAMS = [0, 320, 18_496, 36_928, 36_928, 0, 401_440, 66, 66]
# Decoder: input; Dense(12,544) 37,632; Reshape; Conv2DTranspose(32, 3, strides 2) 18,464; Conv2D(1, 3) 289.
# Total 56,385; with the encoder, the book's 550,629.
VAE_DECODER_1ST_EDITION_BOOK_PARAMS = [0, 37_632, 0, 18_464, 289]
KL_WEIGHT_1ST_EDITION = 5e-4


def vae_encoder_1st_edition(latent_dim=LATENT_DIM):
    """Four 3x3 convolutions (the second with stride 2), Dense(32), then z_mean and z_log_var."""
    input_img = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(input_img)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", strides=(2, 2))(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", dtype="float32")(x)
    return keras.Model(input_img, [z_mean, z_log_var], name="vae_encoder_1st_edition")


def vae_decoder_1st_edition(latent_dim=LATENT_DIM):
    """Dense to 14x14x64, one transposed convolution up to 28x28, a sigmoid convolution to one channel."""
    decoder_input = keras.Input(shape=(latent_dim,))
    x = layers.Dense(14 * 14 * 64, activation="relu")(decoder_input)
    x = layers.Reshape((14, 14, 64))(x)
    x = layers.Conv2DTranspose(32, 3, padding="same", activation="relu", strides=(2, 2))(x)
    x = layers.Conv2D(1, 3, padding="same", activation="sigmoid", dtype="float32")(x)
    return keras.Model(decoder_input, x, name="vae_decoder_1st_edition")


def sample_latent_1st_edition(z_mean, z_log_var, seed):
    """The book's sampling: z_mean + exp(z_log_var) * epsilon (the 2nd edition uses exp(0.5 z_log_var))."""
    epsilon = keras.random.normal(ops.shape(z_mean), seed=seed)
    return z_mean + ops.exp(z_log_var) * epsilon


def vae_loss_1st_edition(images, decoded, z_mean, z_log_var):
    """Mean binary crossentropy over the 784 pixels, plus 5e-4 times the mean KL term over the latent dimensions."""
    batch = ops.shape(images)[0]
    reconstruction = keras.losses.binary_crossentropy(ops.reshape(images, (batch, -1)),
                                                      ops.reshape(decoded, (batch, -1)))
    kl = -KL_WEIGHT_1ST_EDITION * ops.mean(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=-1)
    return {"loss": ops.mean(reconstruction + kl), "reconstruction_loss": ops.mean(reconstruction),
            "kl_loss": ops.mean(kl)}


# ---------------------------------------------------------------------------
# 2nd edition
# ---------------------------------------------------------------------------

# Encoder: input; Conv2D(32, 3, strides 2) 320; Conv2D(64, 3, strides 2) 18,496; Flatten (7 * 7 * 64 = 3,136);
# Dense(16) 50,192; z_mean and z_log_var Dense(2) 34 each. Total 69,076.
VAE_ENCODER_2ND_EDITION_BOOK_PARAMS = [0, 320, 18_496, 0, 50_192, 34, 34]
# Decoder: input; Dense(3,136) 9,408; Reshape; Conv2DTranspose(64, 3, strides 2) 36,928; Conv2DTranspose(32, 3,
# strides 2) 18,464; Conv2D(1, 3) 289. Total 65,089.
VAE_DECODER_2ND_EDITION_BOOK_PARAMS = [0, 9_408, 0, 36_928, 18_464, 289]


def vae_encoder_2nd_edition(latent_dim=LATENT_DIM):
    """Two strided 3x3 convolutions, Dense(16), then z_mean and z_log_var."""
    encoder_inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(encoder_inputs)
    x = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean", dtype="float32")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var", dtype="float32")(x)
    return keras.Model(encoder_inputs, [z_mean, z_log_var], name="vae_encoder_2nd_edition")


def vae_decoder_2nd_edition(latent_dim=LATENT_DIM):
    """Dense to 7x7x64, two strided transposed convolutions up to 28x28, a sigmoid convolution."""
    latent_inputs = keras.Input(shape=(latent_dim,))
    x = layers.Dense(7 * 7 * 64, activation="relu")(latent_inputs)
    x = layers.Reshape((7, 7, 64))(x)
    x = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(x)
    decoder_outputs = layers.Conv2D(1, 3, activation="sigmoid", padding="same", dtype="float32")(x)
    return keras.Model(latent_inputs, decoder_outputs, name="vae_decoder_2nd_edition")


def sample_latent_2nd_edition(z_mean, z_log_var, seed):
    """z_mean + exp(0.5 z_log_var) * epsilon: the standard deviation is exp(half the log-variance)."""
    epsilon = keras.random.normal(ops.shape(z_mean), seed=seed)
    return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def vae_loss_2nd_edition(images, decoded, z_mean, z_log_var):
    """Binary crossentropy summed over the 28x28 pixels, plus the KL term averaged over batch AND latent dimensions.

    The book's `train_step` takes `tf.reduce_mean(kl_loss)` over the whole (batch, latent_dim) tensor: with a 2-D
    latent space that is half the textbook KL divergence (the sum over latent dimensions). Kept as the book has it.
    """
    reconstruction = ops.mean(ops.sum(keras.losses.binary_crossentropy(images, decoded), axis=(1, 2)))
    kl = ops.mean(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)))
    return {"loss": reconstruction + kl, "reconstruction_loss": reconstruction, "kl_loss": kl}


# ---------------------------------------------------------------------------
# The model that trains either edition
# ---------------------------------------------------------------------------

class VariationalAutoencoder(keras.Model):
    """Encoder, sampling and decoder, trained on the VAE loss by its own `train_step` (no targets).

    `sample_latent(z_mean, z_log_var, seed)` and `vae_loss(images, decoded,
    z_mean, z_log_var) -> {"loss", "reconstruction_loss", "kl_loss"}` are the
    edition's. Batches may be images, or (images, anything): the labels are ignored.
    """

    def __init__(self, encoder, decoder, sample_latent, vae_loss, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.sample_latent, self.vae_loss = sample_latent, vae_loss
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True  # its parts are built functional models: nothing to create on the first batch

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def call(self, images, training=False):
        z_mean, z_log_var = self.encoder(images, training=training)
        return self.decoder(self.sample_latent(z_mean, z_log_var, self.seed_generator), training=training)

    def losses_of(self, images, training=False):
        z_mean, z_log_var = self.encoder(images, training=training)
        decoded = self.decoder(self.sample_latent(z_mean, z_log_var, self.seed_generator), training=training)
        return self.vae_loss(images, decoded, z_mean, z_log_var)

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            losses = self.losses_of(images, training=True)
        gradients = tape.gradient(losses["loss"], self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._track(losses)

    def test_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return self._track(self.losses_of(images, training=False))

    def _track(self, losses):
        self.loss_tracker.update_state(losses["loss"])
        self.reconstruction_loss_tracker.update_state(losses["reconstruction_loss"])
        self.kl_loss_tracker.update_state(losses["kl_loss"])
        return {metric.name: metric.result() for metric in self.metrics}
