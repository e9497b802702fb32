"""Small helpers shared by the benchmark scripts: argument parsing and the JSON report."""

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def benchmark_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (numbers are meaningless)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each recipe, alternating")
    parser.add_argument("--data-dir", help="folder with the datasets (else $DLWP_DATA_DIR, ./data, Keras cache)")
    parser.add_argument("--output", help="JSON file to write (default outputs/benchmarks/<name>.json)")
    return parser


def machine_info():
    """chapters.performance.machine_description() (the CPU, its avx2 / avx512 / bfloat16 instructions, cores, GPUs,
    TensorFlow, Keras), with Python's version, the date, and cpu_count (the key older reports had)."""
    from chapters.performance import machine_description

    return {**machine_description(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def command_line(argv=None):
    """The command that ran the benchmark, as a reader types it: `python -m benchmarks.<module> <its flags>`."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0]).resolve()
    program = f"python {argv[0]}"
    if script.suffix == ".py" and script.is_relative_to(PROJECT_ROOT):
        program = "python -m " + ".".join(script.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return " ".join([program, *map(shlex.quote, argv[1:])])


def summary_row(what, measured, compared_with=None, target_met=None, note=""):
    """One row of a report's "summary", the part `python -m chapters.results` shows in RESULTS.md.

    `what` was measured, `measured` is our number, `compared_with` the book's number, the baseline's or the
    target it is held against, `target_met` True or False (None: no target, or this run cannot tell), `note`
    a few words (which accuracy, how the number was taken). Scripts derive every cell from what they measured.
    """
    return {"what": what, "measured": measured, "compared_with": compared_with,
            "target_met": None if target_met is None else bool(target_met), "note": note}


def write_report(name, report, output=None, summary=None):
    """outputs/benchmarks/<name>.json (or `output`): the script's `report` with the machine, the commit and the
    command line, and `summary` (rows of summary_row) when the script gives one."""
    from chapters.performance import git_commit
    from chapters.storage import save_json

    path = Path(output or Path("outputs") / "benchmarks" / f"{name}.json")
    report = {"benchmark": name, "machine": machine_info(), "commit": git_commit(), "command": command_line(),
              **({} if summary is None else {"summary": summary}), **report}
    save_json(path, report)
    print(json.dumps(report, indent=2))
    print(f"Wrote {path}")
    return path


def book_or_our_recipe(recipe, build_model, inputs, one_hot_labels, batch_size, settings, seed):
    """A compiled model and its fit() arguments: the book's recipe or ours, for a classifier with one-hot labels.

    The book's: NumPy arrays straight into fit(), compile defaults. Ours: the
    chapters' tf.data pipeline (datasets.arrays.array_dataset) and the measured
    compile `settings`. Same model, optimizer, loss, labels and batch size.
    """
    import keras

    from datasets.arrays import array_dataset

    keras.utils.set_random_seed(seed)
    model = build_model()
    if recipe == "book":
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
        return model, dict(x=inputs, y=one_hot_labels, batch_size=batch_size)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"], **settings)
    # shuffle=False tells fit() that the dataset shuffles itself
    return model, dict(x=array_dataset(inputs, one_hot_labels, batch_size, shuffle=True, seed=seed), shuffle=False)


def compare_training_recipes(prepare, evaluate, samples_per_epoch, epochs, repeats, recipes=("book", "ours")):
    """Train the recipes in turns, one epoch each, so that a change in the machine's load hits all alike.

    `prepare(recipe, repeat)` returns (a compiled model, its fit() arguments);
    `evaluate(model)` returns its test accuracy. Calling fit() for one epoch
    `epochs` times trains exactly as one fit() of `epochs` epochs. Returns the
    runs and a summary: the speed-up of the last recipe over the first, as the
    median over repeats of the ratio of whole-training times (first epoch, with
    its tracing and compilation, included) and as the median over every later
    epoch of the ratio of that epoch's times; and each recipe's mean test accuracy.
    """
    import numpy as np

    runs = {recipe: [] for recipe in recipes}
    for repeat in range(repeats):
        prepared = {recipe: prepare(recipe, repeat) for recipe in recipes}
        epoch_seconds = {recipe: [] for recipe in recipes}
        for _ in range(epochs):
            for recipe, (model, fit_arguments) in prepared.items():
                start = time.perf_counter()
                model.fit(**fit_arguments, epochs=1, verbose=0)
                epoch_seconds[recipe].append(time.perf_counter() - start)
        for recipe, (model, _) in prepared.items():
            seconds = sum(epoch_seconds[recipe])
            runs[recipe].append({"seconds": seconds, "epoch_seconds": epoch_seconds[recipe],
                                 "samples_per_second": epochs * samples_per_epoch / seconds,
                                 "test_accuracy": float(evaluate(model))})
            print(f"repeat {repeat + 1}: {recipe:<5} {seconds:7.2f} s  {runs[recipe][-1]['samples_per_second']:9,.0f} "
                  f"samples/s  epochs {[round(s, 2) for s in epoch_seconds[recipe]]}  test accuracy "
                  f"{runs[recipe][-1]['test_accuracy']:.4f}", flush=True)
    baseline, ours = recipes[0], recipes[-1]
    whole = [b["seconds"] / o["seconds"] for b, o in zip(runs[baseline], runs[ours])]
    later = [b / o for rb, ro in zip(runs[baseline], runs[ours])
             for b, o in zip(rb["epoch_seconds"][1:], ro["epoch_seconds"][1:])]
    summary = {
        "speedup_whole_training": float(np.median(whole)),
        "speedup_after_first_epoch": float(np.median(later)) if later else None,
        "mean_test_accuracy": {recipe: float(np.mean([r["test_accuracy"] for r in runs[recipe]]))
                               for recipe in recipes},
    }
    print(f"Speed-up of {ours} over {baseline}: {summary['speedup_whole_training']:.2f}x over the whole training"
          + (f", {summary['speedup_after_first_epoch']:.2f}x per epoch after the first" if later else "")
          + f"; test accuracy {summary['mean_test_accuracy']}")
    return runs, summary


def add_style_transfer_arguments(parser, height):
    """The flags both 8.3 benchmarks take: the image pair, its height and VGG19's weights."""
    from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE

    parser.add_argument("--height", type=int, default=height, help=f"generated image height (default {height})")
    parser.add_argument("--weights", default="random",
                        help="random (default: timing does not depend on the weights), imagenet or a path")
    parser.add_argument("--content", default=DEFAULT_CONTENT, help="a path or a name in <data dir>/style_images/")
    parser.add_argument("--style", default=DEFAULT_STYLE, help="a path or a name in <data dir>/style_images/")
