"""--mixed-precision end to end: 5.1 and 5.2's augmented training, float32 against the mixed policy, epoch by epoch.

    DLWP_DATA_DIR=../shared/data python -m benchmarks.mixed_precision_sections
    DLWP_DATA_DIR=../shared/data python -m benchmarks.mixed_precision_sections --epochs 100   # the book's 5.2
    DLWP_DATA_DIR=../shared/data python -m benchmarks.mixed_precision_sections --quick

What a reader gets from the flag, with the sections' own data, pipelines, models and recipes (1st edition): the
5.1 convnet on MNIST (5 epochs of 64) and 5.2's augmented convnet on dogs vs cats (100 batches of 32 augmented
pictures per epoch, RMSprop 1e-4). Each workload is built twice, in float32 and under the mixed policy, with the
same starting weights; the two train in turns, one epoch each, so that a change in the machine's load hits both
alike. Reported: the epoch-time ratio (mixed / float32, median over the epochs after the first) and the accuracy
each reaches (5.1: test; 5.2: validation, the number the book plots). The mixed policy is mixed_float16 on a GPU
and mixed_bfloat16 on a CPU; the report says whether the CPU computes bfloat16 natively (AVX512_BF16 or AMX): where
it does not, the policy is forced there and emulated.

    python -m benchmarks.mixed_precision_sections --add-summary outputs/benchmarks/mixed_precision_sections.json

adds the summary (the rows RESULTS.md shows) to a report written before reports had one, from its measurements.
"""

import json
import math
import sys
from pathlib import Path

import keras

from benchmarks.common import benchmark_parser, compare_training_recipes, summary_row, write_report
from chapters.ch5_convnets.dogs_vs_cats import FIRST_EDITION
from chapters.ch5_convnets.mnist_convnet import RECIPES, prepare_digits
from chapters.performance import PERFORMANCE_DEFAULTS, cpu_has_native_bfloat16, setup_device
from datasets import dogs_vs_cats
from datasets.arrays import array_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.convnets import augmentation_1st_edition, dogs_vs_cats_convnet_1st_edition

SEED = 42
# The target, on a CPU that computes bfloat16 natively: 5.2's mixed epoch at most 0.6x float32's, and after
# the book's epochs a validation accuracy within 0.01 of float32's.
TARGET_WORKLOAD = "5.2"
TARGET_EPOCH_TIME_RATIO = 0.6
TARGET_ACCURACY_GAP = 0.01
TARGET = (f"on a CPU with native bfloat16: {TARGET_WORKLOAD}'s epoch at most {TARGET_EPOCH_TIME_RATIO}x float32's, "
          f"and after the book's {FIRST_EDITION['augmented_epochs']} epochs a validation accuracy within "
          f"{TARGET_ACCURACY_GAP} of float32's")


def built_under(policy, builder):
    """builder() with `policy` as Keras's global dtype policy, which is then put back."""
    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        return builder()
    finally:
        keras.mixed_precision.set_global_policy(before)


def mnist_convnet_workload(args, settings, policies):
    """prepare(recipe, repeat), evaluate(model) and samples per epoch for compare_training_recipes: 5.1."""
    recipe = RECIPES[1]
    mnist = load_mnist(args.data_dir, subset=QUICK_SUBSET if args.quick else None)
    train_labels = keras.utils.to_categorical(mnist.train_labels, 10)
    test_labels = keras.utils.to_categorical(mnist.test_labels, 10)
    train_images, test_images = prepare_digits(mnist.train_images), prepare_digits(mnist.test_images)
    starting_weights = {}

    def prepare(name, repeat):
        keras.utils.set_random_seed(SEED + repeat)
        model = built_under(policies[name], recipe.build_model)
        if repeat in starting_weights:
            model.set_weights(starting_weights[repeat])
        starting_weights.setdefault(repeat, model.get_weights())
        model.compile(optimizer=recipe.optimizer, loss=recipe.loss, metrics=["accuracy"], **settings)
        return model, dict(x=array_dataset(train_images, train_labels, recipe.batch_size, shuffle=True, seed=SEED),
                           shuffle=False)

    def evaluate(model):
        return model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)[1]

    return prepare, evaluate, len(train_images), recipe.epochs


def dogs_vs_cats_workload(args, settings, policies):
    """The same for 5.2's augmented training (1st edition): a looping augmented pipeline, 100 batches an epoch."""
    book = FIRST_EDITION
    root = dogs_vs_cats.find_cats_and_dogs_small(args.data_dir)
    per_class = {"train": 40, "validation": 20} if args.quick else {"train": None, "validation": None}
    splits = {split: dogs_vs_cats.load_split(root, split, per_class[split]) for split in per_class}
    steps = 2 if args.quick else book["augmented_steps_per_epoch"]
    make = dict(image_size=book["image_size"], batch_size=book["augmented_batch_size"], scale=True)
    validation = dogs_vs_cats.make_dataset(splits["validation"], **make)
    starting_weights = {}

    def prepare(name, repeat):
        keras.utils.set_random_seed(SEED + repeat)
        model = built_under(policies[name], lambda: dogs_vs_cats_convnet_1st_edition(dropout=0.5))
        if repeat in starting_weights:
            model.set_weights(starting_weights[repeat])
        starting_weights.setdefault(repeat, model.get_weights())
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=book["learning_rate"]),
                      loss="binary_crossentropy", metrics=["accuracy"],
                      **{**settings, "steps_per_execution": math.gcd(steps, settings["steps_per_execution"])})
        train = dogs_vs_cats.make_dataset(splits["train"], **make, shuffle=True, seed=SEED,
                                          augmentation=augmentation_1st_edition(SEED)).repeat()
        return model, dict(x=train, steps_per_epoch=steps, shuffle=False)

    def evaluate(model):
        return model.evaluate(validation, verbose=0)[1]

    return prepare, evaluate, steps * book["augmented_batch_size"], book["augmented_epochs"]


def summary(report):
    """The summary rows of a report, derived from its measurements: the policy and why, then per workload the
    epochs run against the book's, the epoch-time ratio and the accuracy under both policies. The target is judged
    only on a CPU with native bfloat16 (where it is set), and its accuracy only after the book's epochs."""
    policy, native = report["mixed_policy"], report["cpu_native_bfloat16"]
    judged = report["device"] == "CPU" and native
    why = ("on the GPU" if report["device"] == "GPU" else "this CPU computes bfloat16 natively (AVX512_BF16 or AMX)"
           if native else "forced: this CPU has no native bfloat16 (no AVX512_BF16 or AMX), so it is emulated")
    rows = [summary_row("mixed policy", policy, note=why)]
    for number, result in report["results"].items():
        targeted, epochs, book_epochs = number == TARGET_WORKLOAD, result["epochs"], result["book_epochs"]
        ratio = result["epoch_time_ratio_mixed_over_float32"]
        float32, mixed = result["accuracy_float32"], result["accuracy_mixed"]
        not_judged = "" if judged else "; the target is set for a CPU with native bfloat16: not judged here"
        rows.append(summary_row(f"{number}: epochs run", epochs, f"the book's {book_epochs}"))
        rows.append(summary_row(
            f"{number}: epoch time, {policy} / float32", ratio,
            f"target at most {TARGET_EPOCH_TIME_RATIO}" if targeted else "float32: 1",
            ratio <= TARGET_EPOCH_TIME_RATIO if targeted and judged else None,
            "median over the epochs after the first" + (not_judged if targeted else "")))
        full = epochs == book_epochs
        accuracy_note = (f"target: within {TARGET_ACCURACY_GAP} of float32's after the book's {book_epochs} epochs"
                         + ("" if full else f", not judged after {epochs}") + not_judged) if targeted else ""
        rows.append(summary_row(
            f"{number}: {result['accuracy_is']}, {policy}", mixed, f"float32: {float32:.4f}",
            round(abs(mixed - float32), 6) <= TARGET_ACCURACY_GAP if targeted and judged and full else None,
            accuracy_note))
    return rows


def add_summary(path):
    """Add the summary to a report written before reports had one, from its own measurements (written atomically)."""
    from chapters.storage import save_json

    try:
        report = json.loads(Path(path).read_text())
        rows = summary(report)
    except OSError as e:
        problem = f"cannot read it ({e.strerror})"
    except ValueError as e:
        problem = f"not JSON ({e})"
    except (KeyError, TypeError, AttributeError) as e:
        problem = f"not a mixed_precision_sections report ({type(e).__name__}: {e})"
    else:
        save_json(path, {**report, "summary": rows})
        print(json.dumps(rows, indent=2))
        return print(f"Added the summary to {path}")
    print(f"error: --add-summary {path}: {problem}", file=sys.stderr)
    sys.exit(2)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--epochs", type=int, help="epochs of each workload (default: 5.1's 5; 5.2: 10, the book's "
                                                   "100 for its accuracy)")
    parser.add_argument("--workloads", nargs="+", choices=["5.1", "5.2"], default=["5.1", "5.2"])
    parser.add_argument("--add-summary", metavar="REPORT", help="add the summary to an older report, and stop")
    args = parser.parse_args()
    if args.add_summary:
        return add_summary(args.add_summary)
    device = setup_device()
    mixed = "mixed_float16" if device.kind == "GPU" else "mixed_bfloat16"
    policies = {"float32": "float32", "mixed": mixed}
    native = cpu_has_native_bfloat16()
    settings = PERFORMANCE_DEFAULTS[(device.kind, "conv")]
    if device.kind == "CPU" and not native:
        print("This CPU has no native bfloat16 (no AVX512_BF16 or AMX): the mixed policy is forced, and emulated")
    workloads = {"5.1": mnist_convnet_workload, "5.2": dogs_vs_cats_workload}
    results = {}
    for number in args.workloads:
        prepare, evaluate, samples, book_epochs = workloads[number](args, settings, policies)
        epochs = 2 if args.quick else args.epochs or (book_epochs if number == "5.1" else 10)
        print(f"\n{number}: {epochs} epochs each, float32 and {mixed} in turns")
        runs, comparison = compare_training_recipes(prepare, evaluate, samples, epochs, args.repeats,
                                                    recipes=("float32", "mixed"))
        speedup = comparison["speedup_after_first_epoch"] or comparison["speedup_whole_training"]
        accuracy = comparison["mean_test_accuracy"]
        results[number] = {
            "epochs": epochs, "book_epochs": book_epochs,
            "epoch_time_ratio_mixed_over_float32": round(1 / speedup, 3),
            "accuracy_float32": round(accuracy["float32"], 4), "accuracy_mixed": round(accuracy["mixed"], 4),
            "accuracy_is": "test accuracy" if number == "5.1" else "validation accuracy (the book's plotted number)",
            "runs": runs}
        print(f"{number}: a mixed epoch takes {1 / speedup:.2f}x a float32 one; accuracy float32 "
              f"{accuracy['float32']:.4f}, {mixed} {accuracy['mixed']:.4f}")
    report = {"device": device.kind, "mixed_policy": mixed, "cpu_native_bfloat16": native,
              "policy_forced": device.kind == "CPU" and not native, "repeats": args.repeats, "results": results,
              "target": TARGET}
    write_report("mixed_precision_sections", report, args.output, summary=summary(report))


if __name__ == "__main__":
    main()
