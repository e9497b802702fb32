"""8.3 Neural style transfer: repaint a photo in the style of a painting, with VGG19.

An image is optimised so that its VGG19 activations keep the content of one
picture (layer block5_conv2) and the textures of another (Gram matrices of
block1_conv1 ... block5_conv1), with a total-variation term for smoothness.
The 1st edition minimises the loss with L-BFGS (20 iterations of 20 function
evaluations), the 2nd with SGD (learning rate 100, x0.96 every 100 steps, 4,000
steps). The style Gram matrices and the content features never change, so we
compute them once and push only the generated image through VGG19 at each
step (the book pushes all three images through it every time).
"""

import sys
import time
from dataclasses import asdict, dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch8_generative import CHAPTER
from chapters.ch8_generative.arguments import non_negative_number, positive_int, positive_number
from chapters.ch8_generative.style_transfer_images import deprocess_image, load_image_pair
from chapters.ch8_generative.style_transfer_losses import compute_targets, make_loss_and_grads, make_loss_function
from chapters.errors import Interrupted, RunFailed, UsageError
from chapters.figures import save_figure, save_png
from chapters.storage import atomic_write, read_json, reading, save_json, save_npz
from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE, MIN_SIDE, resize
from models.pretrained import is_untrained, weights_label
from models.vgg_style import VGG19_NOTOP_BOOK_PARAMS, feature_extractor, vgg19_without_top

MAX_HEIGHT = 2048
QUICK_HEIGHT, QUICK_ITERATIONS, QUICK_LBFGS_EVALUATIONS = 64, 2, 5  # --quick


@dataclass
class Recipe:
    """One edition's loss weights and optimiser."""

    content_weight: float
    style_weight: float
    total_variation_weight: float
    optimizer: str  # "lbfgs" or "sgd"
    iterations: int
    save_every: int
    learning_rate: float = 100.0  # SGD only
    lbfgs_evaluations: int = 20  # L-BFGS only: function evaluations per iteration
    height: int = 400


RECIPES = {
    # 1st edition: L-BFGS from SciPy, 20 iterations; the loss goes from ~7.4e9 to ~5.0e8.
    1: Recipe(content_weight=0.025, style_weight=1.0, total_variation_weight=1e-4,
              optimizer="lbfgs", iterations=20, save_every=1),
    # 2nd edition: SGD, 4,000 steps, an image every 100; the loss ~8,356 at 100 and ~5,529 at 4,000.
    2: Recipe(content_weight=2.5e-8, style_weight=1e-6, total_variation_weight=1e-6,
              optimizer="sgd", iterations=4000, save_every=100),
}
BOOK_LOSSES = {1: "~7.4e9 at the start, ~5.0e8 after 20 iterations (ImageNet weights, the book's photos)",
               2: "~8,356 at step 100, ~5,529 at step 4,000 (ImageNet weights, the book's photos)"}

CHAPTER.option("--content", defines_model=True,
               help="the photo to repaint: a path, or a name in <data dir>/style_images/ "
                    f"(default {DEFAULT_CONTENT}, ships with scikit-image)")
CHAPTER.option("--style", defines_model=True,
               help="the painting whose style to copy: a path or a name such as starry_night in "
                    f"<data dir>/style_images/ (default {DEFAULT_STYLE})")
CHAPTER.option("--weights", default="imagenet", defines_model=True,
               help="8.3: VGG19's weights: imagenet (Keras cache, else download; default), a path to "
                    "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or random (untrained demo)")
CHAPTER.option("--optimizer", choices=["lbfgs", "sgd"], defines_model=True,
               help="default: lbfgs (edition 1), sgd (edition 2)")
CHAPTER.option("--iterations", type=positive_int, help="default: 20 (edition 1), 4000 (edition 2)")
CHAPTER.option("--height", type=positive_int, defines_model=True,
               help=f"generated image height in pixels (default 400; {MIN_SIDE}-{MAX_HEIGHT})")
CHAPTER.option("--content-weight", type=non_negative_number, defines_model=True,
               help="default: 0.025 (edition 1), 2.5e-8 (edition 2)")
CHAPTER.option("--style-weight", type=non_negative_number, defines_model=True,
               help="default: 1.0 (edition 1), 1e-6 (edition 2)")
CHAPTER.option("--total-variation-weight", "--tv-weight", dest="total_variation_weight", type=non_negative_number,
               defines_model=True, help="default: 1e-4 (edition 1), 1e-6 (edition 2)")
CHAPTER.option("--learning-rate", type=positive_number, defines_model=True,
               help="SGD's initial learning rate (default 100)")
CHAPTER.option("--compute-dtype", choices=["float32", "bfloat16"], default="float32", defines_model=True,
               help="VGG19's compute type on a CPU (default float32); bfloat16 helps only on CPUs with native "
                    "bfloat16 (AVX512_BF16 or AMX); the losses stay float32")
CHAPTER.option("--save-every", type=positive_int,
               help="save an image every N iterations (default: 1 for L-BFGS, 100 for SGD)")


@CHAPTER.section("8.3", "Neural style transfer",
                 "VGG19 content + style (Gram) + total-variation losses; L-BFGS (1st ed.) or SGD (2nd ed.)")
def style_transfer(run):
    options = run.options
    recipe = choose_recipe(run)
    label = weights_label("vgg19_notop", options.weights)

    # VGG19 without its classifier; its parameters do not depend on the weights, so --summary-only
    # needs no download.
    vgg = vgg19_without_top("random" if run.summary_only else options.weights,
                            dtype_policy="mixed_bfloat16" if options.compute_dtype == "bfloat16" else None)
    run.check_against_book(vgg, VGG19_NOTOP_BOOK_PARAMS, "DLwP 8.3, VGG19 without its classifier")
    if run.summary_only:
        return

    # The two pictures, and the generated image's size: `height` high, the content's aspect ratio.
    images = load_image_pair(options.content or DEFAULT_CONTENT, options.style or DEFAULT_STYLE, recipe.height,
                             run.data_dir)
    for image, role in ((images.content, "content"), (images.style, "style")):
        print(f"{role.capitalize()} image: {image.source} ({image.width}x{image.height})"
              + "".join(f"; {note}" for note in image.notes))
    height, width = images.height, images.width
    print(f"Generated image: {width}x{height}; {label}")
    print(f"Recipe (edition {run.edition} unless overridden): {asdict(recipe)}")

    # The loss: content + style + total variation, as a compiled function of the generated image.
    extractor = feature_extractor(vgg)
    targets = compute_targets(extractor, images.content_image, images.style_image)
    # XLA pays off at the book's sizes (README, Performance), but not in a --quick run, whose few
    # small steps take less time than compiling them.
    jit = options_jit(run)
    print(f"Loss and gradient compiled with tf.function, XLA {'on' if jit else 'off'}")
    loss_and_grads = make_loss_and_grads(make_loss_function(extractor, targets, recipe, height * width), jit)

    # The optimisation starts from the content image (both editions), or from where an interrupted run stopped.
    history, start_image = load_progress(run, recipe, label, images.content_image)
    start_iteration = history["iteration"][-1] if history["iteration"] else 0
    optimizer = make_optimizer(recipe.optimizer, loss_and_grads, start_image, recipe, start_iteration)
    loss_now = float(loss_and_grads(tf.constant(optimizer.image))[0])
    if history["initial_loss"] is None:
        history["initial_loss"] = loss_now
    print(f"Loss at the start: {history['initial_loss']:.6g}"
          + (f"; at iteration {start_iteration}, where this run resumes: {loss_now:.6g}" if start_iteration else ""))
    tag = "_untrained-vgg19" if is_untrained(options.weights) else ""

    def save_progress(iteration):
        pixels = deprocess_image(optimizer.image)
        description = f"neural style transfer, iteration {iteration}, {label}"
        save_png(pixels, run.path(f"iterations/iteration_{iteration:04d}{tag}.png"), description)
        save_png(pixels, run.path(f"result{tag}.png"), description)
        save_npz(run.path("state.npz"), image=optimizer.image, iteration=iteration)
        save_history(run, history)
        run.mark_progress()
        return pixels

    progress = keras.utils.Progbar(recipe.iterations, stateful_metrics=["loss"],
                                   verbose=1 if sys.stdout.isatty() else 0)
    start, iteration = time.perf_counter(), start_iteration
    pixels = deprocess_image(optimizer.image)
    try:
        while iteration < recipe.iterations:
            loss = optimizer.iteration()
            if not np.isfinite(loss):
                raise RunFailed(f"the loss became {loss} at iteration {iteration + 1}; lower --learning-rate or "
                                "the loss weights")
            iteration += 1
            history["iteration"].append(iteration)
            history["loss"].append(loss)
            history["seconds"].append(round(time.perf_counter() - start, 3))
            progress.update(iteration, values=[("loss", loss)])
            if iteration % recipe.save_every == 0 or iteration == recipe.iterations:
                pixels = save_progress(iteration)
                if not sys.stdout.isatty():
                    print(f"iteration {iteration}/{recipe.iterations}: loss {loss:.6g} "
                          f"({time.perf_counter() - start:.1f} s)", flush=True)
    except KeyboardInterrupt:
        if iteration > start_iteration:  # the image of the last finished iteration, with its history
            save_progress(iteration)
        raise Interrupted(f"style transfer stopped after iteration {iteration}; the last image and the loss history "
                          f"are in {run.folder}; run the same command with --resume to continue") from None
    seconds, steps = time.perf_counter() - start, iteration - start_iteration

    # The figures: content, style and result side by side, and the loss curve.
    title = f"{recipe.optimizer.upper()}, {width}x{height}, {label}"
    plot_side_by_side(images.content.pixels, resize(images.style.pixels, height, width), pixels,
                      run.path(f"side_by_side{tag}.png"), title)
    plot_losses(history["iteration"], history["loss"], run.path(f"loss{tag}.png"), title)
    note = "untrained VGG19: the book's number does not apply" if is_untrained(options.weights) else ""
    run.record("weights", label)
    run.record("image_size", f"{width}x{height}")
    run.record("loss_at_start", history["initial_loss"], note=note)
    run.record("final_loss", history["loss"][-1] if history["loss"] else loss_now, book=BOOK_LOSSES[run.edition],
               label=f"loss after {iteration} iterations", note=note)
    if steps:
        run.record("seconds_per_iteration", round(seconds / steps, 3),
                   note=f"{recipe.optimizer}; one L-BFGS iteration = up to {recipe.lbfgs_evaluations} evaluations"
                   if recipe.optimizer == "lbfgs" else "sgd")
    print(f"Saved result{tag}.png, side_by_side{tag}.png, loss{tag}.png and iterations/ in {run.folder}")


def choose_recipe(run):
    """The edition's recipe, with whatever the user overrode on the command line."""
    options = run.options
    recipe = Recipe(**asdict(RECIPES[run.edition]))
    for name in ("content_weight", "style_weight", "total_variation_weight", "optimizer", "iterations",
                 "save_every", "learning_rate", "height"):
        value = getattr(options, name)
        if value is not None:
            setattr(recipe, name, value)
    if options.save_every is None and options.optimizer is not None:
        recipe.save_every = 1 if recipe.optimizer == "lbfgs" else 100
    if run.quick:  # a smoke run: a small image and a few iterations of whichever optimiser
        recipe.height = options.height or QUICK_HEIGHT
        recipe.iterations = options.iterations or QUICK_ITERATIONS
        recipe.save_every = options.save_every or 1
        recipe.lbfgs_evaluations = QUICK_LBFGS_EVALUATIONS
    if not MIN_SIDE <= recipe.height <= MAX_HEIGHT:
        raise UsageError(f"--height {recipe.height}: must be between {MIN_SIDE} and {MAX_HEIGHT} pixels")
    return recipe


def options_jit(run):
    setting = run.performance["jit_compile"]
    return setting == "on" or (setting == "auto" and not run.quick)


def load_progress(run, recipe, label, content_image):
    """(history, image to start from): a fresh start, or where the interrupted run of this folder stopped."""
    state = run.path("state.npz")
    if run.resumed and state.exists():
        with reading(state), np.load(state) as saved:
            image, iteration = saved["image"], int(saved["iteration"])
        history = read_json(run.path("loss_history.json"), "iteration", "loss", "seconds")
        with reading(run.path("loss_history.json")):
            keep = history["iteration"].index(iteration) + 1 if iteration in history["iteration"] else 0
            for key in ("iteration", "loss", "seconds"):  # the history moves with the saved image
                history[key] = history[key][:keep]
        print(f"Resuming from iteration {iteration} ({state})")
        return history, image
    return {"iteration": [], "loss": [], "seconds": [], "initial_loss": None, "weights": label,
            "recipe": asdict(recipe)}, content_image


def save_history(run, history):
    save_json(run.path("loss_history.json"), history)
    rows = "\n".join(f"{step},{loss:.8g}" for step, loss in zip(history["iteration"], history["loss"]))
    atomic_write(run.path("loss_history.csv"), "iteration,loss\n" + rows + "\n")


# ---------------------------------------------------------------------------
# The two optimisers
# ---------------------------------------------------------------------------

class LbfgsOptimizer:
    """The 1st edition: SciPy's L-BFGS-B, a fixed number of function evaluations per iteration."""

    def __init__(self, loss_and_grads, image, evaluations=20):
        self.loss_and_grads = loss_and_grads
        self.shape = image.shape
        self.x = np.asarray(image, dtype=np.float64).ravel()
        self.evaluations = evaluations

    def _evaluate(self, flat):
        image = tf.constant(flat.reshape(self.shape), dtype=tf.float32)
        loss, grads = self.loss_and_grads(image)
        return float(loss), np.asarray(grads, dtype=np.float64).ravel()

    def iteration(self):
        from scipy.optimize import fmin_l_bfgs_b

        self.x, loss, _ = fmin_l_bfgs_b(self._evaluate, self.x, maxfun=self.evaluations)
        return float(loss)

    @property
    def image(self):
        return self.x.reshape(self.shape).astype("float32")


class SgdOptimizer:
    """The 2nd edition: plain SGD on the pixels, learning rate 100 decayed by 0.96 every 100 steps."""

    def __init__(self, loss_and_grads, image, learning_rate=100.0, start_step=0):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=learning_rate, decay_steps=100, decay_rate=0.96)
        self.optimizer = keras.optimizers.SGD(schedule)
        self.variable = tf.Variable(np.asarray(image, dtype=np.float32))
        self.optimizer.build([self.variable])
        self.optimizer.iterations.assign(start_step)  # --resume continues the decay where it was
        self.loss_and_grads = loss_and_grads

        @tf.function
        def step():
            loss, grads = loss_and_grads(tf.convert_to_tensor(self.variable))
            self.optimizer.apply_gradients([(grads, self.variable)])
            return loss

        self._step = step

    def iteration(self):
        return float(self._step())

    @property
    def image(self):
        return self.variable.numpy()


def make_optimizer(name, loss_and_grads, image, recipe, start_step=0):
    if name == "lbfgs":
        return LbfgsOptimizer(loss_and_grads, image, recipe.lbfgs_evaluations)
    return SgdOptimizer(loss_and_grads, image, recipe.learning_rate, start_step)


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

def plot_side_by_side(content, style, result, path, title):
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.5))
    for ax, image, label in zip(axes, (content, style, result), ("Content", "Style", "Result")):
        ax.imshow(image)
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title)
    save_figure(fig, path)


def plot_losses(steps, losses, path, title):
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, losses, "b.-")
    ax.set_yscale("log")
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Loss")
    ax.set_title(title)
    save_figure(fig, path)
