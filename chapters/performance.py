"""The device report and the compile settings measured with the scripts in benchmarks/.

XLA compilation (jit_compile) pays off on GPUs. On a 2-core CPU it made the
convnets of chapter 5 slower, and the dense networks of chapters 2-4 did not
train long enough to repay the compilation (the README's Performance section
has the numbers). steps_per_execution runs several batches per call into
TensorFlow, which hides Python's overhead when the batches are small.
"""

import math
import os
import sys

import keras

PERFORMANCE_DEFAULTS = {
    ("CPU", "dense"): dict(jit_compile=False, steps_per_execution=64),
    ("CPU", "conv"): dict(jit_compile=False, steps_per_execution=16),
    ("GPU", "dense"): dict(jit_compile=True, steps_per_execution=64),
    ("GPU", "conv"): dict(jit_compile=True, steps_per_execution=16),
}


def setup_device(mixed_precision=False):
    """Report versions and devices, and configure the GPU if there is one; returns "GPU" or "CPU"."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # Take GPU memory as needed rather than all of it at start.
        tf.config.experimental.set_memory_growth(gpu, True)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {sys.version.split()[0]}")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        print(f"Devices: {len(gpus)} GPU(s): {', '.join(names)} (memory growth on)")
    else:
        print(f"Devices: CPU only, {os.cpu_count()} cores")
    if mixed_precision:
        if gpus:
            # Compute in float16, keep the weights (and our output layers) in float32.
            keras.mixed_precision.set_global_policy("mixed_float16")
            print("Mixed precision: on (mixed_float16; output layers stay float32)")
        else:
            print("Mixed precision: ignored on a CPU (it is only faster on GPUs)")
    return "GPU" if gpus else "CPU"


def compile_settings(device, workload, overrides, steps_per_epoch=None):
    """jit_compile and steps_per_execution for model.compile(): the measured default, or the user's.

    With a fixed `steps_per_epoch`, steps_per_execution becomes a divisor of it
    (Keras rounds an epoch up to whole groups: 100 steps in groups of 16 ran 112).
    """
    settings = dict(PERFORMANCE_DEFAULTS[(device, workload)])
    if overrides.get("jit_compile", "auto") != "auto":
        settings["jit_compile"] = overrides["jit_compile"] == "on"
    if overrides.get("steps_per_execution") is not None:
        settings["steps_per_execution"] = overrides["steps_per_execution"]
    if steps_per_epoch:
        settings["steps_per_execution"] = math.gcd(steps_per_epoch, settings["steps_per_execution"])
    print(f"Compile settings ({workload} model on {device}): " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return settings
