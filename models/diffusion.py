"""The denoising diffusion model of DLwP 3rd edition, chapter 17 (image generation).

A U-Net learns to find the noise in a noisy picture, given how much noise
there is (the noise rate). Training: take a picture, pick a diffusion time in
[0, 1], mix the picture with Gaussian noise in the proportions the schedule
gives for that time, and ask the U-Net for the noise (mean absolute error).
Generation: start from pure noise and remove the predicted noise step by step,
from diffusion time 1 down to 0.

Builders and the model that trains them: no data here.
"""

import keras
import tensorflow as tf
from keras import layers, ops

WIDTHS_3RD_EDITION = (32, 64, 96, 128)
BLOCK_DEPTH_3RD_EDITION = 2
MIN_SIGNAL_RATE, MAX_SIGNAL_RATE = 0.02, 0.95  # the schedule's ends: almost all noise, mostly signal
DIFFUSION_STEPS_3RD_EDITION = 20  # the book's VisualizationCallback


def unet_params(image_size, channels):
    """The U-Net's per-layer parameter counts, in model.layers order, for widths (32, 64, 96, 128), depth 2.

    Our arithmetic (the book prints no summary of it); the book's model is image_size 128, channels 3.
    Conv2D(k x k, c_in -> c_out) has k * k * c_in * c_out + c_out; BatchNormalization(center=False,
    scale=False) keeps only its moving mean and variance: 2 * c_in, not trainable but counted.
    """
    def conv(k, c_in, c_out):
        return k * k * c_in * c_out + c_out

    def block(c_in, width):
        """A residual block, as model.layers lists it: BN, conv, conv, [1x1 projection of the input,] add."""
        projection = [conv(1, c_in, width)] if c_in != width else []
        return [2 * c_in, conv(3, c_in, width), conv(3, width, width)] + projection + [0]

    params = [0, 0, conv(1, channels, 32), 0, 0]  # images, noise rates, 1x1 conv, upsampling, concatenate
    width_in = 32 + 1  # the noise rate joins the features as one more channel
    skips = []
    for width in WIDTHS_3RD_EDITION[:-1]:  # down: two blocks, then average pooling
        for _ in range(BLOCK_DEPTH_3RD_EDITION):
            params += block(width_in, width)
            width_in = width
            skips.append(width)
        params.append(0)
    for _ in range(BLOCK_DEPTH_3RD_EDITION):  # the bottom
        params += block(width_in, WIDTHS_3RD_EDITION[-1])
        width_in = WIDTHS_3RD_EDITION[-1]
    for width in reversed(WIDTHS_3RD_EDITION[:-1]):  # up: upsampling, then (concatenate the skip, block) x 2
        params.append(0)
        for _ in range(BLOCK_DEPTH_3RD_EDITION):
            params += [0] + block(width_in + skips.pop(), width)
            width_in = width
    return params + [conv(1, width_in, channels)]


def residual_block(x, width):
    """BatchNormalization without scale or offset, two 3x3 convolutions (swish between), plus the input.

    The input is projected by a 1x1 convolution when its width differs.
    """
    residual = x if x.shape[-1] == width else layers.Conv2D(width, kernel_size=1)(x)
    x = layers.BatchNormalization(center=False, scale=False)(x)
    x = layers.Conv2D(width, kernel_size=3, padding="same", activation="swish")(x)
    x = layers.Conv2D(width, kernel_size=3, padding="same")(x)
    return layers.Add()([x, residual])


def denoising_unet(image_size, channels=3, widths=WIDTHS_3RD_EDITION, block_depth=BLOCK_DEPTH_3RD_EDITION):
    """(noisy images, noise rates) -> the noise in them: the book's `get_model`.

    The noise rate (one number per picture) is spread over the picture and joins the first features as one
    more channel. Down: `block_depth` residual blocks per width, each output kept for the way up, then
    2x2 average pooling; up: bilinear upsampling, and per block the kept output of the same size
    concatenated in. The last 1x1 convolution starts at zero (the first predicted noise is 0).
    """
    noisy_images = keras.Input(shape=(image_size, image_size, channels), name="noisy_images")
    noise_rates = keras.Input(shape=(1, 1, 1), name="noise_rates")
    x = layers.Conv2D(widths[0], kernel_size=1)(noisy_images)
    n = layers.UpSampling2D(size=image_size, interpolation="nearest")(noise_rates)
    x = layers.Concatenate()([x, n])
    skips = []
    for width in widths[:-1]:
        for _ in range(block_depth):
            x = residual_block(x, width)
            skips.append(x)
        x = layers.AveragePooling2D(pool_size=2)(x)
    for _ in range(block_depth):
        x = residual_block(x, widths[-1])
    for width in reversed(widths[:-1]):
        x = layers.UpSampling2D(size=2, interpolation="bilinear")(x)
        for _ in range(block_depth):
            x = layers.Concatenate()([x, skips.pop()])
            x = residual_block(x, width)
    predicted_noise = layers.Conv2D(channels, kernel_size=1, kernel_initializer="zeros", dtype="float32")(x)
    return keras.Model([noisy_images, noise_rates], predicted_noise, name="denoising_model")


def diffusion_schedule(diffusion_times, min_signal_rate=MIN_SIGNAL_RATE, max_signal_rate=MAX_SIGNAL_RATE):
    """Diffusion times in [0, 1] -> (noise rates, signal rates), with noise^2 + signal^2 = 1.

    The angle grows linearly from arccos(0.95) at time 0 to arccos(0.02) at time 1: a cosine schedule.
    """
    start_angle = ops.cast(ops.arccos(max_signal_rate), "float32")
    end_angle = ops.cast(ops.arccos(min_signal_rate), "float32")
    angles = start_angle + ops.cast(diffusion_times, "float32") * (end_angle - start_angle)
    return ops.sin(angles), ops.cos(angles)


def adamw_3rd_edition():
    """AdamW, its learning rate 1e-3 / (1 + 0.1 * step / 1000), weights replaced by their moving average
    (momentum 0.99) every 100 steps and at the end of fit (Keras's default weight decay 0.004)."""
    return keras.optimizers.AdamW(
        learning_rate=keras.optimizers.schedules.InverseTimeDecay(1e-3, decay_steps=1000, decay_rate=0.1),
        use_ema=True, ema_overwrite_frequency=100)


class DiffusionModel(keras.Model):
    """The book's `DiffusionModel`: the U-Net, a normalizer for the pictures, and the denoising loss.

    Batches are pictures (or (pictures, anything)) in their own scale; `normalizer` (a Normalization layer
    adapted to the training pictures before fit) brings them to mean 0, variance 1, and `generate` brings
    its results back. `train_step` writes the book's `call` + `compute_loss` as one step, with a batch
    size read from the batch (the book's listing reads a global `batch_size`).
    """

    def __init__(self, denoising_model, normalizer, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.denoising_model, self.normalizer = denoising_model, normalizer
        self.image_shape = tuple(denoising_model.inputs[0].shape[1:])
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.noise_loss = keras.losses.MeanAbsoluteError()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True  # the U-Net is a built functional model, the normalizer is adapted

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, noisy_images, training=False):
        """The noise the U-Net finds in pictures at the start of generation (noise rate of time 1)."""
        noise_rates, signal_rates = diffusion_schedule(ops.ones((ops.shape(noisy_images)[0], 1, 1, 1)))
        return self.denoise(noisy_images, noise_rates, signal_rates, training=training)[1]

    def denoise(self, noisy_images, noise_rates, signal_rates, training=False):
        """(the pictures without the predicted noise, the predicted noise)."""
        predicted_noise = self.denoising_model([noisy_images, noise_rates], training=training)
        predicted_images = (noisy_images - noise_rates * predicted_noise) / signal_rates
        return predicted_images, predicted_noise

    def add_noise(self, images):
        """Normalized pictures -> (noisy pictures, the noise, noise rates, signal rates) at random times."""
        images = ops.cast(images, "float32")  # the normalizer computes in float16 under mixed precision
        noise = keras.random.normal(ops.shape(images), seed=self.seed_generator)
        diffusion_times = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), minval=0.0, maxval=1.0,
                                               seed=self.seed_generator)
        noise_rates, signal_rates = diffusion_schedule(diffusion_times)
        return signal_rates * images + noise_rates * noise, noise, noise_rates, signal_rates

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        noisy_images, noise, noise_rates, signal_rates = self.add_noise(self.normalizer(images))
        weights = self.denoising_model.trainable_weights
        with tf.GradientTape() as tape:
            _, predicted_noise = self.denoise(noisy_images, noise_rates, signal_rates, training=True)
            loss = self.noise_loss(noise, predicted_noise)
            scaled_loss = self.optimizer.scale_loss(loss)  # mixed float16: the loss scale (else the loss)
        self.optimizer.apply_gradients(zip(tape.gradient(scaled_loss, weights), weights))
        self.loss_tracker.update_state(loss)
        return {metric.name: metric.result() for metric in self.metrics}

    def test_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        noisy_images, noise, noise_rates, signal_rates = self.add_noise(self.normalizer(images))
        _, predicted_noise = self.denoise(noisy_images, noise_rates, signal_rates, training=False)
        self.loss_tracker.update_state(self.noise_loss(noise, predicted_noise))
        return {metric.name: metric.result() for metric in self.metrics}

    def generate(self, num_images, diffusion_steps=DIFFUSION_STEPS_3RD_EDITION, initial_noise=None):
        """Pictures in the training pictures' scale, from `diffusion_steps` steps of denoising pure noise.

        At each step the U-Net splits the current pictures into picture and noise; the next, less noisy,
        pictures mix the two in the proportions of the next diffusion time. Clipped to [0, 255] as in the
        book (whose pictures are 0-255 pixels).
        """
        noisy_images = initial_noise if initial_noise is not None else keras.random.normal(
            (num_images, *self.image_shape), seed=self.seed_generator)
        step_size = ops.convert_to_tensor(1.0 / diffusion_steps)
        for step in range(diffusion_steps):
            diffusion_times = ops.ones((num_images, 1, 1, 1)) - step * step_size
            noisy_images, predicted_images = self.denoising_step(noisy_images, diffusion_times, step_size)
        # the normalizer's statistics are in its compute dtype (bfloat16 or float16 under mixed precision)
        mean, variance = (ops.cast(statistic, "float32") for statistic in (self.normalizer.mean,
                                                                          self.normalizer.variance))
        images = mean + predicted_images * ops.sqrt(variance)
        return ops.clip(images, 0.0, 255.0)

    @tf.function(reduce_retracing=True)
    def denoising_step(self, noisy_images, diffusion_times, step_size):
        """One step of `generate` (compiled: 20 calls of the U-Net in graph mode rather than layer by layer)."""
        noise_rates, signal_rates = diffusion_schedule(diffusion_times)
        predicted_images, predicted_noise = self.denoise(noisy_images, noise_rates, signal_rates)
        next_noise_rates, next_signal_rates = diffusion_schedule(diffusion_times - step_size)
        return next_signal_rates * predicted_images + next_noise_rates * predicted_noise, predicted_images
