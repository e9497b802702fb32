"""Chapter 4: Fundamentals of machine learning, section 4.4 (overfitting and underfitting).

    python -m chapters.ch4_overfitting                      # every comparison of 4.4
    python -m chapters.ch4_overfitting --compare capacity   # original vs smaller vs bigger network
    python -m chapters.ch4_overfitting --compare l2 dropout
    python -m chapters.ch4_overfitting --quick

The IMDB network of 3.5 (160,305 parameters), trained as the book trains it
(1st edition: on all 25,000 training reviews, validated on the 25,000 test
reviews; 2nd edition: validation_split=0.4), against: a smaller network (Dense(4) x 2, 40,029), a
bigger one (Dense(512) x 2, 5,383,681), L2, L1 and L1+L2 weight regularisation
(0.001 on both hidden layers) and Dropout(0.5). Each comparison is one figure
of validation loss per epoch, as the book draws them.
"""

import keras
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from chapters.cli import Chapter
from chapters.figures import save_figure
from datasets.imdb import load_imdb, multi_hot_dataset
from models.dense_networks import (
    IMDB_BIGGER_BOOK_PARAMS,
    IMDB_BOOK_PARAMS,
    IMDB_DROPOUT_BOOK_PARAMS,
    IMDB_SMALLER_BOOK_PARAMS,
    imdb_network,
)

CHAPTER = Chapter("ch4_overfitting", "Chapter 4: Fundamentals of machine learning",
                  __doc__.split("\n\n", 2)[2].strip())

NUM_WORDS, EPOCHS, BATCH_SIZE = 10_000, 20, 512
QUICK_SUBSET = (2000, 1000)  # --quick

# name: (how the book calls it, builder keyword arguments, the book's parameters per layer)
VARIANTS = {
    "original": ("Original model (Dense(16) x 2)", {}, IMDB_BOOK_PARAMS),
    "smaller": ("Smaller model (Dense(4) x 2)", dict(units=4), IMDB_SMALLER_BOOK_PARAMS),
    "bigger": ("Bigger model (Dense(512) x 2)", dict(units=512), IMDB_BIGGER_BOOK_PARAMS),
    "l2": ("L2-regularised model (0.001)", dict(weight_regularizer="l2"), IMDB_BOOK_PARAMS),
    "l1": ("L1-regularised model (0.001)", dict(weight_regularizer="l1"), IMDB_BOOK_PARAMS),
    "l1_l2": ("L1 + L2-regularised model (0.001 each)", dict(weight_regularizer="l1_l2"), IMDB_BOOK_PARAMS),
    "dropout": ("Dropout-regularised model (0.5)", dict(dropout=0.5), IMDB_DROPOUT_BOOK_PARAMS),
}
# Each comparison: the variants drawn together in one figure.
COMPARISONS = {
    "capacity": ["original", "smaller", "bigger"],
    "l2": ["original", "l2"],
    "l1": ["original", "l1"],
    "l1_l2": ["original", "l1_l2"],
    "dropout": ["original", "dropout"],
}
STYLES = ["b+", "bo", "r^", "gs"]


CHAPTER.option("--compare", nargs="+", choices=list(COMPARISONS), default=list(COMPARISONS),
               help="which comparisons to train and draw (default all: " + ", ".join(COMPARISONS)
                    + "); the original network is trained once and shared")


@CHAPTER.section("4.4", "Overfitting and underfitting",
                 "IMDB: smaller (40,029) and bigger (5,383,681) networks, L2 / L1 / L1+L2, dropout: "
                 "validation loss per epoch",
                 distributable=True)
def overfitting(run):
    names = sorted({n for c in run.options.compare for n in COMPARISONS[c]}, key=list(VARIANTS).index)

    # The networks: the 3.5 network and its variants, each checked against the book.
    for name in names:
        run.check_against_book(build_variant(name), VARIANTS[name][2], f"DLwP 4.4, {VARIANTS[name][0]}")
    if run.summary_only:
        return

    # The data: the IMDB reviews as in 3.5, split as the edition's listings split them.
    imdb = load_imdb(num_words=NUM_WORDS, data_dir=run.data_dir)
    if run.quick:
        imdb = imdb.head(*QUICK_SUBSET)
    (x_train, y_train), (x_val, y_val) = VALIDATION_SPLITS[run.edition](imdb)
    print(f"Training on {len(x_train):,} reviews, validating on {len(x_val):,}")
    batch_size = run.batch_size(BATCH_SIZE)
    training = multi_hot_dataset(x_train, y_train.astype("float32"), batch_size, shuffle=True, seed=run.seed)
    validation = multi_hot_dataset(x_val, y_val.astype("float32"), 2048)

    # Each network: compiled and trained the same way, from the same random state.
    histories = {}
    for name in names:
        keras.utils.set_random_seed(run.seed)
        model = build_variant(name)
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **run.compile_settings("dense"))
        histories[name] = history = run.fit(model, training, name=name, epochs=EPOCHS, validation_data=validation)
        best = int(np.argmin(history["val_loss"]))
        run.record(f"{name}.lowest_validation_loss", history["val_loss"][best],
                   note=f"at epoch {best + 1}; at the last epoch {history['val_loss'][-1]:.3f}, "
                        f"validation accuracy {history['val_accuracy'][-1]:.3f}")

    # The book's figures: one per comparison.
    for comparison in run.options.compare:
        shown = COMPARISONS[comparison]
        title = "Validation loss: " + " vs ".join(VARIANTS[n][0].split(" (")[0].lower() for n in shown)
        print(f"Saved {plot_comparison(histories, shown, 'val_loss', run.path(f'{comparison}_val_loss.png'), title)}")
        if comparison == "capacity":
            # The book also shows the bigger network's training loss, near zero almost at once.
            path = plot_comparison(histories, shown, "loss", run.path("capacity_training_loss.png"),
                                   "Training loss: original vs smaller vs bigger model")
            print(f"Saved {path}")


# The networks, the splits and the figures.

def build_variant(name):
    _, kwargs, _ = VARIANTS[name]
    return imdb_network(name=f"imdb_{name}", **kwargs)


def plot_comparison(histories, names, key, path, title):
    """The book's figure: one marker style per model, its validation (or training) loss by epoch."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for style, name in zip(STYLES, names):
        values = histories[name][key]
        ax.plot(range(1, len(values) + 1), values, style, label=VARIANTS[name][0])
    ax.set_title(title)
    ax.set_xlabel("Epochs")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("Validation loss" if key == "val_loss" else "Training loss")
    ax.legend()
    return save_figure(fig, path)


def validation_split_1st_edition(imdb):
    """All 25,000 training reviews to train on, the 25,000 test reviews to validate on."""
    return (imdb.train_data, imdb.train_labels), (imdb.test_data, imdb.test_labels)


def validation_split_2nd_edition(imdb):
    """fit(..., validation_split=0.4): the last 40% of the training reviews are held out."""
    split = int(len(imdb.train_data) * (1 - VALIDATION_FRACTION_2ND_EDITION))
    return ((imdb.train_data[:split], imdb.train_labels[:split]),
            (imdb.train_data[split:], imdb.train_labels[split:]))


VALIDATION_FRACTION_2ND_EDITION = 0.4
VALIDATION_SPLITS = {1: validation_split_1st_edition, 2: validation_split_2nd_edition}


if __name__ == "__main__":
    CHAPTER.main()
