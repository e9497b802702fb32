"""The plumbing shared by every chapter, so that a chapter file is mostly the book.

One run, from the command line to the files it writes:

    python -m chapters.ch2_building_blocks 2.1 --epochs 5
      -> Chapter.main(): parse the common flags and the chapter's own, pick the section
      -> RunContext: seed, device report and settings, this run's output folder
      -> the section function (the book's content) loads data, builds the model,
         calls check_against_book(), ctx.fit(), ctx.record()
      -> outputs/<chapter>/<section>-<time>/: history JSON + CSV, curves PNG,
         best and last models (.keras), results.json, figures

Everything written goes through `atomic_write` so that a crash or Ctrl-C never
leaves a half-written file, and every run gets a new folder so that a new run
never overwrites an earlier one's results.
"""

import argparse
import csv
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from datasets import DataError


# ---------------------------------------------------------------------------
# Files: atomic writes, JSON, figures, models
# ---------------------------------------------------------------------------

def atomic_write(path, data):
    """Write bytes or text to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(temporary, mode) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    return path


def save_json(path, obj):
    return atomic_write(path, json.dumps(obj, indent=2, default=_to_builtin) + "\n")


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_figure(fig, path):
    """Save a matplotlib figure as PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def save_model(model, path):
    """model.save() through a temporary file, so a crash never leaves half a model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    model.save(temporary)
    os.replace(temporary, path)
    return path


def history_to_csv(history):
    """A Keras history dict ({metric: [one value per epoch]}) as CSV text."""
    keys = list(history)
    rows = zip(*(history[k] for k in keys))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["epoch"] + keys)
    for epoch, row in enumerate(rows, start=1):
        writer.writerow([epoch] + [f"{v:.6g}" for v in row])
    return out.getvalue()


# ---------------------------------------------------------------------------
# Figures the book draws after every training run
# ---------------------------------------------------------------------------

def plot_history(history, path, title=""):
    """Training vs validation loss (and accuracy, when there is one), as in the book."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in ("loss", "accuracy", "mae") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = range(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], "bo", label=f"Training {metric}")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"Training and validation {metric}")
        else:
            ax.set_title(f"Training {metric}")
        ax.set_xlabel("Epochs")
        ax.set_ylabel(metric.capitalize())
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# The book check printed under every model.summary()
# ---------------------------------------------------------------------------

def check_against_book(model, book_params, source):
    """Print model.summary() and, beside it, the book's parameter count per layer.

    `book_params` lists the book's count for each layer of `model.layers`, in
    order (0 for pooling, flatten, dropout...). Returns True when every layer
    and the total match.
    """
    model.summary()
    ours = [layer.count_params() for layer in model.layers]
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    width = max(len(n) for n in names + ["layer"]) + 2
    print(f"Book check against {source}:")
    print(f"  {'layer':<{width}}{'ours':>12}{'book':>12}")
    rows = max(len(ours), len(book_params))
    for i in range(rows):
        name = names[i] if i < len(names) else "(missing)"
        our = f"{ours[i]:,}" if i < len(ours) else "-"
        book = f"{book_params[i]:,}" if i < len(book_params) else "-"
        flag = "" if our == book else "   <-- differs"
        print(f"  {name:<{width}}{our:>12}{book:>12}{flag}")
    total_ours, total_book = sum(ours), sum(book_params)
    print(f"  {'total':<{width}}{total_ours:>12,}{total_book:>12,}")
    matches = ours == list(book_params)
    if matches:
        print(f"  MATCH: all {len(ours)} layers and the total ({total_book:,} parameters) equal the book's.")
    else:
        print(f"  MISMATCH: this model has {total_ours:,} parameters, the book's has {total_book:,}.")
    return matches


# ---------------------------------------------------------------------------
# Device set-up and the performance settings measured in benchmarks/
# ---------------------------------------------------------------------------

# Fastest correct settings per device and kind of model, measured with the
# scripts in benchmarks/ (see the README's "Performance" section). XLA
# compilation (jit_compile) pays off on GPUs. On a 2-core CPU it made the
# convnets of chapter 5 two to three times slower; the dense networks of
# chapters 2-4 ran each epoch 1.2-1.4x faster, but their runs are too short to
# repay the compilation (3.5 took 36 s instead of 28). steps_per_execution runs
# several batches per call into TensorFlow, which hides Python overhead when
# the batches are small.
PERFORMANCE_DEFAULTS = {
    ("CPU", "dense"): dict(jit_compile=False, steps_per_execution=64),
    ("CPU", "conv"): dict(jit_compile=False, steps_per_execution=16),
    ("GPU", "dense"): dict(jit_compile=True, steps_per_execution=64),
    ("GPU", "conv"): dict(jit_compile=True, steps_per_execution=16),
}


def setup_device(mixed_precision=False):
    """Report versions and devices, and configure the GPU if there is one."""
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


# ---------------------------------------------------------------------------
# One run of one section
# ---------------------------------------------------------------------------

class RunContext:
    """What a section needs from the command line, the device and the output folder."""

    def __init__(self, args, chapter_name, section_number, device):
        self.args = args
        self.chapter_name = chapter_name
        self.section = section_number
        self.device = device
        self.quick = args.quick
        self.data_dir = args.data_dir
        self.edition = args.edition
        self.summary_only = args.summary_only
        self.results = {}
        self.seconds_per_epoch = {}  # name -> seconds per epoch of the epochs that ctx.fit trained this run
        self.run_dir = self._make_run_dir()

    # Hyperparameters: the book's value unless the user says otherwise.
    def epochs(self, book_value):
        if self.args.epochs is not None:
            return self.args.epochs
        return 1 if self.quick else book_value

    def batch_size(self, book_value):
        return self.args.batch_size if self.args.batch_size is not None else book_value

    def compile_settings(self, workload="dense"):
        """jit_compile and steps_per_execution for model.compile()."""
        settings = dict(PERFORMANCE_DEFAULTS[(self.device, workload)])
        if self.args.jit_compile != "auto":
            settings["jit_compile"] = self.args.jit_compile == "on"
        if self.args.steps_per_execution is not None:
            settings["steps_per_execution"] = self.args.steps_per_execution
        print(f"Compile settings ({workload} model on {self.device}): "
              + ", ".join(f"{k}={v}" for k, v in settings.items()))
        return settings

    # Output files
    def _make_run_dir(self):
        base = Path(self.args.output_dir or Path("outputs") / self.chapter_name)
        if self.args.resume:
            previous = sorted(base.glob(f"{self.section}-*"))
            if previous:
                print(f"Resuming in {previous[-1]}")
                return previous[-1]
            print(f"--resume: no earlier run of {self.section} in {base}; starting a new one")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = base / f"{self.section}-{stamp}"
        suffix = 1
        while run_dir.exists():  # two runs in the same second
            suffix += 1
            run_dir = base / f"{self.section}-{stamp}-{suffix}"
        run_dir.mkdir(parents=True)
        return run_dir

    def path(self, name):
        return self.run_dir / name

    def record(self, name, value, book=None, note=""):
        """Print a result beside the book's number and keep it in results.json."""
        entry = {"value": value}
        text = f"{value:.4f}" if isinstance(value, float) else f"{value}"
        line = f"{name}: {text}"
        if book is not None:
            entry["book"] = book
            line += f"   (book: {book})"
        if note:
            entry["note"] = note
            line += f"   [{note}]"
        print(line)
        self.results[name] = entry
        save_json(self.path("results.json"), {"chapter": self.chapter_name, "section": self.section,
                                              "argv": sys.argv[1:], "results": self.results})

    # Training
    def fit(self, model, data, name="model", epochs=1, validation_data=None, **fit_kwargs):
        """model.fit() with the run's callbacks; returns the history dict.

        Writes, in <run dir>/<name>/: history.json and history.csv after every
        epoch, best.keras (lowest validation loss), last.keras (for --resume),
        and curves.png. Ctrl-C stops training cleanly: what was done so far
        stays on disk, and `--resume` continues from last.keras.
        """
        folder = self.run_dir / name
        recorder = RunRecorder(folder)
        initial_epoch = 0
        if self.args.resume and (folder / "last.keras").exists():
            # Build the optimizer first so that its state (e.g. RMSprop's averages) is restored too.
            model.optimizer.build(model.trainable_variables)
            model.load_weights(folder / "last.keras")
            recorder.history = json.loads((folder / "history.json").read_text())
            initial_epoch = len(next(iter(recorder.history.values()), []))
            if initial_epoch < epochs:
                print(f"Resuming {name} at epoch {initial_epoch + 1} of {epochs} from {folder / 'last.keras'}")
            else:
                print(f"{name} already has its {initial_epoch} epochs in {folder}: nothing to train")
        callbacks = [recorder] + fit_kwargs.pop("callbacks", [])
        if not isinstance(data, (np.ndarray, list, tuple)):
            fit_kwargs.setdefault("shuffle", False)  # a tf.data pipeline shuffles itself
        verbose = 1 if sys.stdout.isatty() else 2
        start = time.time()
        interrupted = False
        if initial_epoch < epochs:
            try:
                model.fit(data, epochs=epochs, initial_epoch=initial_epoch, validation_data=validation_data,
                          callbacks=callbacks, verbose=verbose, **fit_kwargs)
            except KeyboardInterrupt:
                interrupted = True
        seconds = time.time() - start
        history = recorder.history
        if history:
            plot_history(history, folder / "curves.png", title=f"{self.chapter_name} {self.section}: {name}")
        if interrupted:
            raise Interrupted(f"training of {name} interrupted after {len(history.get('loss', []))} epochs; "
                              f"history and checkpoints are in {folder}; rerun with --resume to continue")
        if initial_epoch < epochs:
            self.seconds_per_epoch[name] = seconds / (epochs - initial_epoch)
            print(f"Trained {name} for {epochs - initial_epoch} epochs in {seconds:.1f} s; outputs in {folder}")
        return history


class Interrupted(Exception):
    """Ctrl-C during training, after the outputs so far were saved."""


class RunRecorder(keras.callbacks.Callback):
    """After each epoch: history (JSON + CSV), the best and the last model, atomically."""

    def __init__(self, folder, monitor="val_loss"):
        super().__init__()
        self.folder = Path(folder)
        self.monitor = monitor
        self.history = {}
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        save_json(self.folder / "history.json", self.history)
        atomic_write(self.folder / "history.csv", history_to_csv(self.history))
        save_model(self.model, self.folder / "last.keras")
        current = (logs or {}).get(self.monitor, (logs or {}).get("loss"))
        if current is not None and current < self.best:
            self.best = current
            save_model(self.model, self.folder / "best.keras")


# ---------------------------------------------------------------------------
# Chapters, sections and the command line
# ---------------------------------------------------------------------------

@dataclass
class Section:
    number: str  # the book's section number, e.g. "2.1"
    title: str
    description: str  # one line for the table of contents
    run: Callable  # run(ctx: RunContext) -> None


@dataclass
class Chapter:
    name: str  # the module name, e.g. "ch2_building_blocks"
    title: str
    sections: list
    default_section: str
    add_arguments: Callable = None  # the chapter's own flags: add_arguments(parser)
    editions: tuple = (1, 2)
    description: str = ""

    @property
    def command(self):
        return f"python -m chapters.{self.name}"

    def section(self, number):
        return next(s for s in self.sections if s.number == number)

    def parser(self):
        numbers = [s.number for s in self.sections]
        table = "\n".join(f"  {s.number:<6}{s.title}: {s.description}" for s in self.sections)
        parser = argparse.ArgumentParser(
            prog=self.command,
            description=f"{self.title}\n\n{self.description}\n\nsections:\n{table}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog="Data is searched in --data-dir, $DLWP_DATA_DIR, ./data, then ~/.keras/datasets.\n"
                   "Outputs go to a new folder per run: <output dir>/<section>-<date>-<time>/.")
        parser.add_argument("section", nargs="?", default=self.default_section, choices=numbers + ["all"],
                            help=f"which section to run (default {self.default_section}; 'all' runs each in turn)")
        common = parser.add_argument_group("common options (every chapter)")
        common.add_argument("--epochs", type=_positive_int, help="number of epochs (default: the book's)")
        common.add_argument("--batch-size", type=_positive_int, help="batch size (default: the book's)")
        common.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        common.add_argument("--quick", action="store_true",
                            help="a small subset of the data and 1 epoch: checks that everything runs")
        common.add_argument("--data-dir", help="folder with the datasets (layout in the README)")
        common.add_argument("--output-dir", help=f"where run folders go (default outputs/{self.name})")
        common.add_argument("--summary-only", action="store_true",
                            help="build the models, print them and check them against the book; train nothing")
        if len(self.editions) > 1:
            common.add_argument("--edition", type=int, choices=self.editions, default=self.editions[0],
                                help="which edition of the book to follow (default 1, the slides' edition)")
        common.add_argument("--resume", action="store_true",
                            help="continue the latest run of this section from its last checkpoint")
        performance = parser.add_argument_group("performance (defaults measured per device, see the README)")
        performance.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto",
                                 help="XLA compilation of the training step (auto: the measured best)")
        performance.add_argument("--steps-per-execution", type=_positive_int,
                                 help="batches per call into TensorFlow (default: the measured best)")
        performance.add_argument("--mixed-precision", action="store_true",
                                 help="float16 compute on a GPU (ignored on a CPU)")
        if self.add_arguments:
            self.add_arguments(parser.add_argument_group(f"{self.name} options"))
        return parser

    def main(self, argv=None):
        args = self.parser().parse_args(argv)
        if not hasattr(args, "edition"):
            args.edition = self.editions[0]
        try:
            device = setup_device(args.mixed_precision)
            numbers = [s.number for s in self.sections] if args.section == "all" else [args.section]
            without_data = []
            for number in numbers:
                section = self.section(number)
                print(f"\n=== {self.title}, {section.number} {section.title} ===")
                keras.utils.set_random_seed(args.seed)
                ctx = RunContext(args, self.name, number, device)
                try:
                    section.run(ctx)
                except DataError as e:
                    if len(numbers) == 1:
                        raise
                    # `all`: one section's missing data should not hide the others
                    print(f"error: {number} skipped: {e}", file=sys.stderr)
                    without_data.append(number)
                    continue
                print(f"Outputs of {number}: {ctx.run_dir}")
            if without_data:
                raise DataError(f"{', '.join(without_data)} could not run without their data (see above)")
        except (DataError, UsageError) as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except (Interrupted, KeyboardInterrupt) as e:
            print(f"\ninterrupted: {e or 'stopped by Ctrl-C'}", file=sys.stderr)
            sys.exit(130)


class UsageError(Exception):
    """A bad option or input file; shown as one line, without a traceback."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
