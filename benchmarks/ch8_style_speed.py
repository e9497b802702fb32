"""8.3 speed per iteration: our style-transfer step against the book's, in the same run.

    python -m benchmarks.ch8_style_speed                 # the book's 400-pixel height
    python -m benchmarks.ch8_style_speed --quick         # 64 pixels, a smoke run

The book's step (2nd edition, the one that runs on TF2): content, style and
generated images concatenated into one batch of 3, through VGG19 every call,
loss and gradient in a tf.function. Ours: the content features and style Gram
matrices computed once; only the generated image goes through VGG19 (cut at
block5_conv2), with and without XLA. Same image pair, weights and loss
weights. The steps take turns, one call each per round, so that a change in
the machine's load hits all of them alike; the speed-up is the median of the
per-round ratios.
"""

import time

import numpy as np
import tensorflow as tf

from benchmarks.common import add_style_transfer_arguments, benchmark_parser, write_report
from chapters.ch8_generative.style_transfer import RECIPES
from chapters.ch8_generative.style_transfer_images import load_image_pair
from chapters.ch8_generative.style_transfer_losses import (
    compute_targets,
    make_book_loss_function,
    make_loss_and_grads,
    make_loss_function,
)
from chapters.performance import setup_device
from models.vgg_style import feature_extractor, vgg19_without_top

BOOK = "book (3 images per step, tf.function)"


def timed_step(loss_and_grads, image):
    start = time.perf_counter()
    loss, grads = loss_and_grads(image)
    float(loss), grads.numpy()  # wait for the result, as the optimisers do
    return time.perf_counter() - start


def main():
    parser = benchmark_parser(__doc__)
    add_style_transfer_arguments(parser, height=400)
    parser.add_argument("--steps", type=int, default=3, help="timed rounds per repeat")
    args = parser.parse_args()
    height = 64 if args.quick else args.height
    rounds = 1 if args.quick else args.steps * args.repeats
    device = setup_device().kind

    images = load_image_pair(args.content, args.style, height, args.data_dir)
    height, width, content_image, style_image = images.height, images.width, images.content_image, images.style_image
    recipe = RECIPES[1]
    vgg = vgg19_without_top(args.weights)
    extractor = feature_extractor(vgg)
    targets = compute_targets(extractor, content_image, style_image)
    combination = tf.constant(content_image + np.random.default_rng(0).normal(0, 10, content_image.shape)
                              .astype("float32"))
    # The book's extractor returns every layer's output; tf.function prunes the ones the loss does not use.
    book_extractor = feature_extractor(vgg, [layer.name for layer in vgg.layers[1:]])
    steps_under_test = {
        BOOK: make_loss_and_grads(
            make_book_loss_function(book_extractor, content_image, style_image, recipe, height * width)),
        "ours (targets once, tf.function)": make_loss_and_grads(
            make_loss_function(extractor, targets, recipe, height * width)),
        "ours (targets once, tf.function + XLA)": make_loss_and_grads(
            make_loss_function(extractor, targets, recipe, height * width), jit_compile=True),
    }
    # The same loss and gradient from each (relative differences); this also traces and compiles them.
    reference_loss, reference_grads = steps_under_test[BOOK](combination)
    agreement = {}
    for name, step in steps_under_test.items():
        loss, grads = step(combination)
        agreement[name] = {
            "loss": float(loss),
            "loss_relative_difference": abs(float(loss) - float(reference_loss)) / abs(float(reference_loss)),
            "gradient_relative_difference": float(tf.norm(grads - reference_grads) / tf.norm(reference_grads))}
    timings = {name: [] for name in steps_under_test}
    for round_number in range(rounds):
        for name, step in steps_under_test.items():
            timings[name].append(timed_step(step, combination))
        print(f"round {round_number + 1}: " + ", ".join(f"{name} {timings[name][-1]:.2f} s" for name in timings),
              flush=True)
    medians = {name: float(np.median(seconds)) for name, seconds in timings.items()}
    book_times = np.array(timings[BOOK])
    ratios = {name: float(np.median(book_times / np.array(seconds))) for name, seconds in timings.items()}
    write_report("ch8_style_speed" + ("_quick" if args.quick else ""), {
        "device": device, "image": f"{width}x{height}", "weights": args.weights,
        "content": images.content.source, "style": images.style.source, "rounds": rounds,
        "seconds_per_step_median": medians, "seconds_per_step_all": timings,
        "speedup_over_book": ratios, "target_speedup": 3.0, "agreement_with_book_step": agreement,
    }, args.output)


if __name__ == "__main__":
    main()
