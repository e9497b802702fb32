"""7.2's files beside the book's callbacks: the learning rate of each epoch, the plateau figure, the projector's files.

ReduceLROnPlateau changes the learning rate without saying so in the history:
`LearningRateLog` keeps it, epoch by epoch. `plot_plateau` draws it beside the
validation loss, and the activations the book's ActivationLogger saved. Keras
3's TensorBoard(embeddings_freq=1) writes nothing TensorBoard's projector can
read: `write_embedding_projector` writes the embedding as a TensorFlow
checkpoint, a word per row and the projector's configuration.
"""

import json

import keras
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import tensorflow as tf

from chapters.figures import save_figure
from chapters.storage import atomic_write, save_json
from datasets.imdb import INDEX_FROM, load_imdb_word_index

PROJECTOR_TENSOR_NAME = "embedding/.ATTRIBUTES/VARIABLE_VALUE"  # the variable's key in a tf.train.Checkpoint


class LearningRateLog(keras.callbacks.Callback):
    """The optimizer's learning rate after each epoch (after ReduceLROnPlateau acted), kept in a JSON file."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.rates = json.loads(path.read_text()) if path.exists() else []  # --resume continues the list

    def on_epoch_end(self, epoch, logs=None):
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rates = self.rates[:epoch] + [float(f"{rate:.6g}")]  # float32 printed as the number it stands for
        save_json(self.path, self.rates)


def plot_plateau(run, history, rates, activations_folder, layer_names):
    """Validation loss and learning rate by epoch; one validation digit's activations, epoch by epoch."""
    epochs = len(history["loss"])
    fig, (ax_loss, ax_hidden, ax_output) = plt.subplots(1, 3, figsize=(17, 4.5),
                                                        gridspec_kw={"width_ratios": [1.2, 1.2, 0.6]})
    epoch_numbers = range(1, epochs + 1)
    ax_loss.plot(epoch_numbers, history["val_loss"], "b", label="Validation loss")
    ax_loss.plot(epoch_numbers, history["loss"], "bo", markersize=3, label="Training loss")
    ax_loss.set_xlabel("Epochs")
    ax_loss.set_ylabel("Loss")
    ax_loss.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax_rate = ax_loss.twinx()
    ax_rate.step(epoch_numbers, rates[:epochs], "r", where="post", label="Learning rate")
    ax_rate.set_yscale("log")
    ax_rate.set_ylabel("Learning rate", color="r")
    ax_loss.legend(loc="upper center")
    ax_loss.set_title("ReduceLROnPlateau(val_loss, factor=0.1, patience=10)")
    hidden, output = [], []
    for epoch in epoch_numbers:
        with np.load(activations_folder / f"activations_at_epoch_{epoch}.npz") as saved:
            hidden.append(saved[layer_names[0]][0])
            output.append(saved[layer_names[-1]][0])
    hidden = np.array(hidden)
    shown = np.argsort(hidden[-1])[::-1][:64]  # the 64 most active units at the end, strongest first
    image = ax_hidden.imshow(hidden[:, shown], aspect="auto", cmap="viridis", interpolation="nearest",
                             extent=(0, len(shown), epochs + 0.5, 0.5))
    ax_hidden.set_xlabel("The 64 most active units of the first Dense layer (at the last epoch)")
    ax_hidden.set_ylabel("Epoch")
    ax_hidden.set_title("ActivationLogger: one validation digit's activations")
    fig.colorbar(image, ax=ax_hidden)
    image = ax_output.imshow(np.array(output), aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                             extent=(-0.5, 9.5, epochs + 0.5, 0.5))
    ax_output.set_xticks(range(10))
    ax_output.set_xlabel("Digit")
    ax_output.set_title("Its softmax output")
    fig.colorbar(image, ax=ax_output)
    for ax in (ax_hidden, ax_output):
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    print(f"Saved the plateau figure to {save_figure(fig, run.path('plateau.png'))}")


def embedding_labels(run, num_words):
    """A label per word index for the projector: the word, or what the reserved indices mean."""
    labels = ["<padding>", "<start>", "<out of vocabulary>"]
    try:
        word_index = load_imdb_word_index(run.data_dir)
    except Exception as e:  # the labels are a nicety: without the word index the projector shows numbers
        print(f"Projector labels: word numbers only ({e})")
        return labels + [str(i) for i in range(len(labels), num_words)]
    words = {rank + INDEX_FROM: word for word, rank in word_index.items()}
    return labels + [words.get(i, str(i)) for i in range(len(labels), num_words)]


def write_embedding_projector(log_dir, embeddings, labels):
    """The embedding matrix as a TensorFlow checkpoint in `log_dir`, a word per row in metadata.tsv, and the
    projector_config.pbtxt that points TensorBoard's projector at them."""
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    tf.train.Checkpoint(embedding=tf.Variable(keras.ops.convert_to_numpy(embeddings))).save(
        str(log_dir / "embedding.ckpt"))
    atomic_write(log_dir / "metadata.tsv", "".join(f"{label}\n" for label in labels))
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = PROJECTOR_TENSOR_NAME
    embedding.metadata_path = "metadata.tsv"
    atomic_write(log_dir / "projector_config.pbtxt", text_format.MessageToString(config))
