"""7.1 Going beyond the Sequential model: the Keras functional API.

1st edition: each of the chapter's listings is built, checked against its
parameter counts and trained briefly on random data, as the book does: a
Sequential model and its functional twin, a two-input question-answering
model, a three-output model with loss weights, an Inception module, residual
connections, a shared LSTM and a model used as a layer. The book's listings
7.1 and 7.3 swap Embedding's two arguments; we build what the book meant and
print the printed version's count beside it.

2nd edition (chapter 7, "Working with Keras"): working_with_keras.py.
"""

import keras
import numpy as np

from chapters.ch7_best_practices import CHAPTER
from chapters.ch7_best_practices.random_data import QUICK_RANDOM_SAMPLES, train_on_random_data
from chapters.ch7_best_practices.working_with_keras import working_with_keras_2nd_edition
from models import functional_api as models

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


EDITIONS = {1: functional_api_1st_edition, 2: working_with_keras_2nd_edition}
