"""7.1 Going beyond the Sequential model: the Keras functional API.

1st edition: each of the chapter's listings is built, checked against its
parameter counts and trained briefly on random data, as the book does: a
Sequential model and its functional twin, a two-input question-answering
model, a three-output model with loss weights, an Inception module, residual
connections, a shared LSTM and a model used as a layer. The book's listings
7.1 and 7.3 swap Embedding's two arguments; we build what the book meant and
print the printed version's count beside it.

2nd edition (chapter 7, "Working with Keras"): the same small model three
ways, the customer-ticket model (functional, extended with a third output,
then subclassed), and on MNIST a training loop written with GradientTape,
then the same loop as a train_step override with the book's custom metric.
"""

import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from chapters.ch7_best_practices import CHAPTER
from chapters.errors import Interrupted
from chapters.storage import read_json, reading, save_json, save_npz, write_atomically
from datasets.arrays import array_dataset, without_autotuning
from datasets.mnist import QUICK_SUBSET, load_mnist
from models import functional_api as models

QUICK_RANDOM_SAMPLES = 64  # --quick: random samples per model

# 7.1.1: the twins are trained on 1,000 random samples of 64 features and 10 random targets, 10 epochs of 128.
TWIN_SAMPLES, TWIN_EPOCHS, TWIN_BATCH_SIZE = 1000, 10, 128
BOOK_GRAPH_DISCONNECTED = ('RuntimeError: Graph disconnected: cannot obtain value for tensor Tensor("input_1:0", '
                           'shape=(?, 64), dtype=float32) at layer "input_1". The following previous layers were '
                           'accessed without issue: []')
# 7.1.2: 1,000 random texts and questions of 100 word indices, a random answer each; 10 epochs of 128, once
# with the inputs as a list, once as a dict keyed by the inputs' names.
QUESTION_ANSWERING_SAMPLES, QUESTION_ANSWERING_LENGTH = 1000, 100
QUESTION_ANSWERING_EPOCHS, QUESTION_ANSWERING_BATCH_SIZE = 10, 128
# 7.1.3: the book's loss weights balance the losses' scales: the age's MSE, the income group's crossentropy,
# the gender's binary crossentropy. 10 epochs of 64. The book gives no data: we make 256 random posts of 300
# words (a post needs at least 269 for the last convolution).
SOCIAL_MEDIA_LOSSES = {"age": "mse", "income": "categorical_crossentropy", "gender": "binary_crossentropy"}
SOCIAL_MEDIA_LOSS_WEIGHTS = {"age": 0.25, "income": 1.0, "gender": 10.0}
SOCIAL_MEDIA_EPOCHS, SOCIAL_MEDIA_BATCH_SIZE = 10, 64
SOCIAL_MEDIA_SAMPLES, SOCIAL_MEDIA_POST_LENGTH = 256, 300
# 7.1.4-7.1.6: the book builds these and does not train them; we train each for 2 epochs of 32 on random
# inputs and labels, enough to see that gradients flow through every branch.
GRAPH_SAMPLES, GRAPH_EPOCHS, GRAPH_BATCH_SIZE = 256, 2, 32
SIAMESE_SENTENCE_LENGTH = 20
DUAL_CAMERA_PAIRS, DUAL_CAMERA_BATCH_SIZE, DUAL_CAMERA_EPOCHS = 8, 4, 1  # Xception at 250x250 is slow on a CPU
QUICK_CAMERA_IMAGE_SIZE = 71  # --quick: Xception's smallest input; the parameter counts are the same

# 2nd edition 7.2.2: 1,280 random tickets, one epoch.
TICKET_SAMPLES, TICKET_EPOCHS = 1280, 1
TICKET_LOSSES = ["mean_squared_error", "categorical_crossentropy"]
TICKET_METRICS = [["mean_absolute_error"], ["accuracy"]]
# 2nd edition 7.3-7.4: MNIST, the first 10,000 training digits for validation, 3 epochs of 32.
MNIST_VALIDATION_DIGITS, MNIST_EPOCHS, MNIST_BATCH_SIZE = 10_000, 3, 32
QUICK_VALIDATION_DIGITS = 500
OURS_IN_THE_TRAIN_STEP = ("ours: the book's 7.4.4 train_step has no custom metric and no validation data; 7.3.1's "
                          "RootMeanSquaredError and validation digits are added to it")


@CHAPTER.section("7.1", "Going beyond the Sequential model: the Keras functional API",
                 "multi-input (1,000,052), multi-output (14,146,316), layer graphs, shared layers, models as "
                 "layers; 2nd ed.: the ticket model (1,286,789), subclassing, GradientTape loop, train_step")
def functional_api(run):
    EDITIONS[run.edition](run)


# ---------------------------------------------------------------------------
# 1st edition
# ---------------------------------------------------------------------------

def functional_api_1st_edition(run):
    rng = np.random.default_rng(run.seed)  # the book's random data, reproducible
    twin_models(run, rng)
    question_answering(run, rng)
    three_outputs(run, rng)
    layer_graphs(run, rng)
    shared_lstm(run, rng)
    model_as_layer(run, rng)


def twin_models(run, rng):
    """7.1.1: a Sequential model and the functional model with the same layers: the same 3,466 parameters."""
    run.clear_session()
    run.check_against_book(models.twin_sequential(), models.TWIN_SEQUENTIAL_BOOK_PARAMS, "DLwP 1e 7.1.1, Sequential")
    model = models.twin_functional()
    run.check_against_book(model, models.TWIN_FUNCTIONAL_BOOK_PARAMS, "DLwP 1e 7.1.1, functional")
    show_graph_disconnected(run, model)
    if run.summary_only:
        return
    n = QUICK_RANDOM_SAMPLES if run.quick else TWIN_SAMPLES
    x_train = rng.random((n, models.TWIN_INPUT_FEATURES), dtype="float32")
    y_train = rng.random((n, models.TWIN_CLASSES), dtype="float32")
    # The book's random targets, made to sum to 1 as crossentropy expects: with the raw ones Keras 3's loss rises
    # as it trains, because TensorFlow's fused softmax-crossentropy gradient assumes targets that sum to 1.
    y_train /= y_train.sum(axis=1, keepdims=True)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", **run.compile_settings("dense"))
    train_on_random_data(run, model, x_train, y_train, "twin_functional", TWIN_EPOCHS, TWIN_BATCH_SIZE)
    score = model.evaluate(x_train, y_train, verbose=0)
    run.record("twin_functional.evaluate_score", float(score), label="model.evaluate(x_train, y_train)",
               note="random data: a loss, not an accuracy")


def show_graph_disconnected(run, model):
    """A model from an input that the output does not depend on: Keras refuses it."""
    unrelated_input = keras.Input(shape=(32,))
    try:
        keras.Model(unrelated_input, model.outputs[0])
        ours = "(no error)"
    except (ValueError, RuntimeError) as e:
        ours = f"{type(e).__name__}: {e}"
    print(f"\nModel(unrelated_input, output_tensor) fails:\n  Keras 3: {ours}\n  the book (Keras 2): "
          f"{BOOK_GRAPH_DISCONNECTED}")
    run.record("graph_disconnected_error", ours, book=BOOK_GRAPH_DISCONNECTED, label="the graph-disconnected error")


def question_answering(run, rng):
    """7.1.2 (listing 7.1): two inputs, a text and a question, one answer among 500."""
    run.clear_session()
    as_printed = models.question_answering_model_as_printed()
    run.check_against_book(as_printed, models.QUESTION_ANSWERING_AS_PRINTED_BOOK_PARAMS,
                           "DLwP 1e listing 7.1 as printed: Embedding(64, 10000), Embedding(32, 10000)")
    show_failure_on_large_word_indices(run, as_printed)
    del as_printed
    model = models.question_answering_model()
    run.check_against_book(model, models.QUESTION_ANSWERING_BOOK_PARAMS,
                           "DLwP 1e listing 7.1 as meant: Embedding(10000, 64), Embedding(10000, 32)")
    as_printed_total = sum(models.QUESTION_ANSWERING_AS_PRINTED_BOOK_PARAMS)
    run.record("question_answering.params", model.count_params(), book=sum(models.QUESTION_ANSWERING_BOOK_PARAMS),
               note=f"as printed (Embedding's arguments swapped): {as_printed_total:,}",
               label="question-answering model, parameters")
    if run.summary_only:
        return
    n = QUICK_RANDOM_SAMPLES if run.quick else QUESTION_ANSWERING_SAMPLES
    text = rng.integers(1, models.TEXT_VOCABULARY_SIZE, (n, QUESTION_ANSWERING_LENGTH), dtype="int32")
    question = rng.integers(1, models.QUESTION_VOCABULARY_SIZE, (n, QUESTION_ANSWERING_LENGTH), dtype="int32")
    answers = keras.utils.to_categorical(rng.integers(0, models.ANSWER_VOCABULARY_SIZE, n),
                                         models.ANSWER_VOCABULARY_SIZE)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("dense"))
    # Inputs as a list, in the order of model.inputs; then as a dict keyed by the Input names.
    train_on_random_data(run, model, (text, question), answers, "question_answering_list_inputs",
                         QUESTION_ANSWERING_EPOCHS, QUESTION_ANSWERING_BATCH_SIZE)
    train_on_random_data(run, model, {"text": text, "question": question}, answers, "question_answering_dict_inputs",
                         QUESTION_ANSWERING_EPOCHS, QUESTION_ANSWERING_BATCH_SIZE)


def show_failure_on_large_word_indices(run, as_printed):
    """The printed listing's Embedding(64, ...) knows 64 words: a word index of 64 or more is an error."""
    try:
        as_printed.predict([np.full((1, 5), 100, "int32"), np.full((1, 5), 1, "int32")], verbose=0)
        outcome = "no error"
    except Exception as e:  # TensorFlow's InvalidArgumentError on a CPU: "indices[0,0] = 100 is not in [0, 64)"
        lines = str(e).strip().splitlines()
        reason = next((line.strip() for line in lines if "is not in" in line), lines[0] if lines else "")
        outcome = f"{type(e).__name__}: {reason[:160]}"
    print(f"The printed listing on a text of word index 100: {outcome}")
    run.record("question_answering_as_printed.word_index_100", outcome,
               label="listing 7.1 as printed, on word index 100")


def three_outputs(run, rng):
    """7.1.3 (listing 7.3): one post in, three predictions out, each with its loss and loss weight."""
    run.clear_session()
    as_printed = models.social_media_model_as_printed()
    run.check_against_book(as_printed, models.SOCIAL_MEDIA_AS_PRINTED_BOOK_PARAMS,
                           "DLwP 1e listing 7.3 as printed: Embedding(256, 50000)")
    del as_printed
    model = models.social_media_model()
    run.check_against_book(model, models.SOCIAL_MEDIA_BOOK_PARAMS,
                           "DLwP 1e listing 7.3 as meant: Embedding(50000, 256)")
    as_printed_total = sum(models.SOCIAL_MEDIA_AS_PRINTED_BOOK_PARAMS)
    run.record("social_media.params", model.count_params(), book=sum(models.SOCIAL_MEDIA_BOOK_PARAMS),
               note=f"as printed (Embedding's arguments swapped): {as_printed_total:,}",
               label="three-output model, parameters")
    if run.summary_only:
        return
    n = QUICK_RANDOM_SAMPLES if run.quick else SOCIAL_MEDIA_SAMPLES
    posts = rng.integers(1, models.POSTS_VOCABULARY_SIZE, (n, SOCIAL_MEDIA_POST_LENGTH), dtype="int32")
    targets = {"age": rng.normal(size=(n, 1)).astype("float32"),  # ages standardised: an MSE of about 1
               "income": keras.utils.to_categorical(rng.integers(0, models.NUM_INCOME_GROUPS, n),
                                                    models.NUM_INCOME_GROUPS),
               "gender": rng.integers(0, 2, (n, 1)).astype("float32")}
    # The book's dict form of compile(): losses and loss weights named after the output layers.
    model.compile(optimizer="rmsprop", loss=SOCIAL_MEDIA_LOSSES, loss_weights=SOCIAL_MEDIA_LOSS_WEIGHTS,
                  **run.compile_settings("conv"))
    run.record("social_media.loss_weights", model.get_compile_config()["loss_weights"],
               label="loss weights, as compiled")
    history = train_on_random_data(run, model, posts, targets, "social_media", SOCIAL_MEDIA_EPOCHS,
                                   SOCIAL_MEDIA_BATCH_SIZE)
    # The total loss is the weighted sum of the three.
    last = {name: history[f"{name}_loss"][-1] for name in models.SOCIAL_MEDIA_OUTPUTS}
    weighted = sum(SOCIAL_MEDIA_LOSS_WEIGHTS[name] * loss for name, loss in last.items())
    run.record("social_media.output_losses", {name: round(loss, 4) for name, loss in last.items()},
               label="last epoch's loss per output")
    run.record("social_media.weighted_sum_of_losses", round(weighted, 4),
               note=f"the total loss Keras reported: {history['loss'][-1]:.4f} (averaged over the epoch's batches)",
               label="0.25 * age + 1 * income + 10 * gender")


def layer_graphs(run, rng):
    """7.1.4: directed acyclic graphs of layers: an Inception module and residual connections."""
    for name, build, book_params, source in (
            ("inception_module", models.inception_module_model, models.INCEPTION_MODULE_BOOK_PARAMS,
             "DLwP 1e 7.1.4, Inception module on a 16x16x128 feature map (counted from the listing)"),
            ("residual_connections", models.residual_model, models.RESIDUAL_BOOK_PARAMS,
             "DLwP 1e 7.1.4, identity and projection residual connections (counted from the listing)")):
        run.clear_session()
        model = build()
        run.check_against_book(model, book_params, source)
        if run.summary_only:
            continue
        n = QUICK_RANDOM_SAMPLES if run.quick else GRAPH_SAMPLES
        feature_maps = rng.random((n, *models.FEATURE_MAP_SHAPE), dtype="float32")
        labels = rng.integers(0, models.GRAPH_CLASSES, n)
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", **run.compile_settings("conv"))
        train_on_random_data(run, model, feature_maps, labels, name, GRAPH_EPOCHS, GRAPH_BATCH_SIZE)


def shared_lstm(run, rng):
    """7.1.5: one LSTM layer called on two sentences: one set of weights, learned from both."""
    run.clear_session()
    model = models.siamese_lstm_model()
    run.check_against_book(model, models.SIAMESE_LSTM_BOOK_PARAMS, "DLwP 1e 7.1.5, shared LSTM (counted)")
    if run.summary_only:
        return
    n = QUICK_RANDOM_SAMPLES if run.quick else GRAPH_SAMPLES
    shape = (n, SIAMESE_SENTENCE_LENGTH, models.SENTENCE_FEATURES)
    left, right = rng.random(shape, dtype="float32"), rng.random(shape, dtype="float32")
    same_meaning = rng.integers(0, 2, (n, 1)).astype("float32")
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("dense"))
    train_on_random_data(run, model, (left, right), same_meaning, "siamese_lstm", GRAPH_EPOCHS, GRAPH_BATCH_SIZE)


def model_as_layer(run, rng):
    """7.1.6: a whole model (Xception without its classifier) called like a layer on two camera images."""
    run.clear_session()
    image_size = QUICK_CAMERA_IMAGE_SIZE if run.quick else models.CAMERA_IMAGE_SIZE
    model = models.dual_camera_model(image_size)
    run.check_against_book(model, models.DUAL_CAMERA_BOOK_PARAMS,
                           f"DLwP 1e 7.1.6, one Xception base (untrained) for two {image_size}x{image_size} cameras")
    if run.summary_only:
        return
    n = 2 if run.quick else DUAL_CAMERA_PAIRS
    left = rng.random((n, image_size, image_size, 3), dtype="float32")
    right = rng.random((n, image_size, image_size, 3), dtype="float32")
    xception = model.get_layer("xception")
    print(f"The Xception base, called like a layer on {n} left-camera images: features of shape "
          f"{tuple(xception(left).shape)}; the model's output: {tuple(model([left, right]).shape)}")
    if run.quick:  # tracing Xception's training step into a graph alone takes minutes on a CPU
        print("--quick: the dual-camera model is called, not trained")
        return
    same_object = rng.integers(0, 2, (n, 1)).astype("float32")
    # Two training steps: run eagerly, they take less time than tracing Xception's step into a graph.
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", run_eagerly=True)
    train_on_random_data(run, model, (left, right), same_object, "dual_camera", DUAL_CAMERA_EPOCHS,
                         DUAL_CAMERA_BATCH_SIZE)


def train_on_random_data(run, model, inputs, targets, name, epochs, batch_size):
    """run.fit on random arrays (any nesting of inputs and targets), shuffled every epoch; returns the history."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    dataset = dataset.shuffle(len(tf.nest.flatten(targets)[0]), seed=run.seed, reshuffle_each_iteration=True)
    history = run.fit(model, without_autotuning(dataset.batch(run.batch_size(batch_size)).prefetch(2)), name=name,
                      epochs=epochs)
    run.record(f"{name}.loss_first_and_last_epoch", [round(history["loss"][0], 4), round(history["loss"][-1], 4)],
               label=f"{name}: loss after the first and the last epoch", note="random data")
    return history


# ---------------------------------------------------------------------------
# 2nd edition: Working with Keras
# ---------------------------------------------------------------------------

def working_with_keras_2nd_edition(run):
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


EDITIONS = {1: functional_api_1st_edition, 2: working_with_keras_2nd_edition}
