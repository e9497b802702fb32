"""Chapter 6: Deep learning for text and sequences.

    python -m chapters.ch6_text_and_sequences              # 6.1: one-hot encoding, word embeddings, GloVe
    python -m chapters.ch6_text_and_sequences 6.2          # a recurrent layer in NumPy; SimpleRNN and LSTM on IMDB
    python -m chapters.ch6_text_and_sequences 6.3          # Jena temperature forecasting: GRU, dropout, stacking, ...
    python -m chapters.ch6_text_and_sequences 6.4          # 1D convnets on IMDB and Jena
    python -m chapters.ch6_text_and_sequences 6.2 --models lstm     # one of a section's models
    python -m chapters.ch6_text_and_sequences all --quick --edition 2

Text becomes numbers (one-hot vectors, hashed tokens, learned or pretrained
word embeddings); recurrent layers (SimpleRNN, LSTM, GRU) read sequences one
step at a time, and 1D convnets read them a window at a time. With
`--edition 2` each section runs the 2nd edition's version: 6.1 the text
pipeline of its chapter 11 (TextVectorization, bag-of-words models), 6.2 its
sequence models (bidirectional LSTMs on one-hot tokens, on embeddings with and
without masking, and on GloVe's pretrained vectors), 6.3 chapter 10's Jena
models, 6.4 the Transformer encoder.
"""

from chapters.cli import Chapter
from chapters.errors import UsageError
from chapters.training import best_checkpoint, saved_best

CHAPTER = Chapter("ch6_text_and_sequences", "Chapter 6: Deep learning for text and sequences",
                  __doc__.split("\n\n", 2)[2].strip())


# What the four sections share: --models, the compile settings of a --quick run, the numbers of a validation
# curve, the weights of the best epoch.

def chosen(run, names):
    """The model names (of `names`, the section's, in the book's order) that --models keeps."""
    wanted = run.options.models
    if not wanted:
        return list(names)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise UsageError(f"--models {' '.join(unknown)}: section {run.section} (edition {run.edition}) has "
                         f"{', '.join(names)}")
    return [name for name in names if name in wanted]


def compile_settings(run, workload, steps_per_epoch=None):
    """run.compile_settings; in a --quick run a recurrent model skips XLA: its few steps never repay the compilation."""
    settings = run.compile_settings(workload, steps_per_epoch=steps_per_epoch)
    if run.quick and workload == "recurrent" and run.performance["jit_compile"] == "auto" and \
            settings["jit_compile"] is True:
        settings["jit_compile"] = False
        print("--quick: XLA off (a few steps do not repay its compilation)")
    return settings


def quick_note(run, what):
    return f"--quick: {what}" if run.quick else ""


def record_validation(run, name, values, metric, best_of, book, note="", scale=None, unit=""):
    """Print and keep the best and the last value of a validation curve, with the book's (`book`, by result name)."""
    best = int(values.index(best_of(values)))
    run.record(f"{name}.best_validation_{metric}", float(values[best]), book=book.get(f"best_validation_{metric}"),
               note=", ".join(filter(None, [f"epoch {best + 1} of {len(values)}", note])),
               label=f"{name}: best validation {metric}")
    run.record(f"{name}.final_validation_{metric}", float(values[-1]), book=book.get(f"final_validation_{metric}"),
               note=note, label=f"{name}: validation {metric} at the last epoch")
    if scale is not None:
        run.record(f"{name}.best_validation_{metric}_{unit}", float(values[best] * scale),
                   book=book.get(f"best_validation_{metric}_{unit}"), note=note,
                   label=f"{name}: best validation {metric} in {unit}")


def best_weights(run, name, model, history):
    """(model, epoch) with the weights of the epoch of lowest validation loss (chapters.training.best_checkpoint).

    When that epoch is the last one, they are the weights `model` holds
    already: no need to load the file (and trace the model again).
    """
    epoch = saved_best(run.path(name) / "best.json")["epoch"]
    if epoch == len(history["loss"]):
        return model, epoch
    return best_checkpoint(run, name)


# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch6_text_and_sequences import word_embeddings, recurrent_networks, advanced_recurrent, sequence_convnets  # noqa: E402,F401,I001

CHAPTER.option("--models", nargs="+", metavar="NAME",
               help="train only these of the section's models (default all): " + "; ".join(
                   f"{number}: {' '.join(module.MODELS[1])} (2nd ed.: {' '.join(module.MODELS[2])})"
                   for number, module in (("6.1", word_embeddings), ("6.2", recurrent_networks),
                                          ("6.3", advanced_recurrent), ("6.4", sequence_convnets))))
