"""6.2 Understanding recurrent neural networks: a recurrent layer in NumPy, SimpleRNN and LSTM.

Both editions first write a recurrent layer as a NumPy loop (here checked
against Keras's SimpleRNN given the same weights). 1st edition: the summaries
of SimpleRNN models, then SimpleRNN and LSTM classifiers on IMDB reviews cut to
500 words (~0.85 and ~0.89 validation accuracy). 2nd edition (its 11.3.3):
bidirectional LSTMs on the raw reviews vectorised to 600 word indices, first as
one-hot vectors, then through a learned Embedding, without and with masking,
then through GloVe's pretrained vectors, frozen. Without glove.6B.100d.txt the
GloVe model is only checked, and one line says where to put the file.
"""

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch6_text_and_sequences import (
    CHAPTER,
    best_weights,
    chosen,
    compile_settings,
    quick_note,
    record_validation,
)
from chapters.figures import plot_side_by_side, save_figure
from datasets import DataNotFoundError, aclimdb, glove
from datasets.arrays import array_dataset
from datasets.imdb import load_padded_imdb
from models.text_networks import (
    EMBEDDING_BIDIRECTIONAL_LSTM_BOOK_PARAMS,
    GLOVE_BIDIRECTIONAL_LSTM_BOOK_PARAMS,
    IMDB_LSTM_BOOK_PARAMS,
    IMDB_SIMPLE_RNN_BOOK_PARAMS,
    ONE_HOT_BIDIRECTIONAL_LSTM_BOOK_PARAMS,
    SIMPLE_RNN_SUMMARY_BOOK_PARAMS,
    STACKED_SIMPLE_RNN_BOOK_PARAMS,
    embedding_bidirectional_lstm,
    glove_bidirectional_lstm,
    imdb_lstm,
    imdb_simple_rnn,
    one_hot_bidirectional_lstm,
    simple_rnn_summary,
    stacked_simple_rnn_summary,
)

# The NumPy recurrent layer: 100 timesteps of 32 input features, 64 output features.
TIMESTEPS, INPUT_FEATURES, OUTPUT_FEATURES = 100, 32, 64

# The book's summaries (models it prints but does not train).
SUMMARIES = {
    "simple_rnn_last_output": (lambda: simple_rnn_summary(), SIMPLE_RNN_SUMMARY_BOOK_PARAMS),
    "simple_rnn_return_sequences": (lambda: simple_rnn_summary(return_sequences=True), SIMPLE_RNN_SUMMARY_BOOK_PARAMS),
    "stacked_simple_rnn": (stacked_simple_rnn_summary, STACKED_SIMPLE_RNN_BOOK_PARAMS),
}

# The book's recipes. 1st edition: the 10,000 most frequent words, reviews cut to 500 words, rmsprop, 10 epochs of
# 128. 2nd edition: 20,000 words, reviews as their first 600 word indices (padded with zeros), rmsprop, 10 epochs of
# 32; the GloVe model embeds them with GloVe's 100-dimensional vectors.
IMDB = dict(max_features=10_000, maxlen=500, epochs=10, batch_size=128)
SEQUENCES = dict(max_tokens=20_000, max_length=600, glove_dimension=100, epochs=10, batch_size=aclimdb.BATCH_SIZE)
MASK_DEMO_INPUTS = [[4, 3, 2, 1, 0, 0, 0], [5, 4, 3, 2, 1, 0, 0], [2, 1, 0, 0, 0, 0, 0]]

# The models: name -> (what it is, its builder, the book's count per layer).
MODELS_1ST_EDITION = {
    "simple_rnn": ("Embedding(10000, 32) -> SimpleRNN(32) -> Dense(1)", imdb_simple_rnn, IMDB_SIMPLE_RNN_BOOK_PARAMS),
    "lstm": ("Embedding(10000, 32) -> LSTM(32) -> Dense(1)", imdb_lstm, IMDB_LSTM_BOOK_PARAMS),
}
MODELS_2ND_EDITION = {
    "one_hot_bidirectional_lstm": ("one-hot vectors of 20,000 -> Bidirectional(LSTM(32))",
                                   lambda: one_hot_bidirectional_lstm(SEQUENCES["max_tokens"]),
                                   ONE_HOT_BIDIRECTIONAL_LSTM_BOOK_PARAMS),
    "embedding_bidirectional_lstm": ("Embedding(20000, 256) -> Bidirectional(LSTM(32))",
                                     lambda: embedding_bidirectional_lstm(SEQUENCES["max_tokens"]),
                                     EMBEDDING_BIDIRECTIONAL_LSTM_BOOK_PARAMS),
    "embedding_bidirectional_lstm_masked": ("the same with mask_zero=True",
                                            lambda: embedding_bidirectional_lstm(SEQUENCES["max_tokens"],
                                                                                 mask_zero=True),
                                            EMBEDDING_BIDIRECTIONAL_LSTM_BOOK_PARAMS),
    # Its builder takes the GloVe matrix (glove_matrix below).
    "glove_bidirectional_lstm": ("GloVe's vectors, frozen, masked -> Bidirectional(LSTM(32))",
                                 glove_bidirectional_lstm, GLOVE_BIDIRECTIONAL_LSTM_BOOK_PARAMS),
}
MODELS = {1: tuple(MODELS_1ST_EDITION), 2: tuple(MODELS_2ND_EDITION)}

# The book's numbers beside ours.
BOOK = {
    "simple_rnn": {"best_validation_accuracy": "0.8460 (epoch 4); 'only up to 85%'",
                   "final_validation_accuracy": 0.8054},
    "lstm": {"best_validation_accuracy": "0.8928 (epoch 8)", "final_validation_accuracy": 0.8758},
    "one_hot_bidirectional_lstm": {"test_accuracy": 0.87},
    "embedding_bidirectional_lstm": {"test_accuracy": 0.87},
    "embedding_bidirectional_lstm_masked": {"test_accuracy": 0.88},
    # The book prints the parameters, no test accuracy: pretrained embeddings "aren't very helpful" on this task.
    "glove_bidirectional_lstm": {"trainable_params": 34_113, "non_trainable_params": 2_000_000,
                                 "test_accuracy": None},
}
GLOVE_NOTE = "the book gives no figure: pretrained embeddings 'aren't very helpful' on this task"


@CHAPTER.section("6.2", "Understanding recurrent neural networks",
                 "a NumPy RNN equal to SimpleRNN; SimpleRNN (322,113; ~0.85) and LSTM (328,353; ~0.89) on IMDB; "
                 "2nd ed.: bidirectional LSTMs on one-hot tokens, embeddings (masked or not), GloVe (~0.87-0.88)",
                 distributable=True)
def recurrent_networks(run):
    {1: recurrent_networks_1st_edition, 2: sequence_models_2nd_edition}[run.edition](run)


def recurrent_networks_1st_edition(run):
    names = chosen(run, MODELS[1])

    # 6.2.1 A recurrent layer is a loop over timesteps that carries a state: the book's pseudo-code in NumPy.
    if not run.summary_only:
        compare_numpy_rnn_with_simple_rnn(run)

    # The book's summaries: the last output or every step's; four SimpleRNNs stacked.
    for name, (build, book_params) in SUMMARIES.items():
        run.clear_session()
        run.check_against_book(build(), book_params, f"DLwP 1e 6.2, {name.replace('_', ' ')}")

    # The data: reviews cut to (or padded to) 500 words; the last 20% of the training reviews validate.
    imdb = None if run.summary_only else load_padded_imdb(IMDB["maxlen"], IMDB["max_features"], run.data_dir,
                                                          quick=run.quick)
    histories = {}
    for name in names:
        # The model: SimpleRNN (6.2.1), then LSTM (6.2.3), each on Embedding(10000, 32) -> ... -> Dense(1, sigmoid).
        title, build, book_params = MODELS_1ST_EDITION[name]
        run.clear_session()
        model = build(IMDB["max_features"])
        run.check_against_book(model, book_params, f"DLwP 1e 6.2, {title}")
        if imdb is None:
            continue
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **compile_settings(run, "recurrent"))
        train = array_dataset(imdb.x_train, imdb.y_train, run.batch_size(IMDB["batch_size"]), shuffle=True,
                              seed=run.seed)
        history = histories[name] = run.fit(model, train, name=name, epochs=IMDB["epochs"],
                                            validation_data=array_dataset(imdb.x_val, imdb.y_val, 512))
        note = f"{imdb.note}, {len(history['loss'])} epochs" if imdb.note else ""
        record_validation(run, name, history["val_accuracy"], "accuracy", max, BOOK[name], note)
        model, epoch = best_weights(run, name, model, history)
        run.record(f"{name}.test_accuracy_best_checkpoint",
                   float(model.evaluate(array_dataset(imdb.x_test, imdb.y_test, 512), verbose=0)[1]), note=note,
                   label=f"{name}: test accuracy (best checkpoint, epoch {epoch})")

    # The figure: both models' curves side by side.
    if len(histories) > 1:
        path = plot_side_by_side(histories, {"simple_rnn": "SimpleRNN(32)", "lstm": "LSTM(32)"},
                                 run.path("curves_side_by_side.png"))
        print(f"Saved the curves side by side to {path}")


def sequence_models_2nd_edition(run):
    names = chosen(run, MODELS[2])

    # The 2nd edition writes the same NumPy loop (its 10.4.1); then 11.3.3's mask demo.
    if not run.summary_only:
        compare_numpy_rnn_with_simple_rnn(run)
        mask = keras.layers.Embedding(input_dim=10, output_dim=256, mask_zero=True).compute_mask(
            np.array(MASK_DEMO_INPUTS))
        run.record("mask_demo", keras.ops.convert_to_numpy(mask).tolist(), label="Embedding(mask_zero=True) mask")

    # The data: the raw reviews as their first 600 word indices of 20,000 (TextVectorization, learned on the
    # training reviews), in batches of 32.
    if not run.summary_only:
        train, val, test, vectorizer = aclimdb.int_sequence_datasets(
            SEQUENCES["max_tokens"], SEQUENCES["max_length"], run.data_dir, run.batch_size(SEQUENCES["batch_size"]),
            run.seed, quick=run.quick)
    for name in names:
        # The model: one-hot tokens, a learned embedding (without, then with masking), then GloVe's vectors of our
        # 20,000 tokens (zeros for the tokens GloVe does not know), frozen, masking the padding.
        title, build, book_params = MODELS_2ND_EDITION[name]
        matrix = missing = None
        if name == "glove_bidirectional_lstm":
            try:
                matrix = glove_matrix(run, None if run.summary_only else vectorizer.get_vocabulary())
            except DataNotFoundError as e:
                missing, matrix = e, glove_matrix(run, None)
        run.clear_session()
        model = build() if matrix is None else build(matrix)
        run.check_against_book(model, book_params, f"DLwP 2e 11.3.3, {title}")
        if matrix is not None:  # the embedding is frozen: only the LSTMs and the classifier train
            run.record(f"{name}.trainable_params", sum(int(np.prod(w.shape)) for w in model.trainable_weights),
                       book=BOOK[name]["trainable_params"])
            run.record(f"{name}.non_trainable_params",
                       sum(int(np.prod(w.shape)) for w in model.non_trainable_weights),
                       book=BOOK[name]["non_trainable_params"])
        if missing is not None:
            run.record(f"{name}.missing", str(missing), label=f"{name} is not trained")
        if run.summary_only or missing is not None:
            continue
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **compile_settings(run, "recurrent"))
        history = run.fit(model, train, name=name, epochs=SEQUENCES["epochs"], validation_data=val)
        note = quick_note(run, f"a few batches of reviews, {len(history['loss'])} epochs")
        record_validation(run, name, history["val_accuracy"], "accuracy", max, BOOK[name], note)
        # The book evaluates the checkpoint of the lowest validation loss.
        model, epoch = best_weights(run, name, model, history)
        run.record(f"{name}.test_accuracy_best_checkpoint", float(model.evaluate(test, verbose=0)[1]),
                   book=BOOK[name]["test_accuracy"],
                   note=", ".join(filter(None, [note, GLOVE_NOTE if name == "glove_bidirectional_lstm" else ""])),
                   label=f"{name}: test accuracy (best checkpoint, epoch {epoch})")


def glove_matrix(run, vocabulary):
    """11.3.3's embedding_matrix: row i holds GloVe's vector of token i, zeros for a token GloVe does not know
    (and for the padding and [UNK]). Zeros everywhere without a vocabulary (--summary-only: only the check)."""
    rows, dimension = SEQUENCES["max_tokens"], SEQUENCES["glove_dimension"]
    if vocabulary is None:
        return np.zeros((rows, dimension), "float32")
    vectors = glove.load_glove(run.data_dir, dimension, words=set(vocabulary))
    run.record("glove_bidirectional_lstm.words_found", len(vectors), note=f"of our {len(vocabulary):,} tokens; "
               "glove.6B has 400,000", label="GloVe vectors found for our tokens")
    return glove.embedding_matrix(vocabulary, vectors, dimension, rows=rows)


# ---------------------------------------------------------------------------
# The recurrent layer in NumPy
# ---------------------------------------------------------------------------

def numpy_rnn(inputs, W, U, b):
    """The book's pseudo-code: output_t = tanh(W . input_t + U . state_t + b), and the output is the next state."""
    state_t = np.zeros((W.shape[0],))
    successive_outputs = []
    for input_t in inputs:
        output_t = np.tanh(np.dot(W, input_t) + np.dot(U, state_t) + b)
        successive_outputs.append(output_t)
        state_t = output_t
    return np.stack(successive_outputs, axis=0)


def compare_numpy_rnn_with_simple_rnn(run):
    """Run the NumPy loop and SimpleRNN(64, return_sequences=True) with the same weights; record their difference.

    The book draws inputs and weights from [0, 1): every pre-activation is then
    large and positive, every output tanh(...) = 1.0, and any two layers would
    agree. We draw the weights around 0 (scaled as Keras initialises them), so
    the outputs spread over (-1, 1) and the comparison means something.
    """
    rng = np.random.default_rng(run.seed)
    inputs = rng.random((TIMESTEPS, INPUT_FEATURES))
    W = rng.normal(0, 1 / np.sqrt(INPUT_FEATURES), (OUTPUT_FEATURES, INPUT_FEATURES))
    U = rng.normal(0, 1 / np.sqrt(OUTPUT_FEATURES), (OUTPUT_FEATURES, OUTPUT_FEATURES))
    b = rng.normal(0, 0.1, (OUTPUT_FEATURES,))
    ours = numpy_rnn(inputs, W, U, b)

    layer = keras.layers.SimpleRNN(OUTPUT_FEATURES, return_sequences=True)
    layer.build((None, TIMESTEPS, INPUT_FEATURES))
    layer.set_weights([W.T, U.T, b])  # Keras multiplies from the right: inputs @ kernel
    keras_outputs = keras.ops.convert_to_numpy(layer(inputs[None].astype("float32")))[0]
    difference = float(np.max(np.abs(ours - keras_outputs)))
    print(f"NumPy RNN output: {ours.shape} (timesteps, output_features); outputs from {ours.min():.3f} to "
          f"{ours.max():.3f}")
    run.record("numpy_rnn.output_shape", list(ours.shape), book=[TIMESTEPS, OUTPUT_FEATURES])
    run.record("numpy_rnn.max_difference_from_simple_rnn", difference,
               label="largest |NumPy RNN - SimpleRNN| over every output (float32 against float64)")
    plot_numpy_rnn(run, ours, keras_outputs)


def plot_numpy_rnn(run, ours, keras_outputs, units=4):
    fig, ax = plt.subplots(figsize=(8, 4))
    for unit in range(units):
        line, = ax.plot(ours[:, unit], label=f"NumPy, unit {unit}")
        ax.plot(keras_outputs[:, unit], "o", markersize=2, color=line.get_color(), label=f"SimpleRNN, unit {unit}")
    ax.set_xlabel("Timestep")
    ax.set_ylabel("Output")
    ax.set_title("A recurrent layer in NumPy and Keras's SimpleRNN, the same weights")
    ax.legend(ncol=2, fontsize=7)
    print(f"Saved {save_figure(fig, run.path('numpy_rnn_vs_simple_rnn.png'))}")
