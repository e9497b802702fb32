"""Figures: PNG files written atomically, and the training curves the book draws after every run."""

import io

import matplotlib

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from chapters.storage import atomic_write  # noqa: E402


def save_figure(fig, path):
    """Save a matplotlib figure as PNG (atomically) and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue())


def save_png(pixels, path, description=""):
    """An RGB uint8 array as a PNG (atomically), with a text note inside the file."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if description:
        info.add_text("Description", description)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", pnginfo=info)
    return atomic_write(path, buffer.getvalue())


def plot_history(history, path, title="", first_epoch=1):
    """Training vs validation loss (and accuracy or MAE, when there is one), as in the book.

    `first_epoch`: the epoch of the first values (later than 1 when the history of the first epochs was lost).
    """
    metrics = [m for m in ("loss", "accuracy", "mae") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        epochs = range(first_epoch, first_epoch + len(history[metric]))
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


def plot_side_by_side(histories, titles, path, metrics=("accuracy", "loss")):
    """Several models' curves: one column per model, one row per metric (training dots, validation line), the
    y axes shared per row. `histories`: {name: history}; `titles`: {name: its column's title}."""
    fig, axes = plt.subplots(len(metrics), len(histories), figsize=(5.5 * len(histories), 4 * len(metrics)),
                             squeeze=False, sharey="row")
    for column, (name, history) in enumerate(histories.items()):
        epochs = range(1, len(history["loss"]) + 1)
        for row, metric in enumerate(metrics):
            ax = axes[row][column]
            ax.plot(epochs, history[metric], "bo", markersize=3, label=f"Training {metric}")
            ax.plot(epochs, history[f"val_{metric}"], "b", label=f"Validation {metric}")
            ax.set_title(f"{titles[name]}: {metric}", fontsize=10)
            ax.set_xlabel("Epochs")
            ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)
