"""Small helpers shared by the benchmark scripts: argument parsing and the JSON report."""

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def benchmark_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (numbers are meaningless)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each recipe, alternating")
    parser.add_argument("--data-dir", help="folder with the datasets (else $DLWP_DATA_DIR, ./data, Keras cache)")
    parser.add_argument("--output", help="JSON file to write (default outputs/benchmarks/<name>.json)")
    return parser


def machine_info():
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "gpus": [g.name for g in gpus], "date": time.strftime("%Y-%m-%d %H:%M")}


def write_report(name, report, output=None):
    from chapters.common import save_json

    path = Path(output or Path("outputs") / "benchmarks" / f"{name}.json")
    report = {"benchmark": name, "machine": machine_info(), **report}
    save_json(path, report)
    print(json.dumps(report, indent=2))
    print(f"Wrote {path}")
    return path


def timed_fit(model, data, epochs, **fit_kwargs):
    """model.fit(), timed: (seconds for the whole call, [seconds of each epoch]).

    The first epoch includes tracing and compilation; the later ones are the steady state.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer], **fit_kwargs)
    return time.perf_counter() - start, timer.seconds


def compare_training_recipes(train, evaluate, samples_per_epoch, repeats, recipes=("book", "ours")):
    """Train each recipe `repeats` times, taking turns, so that machine noise hits all of them alike.

    `train(recipe, repeat)` returns (model, seconds, epoch seconds), as `timed_fit`;
    `evaluate(model)` returns its test accuracy. Returns the runs and a summary: the
    speed-up of the last recipe over the first (best run against best run, over the
    whole fit and after the first epoch) and each recipe's mean test accuracy.
    """
    runs = {recipe: [] for recipe in recipes}
    for repeat in range(repeats):
        for recipe in recipes:
            model, seconds, epoch_seconds = train(recipe, repeat)
            later = epoch_seconds[1:] or epoch_seconds  # after the first epoch
            run = {"seconds": seconds, "epoch_seconds": epoch_seconds,
                   "samples_per_second": len(epoch_seconds) * samples_per_epoch / seconds,
                   "steady_samples_per_second": len(later) * samples_per_epoch / sum(later),
                   "test_accuracy": float(evaluate(model))}
            runs[recipe].append(run)
            print(f"repeat {repeat + 1}: {recipe:<5} {seconds:7.2f} s  {run['samples_per_second']:9,.0f} samples/s "
                  f"(after epoch 1: {run['steady_samples_per_second']:9,.0f})  test accuracy "
                  f"{run['test_accuracy']:.4f}", flush=True)
    baseline, ours = recipes[0], recipes[-1]

    def best(recipe, key):
        return max(run[key] for run in runs[recipe])

    summary = {
        "speedup_best_vs_best": best(ours, "samples_per_second") / best(baseline, "samples_per_second"),
        "speedup_after_first_epoch": (best(ours, "steady_samples_per_second")
                                      / best(baseline, "steady_samples_per_second")),
        "mean_test_accuracy": {recipe: sum(r["test_accuracy"] for r in runs[recipe]) / len(runs[recipe])
                               for recipe in recipes},
    }
    print(f"Speed-up of {ours} over {baseline}: {summary['speedup_best_vs_best']:.2f}x over the whole fit, "
          f"{summary['speedup_after_first_epoch']:.2f}x after the first epoch")
    return runs, summary


def add_style_transfer_arguments(parser, height):
    """The flags both 8.3 benchmarks take: the image pair, its height and VGG19's weights."""
    from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE

    parser.add_argument("--height", type=int, default=height, help=f"generated image height (default {height})")
    parser.add_argument("--weights", default="random",
                        help="random (default: timing does not depend on the weights), imagenet or a path")
    parser.add_argument("--content", default=DEFAULT_CONTENT, help="a path or a name in <data dir>/style_images/")
    parser.add_argument("--style", default=DEFAULT_STYLE, help="a path or a name in <data dir>/style_images/")
