"""5.4, part 2: filter patterns, pictures grown by gradient ascent in input space.

Start from grey noise and climb the gradient of one filter's mean activation
with respect to the picture, until the filter responds as strongly as it can;
the grown pictures of a layer's first 64 filters, in an 8 x 8 grid. The two
editions differ in their start, step, gradient normalisation and display:
each is a `FilterPatterns` recipe, built from the functions below.
"""

import sys
from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.figures import save_figure
from chapters.runs import stop_cleanly

GRADIENT_BATCH = 16  # filters grown together: one picture per filter, one batch


# ---------------------------------------------------------------------------
# The editions' recipes
# ---------------------------------------------------------------------------

def grey_noise_1st_edition(rng, count, size):
    """The 1st edition's start: grey pictures (128) with a little noise (0-20), in pixel values."""
    return (rng.random((count, size, size, 3)) * 20 + 128).astype("float32")


def grey_noise_2nd_edition(rng, count, size):
    """The 2nd edition's start: uniform noise between 0.4 and 0.6."""
    return rng.uniform(0.4, 0.6, (count, size, size, 3)).astype("float32")


def normalize_by_rms(gradients):
    """The 1st edition: each picture's gradient divided by its root mean square (+1e-5), a step of ~1 per pixel."""
    rms = tf.sqrt(tf.reduce_mean(tf.square(gradients), axis=(1, 2, 3), keepdims=True))
    return gradients / (rms + 1e-5)


def normalize_by_l2(gradients):
    """The 2nd edition: each picture's gradient scaled to an L2 norm of 1 (tf.math.l2_normalize)."""
    return tf.math.l2_normalize(gradients, axis=(1, 2, 3))


def deprocess_1st_edition(image):
    """Centre on 0.5 with a standard deviation of 0.1, clip to [0, 1], as 0-255 pixels."""
    x = (image - image.mean()) / (image.std() + 1e-5) * 0.1 + 0.5
    return (np.clip(x, 0, 1) * 255).astype("uint8")


def deprocess_2nd_edition(image):
    """Centre on 128 with a standard deviation of 64, clip, and crop 25 pixels of border."""
    x = (image - image.mean()) / (image.std() + 1e-5) * 64 + 128
    return np.clip(x, 0, 255).astype("uint8")[25:-25, 25:-25]


@dataclass(frozen=True)
class FilterPatterns:
    """Gradient ascent in input space: grow a picture that one filter responds to as strongly as it can."""
    layers: tuple
    image_size: int
    steps: int
    step_size: float
    start: Callable  # start(rng, count, size): the starting pictures
    normalize_gradients: Callable
    loss_border: int  # pixels of the activation map left out of the loss, on each side
    deprocess: Callable  # a grown picture -> a displayable uint8 one
    filters: int = 64  # per layer, in an 8 x 8 grid


# ---------------------------------------------------------------------------
# Gradient ascent and the grid of patterns
# ---------------------------------------------------------------------------

def gradient_ascent(extractor, images, filter_indices, recipe, pixel_scale=1.0):
    """Climb each picture's gradient of its filter's mean activation; one picture per filter, all at once.

    The pictures are in the recipe's input space (pixels for the 1st edition);
    `pixel_scale` converts them to what the model takes. Returns the pictures
    and each filter's mean activation before and after.
    """
    return ascent_function(extractor, recipe, pixel_scale)(images, filter_indices)


def ascent_function(extractor, recipe, pixel_scale=1.0):
    """ascend(images, filter_indices) -> (grown pictures, mean activations before, after), compiled once."""
    channels = int(extractor.output.shape[-1])
    border = recipe.loss_border

    def filter_means(pictures, chosen):
        activation = extractor(pictures * pixel_scale, training=False)
        if border:
            activation = activation[:, border:-border, border:-border, :]
        return tf.reduce_mean(tf.reduce_sum(activation * chosen, axis=-1), axis=(1, 2))

    @tf.function(reduce_retracing=True)
    def step(pictures, chosen):
        with tf.GradientTape() as tape:
            tape.watch(pictures)
            loss = tf.reduce_sum(filter_means(pictures, chosen))  # each picture's gradient is its own filter's
        gradients = tape.gradient(loss, pictures)
        return pictures + recipe.step_size * recipe.normalize_gradients(gradients)

    def ascend(images, filter_indices):
        pictures = tf.convert_to_tensor(images)
        chosen = tf.one_hot(filter_indices, channels)[:, None, None, :]  # picture i -> filter filter_indices[i]
        before = np.asarray(filter_means(pictures, chosen))
        for _ in range(recipe.steps):
            pictures = step(pictures, chosen)
        return pictures.numpy(), before, np.asarray(filter_means(pictures, chosen))

    return ascend


def plot_filter_patterns(run, model, layer_name, recipe, pixel_scale, name, title, note=""):
    """The patterns of the layer's first filters, in an 8 x 8 grid with 5-pixel margins, as the book draws them."""
    path = run.path(f"filters/{name}.png")
    if run.resumed and path.exists():
        print(f"{path} is already there (resumed run)")
        return
    extractor = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    ascend = ascent_function(extractor, recipe, pixel_scale)
    count = min(recipe.filters, int(extractor.output.shape[-1]))
    rng = np.random.default_rng(run.seed)
    patterns, gains = [], []
    with stop_cleanly(f"filter patterns stopped in {layer_name}; the finished grids are in {run.path('filters')}; "
                      "run the same command with --resume to continue"):
        for start in range(0, count, GRADIENT_BATCH):
            indices = np.arange(start, min(start + GRADIENT_BATCH, count))
            images = recipe.start(rng, len(indices), recipe.image_size)
            grown, before, after = ascend(images, indices)
            patterns += [recipe.deprocess(image) for image in grown]
            gains += list(after - before)
            if not sys.stdout.isatty():
                print(f"  {name}: {start + len(indices)}/{count} filters", flush=True)
    grid = pattern_grid(patterns)
    fig = plt.figure(figsize=(grid.shape[1] / 60, grid.shape[0] / 60 + 0.4))
    plt.imshow(grid)
    plt.axis("off")
    plt.title(f"{title}: filters 0-{count - 1}, {recipe.steps} steps of {recipe.step_size:g}", fontsize=9)
    save_figure(fig, path)
    run.mark_progress()
    raised = int(np.sum(np.asarray(gains) > 0))
    run.record(f"filter_patterns.{name}.filters_raised", raised, note=note,
               label=f"{name}: filters whose mean activation the ascent raised (of {count})")
    print(f"Saved {count} filter patterns of {layer_name} to {path}")


def pattern_grid(patterns, columns=8, margin=5):
    """Pictures of one size -> one picture: rows of `columns`, separated by black margins."""
    size = patterns[0].shape[0]
    rows = -(-len(patterns) // columns)
    columns = min(columns, len(patterns))
    grid = np.zeros((rows * size + (rows - 1) * margin, columns * size + (columns - 1) * margin, 3), "uint8")
    for index, pattern in enumerate(patterns):
        row, column = divmod(index, columns)
        top, left = row * (size + margin), column * (size + margin)
        grid[top:top + size, left:left + size] = pattern
    return grid
