"""Chapter 8.3: neural style transfer with VGG19.

    python -m chapters.ch8_style_transfer                        # scikit-image's astronaut, Hubble style
    python -m chapters.ch8_style_transfer --content photo.jpg --style starry_night
    python -m chapters.ch8_style_transfer --edition 2            # the 2nd edition's SGD recipe
    python -m chapters.ch8_style_transfer --weights random --quick

An image is repainted so that its VGG19 activations keep the content of one
picture (layer block5_conv2) and the textures of another (Gram matrices of
block1_conv1 ... block5_conv1), with a total-variation term for smoothness.
The 1st edition minimises the loss with L-BFGS (20 iterations of 20 function
evaluations), the 2nd with SGD (learning rate 100, x0.96 every 100 steps, 4,000
steps). The style Gram matrices and the content features never change, so we
compute them once and push only the generated image through VGG19 at each
step (the book pushes all three images through it every time).
"""

import io
import json
import sys
import time
from dataclasses import asdict, dataclass

import keras
import matplotlib

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.common import (Chapter, Interrupted, Section, UsageError, _positive_int, atomic_write,
                             check_against_book, save_figure, save_json)
from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE, MIN_SIDE, LoadedImage, load_image, resize, target_size
from models.vgg_style import (CONTENT_LAYER, STYLE_LAYERS, VGG19_NOTOP_BOOK_PARAMS, build_feature_extractor,
                              build_vgg19)

MAX_HEIGHT = 2048
# ImageNet channel means (BGR) that VGG19's preprocess_input subtracts.
IMAGENET_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


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


# ---------------------------------------------------------------------------
# Pre- and de-processing
# ---------------------------------------------------------------------------

def preprocess_image(pixels, height, width):
    """RGB uint8 -> a (1, height, width, 3) float32 batch as VGG19 expects (BGR, mean-centred)."""
    resized = resize(pixels, height, width).astype("float32")
    return keras.applications.vgg19.preprocess_input(resized[None])


@dataclass
class ImagePair:
    """The content and style pictures, and both as VGG19 inputs of the generated image's size."""

    content: LoadedImage
    style: LoadedImage
    height: int
    width: int
    content_image: np.ndarray  # (1, height, width, 3), preprocessed
    style_image: np.ndarray


def load_image_pair(content_spec, style_spec, height, data_dir=None):
    """Load both pictures; the generated image is `height` high, its width by the content's aspect ratio.

    The book resizes the style picture to the generated image's size too.
    """
    content = load_image(content_spec, "content", data_dir)
    style = load_image(style_spec, "style", data_dir)
    height, width = target_size(content, height)
    return ImagePair(content, style, height, width, preprocess_image(content.pixels, height, width),
                     preprocess_image(style.pixels, height, width))


def deprocess_image(x):
    """The inverse: add the ImageNet means back, BGR -> RGB, clip to 0-255 uint8."""
    x = np.array(x, dtype=np.float32).reshape(x.shape[-3:])
    x = x + IMAGENET_MEAN_BGR
    x = x[:, :, ::-1]
    return np.clip(x, 0, 255).round().astype("uint8")


# ---------------------------------------------------------------------------
# The losses, as the book defines them
# ---------------------------------------------------------------------------

def gram_matrix(x):
    """(height, width, channels) features -> (channels, channels) inner products of the channel maps."""
    x = tf.cast(x, "float32")  # float16 (mixed precision) sums overflow
    features = tf.reshape(tf.transpose(x, (2, 0, 1)), (tf.shape(x)[2], -1))
    return tf.matmul(features, features, transpose_b=True)


def content_loss(base, combination):
    return tf.reduce_sum(tf.square(tf.cast(combination, "float32") - tf.cast(base, "float32")))


def style_loss_from_gram(style_gram, combination, size):
    """The book's style loss with the style image's Gram matrix already computed.

    The book normalises by 4 * channels^2 * size^2 with channels = 3 and size =
    the image's height * width (not the layer's): we keep its numbers.
    """
    channels = 3
    difference = style_gram - gram_matrix(combination)
    return tf.reduce_sum(tf.square(difference)) / (4.0 * (channels ** 2) * (size ** 2))


def style_loss(style, combination, size):
    return style_loss_from_gram(gram_matrix(style), combination, size)


def total_variation_loss(x):
    """Penalise differences between neighbouring pixels: keeps the image locally coherent."""
    height, width = x.shape[1], x.shape[2]
    a = tf.square(x[:, : height - 1, : width - 1, :] - x[:, 1:, : width - 1, :])
    b = tf.square(x[:, : height - 1, : width - 1, :] - x[:, : height - 1, 1:, :])
    return tf.reduce_sum(tf.pow(a + b, 1.25))


# ---------------------------------------------------------------------------
# The loss of a generated image: ours (targets computed once) and the book's
# ---------------------------------------------------------------------------

def compute_targets(extractor, content_image, style_image):
    """What never changes during the optimisation: the content features and the style Gram matrices."""
    content_features = extractor(content_image)[CONTENT_LAYER][0]
    style_features = extractor(style_image)
    style_grams = {name: gram_matrix(style_features[name][0]) for name in STYLE_LAYERS}
    return {"content": tf.cast(content_features, "float32"), "style_grams": style_grams}


def make_loss_function(extractor, targets, recipe, size):
    """loss(combination): only the generated image goes through VGG19."""
    content_target, style_grams = targets["content"], targets["style_grams"]

    def compute_loss(combination_image):
        features = extractor(combination_image)
        loss = recipe.content_weight * content_loss(content_target, features[CONTENT_LAYER][0])
        for name in STYLE_LAYERS:
            layer_loss = style_loss_from_gram(style_grams[name], features[name][0], size)
            loss += (recipe.style_weight / len(STYLE_LAYERS)) * layer_loss
        loss += recipe.total_variation_weight * total_variation_loss(combination_image)
        return loss

    return compute_loss


def make_book_loss_function(extractor, content_image, style_image, recipe, size):
    """The book's loss: content, style and generated images through VGG19 together, every call."""

    def compute_loss(combination_image):
        batch = tf.concat([content_image, style_image, combination_image], axis=0)
        features = extractor(batch)
        layer = features[CONTENT_LAYER]
        loss = recipe.content_weight * content_loss(layer[0], layer[2])
        for name in STYLE_LAYERS:
            layer = features[name]
            loss += (recipe.style_weight / len(STYLE_LAYERS)) * style_loss(layer[1], layer[2], size)
        loss += recipe.total_variation_weight * total_variation_loss(combination_image)
        return loss

    return compute_loss


def make_loss_and_grads(compute_loss, jit_compile=False):
    """A compiled function: image -> (loss, gradient of the loss with respect to the image)."""

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def loss_and_grads(combination_image):
        with tf.GradientTape() as tape:
            tape.watch(combination_image)
            loss = compute_loss(combination_image)
        return loss, tape.gradient(loss, combination_image)

    return loss_and_grads


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
# Outputs
# ---------------------------------------------------------------------------

def save_png(pixels, path, description=""):
    """An RGB array as a PNG (atomically), with a text note inside the file."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if description:
        info.add_text("Description", description)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info)
    return atomic_write(path, buffer.getvalue())


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


def save_history(ctx, history):
    save_json(ctx.path("loss_history.json"), history)
    rows = "\n".join(f"{s},{l:.8g}" for s, l in zip(history["iteration"], history["loss"]))
    atomic_write(ctx.path("loss_history.csv"), "iteration,loss\n" + rows + "\n")


# ---------------------------------------------------------------------------
# 8.3 Neural style transfer
# ---------------------------------------------------------------------------

def choose_recipe(ctx):
    """The edition's recipe, with whatever the user overrode on the command line."""
    args = ctx.args
    recipe = Recipe(**asdict(RECIPES[ctx.edition]))
    for name in ("content_weight", "style_weight", "total_variation_weight", "optimizer", "iterations",
                 "save_every", "learning_rate", "height"):
        value = getattr(args, name)
        if value is not None:
            setattr(recipe, name, value)
    if args.save_every is None and args.optimizer is not None:
        recipe.save_every = 1 if recipe.optimizer == "lbfgs" else 100
    if ctx.quick:
        # A smoke run: a small image and a few iterations of whichever optimiser.
        recipe.height = args.height or 64
        recipe.iterations = args.iterations or 2
        recipe.save_every = args.save_every or 1
        recipe.lbfgs_evaluations = 5
    if not MIN_SIDE <= recipe.height <= MAX_HEIGHT:
        raise UsageError(f"--height {recipe.height}: must be between {MIN_SIDE} and {MAX_HEIGHT} pixels")
    return recipe


def choose_dtype_policy(ctx):
    """VGG19's compute type. The losses, the targets and the image always stay float32.

    `--compute-dtype bfloat16` runs VGG19's convolutions in bfloat16 (the loss
    moves by well under 1%, see the tests). That is only faster on a CPU that
    computes bfloat16 natively (AVX512_BF16 or AMX); elsewhere it is emulated
    and slower, so float32 is the default. On a GPU, --mixed-precision
    (float16) is set up by the shared plumbing.
    """
    if ctx.args.compute_dtype == "bfloat16":
        print("VGG19 computes in bfloat16 (losses in float32)")
        return "mixed_bfloat16"
    return None


def weights_label(weights):
    if weights == "random":
        return "UNTRAINED VGG19 (--weights random, demo: not the book's result)"
    return "VGG19 ImageNet weights" if weights == "imagenet" else f"VGG19 weights from {weights}"


def style_transfer(ctx):
    args = ctx.args
    recipe = choose_recipe(ctx)
    if ctx.summary_only:
        # Parameter counts do not depend on the weights: no download needed to check them.
        vgg = build_vgg19("random")
        check_against_book(vgg, VGG19_NOTOP_BOOK_PARAMS, "DLwP 8.3, VGG19 without top (20,024,384 parameters)")
        return

    images = load_image_pair(args.content or DEFAULT_CONTENT, args.style or DEFAULT_STYLE, recipe.height,
                             ctx.data_dir)
    content, style, height, width = images.content, images.style, images.height, images.width
    for image, role in ((content, "content"), (style, "style")):
        print(f"{role.capitalize()} image: {image.source} ({image.width}x{image.height})"
              + "".join(f"; {note}" for note in image.notes))
    label = weights_label(args.weights)
    print(f"Generated image: {width}x{height}; {label}")
    print(f"Recipe (edition {ctx.edition} unless overridden): {asdict(recipe)}")

    vgg = build_vgg19(args.weights, dtype_policy=choose_dtype_policy(ctx))
    extractor = build_feature_extractor(vgg)
    content_image = images.content_image
    targets = compute_targets(extractor, content_image, images.style_image)
    # XLA: measured 3.3x the book's step at 400 px on a 2-core CPU, against 2.7x without it
    # (benchmarks/ch8_style_speed.py); it pays off on GPUs too, but not in a --quick run,
    # whose few small steps take less time than compiling them.
    jit = ctx.args.jit_compile == "on" or (ctx.args.jit_compile == "auto" and not ctx.quick)
    print(f"Loss and gradient compiled with tf.function, XLA {'on' if jit else 'off'}")
    loss_and_grads = make_loss_and_grads(make_loss_function(extractor, targets, recipe, height * width), jit)

    # Start from the content image (both editions), or from where an interrupted run stopped.
    history = {"iteration": [], "loss": [], "seconds": [], "weights": label, "recipe": asdict(recipe)}
    start_image, start_iteration = content_image, 0
    state_path = ctx.path("state.npz")
    if ctx.args.resume and state_path.exists():
        state = np.load(state_path)
        start_image, start_iteration = state["image"], int(state["iteration"])
        history = json.loads(ctx.path("loss_history.json").read_text())
        print(f"Resuming from iteration {start_iteration} ({state_path})")
    # SGD counts steps; L-BFGS counts iterations of `lbfgs_evaluations` steps each.
    optimizer = make_optimizer(recipe.optimizer, loss_and_grads, start_image, recipe, start_iteration)
    tag = "_untrained-vgg19" if args.weights == "random" else ""
    (ctx.run_dir / "iterations").mkdir(exist_ok=True)

    def save_progress(iteration):
        pixels = deprocess_image(optimizer.image)
        description = f"neural style transfer, iteration {iteration}, {label}"
        save_png(pixels, ctx.path(f"iterations/iteration_{iteration:04d}{tag}.png"), description)
        save_png(pixels, ctx.path(f"result{tag}.png"), description)
        np.savez(state_path, image=optimizer.image, iteration=iteration)
        save_history(ctx, history)
        return pixels

    initial_loss = float(loss_and_grads(tf.constant(optimizer.image))[0])
    print(f"Loss at the start: {initial_loss:.6g}")
    progress = keras.utils.Progbar(recipe.iterations, stateful_metrics=["loss"],
                                   verbose=1 if sys.stdout.isatty() else 0)
    start = time.perf_counter()
    iteration = start_iteration
    pixels = deprocess_image(optimizer.image)
    try:
        while iteration < recipe.iterations:
            loss = optimizer.iteration()
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
        if history["iteration"]:
            save_progress(history["iteration"][-1])
        raise Interrupted(f"stopped at iteration {iteration}; the last image and the loss history are in "
                          f"{ctx.run_dir}; rerun with --resume to continue") from None
    seconds = time.perf_counter() - start
    steps = iteration - start_iteration
    title = f"{recipe.optimizer.upper()}, {width}x{height}, {label}"
    plot_side_by_side(content.pixels, resize(style.pixels, height, width), pixels,
                      ctx.path(f"side_by_side{tag}.png"), title)
    plot_losses(history["iteration"], history["loss"], ctx.path(f"loss{tag}.png"), title)

    note = "untrained VGG19: the book's number does not apply" if args.weights == "random" else ""
    ctx.record("weights", label)
    ctx.record("image size", f"{width}x{height}")
    ctx.record("loss at the start", initial_loss, note=note)
    ctx.record(f"loss after {iteration} iterations", history["loss"][-1], book=BOOK_LOSSES[ctx.edition],
               note=note)
    if steps:
        ctx.record("seconds per iteration", round(seconds / steps, 3),
                   note=f"{recipe.optimizer}; one L-BFGS iteration = up to {recipe.lbfgs_evaluations} "
                        "evaluations" if recipe.optimizer == "lbfgs" else "sgd")
    print(f"Saved result{tag}.png, side_by_side{tag}.png, loss{tag}.png and iterations/ in {ctx.run_dir}")


# ---------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("--content", help="the photo to repaint: a path, or a name in <data dir>/style_images/ "
                                          f"(default {DEFAULT_CONTENT}, ships with scikit-image)")
    parser.add_argument("--style", help="the painting whose style to copy: a path or a name such as starry_night "
                                        f"in <data dir>/style_images/ (default {DEFAULT_STYLE})")
    parser.add_argument("--weights", default="imagenet",
                        help="imagenet (Keras cache, else download; default), a path to "
                             "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or random (untrained demo)")
    parser.add_argument("--optimizer", choices=["lbfgs", "sgd"], help="default: lbfgs (edition 1), sgd (edition 2)")
    parser.add_argument("--iterations", type=_positive_int, help="default: 20 (edition 1), 4000 (edition 2)")
    parser.add_argument("--height", type=int, help=f"generated image height in pixels (default 400; "
                                                   f"{MIN_SIDE}-{MAX_HEIGHT})")
    parser.add_argument("--content-weight", type=float, help="default: 0.025 (edition 1), 2.5e-8 (edition 2)")
    parser.add_argument("--style-weight", type=float, help="default: 1.0 (edition 1), 1e-6 (edition 2)")
    parser.add_argument("--total-variation-weight", "--tv-weight", dest="total_variation_weight", type=float,
                        help="default: 1e-4 (edition 1), 1e-6 (edition 2)")
    parser.add_argument("--learning-rate", type=float, help="SGD's initial learning rate (default 100)")
    parser.add_argument("--compute-dtype", choices=["float32", "bfloat16"], default="float32",
                        help="VGG19's compute type on a CPU (default float32); bfloat16 helps only on CPUs with "
                             "native bfloat16 (AVX512_BF16 or AMX); the losses stay float32")
    parser.add_argument("--save-every", type=_positive_int,
                        help="save an image every N iterations (default: 1 for L-BFGS, 100 for SGD)")


CHAPTER = Chapter(
    name="ch8_style_transfer",
    title="Chapter 8.3: Neural style transfer",
    description=__doc__.split("\n\n", 2)[2].strip(),
    default_section="8.3",
    add_arguments=add_arguments,
    sections=[
        Section("8.3", "Neural style transfer",
                "VGG19 content + style (Gram) + total-variation losses; L-BFGS (1st ed.) or SGD (2nd ed.)",
                style_transfer),
    ],
)

if __name__ == "__main__":
    CHAPTER.main()
