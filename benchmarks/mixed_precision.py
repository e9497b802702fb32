"""Mixed precision against float32 on this machine: training steps of the chapter-5 convnets and 8.3's VGG19 step.

    python -m benchmarks.mixed_precision                 # bfloat16 on a CPU, float16 on a GPU
    python -m benchmarks.mixed_precision --quick

For each workload the same model (same weights) is built twice, in float32 and
under the mixed policy (16-bit compute, float32 weights and output layer), and
the two alternate step by step in one process, so that a noisy machine slows
both alike; the speed-up is the median of the paired ratios. The book's recipe
is float32, so a speed-up above 1 is what `--mixed-precision` gains a reader.
The report also says whether this CPU computes bfloat16 natively (AVX512_BF16
or AMX): without it, bfloat16 is emulated.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks.common import benchmark_parser, write_report
from chapters.ch8_generative.style_transfer import RECIPES
from chapters.ch8_generative.style_transfer_losses import compute_targets, make_loss_and_grads, make_loss_function
from chapters.performance import cpu_has_native_bfloat16, setup_device
from models.convnets import dogs_vs_cats_convnet_1st_edition, mnist_convnet_1st_edition
from models.vgg_style import feature_extractor, vgg19_without_top


def build(builder, policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        return builder()
    finally:
        keras.mixed_precision.set_global_policy("float32")


def training_step(builder, batch_shape, classes, policy, weights=None):
    """A compiled one-batch training function of `builder`'s model under `policy`, and the model."""
    model = build(builder, policy)
    if weights is not None:
        model.set_weights(weights)
    loss = "binary_crossentropy" if classes == 1 else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.RMSprop(1e-4), loss=loss)
    rng = np.random.default_rng(0)
    x = rng.random(batch_shape).astype("float32")
    y = rng.integers(0, max(classes, 2), (batch_shape[0], 1)).astype("float32")
    return (lambda: model.train_on_batch(x, y)), model


def style_step(height, policy, weights):
    """One loss-and-gradient evaluation of 8.3 (the 2nd edition's weights) at `height` x `height`."""
    keras.mixed_precision.set_global_policy(policy)
    try:
        vgg = vgg19_without_top("random")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    vgg.set_weights(weights)
    extractor = feature_extractor(vgg)
    image = tf.constant(np.random.default_rng(0).normal(0, 50, (1, height, height, 3)).astype("float32"))
    targets = compute_targets(extractor, image, image + 10.0)
    loss_and_grads = make_loss_and_grads(make_loss_function(extractor, targets, RECIPES[2], height * height))
    return lambda: loss_and_grads(image)


def alternate(steps, repeats):
    """Time each step function `repeats` times, in turns; returns (median seconds per step, median paired ratio)."""
    for step in steps.values():  # compile and warm up
        step()
        step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            result = step()
            if isinstance(result, (tuple, list)):
                result = result[0]
            float(np.asarray(result).ravel()[0])  # wait for the result
            times[name].append(time.perf_counter() - start)
    ratios = [f / m for f, m in zip(times["float32"], times["mixed"])]
    return {name: round(float(np.median(t)), 4) for name, t in times.items()}, round(float(np.median(ratios)), 3)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--steps", type=int, default=20, help="timed steps of each precision, alternating")
    args = parser.parse_args()
    device = setup_device()
    mixed = "mixed_float16" if device.kind == "GPU" else "mixed_bfloat16"
    steps = 3 if args.quick else args.steps
    workloads = {
        "5.1 MNIST convnet, batch 64": (mnist_convnet_1st_edition, (64, 28, 28, 1), 10),
        "5.2 dogs-vs-cats convnet, batch 32": (lambda: dogs_vs_cats_convnet_1st_edition(dropout=0.5),
                                               (32, 150, 150, 3), 1),
    }
    results = {}
    for name, (builder, shape, classes) in workloads.items():
        shape = (8, *shape[1:]) if args.quick else shape
        keras.utils.set_random_seed(0)
        f32_step, f32_model = training_step(builder, shape, classes, "float32")
        mixed_step, _ = training_step(builder, shape, classes, mixed, weights=f32_model.get_weights())
        seconds, speedup = alternate({"float32": f32_step, "mixed": mixed_step}, steps)
        results[name] = {"seconds_per_step": seconds, "speedup": speedup}
        print(f"{name}: float32 {seconds['float32']} s, {mixed} {seconds['mixed']} s per step: {speedup}x")
    height = 64 if args.quick else 400
    weights = vgg19_without_top("random").get_weights()
    seconds, speedup = alternate({"float32": style_step(height, "float32", weights),
                                  "mixed": style_step(height, mixed, weights)}, max(2, steps // 4))
    name = f"8.3 VGG19 loss and gradient at {height}x{height}"
    results[name] = {"seconds_per_step": seconds, "speedup": speedup}
    print(f"{name}: float32 {seconds['float32']} s, {mixed} {seconds['mixed']} s: {speedup}x")
    write_report("mixed_precision", {
        "device": device.kind, "mixed_policy": mixed, "cpu_native_bfloat16": cpu_has_native_bfloat16(),
        "steps_per_precision": steps, "results": results,
        "speedup": "float32 seconds / mixed seconds per step, median of the paired ratios (above 1: mixed is faster)",
    }, args.output)


if __name__ == "__main__":
    main()
