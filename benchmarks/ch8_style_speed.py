"""8.3 speed per iteration: our style-transfer step against the book's, in the same run.

    python -m benchmarks.ch8_style_speed                 # the book's 400-pixel height
    python -m benchmarks.ch8_style_speed --quick         # 64 pixels, a smoke run

The book's step (2nd edition, the one that runs on TF2): content, style and
generated images concatenated into one batch of 3, through VGG19 every call,
loss and gradient in a tf.function. Ours: the content features and style Gram
matrices computed once; only the generated image goes through VGG19 (cut at
block5_conv2), with and without XLA, and in bfloat16 (the chapter's default on
a CPU with native bfloat16; the losses stay float32). Same image pair, weights and loss weights;
the recipes alternate so that the machine's load hits both alike.
"""

import time

import numpy as np
import tensorflow as tf

from benchmarks.common import benchmark_parser, write_report
from chapters.ch8_style_transfer import (RECIPES, compute_targets, make_book_loss_function, make_loss_and_grads,
                                         make_loss_function, preprocess_image)
from chapters.common import setup_device
from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE, load_image, target_size
from models.vgg_style import build_feature_extractor, build_vgg19


BOOK = "book (3 images per step, tf.function)"


def timed_step(loss_and_grads, image):
    start = time.perf_counter()
    loss, grads = loss_and_grads(image)
    float(loss), grads.numpy()  # wait for the result, as the optimisers do
    return time.perf_counter() - start


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--height", type=int, default=400)
    parser.add_argument("--steps", type=int, default=3, help="timed rounds per repeat")
    parser.add_argument("--weights", default="random", help="random (default), imagenet or a path")
    parser.add_argument("--content", default=DEFAULT_CONTENT)
    parser.add_argument("--style", default=DEFAULT_STYLE)
    args = parser.parse_args()
    height = 64 if args.quick else args.height
    steps = 1 if args.quick else args.steps
    repeats = 1 if args.quick else args.repeats
    device = setup_device()

    content = load_image(args.content, "content", args.data_dir)
    style = load_image(args.style, "style", args.data_dir)
    height, width = target_size(content, height)
    recipe = RECIPES[1]
    extractor_vgg = build_vgg19(args.weights)
    extractor = build_feature_extractor(extractor_vgg)
    content_image = preprocess_image(content.pixels, height, width)
    style_image = preprocess_image(style.pixels, height, width)
    combination = tf.constant(content_image + np.random.default_rng(0).normal(0, 10, content_image.shape)
                              .astype("float32"))
    targets = compute_targets(extractor, content_image, style_image)
    # The same weights, computed in bfloat16 (the chapter's default on CPUs that have it natively).
    bf16_vgg = build_vgg19("random", dtype_policy="mixed_bfloat16")
    bf16_vgg.set_weights(extractor_vgg.get_weights())
    bf16_extractor = build_feature_extractor(bf16_vgg)
    bf16_targets = compute_targets(bf16_extractor, content_image, style_image)
    # The book's extractor returns every layer's output; tf.function prunes the ones the loss does not use.
    book_extractor = build_feature_extractor(extractor_vgg, [layer.name for layer in extractor_vgg.layers[1:]])
    steps_under_test = {
        BOOK: make_loss_and_grads(
            make_book_loss_function(book_extractor, content_image, style_image, recipe, height * width)),
        "ours (targets once, tf.function)": make_loss_and_grads(
            make_loss_function(extractor, targets, recipe, height * width)),
        "ours (targets once, tf.function + XLA)": make_loss_and_grads(
            make_loss_function(extractor, targets, recipe, height * width), jit_compile=True),
        "ours (targets once, tf.function, VGG19 in bfloat16)": make_loss_and_grads(
            make_loss_function(bf16_extractor, bf16_targets, recipe, height * width)),
    }
    # The same loss and gradient from all three (relative differences).
    reference_loss, reference_grads = steps_under_test[BOOK](combination)
    agreement = {}
    for name, step in steps_under_test.items():
        loss, grads = step(combination)
        agreement[name] = {
            "loss": float(loss),
            "loss_relative_difference": abs(float(loss) - float(reference_loss)) / abs(float(reference_loss)),
            "gradient_relative_difference": float(tf.norm(grads - reference_grads) / tf.norm(reference_grads))}
    for step in steps_under_test.values():
        step(combination)  # trace and compile outside the timing
    # Round-robin, one step of each recipe in turn, so that a change in the machine's load
    # (other jobs share this CPU) hits all of them alike; the speed-up is the median of the
    # per-round ratios.
    timings = {name: [] for name in steps_under_test}
    for round_number in range(steps * repeats):
        for name, step in steps_under_test.items():
            timings[name].append(timed_step(step, combination))
        print(f"round {round_number + 1}: " + ", ".join(f"{name} {timings[name][-1]:.2f} s" for name in timings),
              flush=True)
    medians = {name: float(np.median(seconds)) for name, seconds in timings.items()}
    book_times = np.array(timings[BOOK])
    ratios = {name: float(np.median(book_times / np.array(seconds))) for name, seconds in timings.items()}
    report = {
        "device": device, "image": f"{width}x{height}", "weights": args.weights,
        "content": content.source, "style": style.source, "steps_per_recipe": steps * repeats,
        "seconds_per_step_median": medians,
        "seconds_per_step_all": timings,
        "speedup_over_book": ratios,
        "speedup_of_medians": {name: medians[BOOK] / seconds for name, seconds in medians.items()},
        "target_speedup": 3.0,
        "agreement_with_book_step": agreement,
    }
    write_report("ch8_style_speed" + ("_quick" if args.quick else ""), report, args.output)


if __name__ == "__main__":
    main()
