"""7.1, 2nd edition (chapter 7, "Working with Keras"): three ways to build a model, and two to train one.

The same small model three ways (Sequential, functional, and the
customer-ticket model functional, extended with a third output, then
subclassed), trained on random tickets; then on MNIST a training loop written
with GradientTape, and the same loop as a train_step override with the book's
custom metric. The section is registered in functional_api.py, which runs
this for --edition 2.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from chapters.ch7_best_practices.random_data import QUICK_RANDOM_SAMPLES, train_on_random_data
from chapters.errors import Interrupted
from chapters.storage import read_json, reading, save_json, save_npz, write_atomically
from datasets.arrays import array_dataset
from datasets.mnist import QUICK_SUBSET, load_mnist
from models import functional_api as models

# 2nd edition 7.2.2: 1,280 random tickets, one epoch.
TICKET_SAMPLES, TICKET_EPOCHS = 1280, 1
TICKET_LOSSES = ["mean_squared_error", "categorical_crossentropy"]
TICKET_METRICS = [["mean_absolute_error"], ["accuracy"]]
# 2nd edition 7.3-7.4: MNIST, the first 10,000 training digits for validation, 3 epochs of 32.
MNIST_VALIDATION_DIGITS, MNIST_EPOCHS, MNIST_BATCH_SIZE = 10_000, 3, 32
QUICK_VALIDATION_DIGITS = 500
OURS_IN_THE_TRAIN_STEP = ("ours: the book's 7.4.4 train_step has no custom metric and no validation data; 7.3.1's "
                          "RootMeanSquaredError and validation digits are added to it")


def working_with_keras_2nd_edition(run):
    """7.1 for --edition 2 (the 2nd edition's 7.2-7.4)."""
    rng = np.random.default_rng(run.seed)
    run.clear_session()

    # 7.2.1-7.2.2: the same small model, Sequential (built for 3 features) and functional (from an Input).
    sequential = models.small_sequential_model()
    run.check_against_book(sequential, models.SMALL_SEQUENTIAL_BOOK_PARAMS, "DLwP 2e 7.2.1, Sequential")
    print("Its weights:", [(w.path, tuple(w.shape)) for w in sequential.weights])
    functional = models.small_functional_model()
    run.check_against_book(functional, models.SMALL_FUNCTIONAL_BOOK_PARAMS, "DLwP 2e 7.2.2, functional")
    print(f"inputs.shape = {tuple(functional.inputs[0].shape)}, inputs.dtype = {functional.inputs[0].dtype}; "
          f"features.shape = {tuple(functional.layers[1].output.shape)}")

    # The customer-ticket model: three inputs, two outputs; then a new model with a third output.
    ticket = models.customer_ticket_model()
    run.check_against_book(ticket, models.CUSTOMER_TICKET_BOOK_PARAMS, "DLwP 2e 7.2.2, customer-ticket model")
    print(f"model.layers: {[layer.name for layer in ticket.layers]}")
    print(f"model.layers[3].input: {[tuple(t.shape) for t in ticket.layers[3].input]}; "
          f"output: {tuple(ticket.layers[3].output.shape)}")
    with_difficulty = models.customer_ticket_model_with_difficulty(ticket)
    run.check_against_book(with_difficulty, models.CUSTOMER_TICKET_WITH_DIFFICULTY_BOOK_PARAMS,
                           "DLwP 2e 7.2.2, with a difficulty output")
    print("keras.utils.plot_model (the book's figures of these graphs) needs pydot and Graphviz: not drawn here.")

    # The same model subclassed, and get_mnist_model() for the training loops.
    subclassed = models.customer_ticket_subclassed_model()
    run.check_against_book(subclassed, models.CUSTOMER_TICKET_SUBCLASSED_BOOK_PARAMS,
                           "DLwP 2e 7.2.3, CustomerTicketModel(num_departments=4)")
    run.check_against_book(models.mnist_dropout_network(), models.MNIST_DROPOUT_NETWORK_BOOK_PARAMS,
                           "DLwP 2e 7.3.1, get_mnist_model()")
    if run.summary_only:
        return

    # Training on random tickets: one loss per output, one list of metrics per output.
    tickets, targets = random_tickets(rng, QUICK_RANDOM_SAMPLES if run.quick else TICKET_SAMPLES)
    ticket.compile(optimizer="rmsprop", loss=TICKET_LOSSES, metrics=TICKET_METRICS, **run.compile_settings("dense"))
    train_on_random_data(run, ticket, tickets, targets, "customer_ticket", TICKET_EPOCHS, MNIST_BATCH_SIZE)
    priority, department = ticket.predict(tickets, verbose=0)
    print(f"predict(): priority {priority.shape}, department {department.shape}")
    subclassed.compile(optimizer="rmsprop", loss=TICKET_LOSSES, metrics=TICKET_METRICS, **run.compile_settings("dense"))
    subclass_inputs = dict(zip(("title", "text_body", "tags"), tickets))  # its call() reads a dict
    dataset = tf.data.Dataset.from_tensor_slices((subclass_inputs, targets)).batch(run.batch_size(MNIST_BATCH_SIZE))
    run.fit(subclassed, dataset, name="customer_ticket_subclassed", epochs=TICKET_EPOCHS, whole_model=False)

    # MNIST: 50,000 digits to train on, the first 10,000 to validate, the 10,000 test digits at the end.
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    images, test_images = flatten_digits(mnist.train_images), flatten_digits(mnist.test_images)
    n_val = QUICK_VALIDATION_DIGITS if run.quick else MNIST_VALIDATION_DIGITS
    train = (images[n_val:], mnist.train_labels[n_val:].astype("int64"))
    validation = (images[:n_val], mnist.train_labels[:n_val].astype("int64"))
    test = (test_images, mnist.test_labels.astype("int64"))

    # 7.4.2-7.4.3: the training loop written out: GradientTape, the optimizer, the metrics, one compiled step.
    run.clear_session()
    model = models.mnist_dropout_network()
    results = train_with_gradient_tape(run, model, train, validation, run.epochs(MNIST_EPOCHS),
                                       run.batch_size(MNIST_BATCH_SIZE))
    run.record("gradient_tape_loop.validation_accuracy", results["val_accuracy"][-1], note=mnist.book_note,
               label=f"GradientTape loop: validation accuracy after {len(results['val_accuracy'])} epochs")
    run.record("gradient_tape_loop.test_accuracy", evaluate_accuracy(model, test),
               label="GradientTape loop: test accuracy",
               note=mnist.book_note or "no figure in the book; a third party's TF 2 run: ~0.97")

    # 7.4.4: the same step as a train_step override, so that fit() runs it. Ours, not the book's listing: the book
    # tracks only the compiled loss and accuracy and fits without validation data; we add 7.3.1's RootMeanSquaredError
    # and its validation digits (a listing we do not run on its own), so its custom metric is seen once, per epoch.
    run.clear_session()
    model = models.mnist_dropout_network(model_class=MnistModelWithTrainStep)
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                  **run.compile_settings("dense"))
    history = run.fit(model, array_dataset(*train, run.batch_size(MNIST_BATCH_SIZE), shuffle=True, seed=run.seed),
                      name="train_step_override", epochs=MNIST_EPOCHS, validation_data=array_dataset(*validation, 1024),
                      whole_model=False)
    run.record("train_step_override.validation_accuracy", history["val_accuracy"][-1], note=mnist.book_note,
               label=f"train_step override: validation accuracy after {len(history['val_accuracy'])} epochs")
    run.record("train_step_override.validation_rmse", history["val_rmse"][-1], note=OURS_IN_THE_TRAIN_STEP,
               label="train_step override: the custom RootMeanSquaredError metric on the validation digits")
    run.record("train_step_override.test_accuracy", evaluate_accuracy(model, test),
               label="train_step override: test accuracy",
               note=mnist.book_note or "no figure in the book; a third party's TF 2 run: ~0.97")


def random_tickets(rng, n):
    """The book's random tickets: 0/1 words in the title and body, 0/1 tags; random priorities and departments."""
    title = rng.integers(0, 2, (n, models.TICKET_VOCABULARY_SIZE)).astype("float32")
    text_body = rng.integers(0, 2, (n, models.TICKET_VOCABULARY_SIZE)).astype("float32")
    tags = rng.integers(0, 2, (n, models.NUM_TAGS)).astype("float32")
    priority = rng.random((n, 1), dtype="float32")
    department = rng.integers(0, 2, (n, models.NUM_DEPARTMENTS)).astype("float32")
    return (title, text_body, tags), (priority, department)


def flatten_digits(images):
    """(N, 28, 28) uint8 -> (N, 784) float32 in [0, 1], as get_mnist_model() takes them."""
    return images.reshape((len(images), 28 * 28)).astype("float32") / 255


def evaluate_accuracy(model, data):
    """Accuracy of the softmax outputs on (images, labels), without the model's compiled metrics."""
    images, labels = data
    predictions = model.predict(images, batch_size=1024, verbose=0)
    return float(np.mean(predictions.argmax(axis=1) == labels))


@keras.saving.register_keras_serializable(package="dlwp")
class RootMeanSquaredError(keras.metrics.Metric):
    """The 2nd edition's custom metric: the root of the mean, over samples, of the squared error summed over the
    classes, between one-hot labels and the softmax output. Its state is two variables, reset each epoch."""

    def __init__(self, name="rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.mse_sum = self.add_variable(shape=(), initializer="zeros", name="mse_sum")
        self.total_samples = self.add_variable(shape=(), initializer="zeros", name="total_samples", dtype="int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), ops.shape(y_pred)[1])
        self.mse_sum.assign_add(ops.sum(ops.square(y_true - y_pred)))
        self.total_samples.assign_add(ops.shape(y_pred)[0])

    def result(self):
        return ops.sqrt(self.mse_sum / ops.cast(self.total_samples, "float32"))

    def reset_state(self):
        self.mse_sum.assign(0.0)
        self.total_samples.assign(0)


class MnistModelWithTrainStep(keras.Model):
    """get_mnist_model() whose training step is ours: what fit() does at each batch, written out.

    The loss is the one given to compile(); the metrics are ours: the mean loss,
    the accuracy and the custom RootMeanSquaredError. fit() resets them at the
    start of every epoch because the `metrics` property lists them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.rmse_metric = RootMeanSquaredError(name="rmse")

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            predictions = self(inputs, training=True)
            loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions)
            # Under mixed precision the optimizer scales the loss so that float16 gradients do not underflow;
            # otherwise this returns the loss as it is.
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self.update_our_metrics(loss, targets, predictions)

    def test_step(self, data):
        inputs, targets = data
        predictions = self(inputs, training=False)
        loss = self.compute_loss(x=inputs, y=targets, y_pred=predictions, training=False)
        return self.update_our_metrics(loss, targets, predictions)

    def update_our_metrics(self, loss, targets, predictions):
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(targets, predictions)
        self.rmse_metric.update_state(targets, predictions)
        return {metric.name: metric.result() for metric in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_metric, self.rmse_metric]


def train_with_gradient_tape(run, model, train, validation, epochs, batch_size):
    """The 2nd edition's loop (7.4.2), with its step compiled by tf.function (7.4.3).

    After each epoch the weights, the optimizer's state and the metrics so far
    are saved (atomically, committed by `state.json`); Ctrl-C keeps the finished
    epochs and `--resume` continues from them. Returns the metrics per epoch.
    """
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    optimizer = keras.optimizers.RMSprop()
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    loss_tracking = keras.metrics.Mean()
    # The book batches the training set without shuffling: every epoch sees the same batches in the same order.
    training_dataset = tf.data.Dataset.from_tensor_slices(train).batch(batch_size)
    validation_dataset = tf.data.Dataset.from_tensor_slices(validation).batch(batch_size)

    @tf.function
    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = loss_fn(targets, predictions)
        gradients = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(gradients, model.trainable_weights))
        accuracy.update_state(targets, predictions)
        loss_tracking.update_state(loss)

    @tf.function
    def test_step(inputs, targets):
        predictions = model(inputs, training=False)
        accuracy.update_state(targets, predictions)
        loss_tracking.update_state(loss_fn(targets, predictions))

    def measure(step, dataset):
        accuracy.reset_state()
        loss_tracking.reset_state()
        for inputs_batch, targets_batch in dataset:
            step(inputs_batch, targets_batch)
        return float(loss_tracking.result()), float(accuracy.result())

    state = GradientTapeLoopState(run, run.path("gradient_tape_loop"))
    history = state.restore(model, optimizer)
    start, start_epoch = time.time(), len(history["loss"])
    for epoch in range(start_epoch, epochs):
        try:
            loss, train_accuracy = measure(train_step, training_dataset)
        except KeyboardInterrupt:
            raise Interrupted(f"the GradientTape loop stopped in epoch {epoch + 1}; its {epoch} finished epochs are "
                              f"in {state.folder}; run the same command with --resume to continue") from None
        val_loss, val_accuracy = measure(test_step, validation_dataset)
        for key, value in (("loss", loss), ("accuracy", train_accuracy), ("val_loss", val_loss),
                           ("val_accuracy", val_accuracy)):
            history[key].append(value)
        state.save(epoch + 1, model, optimizer, history)
        print(f"Results at the end of epoch {epoch + 1}: loss {loss:.4f}, sparse_categorical_accuracy "
              f"{train_accuracy:.4f}; evaluation: val_loss {val_loss:.4f}, val_accuracy {val_accuracy:.4f} "
              f"({time.time() - start:.1f} s)", flush=True)
    facts = {"optimizer": type(optimizer).__name__, "learning_rate": float(optimizer.learning_rate),
             "loss": "sparse_categorical_crossentropy", "book_epochs": MNIST_EPOCHS, "epochs": epochs,
             "batch_size": batch_size, "epochs_done": len(history["loss"])}
    if epochs > start_epoch:
        facts["seconds_per_epoch"] = round((time.time() - start) / (epochs - start_epoch), 2)
    run.record_training("gradient_tape_loop", facts)
    return history


class GradientTapeLoopState:
    """A custom loop's progress on disk: epoch-N.weights.h5 and epoch-N.optimizer.npz, committed by state.json."""

    def __init__(self, run, folder):
        self.run, self.folder = run, folder
        self.record = folder / "state.json"

    def restore(self, model, optimizer):
        """The metrics of the epochs already trained (and their weights and optimizer state), or a fresh start."""
        empty = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        if not (self.run.resumed and self.record.exists()):
            return empty
        saved = read_json(self.record, "epoch", "weights", "optimizer", "history")
        with reading(self.record):
            history = saved["history"]
            if sorted(history) != sorted(empty) or any(len(values) != saved["epoch"] for values in history.values()):
                raise ValueError(f"its history is not {saved['epoch']} epochs of {', '.join(empty)}")
        with reading(self.folder / saved["weights"]):
            model.load_weights(self.folder / saved["weights"])
        optimizer.build(model.trainable_variables)
        with reading(self.folder / saved["optimizer"]), np.load(self.folder / saved["optimizer"]) as variables:
            optimizer.load_own_variables({key: variables[key] for key in variables.files})
        print(f"Resuming the GradientTape loop after epoch {saved['epoch']} ({self.folder})")
        return saved["history"]

    def save(self, epoch, model, optimizer, history):
        weights, optimizer_file = f"epoch-{epoch:04d}.weights.h5", f"epoch-{epoch:04d}.optimizer.npz"
        write_atomically(self.folder / weights, model.save_weights)
        store = {}
        optimizer.save_own_variables(store)
        save_npz(self.folder / optimizer_file, **store)
        save_json(self.record, {"epoch": epoch, "weights": weights, "optimizer": optimizer_file, "history": history})
        for old in [*self.folder.glob("epoch-*.weights.h5"), *self.folder.glob("epoch-*.optimizer.npz")]:
            if old.name not in (weights, optimizer_file):
                old.unlink()
        self.run.mark_progress()
