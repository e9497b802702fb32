"""The command line every chapter shares: `python -m chapters.<chapter> [section] [flags]`.

A chapter is a `Chapter`; each section registers itself right above its code:

    CHAPTER = Chapter("ch5_convnets", "Chapter 5: Deep learning for computer vision", __doc__)

    @CHAPTER.section("5.1", "Introduction to convnets", "Conv2D/MaxPooling2D on MNIST ...")
    def mnist_convnet(run):
        ...

`CHAPTER.option(...)` adds a chapter's own flag (argparse's arguments); the
section reads it as `run.options.<name>`. Errors the user can fix (missing
data, bad options) end as one line on stderr and exit code 2; Ctrl-C and
SIGTERM end as one line and exit code 130, after the run saved what it had.
"""

import argparse
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from chapters.errors import Interrupted, RunFailed, UsageError
from chapters.performance import ModelSession, setup_device, worker_index
from chapters.runs import Run
from chapters.storage import DamagedFile, MachineFault, is_machine_error
from datasets import DataError


@dataclass
class Section:
    number: str  # the book's section number, e.g. "5.2"
    title: str
    summary: str  # one line for the table of contents
    function: Callable  # function(run: Run) -> None
    distributable: bool = False  # it trains with model.fit: --distribute runs it inside the strategy's scope


def whole_number(low, high=None, what="a whole number"):
    """An argparse type: an int in [low, high], with a message that says so (not a Python name)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {limits}, got {value}")
        return value
    return parse


def finite_number(text):
    """An argparse type: a float that is neither NaN nor infinite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


positive_int = whole_number(1, what="a whole number of at least 1")
seed_value = whole_number(0, 2**32 - 1)


class Chapter:
    def __init__(self, name, title, description, editions=(1, 2)):
        self.name = name  # the module name, e.g. "ch5_convnets"
        self.title = title
        self.description = description
        self.editions = editions
        self.sections = {}  # number -> Section, in the book's order (the order they register)
        self.options = []  # (flags, argparse keyword arguments)
        self.option_names = []  # their names in run.options
        self.model_options = []  # options that define the models: --resume refuses to mix them

    @property
    def command(self):
        return f"python -m chapters.{self.name}"

    @property
    def default_section(self):
        return next(iter(self.sections))

    def section(self, number, title, summary, distributable=False):
        """Decorator: register `function(run)` as the book's section `number`.

        `distributable=True` for sections that train with model.fit (run.fit): with --distribute they run
        inside the strategy's scope; the others (their own training loops) run on one device and say so.
        """
        def register(function):
            self.sections[number] = Section(number, title, summary, function, distributable)
            return function
        return register

    def option(self, *flags, defines_model=False, **kwargs):
        """A chapter flag (argparse.add_argument's arguments); `defines_model`: --resume must use the same value."""
        self.options.append((flags, kwargs))
        name = kwargs.get("dest") or next(f for f in flags if f.startswith("--")).lstrip("-").replace("-", "_")
        self.option_names.append(name)
        if defines_model:
            self.model_options.append(name)

    def parser(self):
        table = "\n".join(f"  {s.number:<6}{s.title}: {s.summary}" for s in self.sections.values())
        parser = argparse.ArgumentParser(
            prog=self.command,
            description=f"{self.title}\n\n{self.description}\n\nsections:\n{table}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog="Run from the repository root. Data is searched in --data-dir, $DLWP_DATA_DIR, ./data, then "
                   "~/.keras/datasets.\nOutputs go to a new folder per run: <output dir>/<section>-<date>-<time>/.")
        parser.add_argument("section", nargs="?", default=self.default_section, choices=[*self.sections, "all"],
                            help=f"which section to run (default {self.default_section}; 'all' runs each in turn)")
        common = parser.add_argument_group("common options (every chapter)")
        common.add_argument("--epochs", type=positive_int, help="number of epochs (default: the book's)")
        common.add_argument("--batch-size", type=positive_int, help="batch size (default: the book's)")
        common.add_argument("--seed", type=seed_value, default=42, help="random seed, 0 to 2**32-1 (default 42)")
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
                            help="continue the newest unfinished run of this section from its last checkpoint")
        performance = parser.add_argument_group("performance (defaults measured per device, see the README)")
        performance.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto",
                                 help="XLA compilation of the training step (auto: the measured best)")
        performance.add_argument("--steps-per-execution", type=positive_int,
                                 help="batches per call into TensorFlow (default: the measured best)")
        performance.add_argument("--mixed-precision", nargs="?", const="auto", default="off",
                                 choices=["off", "auto", "float16", "bfloat16"],
                                 help="compute in 16 bits, weights and outputs in float32: alone (auto), float16 "
                                      "on a GPU, bfloat16 on a CPU that computes it natively (AVX512_BF16 or AMX), "
                                      "else float32; or force float16 / bfloat16 (default off: the book's float32)")
        performance.add_argument("--distribute", choices=["none", "mirrored", "multiworker"], default="none",
                                 help="data-parallel training of the model.fit sections: mirrored (every GPU of "
                                      "this machine), multiworker (several machines, each with TF_CONFIG); the "
                                      "global batch is the book's per replica times the replicas (default none)")
        own = parser.add_argument_group(f"{self.name} options")
        for flags, kwargs in self.options:
            own.add_argument(*flags, **kwargs)
        return parser

    def make_run(self, args, number, device, argv, distributed=False, session=None):
        settings = dict(edition=getattr(args, "edition", self.editions[0]), quick=args.quick, seed=args.seed,
                        data_dir=args.data_dir, summary_only=args.summary_only, epochs=args.epochs,
                        batch_size=args.batch_size,
                        performance=dict(jit_compile=args.jit_compile, steps_per_execution=args.steps_per_execution))
        model_settings = {"edition": settings["edition"], **{name: getattr(args, name) for name in self.model_options}}
        options = argparse.Namespace(**{name: getattr(args, name) for name in self.option_names})
        output_dir = Path(args.output_dir or f"outputs/{self.name}")
        if device.distribute == "multiworker" and worker_index() > 0:
            output_dir = output_dir / f"worker-{worker_index()}"  # the chief (worker 0) writes the run's outputs
        return Run(self.name, number, settings, options, output_dir=output_dir, resume=args.resume,
                   model_settings=model_settings, device=device, distributed=distributed, argv=argv,
                   session=session)

    def main(self, argv=None):
        argv = sys.argv[1:] if argv is None else list(argv)
        args = self.parser().parse_args(argv)
        previous_handler = signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # timeout, job schedulers
        try:
            device = setup_device(args.mixed_precision, args.distribute)
            numbers = list(self.sections) if args.section == "all" else [args.section]
            without_data = []
            for number in numbers:
                section = self.sections[number]
                print(f"\n=== {self.title}, {section.number} {section.title} ===")
                distributed = device.strategy is not None and section.distributable
                if device.strategy is not None and not distributed:
                    print(f"--distribute {device.distribute}: {number} trains with its own loop, not model.fit; "
                          "it runs on one device")
                # The section's models are built with the run's precision policy (and inside the strategy's
                # scope), and their layer names start again at conv2d, as in the book.
                session = ModelSession(device.precision, device.strategy if distributed else None)
                run = self.make_run(args, number, device, argv, distributed, session)
                try:
                    session.restart()
                    keras.utils.set_random_seed(args.seed)
                    section.function(run)
                except DataError as e:
                    run.finish("no data")
                    if len(numbers) == 1:
                        raise
                    # `all`: one section's missing data should not hide the others
                    print(f"error: {number} skipped: {e}", file=sys.stderr)
                    without_data.append(number)
                    continue
                except KeyboardInterrupt:
                    run.finish("stopped")
                    if run.state.get("progress"):
                        raise Interrupted(f"{number} stopped; what it saved is in {run.folder}; run the same "
                                          "command with --resume to continue") from None
                    raise Interrupted(f"{number} stopped before it saved anything to resume from") from None
                except (MachineFault, OSError) as error:
                    fault = machine_fault(error, run.folder)
                    if fault is None:
                        run.finish("stopped")
                        raise
                    message = f"{fault}; what the run saved is in {run.folder}: {fault.remedy} and rerun with --resume"
                    run.finish("failed", reason=message)
                    raise RunFailed(message) from None
                except (RunFailed, DamagedFile, UsageError) as error:
                    run.finish("failed", reason=str(error))
                    raise
                except BaseException:
                    run.finish("stopped")
                    raise
                finally:
                    session.close()
                run.finish()
                print(f"Outputs of {number}: {run.folder}")
            if without_data:
                raise DataError(f"{', '.join(without_data)} could not run without their data (see above)")
        except (DataError, UsageError) as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except (RunFailed, DamagedFile, MachineFault) as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(1)
        except Interrupted as e:
            print(f"\ninterrupted: {e}", file=sys.stderr)
            sys.exit(130)
        except KeyboardInterrupt:
            print("\ninterrupted (Ctrl-C or SIGTERM) before a run started", file=sys.stderr)
            sys.exit(130)
        finally:
            signal.signal(signal.SIGTERM, previous_handler)


def machine_fault(error, folder):
    """`error` as a MachineFault (the machine's fault: a full disk, a read-only folder), or None."""
    if isinstance(error, MachineFault):
        return error
    if not is_machine_error(error):
        return None
    return MachineFault(error.filename or folder, error)


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt
