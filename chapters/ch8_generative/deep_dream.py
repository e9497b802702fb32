"""8.2 DeepDream: gradient ascent on a photo, so that InceptionV3's mixed layers see more of what they see.

The photo is processed at three scales ("octaves"), each 1.4 times larger
than the last. At each, gradient ascent changes the pixels to raise a
weighted sum of the activations of a few mixed layers (lower layers give
geometric patterns, higher ones eyes, fur, buildings...), stopping early
when the loss passes `max_loss`. Before moving up an octave, the detail lost
by shrinking the photo is put back, so the result stays sharp.

The two editions dream with different layers, losses and steps (tables
below). Without the ImageNet weights, `--weights random` runs the whole
pipeline on an untrained InceptionV3 as a demo, marked UNTRAINED everywhere.
"""

import time
from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch8_generative import CHAPTER
from chapters.figures import save_figure, save_png
from chapters.runs import stop_cleanly
from chapters.storage import read_json, reading, save_json, save_npz
from datasets import DataError
from datasets.images import load_image, resize
from models.deep_dream import (
    INCEPTION_V3_NOTOP_BOOK_TOTAL,
    dream_feature_extractor,
    inception_v3_book_params,
    inception_v3_without_top,
)
from models.pretrained import is_untrained, weights_label

DEFAULT_DREAM_IMAGE = "skimage:chelsea"  # a cat, 451x300, ships with scikit-image (the book's photos are not here)
MIN_OCTAVE_SIDE = 75  # InceptionV3's smallest input
QUICK_HEIGHT, QUICK_ITERATIONS = 160, 2  # --quick: a small photo, 2 steps per octave


# ---------------------------------------------------------------------------
# The editions' losses, gradient normalisations and loops
# ---------------------------------------------------------------------------

def dream_loss_1st_edition(features, layer_contributions):
    """Each layer: coefficient * sum of squared activations (2-pixel border left out) / number of activations."""
    loss = 0.0
    for name, coefficient in layer_contributions.items():
        activation = features[name]
        scaling = tf.cast(tf.reduce_prod(tf.shape(activation)), "float32")
        loss += coefficient * tf.reduce_sum(tf.square(activation[:, 2:-2, 2:-2, :])) / scaling
    return loss


def dream_loss_2nd_edition(features, layer_contributions):
    """Each layer: coefficient * mean squared activation (2-pixel border left out)."""
    loss = 0.0
    for name, coefficient in layer_contributions.items():
        loss += coefficient * tf.reduce_mean(tf.square(features[name][:, 2:-2, 2:-2, :]))
    return loss


def normalize_gradients_1st_edition(gradients):
    """Divide by the mean absolute gradient (at least 1e-7)."""
    return gradients / tf.maximum(tf.reduce_mean(tf.abs(gradients)), 1e-7)


def normalize_gradients_2nd_edition(gradients):
    """Divide by the L2 norm of the whole gradient."""
    return tf.math.l2_normalize(gradients)


def gradient_ascent_1st_edition(loss_and_gradients, image, iterations, step, max_loss):
    """Stop before the step whose loss is above max_loss. Returns (image, the loss before each step taken)."""
    losses = []
    for _ in range(iterations):
        loss, gradients = loss_and_gradients(image)
        if float(loss) > max_loss:
            break
        losses.append(float(loss))
        image = image + step * gradients
    return image, losses


def gradient_ascent_2nd_edition(loss_and_gradients, image, iterations, step, max_loss):
    """Take the step, then stop if its loss was above max_loss. Returns (image, the loss before each step taken)."""
    losses = []
    for _ in range(iterations):
        loss, gradients = loss_and_gradients(image)
        image = image + step * gradients
        losses.append(float(loss))
        if float(loss) > max_loss:
            break
    return image, losses


@dataclass(frozen=True)
class Recipe:
    layer_contributions: dict
    dream_loss: Callable
    normalize_gradients: Callable
    gradient_ascent: Callable
    step: float
    num_octave: int
    octave_scale: float
    iterations: int
    max_loss: float
    book_result: str


RECIPES = {
    1: Recipe({"mixed2": 0.2, "mixed3": 3.0, "mixed4": 2.0, "mixed5": 1.5}, dream_loss_1st_edition,
              normalize_gradients_1st_edition, gradient_ascent_1st_edition, step=0.01, num_octave=3,
              octave_scale=1.4, iterations=20, max_loss=10.0,
              book_result="350x350 photo: octaves (178, 178), (250, 250), (350, 350); 20 steps 0.67 -> 9.94, "
                          "10 steps 2.18 -> 9.61, 7 steps 2.31 -> 9.99"),
    2: Recipe({"mixed4": 1.0, "mixed5": 1.5, "mixed6": 2.0, "mixed7": 2.5}, dream_loss_2nd_edition,
              normalize_gradients_2nd_edition, gradient_ascent_2nd_edition, step=20.0, num_octave=3,
              octave_scale=1.4, iterations=30, max_loss=15.0,
              book_result="coast.jpg 900x1200: octaves (459, 612), (642, 857), (900, 1200); loss at step 29 "
                          "~10.4 / 12.2 / 11.0"),
}

CHAPTER.option("--image", defines_model=True,
               help=f"8.2: the photo to dream on: a path, a name in <data dir>/style_images/, or skimage:<name> "
                    f"(default {DEFAULT_DREAM_IMAGE}, ships with scikit-image)")


@CHAPTER.section("8.2", "DeepDream",
                 "gradient ascent on a photo through InceptionV3's mixed layers (21,802,784 parameters), "
                 "3 octaves of 1.4x")
def deep_dream(run):
    recipe = RECIPES[run.edition]
    weights = run.options.weights
    label = weights_label("inception_v3_notop", weights)

    # InceptionV3 without its classifier (its parameters do not depend on the weights: --summary-only
    # downloads nothing), and a model that returns the activations of the edition's mixed layers.
    model = inception_v3_without_top("random" if run.summary_only else weights)
    run.check_against_book(model, inception_v3_book_params(model), "DLwP 8.2, InceptionV3 without its classifier "
                           "(per layer from InceptionV3's architecture)")
    run.record("total_params", model.count_params(), book=INCEPTION_V3_NOTOP_BOOK_TOTAL,
               label="InceptionV3 without its classifier: parameters")
    if run.summary_only:
        return
    extractor = dream_feature_extractor(model, list(recipe.layer_contributions))
    print(f"Dreaming with {label}; layers and coefficients: {recipe.layer_contributions}")

    # The photo, as InceptionV3 expects it (pixels scaled to [-1, 1]), and the sizes of its octaves.
    photo = load_image(run.options.image or DEFAULT_DREAM_IMAGE, "photo", run.data_dir,
                       min_side=smallest_photo_side(recipe), rule=octave_rule(recipe))
    pixels = photo.pixels
    if run.quick:
        pixels = resize(pixels, QUICK_HEIGHT, round(photo.width * QUICK_HEIGHT / photo.height))
    shapes = octave_shapes(pixels.shape[:2], recipe.num_octave, recipe.octave_scale)
    if min(shapes[0]) < MIN_OCTAVE_SIDE:
        raise DataError(f"photo {photo.source} is {pixels.shape[1]}x{pixels.shape[0]}: its smallest octave "
                        f"{shapes[0]} is below InceptionV3's {MIN_OCTAVE_SIDE} pixels; {octave_rule(recipe)}")
    print(f"Photo: {photo.source} ({pixels.shape[1]}x{pixels.shape[0]}); octaves (height, width): {shapes}")
    original = keras.applications.inception_v3.preprocess_input(pixels.astype("float32"))[None]

    # Gradient ascent, octave after octave; each octave's picture is kept, so an interruption loses at most one.
    iterations = QUICK_ITERATIONS if run.quick else recipe.iterations
    loss_and_gradients = make_loss_and_gradients(extractor, recipe)
    tag = "_untrained-inception_v3" if is_untrained(weights) else ""
    done, image, report = load_progress(run, original)
    began = time.perf_counter()
    for octave in range(done, len(shapes)):
        shape = shapes[octave]
        with stop_cleanly(f"DeepDream stopped in octave {octave + 1} of {len(shapes)}; the finished octaves are "
                          f"in {run.folder}; run the same command with --resume to continue"):
            image = tf.image.resize(image, shape).numpy()
            start = time.perf_counter()
            image, losses = recipe.gradient_ascent(loss_and_gradients, image, iterations, recipe.step,
                                                   recipe.max_loss)
            image = np.asarray(image) + lost_detail(original, shapes, octave)
        seconds = time.perf_counter() - start
        report.append({"shape": list(shape), "steps": len(losses), "losses": losses,
                       "seconds_per_step": round(seconds / max(1, len(losses)), 3)})
        print(f"Octave {octave + 1} {shape}: {len(losses)} steps, loss "
              + (f"{losses[0]:.4g} -> {losses[-1]:.4g}" if losses else "above max_loss at once")
              + f" ({seconds:.1f} s)", flush=True)
        save_png(deprocess_image(image), run.path(f"octaves/octave_{octave + 1}{tag}.png"),
                 f"DeepDream octave {octave + 1}, {label}")
        save_npz(run.path("state.npz"), image=image, octave=octave + 1)
        save_json(run.path("octaves.json"), report)
        run.mark_progress()

    # The result beside the photo, and the numbers.
    dream = deprocess_image(image)
    save_png(dream, run.path(f"dream{tag}.png"), f"DeepDream, edition {run.edition}, {label}")
    plot_side_by_side(pixels, dream, run.path(f"side_by_side{tag}.png"),
                      f"DeepDream (edition {run.edition}), {label}")
    note = "untrained InceptionV3: the book's numbers do not apply" if is_untrained(weights) else ""
    run.record("weights", label)
    run.record("octave_shapes", [tuple(s) for s in shapes], book=recipe.book_result)
    run.record("steps_per_octave", [octave["steps"] for octave in report], note=note)
    run.record("loss_per_octave", [[significant(o["losses"][0]), significant(o["losses"][-1])] if o["losses"] else []
                                   for o in report], label="loss at the first and last step of each octave",
               note=note)
    steps = sum(octave["steps"] for octave in report[done:])
    if steps:
        run.record("seconds_per_step", round((time.perf_counter() - began) / steps, 3))
    print(f"Saved dream{tag}.png, side_by_side{tag}.png and octaves/ in {run.folder}")


def significant(value, digits=4):
    return float(f"{value:.{digits}g}")


def smallest_photo_side(recipe):
    """The shortest side whose smallest octave still has InceptionV3's 75 pixels (147 at 3 octaves of 1.4x)."""
    side = MIN_OCTAVE_SIDE
    while min(octave_shapes((side, side), recipe.num_octave, recipe.octave_scale)[0]) < MIN_OCTAVE_SIDE:
        side += 1
    return side


def octave_rule(recipe):
    return (f"8.2 dreams at {recipe.num_octave} octaves of {recipe.octave_scale}x and InceptionV3 needs "
            f"{MIN_OCTAVE_SIDE} pixels at the smallest, so the photo's shorter side must be at least "
            f"{smallest_photo_side(recipe)} pixels")


def octave_shapes(original_shape, num_octave, octave_scale):
    """The book's successive shapes, smallest first: int(dim / octave_scale ** i) for i = num_octave - 1 ... 0."""
    return [tuple(int(dim / (octave_scale ** i)) for dim in original_shape) for i in reversed(range(num_octave))]


def lost_detail(original, shapes, octave):
    """What shrinking the photo to the previous octave lost, at this octave's size (zero at the smallest)."""
    if octave == 0:
        return 0.0
    shape = shapes[octave]
    upscaled_shrunk_original = tf.image.resize(tf.image.resize(original, shapes[octave - 1]), shape)
    same_size_original = tf.image.resize(original, shape)
    return (same_size_original - upscaled_shrunk_original).numpy()


def make_loss_and_gradients(extractor, recipe):
    @tf.function(reduce_retracing=True)
    def loss_and_gradients(image):
        image = tf.convert_to_tensor(image)
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = recipe.dream_loss(extractor(image, training=False), recipe.layer_contributions)
        return loss, recipe.normalize_gradients(tape.gradient(loss, image))

    return loss_and_gradients


def load_progress(run, original):
    """(octaves done, image, per-octave report): from the interrupted run of this folder, or from the start."""
    state = run.path("state.npz")
    if run.resumed and state.exists():
        with reading(state), np.load(state) as saved:
            image, done = saved["image"], int(saved["octave"])
        print(f"Resuming after octave {done} ({state})")
        octaves = run.path("octaves.json")  # written after state.npz: a kill between them leaves one octave less
        return done, image, read_json(octaves, kind=list)[:done] if octaves.exists() else []
    return 0, original, []


def deprocess_image(x):
    """InceptionV3's [-1, 1] back to RGB uint8."""
    x = np.asarray(x, dtype=np.float32).reshape(x.shape[-3:])
    return np.clip((x + 1.0) * 127.5, 0, 255).round().astype("uint8")


def plot_side_by_side(photo, dream, path, title):
    fig, axes = plt.subplots(1, 2, figsize=(12, 6 * photo.shape[0] / photo.shape[1] + 0.8))
    for ax, picture, name in zip(axes, (photo, dream), ("Photo", "Dream")):
        ax.imshow(picture)
        ax.set_title(name)
        ax.axis("off")
    fig.suptitle(title)
    save_figure(fig, path)
