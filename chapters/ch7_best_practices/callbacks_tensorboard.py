"""7.2 Inspecting and monitoring deep-learning models: Keras callbacks and TensorBoard.

Callbacks are objects that fit() calls at the start and end of every epoch
and batch. The 1st edition shows EarlyStopping with ModelCheckpoint,
ReduceLROnPlateau and a callback of its own that saves every layer's
activations each epoch, then watches its IMDB 1D convnet train in TensorBoard
(histograms of the weights, the embedding in the projector). The 2nd edition
shows EarlyStopping with ModelCheckpoint, a callback that plots the loss of
every batch, and TensorBoard, all on its MNIST network.

Keras 3's TensorBoard(embeddings_freq=1) saves the model's weights as
.weights.h5 files, which TensorBoard's projector cannot read (it reads
TensorFlow checkpoints): we write the projector's checkpoint, metadata and
configuration ourselves after training (monitoring_files.py).
"""

import json
import time
from dataclasses import dataclass
from typing import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch7_best_practices import CHAPTER
from chapters.ch7_best_practices.monitoring_files import (
    LearningRateLog,
    embedding_labels,
    plot_plateau,
    write_embedding_projector,
)
from chapters.figures import save_figure
from chapters.storage import save_json, save_npz
from chapters.training import optimizer_facts
from datasets.arrays import array_dataset
from datasets.imdb import load_imdb
from datasets.mnist import QUICK_SUBSET, load_mnist
from models.best_practices import (
    IMDB_CONVNET_BOOK_PARAMS,
    IMDB_CONVNET_MAX_FEATURES,
    IMDB_CONVNET_MAX_LEN,
    IMDB_CONVNET_OUTPUT_SHAPES,
    imdb_convnet_for_tensorboard,
)
from models.first_network import FIRST_NETWORK_BOOK_PARAMS, first_network
from models.functional_api import MNIST_DROPOUT_NETWORK_BOOK_PARAMS, mnist_dropout_network

# The callbacks are shown on MNIST: the first 10,000 training digits validate, the other 50,000 train.
MNIST_VALIDATION_DIGITS, QUICK_VALIDATION_DIGITS = 10_000, 500
# 1st edition: ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10). The book gives no training for
# it: chapter 2's network with chapter 2's batches of 128, for 20 epochs, long enough for a plateau of 10.
REDUCE_LR_ON_PLATEAU = dict(monitor="val_loss", factor=0.1, patience=10)
PLATEAU_EPOCHS, PLATEAU_BATCH_SIZE = 20, 128
ACTIVATION_SAMPLES = 1  # the activation logger's validation digits (the book: validation_data[0][0:1])
# 1st edition 7.2.2: the IMDB convnet, 20 epochs of 128, the last 20% of the training reviews for validation.
IMDB_CONVNET_EPOCHS, IMDB_CONVNET_BATCH_SIZE, IMDB_VALIDATION_SPLIT = 20, 128, 0.2
TENSORBOARD_HISTOGRAM_FREQ = 1  # a histogram of every weight tensor after every epoch
QUICK_IMDB_REVIEWS = (1000, 500)  # --quick


@dataclass(frozen=True)
class Edition:
    """What the edition shows, and on which model."""
    mnist_model: Callable[[], keras.Model]  # the network the callbacks are shown on
    mnist_model_book_params: list
    mnist_model_source: str
    early_stopping: dict  # EarlyStopping's arguments
    checkpoint: dict  # ModelCheckpoint's arguments (filepath inside the run folder)
    epochs: int  # of the early-stopping run
    batch_size: int
    demos: tuple  # names in DEMOS, run after the early-stopping one
    book_note: str = ""


FIRST_EDITION = Edition(
    first_network, FIRST_NETWORK_BOOK_PARAMS, "DLwP 2.1 (the 1st edition's callback snippets name no model)",
    # monitor="acc" in the book: Keras 3 calls the metric "accuracy". "my_model.h5" in the book: Keras 3 saves
    # whole models as .keras.
    early_stopping=dict(monitor="accuracy", patience=1),
    checkpoint=dict(filepath="my_model.keras", monitor="val_loss", save_best_only=True),
    epochs=10, batch_size=32, demos=("plateau_and_activations", "tensorboard_imdb_convnet"),
    book_note="the book's snippet: EarlyStopping(monitor='acc', patience=1), ModelCheckpoint('my_model.h5', "
              "monitor='val_loss', save_best_only=True)")
SECOND_EDITION = Edition(
    mnist_dropout_network, MNIST_DROPOUT_NETWORK_BOOK_PARAMS, "DLwP 2e 7.3.3, get_mnist_model()",
    early_stopping=dict(monitor="val_accuracy", patience=2),
    checkpoint=dict(filepath="checkpoint_path.keras", monitor="val_loss", save_best_only=True),
    epochs=10, batch_size=32, demos=("loss_history", "tensorboard_mnist"))
EDITIONS = {1: FIRST_EDITION, 2: SECOND_EDITION}
LOSS_HISTORY_EPOCHS = TENSORBOARD_MNIST_EPOCHS = 10  # 2nd edition: fit(..., epochs=10) for both


@CHAPTER.section("7.2", "Inspecting and monitoring: Keras callbacks and TensorBoard",
                 "EarlyStopping + ModelCheckpoint, ReduceLROnPlateau, an activation logger; the IMDB convnet "
                 "(291,937) in TensorBoard; 2nd ed.: a per-batch loss plot, TensorBoard on MNIST")
def callbacks_and_tensorboard(run):
    edition = EDITIONS[run.edition]

    # The models, checked against the book.
    run.clear_session()
    run.check_against_book(edition.mnist_model(), edition.mnist_model_book_params, edition.mnist_model_source)
    if "tensorboard_imdb_convnet" in edition.demos:
        convnet = imdb_convnet_for_tensorboard()
        run.check_against_book(convnet, IMDB_CONVNET_BOOK_PARAMS, "DLwP 1e 7.2.2, the IMDB 1D convnet")
        shapes = [tuple(layer.output.shape[1:]) for layer in convnet.layers]
        run.record("imdb_convnet.output_shapes_match_the_book", shapes == IMDB_CONVNET_OUTPUT_SHAPES,
                   note=f"ours: {shapes}", label="IMDB convnet: output shapes equal the book's")
    if run.summary_only:
        return

    # MNIST, flattened, for the callbacks.
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    n_val = QUICK_VALIDATION_DIGITS if run.quick else MNIST_VALIDATION_DIGITS
    images = mnist.train_images.reshape((-1, 28 * 28)).astype("float32") / 255
    labels = mnist.train_labels.astype("int64")
    digits = Digits(train=(images[n_val:], labels[n_val:]), validation=(images[:n_val], labels[:n_val]),
                    test=(mnist.test_images.reshape((-1, 28 * 28)).astype("float32") / 255,
                          mnist.test_labels.astype("int64")), note=mnist.book_note)

    early_stopping_and_checkpoint(run, edition, digits)
    for name in edition.demos:
        DEMOS[name](run, edition, digits)


@dataclass
class Digits:
    train: tuple
    validation: tuple
    test: tuple
    note: str  # "" for the full MNIST


def compiled_mnist_model(run, edition, **compile_overrides):
    run.clear_session()
    model = edition.mnist_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  **{**run.compile_settings("dense"), **compile_overrides})
    return model


# ---------------------------------------------------------------------------
# EarlyStopping + ModelCheckpoint, as the book writes them: model.fit with the two callbacks
# ---------------------------------------------------------------------------

def early_stopping_and_checkpoint(run, edition, digits):
    """Stop when the monitored metric stops improving; keep the model of the epoch with the lowest val_loss."""
    print(f"\n--- EarlyStopping({format_arguments(edition.early_stopping)}) + "
          f"ModelCheckpoint({format_arguments(edition.checkpoint)}) ---")
    model = compiled_mnist_model(run, edition)
    folder = run.path("early_stopping")
    folder.mkdir(exist_ok=True)
    checkpoint_path = folder / edition.checkpoint["filepath"]
    epochs = run.epochs(edition.epochs)
    if run.resumed and (folder / "history.json").exists():  # this short training finished before the interruption
        print(f"Kept from the interrupted run: {folder}")
        history, seconds = json.loads((folder / "history.json").read_text()), None
    else:
        early_stopping = keras.callbacks.EarlyStopping(**edition.early_stopping)
        checkpoint = keras.callbacks.ModelCheckpoint(**{**edition.checkpoint, "filepath": checkpoint_path})
        start = time.time()
        history = model.fit(array_dataset(*digits.train, run.batch_size(edition.batch_size), shuffle=True,
                                          seed=run.seed),
                            epochs=epochs, validation_data=array_dataset(*digits.validation, 1024),
                            callbacks=[early_stopping, checkpoint], shuffle=False, verbose=2).history
        seconds = round((time.time() - start) / len(history["loss"]), 2)
        save_json(folder / "history.json", history)
        run.mark_progress()
    run.record_training("early_stopping", {**optimizer_facts(model), "book_epochs": edition.epochs, "epochs": epochs,
                                           "batch_size": run.batch_size(edition.batch_size),
                                           "early_stopping": edition.early_stopping, "checkpoint": edition.checkpoint,
                                           "epochs_done": len(history["loss"]), "seconds_per_epoch": seconds})

    # What the two callbacks did: how many epochs ran, and which epoch the checkpoint holds.
    epochs_run = len(history["loss"])
    run.record("early_stopping.epochs_run", epochs_run, note=f"of {epochs}; stopped early: "
               f"{epochs_run < epochs} (monitor {edition.early_stopping['monitor']}, patience "
               f"{edition.early_stopping['patience']})", label="epochs run before EarlyStopping")
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    best = keras.models.load_model(checkpoint_path)
    checkpoint_loss, _ = best.evaluate(array_dataset(*digits.validation, 1024), verbose=0)
    run.record("early_stopping.best_epoch", best_epoch, label="epoch with the lowest val_loss",
               note=f"val_loss {min(history['val_loss']):.4f}")
    run.record("early_stopping.checkpoint_validation_loss", float(checkpoint_loss),
               label=f"val_loss of {checkpoint_path.name}, reloaded",
               note=f"the run's lowest val_loss: {min(history['val_loss']):.4f}")
    _, test_accuracy = best.evaluate(array_dataset(*digits.test, 1024), verbose=0)
    run.record("early_stopping.checkpoint_test_accuracy", float(test_accuracy), note=digits.note or edition.book_note,
               label=f"test accuracy of {checkpoint_path.name}")


def format_arguments(arguments):
    return ", ".join(f"{key}={value!r}" for key, value in arguments.items())


# ---------------------------------------------------------------------------
# 1st edition: ReduceLROnPlateau, and a callback that saves every layer's activations each epoch
# ---------------------------------------------------------------------------

def plateau_and_activations(run, edition, digits):
    """Divide the learning rate by 10 after 10 epochs without a lower val_loss; save activations every epoch."""
    print(f"\n--- ReduceLROnPlateau({format_arguments(REDUCE_LR_ON_PLATEAU)}) and an ActivationLogger ---")
    model = compiled_mnist_model(run, edition)
    learning_rates = LearningRateLog(run.path("plateau/learning_rates.json"))
    activations = ActivationLogger(digits.validation[0][:ACTIVATION_SAMPLES], run.path("plateau/activations"))
    history = run.fit(model, array_dataset(*digits.train, run.batch_size(PLATEAU_BATCH_SIZE), shuffle=True,
                                           seed=run.seed),
                      name="plateau", epochs=PLATEAU_EPOCHS, validation_data=array_dataset(*digits.validation, 1024),
                      callbacks=[keras.callbacks.ReduceLROnPlateau(**REDUCE_LR_ON_PLATEAU, verbose=1), learning_rates,
                                 activations])
    rates = learning_rates.rates
    drops = [epoch + 1 for epoch in range(1, len(rates)) if rates[epoch] < rates[epoch - 1]]
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    run.record("plateau.learning_rates", rates, label="learning rate after each epoch")
    run.record("plateau.lowest_val_loss_epoch", best_epoch, label="epoch of the lowest val_loss")
    run.record("plateau.learning_rate_drops_after_epochs", drops, label="epochs after which the learning rate fell",
               note=f"a plateau of {REDUCE_LR_ON_PLATEAU['patience']} epochs after the best one "
                    f"(epoch {best_epoch}) divides it by 10")
    saved = sorted(activations.folder.glob("activations_at_epoch_*.npz"))
    run.record("plateau.activation_files", len(saved), label="activation files saved (one per epoch)")
    plot_plateau(run, history, rates, activations.folder, [layer.name for layer in model.layers])


class ActivationLogger(keras.callbacks.Callback):
    """The book's custom callback: every layer's output on a few validation samples, saved after each epoch."""

    def __init__(self, samples, folder):
        super().__init__()
        self.samples, self.folder = samples, folder

    def set_model(self, model):
        super().set_model(model)
        # One model that returns every layer's activations, sharing the trained model's layers and weights.
        self.activations_model = keras.Model(model.inputs[0], [layer.output for layer in model.layers])

    def on_epoch_end(self, epoch, logs=None):
        activations = self.activations_model.predict(self.samples, verbose=0)
        save_npz(self.folder / f"activations_at_epoch_{epoch + 1}.npz",
                 **{layer.name: activation for layer, activation in zip(self.model.layers, activations)})


# ---------------------------------------------------------------------------
# 1st edition 7.2.2: the IMDB 1D convnet in TensorBoard
# ---------------------------------------------------------------------------

def tensorboard_imdb_convnet(run, edition, digits):
    """20 epochs with TensorBoard(histogram_freq=1) watching; then the embedding for the projector."""
    print("\n--- TensorBoard: the IMDB 1D convnet ---")
    run.clear_session()
    model = imdb_convnet_for_tensorboard()
    imdb = load_imdb(num_words=IMDB_CONVNET_MAX_FEATURES, data_dir=run.data_dir)
    if run.quick:
        imdb = imdb.head(*QUICK_IMDB_REVIEWS)
    # Reviews cut (or padded in front) to 500 words; validation_split=0.2 takes the last 20% of the training set.
    x_train = keras.utils.pad_sequences(imdb.train_data, maxlen=IMDB_CONVNET_MAX_LEN)
    y_train = imdb.train_labels.astype("float32")
    split = int(len(x_train) * (1 - IMDB_VALIDATION_SPLIT))
    print(f"x_train shape: {x_train.shape}; training on {split:,}, validating on {len(x_train) - split:,} reviews")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("conv"))
    log_dir = run.path("tensorboard")
    print(f"TensorBoard logs go to {log_dir}; watch them while it trains with:\n    tensorboard --logdir {log_dir}")
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(log_dir), histogram_freq=TENSORBOARD_HISTOGRAM_FREQ)
    batch_size = run.batch_size(IMDB_CONVNET_BATCH_SIZE)
    history = run.fit(model, array_dataset(x_train[:split], y_train[:split], batch_size, shuffle=True, seed=run.seed),
                      name="imdb_convnet", epochs=IMDB_CONVNET_EPOCHS,
                      validation_data=array_dataset(x_train[split:], y_train[split:], 1024), callbacks=[tensorboard])
    note = "--quick: a small subset" if run.quick else ""
    best = int(np.argmax(history["val_accuracy"]))
    run.record("imdb_convnet.best_validation_accuracy", history["val_accuracy"][best],
               note=note or f"epoch {best + 1}; a third party's TF 2 run: ~0.84 at epochs 1-2",
               label="IMDB convnet: best validation accuracy")
    run.record("imdb_convnet.final_validation_accuracy", history["val_accuracy"][-1],
               note=note or "a third party's TF 2 run: ~0.87 at epoch 20", label="IMDB convnet: validation accuracy "
               f"after {len(history['val_accuracy'])} epochs")
    run.record("imdb_convnet.final_training_accuracy", history["accuracy"][-1],
               note=note or "a third party's TF 2 run: 0.99 at epoch 20", label="IMDB convnet: training accuracy "
               f"after {len(history['accuracy'])} epochs")

    words = embedding_labels(run, IMDB_CONVNET_MAX_FEATURES)
    write_embedding_projector(log_dir, model.get_layer("embed").embeddings, words)
    print(f"The embedding ({IMDB_CONVNET_MAX_FEATURES} words x 128) is in TensorBoard's Projector tab.\n"
          f"See the curves, histograms and the projector with:\n    tensorboard --logdir {log_dir}")
    run.record("tensorboard_command", f"tensorboard --logdir {log_dir}")


# ---------------------------------------------------------------------------
# 2nd edition: a callback that plots the loss of every batch, and TensorBoard on MNIST
# ---------------------------------------------------------------------------

def loss_history(run, edition, digits):
    """The 2nd edition's LossHistory: the loss after every batch, plotted at the end of every epoch."""
    print("\n--- LossHistory: a plot of the per-batch loss after every epoch ---")
    # Keras reports to callbacks once per steps_per_execution batches: one batch per call, to see every batch.
    model = compiled_mnist_model(run, edition, steps_per_execution=1)
    plots = LossHistory(run.path("loss_history"))
    run.fit(model, array_dataset(*digits.train, run.batch_size(edition.batch_size), shuffle=True, seed=run.seed),
            name="loss_history", epochs=LOSS_HISTORY_EPOCHS, validation_data=array_dataset(*digits.validation, 1024),
            callbacks=[plots])
    run.record("loss_history.plots", len(list(plots.folder.glob("plot_at_epoch_*.png"))),
               label="LossHistory plots saved (one per epoch)")


class LossHistory(keras.callbacks.Callback):
    """Collects the loss Keras reports after each batch and saves its plot at the end of each epoch.

    The loss Keras reports is the mean over the epoch's batches so far, as in
    the book; it reports once per steps_per_execution batches.
    """

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def on_epoch_begin(self, epoch, logs=None):
        self.batches, self.per_batch_losses = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(batch + 1)
        self.per_batch_losses.append(logs.get("loss"))

    def on_epoch_end(self, epoch, logs=None):
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.batches, self.per_batch_losses, ".-", markersize=2, label="Training loss for each batch")
        ax.set_xlabel(f"Batch (epoch {epoch + 1})")
        ax.set_ylabel("Loss")
        ax.legend()
        save_figure(fig, self.folder / f"plot_at_epoch_{epoch + 1}.png")


def tensorboard_mnist(run, edition, digits):
    """The 2nd edition's TensorBoard(log_dir=...) on its MNIST network, 10 epochs."""
    print("\n--- TensorBoard: the MNIST network ---")
    model = compiled_mnist_model(run, edition)
    log_dir = run.path("tensorboard")
    print(f"TensorBoard logs go to {log_dir}; watch them while it trains with:\n    tensorboard --logdir {log_dir}")
    history = run.fit(model, array_dataset(*digits.train, run.batch_size(edition.batch_size), shuffle=True,
                                           seed=run.seed),
                      name="tensorboard_mnist", epochs=TENSORBOARD_MNIST_EPOCHS,
                      validation_data=array_dataset(*digits.validation, 1024),
                      callbacks=[keras.callbacks.TensorBoard(log_dir=str(log_dir))])
    run.record("tensorboard_mnist.final_validation_accuracy", history["val_accuracy"][-1], note=digits.note,
               label=f"validation accuracy after {len(history['val_accuracy'])} epochs")
    print(f"See the curves with:\n    tensorboard --logdir {log_dir}")
    run.record("tensorboard_command", f"tensorboard --logdir {log_dir}")


DEMOS = {"plateau_and_activations": plateau_and_activations, "tensorboard_imdb_convnet": tensorboard_imdb_convnet,
         "loss_history": loss_history, "tensorboard_mnist": tensorboard_mnist}
