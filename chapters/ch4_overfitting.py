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
import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt
import numpy as np

from chapters.common import Chapter, Section, check_against_book, save_figure
from datasets.imdb import load_imdb, multi_hot_dataset
from models.dense_networks import (IMDB_BIGGER_BOOK_PARAMS, IMDB_BOOK_PARAMS, IMDB_DROPOUT_BOOK_PARAMS,
                                   IMDB_SMALLER_BOOK_PARAMS, imdb_network)

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


def build_variant(name):
    title, kwargs, _ = VARIANTS[name]
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


def training_and_validation(imdb, edition):
    """The book's data for these comparisons: ((reviews, labels) to train on, (reviews, labels) to validate on).

    1st edition: all the training reviews, validated on the test reviews.
    2nd edition: fit(..., validation_split=0.4), which holds out the last 40%
    of the training reviews.
    """
    if edition == 1:
        return (imdb.train_data, imdb.train_labels), (imdb.test_data, imdb.test_labels)
    split = int(len(imdb.train_data) * 0.6)
    return ((imdb.train_data[:split], imdb.train_labels[:split]),
            (imdb.train_data[split:], imdb.train_labels[split:]))


def overfitting(ctx):
    names = sorted({n for c in ctx.args.compare for n in COMPARISONS[c]}, key=list(VARIANTS).index)
    for name in names:
        check_against_book(build_variant(name), VARIANTS[name][2], f"DLwP 4.4, {VARIANTS[name][0]}")
    if ctx.summary_only:
        return

    imdb = load_imdb(num_words=10000, data_dir=ctx.data_dir)
    if ctx.quick:
        imdb = imdb.head(2000, 1000)
    (x_train, y_train), (x_val, y_val) = training_and_validation(imdb, ctx.edition)
    print(f"Training on {len(x_train):,} reviews, validating on {len(x_val):,}")
    batch_size, seed = ctx.batch_size(512), ctx.args.seed
    training = multi_hot_dataset(x_train, y_train.astype("float32"), batch_size, shuffle=True, seed=seed)
    validation = multi_hot_dataset(x_val, y_val.astype("float32"), 2048)

    histories = {}
    for name in names:
        keras.utils.set_random_seed(seed)  # every variant starts from the same random state
        model = build_variant(name)
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **ctx.compile_settings("dense"))
        histories[name] = history = ctx.fit(model, training, name=name, epochs=ctx.epochs(20),
                                            validation_data=validation)
        best = int(np.argmin(history["val_loss"]))
        ctx.record(f"{name}: lowest validation loss", history["val_loss"][best],
                   note=f"at epoch {best + 1}; at the last epoch {history['val_loss'][-1]:.3f}, "
                        f"validation accuracy {history['val_accuracy'][-1]:.3f}")

    for comparison in ctx.args.compare:
        shown = COMPARISONS[comparison]
        title = "Validation loss: " + " vs ".join(VARIANTS[n][0].split(" (")[0].lower() for n in shown)
        path = plot_comparison(histories, shown, "val_loss", ctx.path(f"{comparison}_val_loss.png"), title)
        print(f"Saved {path}")
        if comparison == "capacity":
            # The book also shows the bigger network's training loss, near zero almost at once.
            path = plot_comparison(histories, shown, "loss", ctx.path("capacity_training_loss.png"),
                                   "Training loss: original vs smaller vs bigger model")
            print(f"Saved {path}")


def add_arguments(parser):
    parser.add_argument("--compare", nargs="+", choices=list(COMPARISONS), default=list(COMPARISONS),
                        help="which comparisons to train and draw (default all: "
                             + ", ".join(COMPARISONS) + "); the original network is trained once and shared")


CHAPTER = Chapter(
    name="ch4_overfitting",
    title="Chapter 4: Fundamentals of machine learning",
    description=__doc__.split("\n\n", 2)[2].strip(),
    default_section="4.4",
    add_arguments=add_arguments,
    sections=[
        Section("4.4", "Overfitting and underfitting",
                "IMDB: smaller (40,029) and bigger (5,383,681) networks, L2 / L1 / L1+L2, dropout: "
                "validation loss per epoch", overfitting),
    ],
)

if __name__ == "__main__":
    CHAPTER.main()
