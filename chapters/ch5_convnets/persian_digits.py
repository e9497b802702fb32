"""5.1, the slides' extra: Persian handwritten digits (Hoda), a dataset not included with Keras."""

import matplotlib.pyplot as plt
import numpy as np

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets.mnist_convnet import RECIPES, prepare_digits, train_digit_convnet
from chapters.figures import save_figure
from datasets.hoda import load_hoda

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
QUICK_SUBSET = (2000, 500)  # --quick: training and test digits


@CHAPTER.section("5.1h", "Persian handwritten digits (Hoda)",
                 "the same convnet on Hoda's .cdb/.mat files, glyphs resized to 28x28: test accuracy > 0.98",
                 distributable=True)
def persian_digits(run):
    recipe = RECIPES[run.edition]  # the same convnet and training as 5.1: the glyphs are resized to 28x28

    model = recipe.build_model()
    run.check_against_book(model, recipe.book_params, f"DLwP {run.edition}e 5.1")
    if run.summary_only:
        return

    # The data: Hoda's own files, glyphs of every size resized to 28x28; a figure of a few of each class.
    hoda = load_hoda(run.data_dir, subset=QUICK_SUBSET if run.quick else None, seed=run.seed)
    grid = plot_digit_grid(hoda.test_images, hoda.test_labels, run.path("hoda_digits.png"),
                           "Hoda test digits, resized to 28x28, with their labels")
    print(f"Saved sample digits to {grid}")

    train = (prepare_digits(hoda.train_images), hoda.train_labels)
    test = (prepare_digits(hoda.test_images), hoda.test_labels)
    accuracy = train_digit_convnet(run, recipe, model, train, test, name="hoda_convnet")
    run.record("test_accuracy", accuracy, book="well above 0.98",
               label=f"Hoda test accuracy ({len(hoda.test_labels):,} digits)",
               note="--quick subset" if run.quick else "")


def plot_digit_grid(images, labels, path, title, per_class=4):
    """The first `per_class` digits of each class, one column per class, labelled."""
    fig, axes = plt.subplots(per_class, 10, figsize=(10 * 1.1, per_class * 1.3))
    for digit in range(10):
        picks = np.flatnonzero(labels == digit)[:per_class]
        for row in range(per_class):
            ax = axes[row][digit]
            ax.axis("off")
            if row < len(picks):
                ax.imshow(images[picks[row]], cmap=plt.cm.binary)
                ax.set_title(f"{PERSIAN_DIGITS[digit]} ({digit})", fontsize=9)
    fig.suptitle(title)
    return save_figure(fig, path)
