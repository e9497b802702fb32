"""6.4 Sequence processing with convnets; for the 2nd edition, the Transformer encoder.

1st edition: a 1D convnet on IMDB reviews cut to 500 words (~0.84, fast to
train), the same kind of convnet on the Jena temperatures (it cannot beat the
baseline: it does not see where in time a pattern is), then convolutions that
shorten longer, denser sequences for a GRU to read.
2nd edition (its 11.4): the book replaces convnets on text by the Transformer
encoder, on the raw reviews as 600 word indices, first without any notion of
word order, then with a positional embedding.
"""

import keras

from chapters.ch6_text_and_sequences import CHAPTER
from chapters.ch6_text_and_sequences.advanced_recurrent import (
    BATCH_SIZE,
    DELAY,
    GRU_RESET_AFTER,
    LOOKBACK,
    STEP,
    STEPS_PER_EPOCH,
    TRAIN_ROWS,
    VALIDATION_ROWS,
)
from chapters.ch6_text_and_sequences.recipes import (
    Training,
    check_models,
    chosen,
    imdb_arrays,
    int_sequence_datasets,
    jena_generators,
    load_jena_1st_edition,
    quick_note,
    train_classifier,
    train_forecaster,
)
from datasets import DataNotFoundError
from datasets.arrays import array_dataset
from models.text_networks import (
    IMDB_CONVNET_BOOK_PARAMS,
    POSITIONAL_TRANSFORMER_BOOK_PARAMS,
    TRANSFORMER_BOOK_PARAMS,
    imdb_convnet,
    positional_transformer_classifier,
    transformer_classifier,
)
from models.timeseries_networks import (
    JENA_CONV_GRU_1ST_EDITION_BOOK_PARAMS,
    JENA_CONVNET_1ST_EDITION_BOOK_PARAMS,
    jena_conv_gru_1st_edition,
    jena_convnet_1st_edition,
)

# IMDB: the 10,000 most frequent words, reviews cut to 500 words; RMSprop(1e-4), 10 epochs of batches of 128.
MAX_FEATURES, MAX_LEN = 10_000, 500
IMDB_TRAININGS = {
    "imdb_convnet": Training(
        "Embedding(10000, 128) -> Conv1D(32, 7) -> MaxPooling1D(5) -> Conv1D(32, 7) -> GlobalMaxPooling1D -> Dense(1)",
        imdb_convnet, IMDB_CONVNET_BOOK_PARAMS, epochs=10, batch_size=128, workload="conv",
        optimizer=lambda: keras.optimizers.RMSprop(learning_rate=1e-4),
        book={"best_validation_accuracy": "0.8382 (epoch 6)", "final_validation_accuracy": 0.7600}),
}
MISSING_SIGMOID = ("the book's listing ends in Dense(1) without an activation yet trains it with binary crossentropy; "
                   "this model ends in Dense(1, activation='sigmoid') (the same 33 parameters)")

# Jena: the convnet reads 6.3's samples (lookback 1440, step 6); the convnet + GRU reads 5 days at a reading
# every 30 minutes (lookback 720, step 3): 240 timesteps either way.
CONV_GRU_LOOKBACK, CONV_GRU_STEP = 720, 3


def jena_trainings(gru):
    reset_after = GRU_RESET_AFTER[1][gru]
    forecast = dict(loss="mae", metrics=(), steps_per_epoch=STEPS_PER_EPOCH, epochs=20)
    return {
        "jena_convnet": Training(
            "Conv1D(32, 5) x 3 with max pooling -> GlobalMaxPooling1D -> Dense(1)", jena_convnet_1st_edition,
            JENA_CONVNET_1ST_EDITION_BOOK_PARAMS, workload="conv", **forecast,
            book={"best_validation_mae": "0.4521 (epoch 1); above the baseline (0.29)",
                  "final_validation_mae": 0.4821}),
        "jena_conv_gru": Training(
            "Conv1D(32, 5) -> MaxPooling1D(3) -> Conv1D(32, 5) -> GRU(32, dropout 0.1, recurrent dropout 0.5)",
            lambda: jena_conv_gru_1st_edition(reset_after), JENA_CONV_GRU_1ST_EDITION_BOOK_PARAMS[gru], **forecast,
            book={"best_validation_mae": "0.2730 (epoch 4)", "final_validation_mae": 0.2952}),
    }


# 2nd edition, 11.4: reviews as their first 600 of 20,000 word indices; batches of 32, 20 epochs.
VOCAB_SIZE, SEQUENCE_LENGTH, EMBED_DIM, NUM_HEADS, DENSE_DIM = 20_000, 600, 256, 2, 32
TRANSFORMER_TRAININGS = {
    "transformer": Training(
        "Embedding -> TransformerEncoder(256, 32, 2 heads) -> GlobalMaxPooling1D -> Dense(1)",
        lambda: transformer_classifier(VOCAB_SIZE, EMBED_DIM, NUM_HEADS, DENSE_DIM), TRANSFORMER_BOOK_PARAMS,
        epochs=20, batch_size=32, workload="dense", book={"test_accuracy": "~0.88 (uncertain)"}),
    "positional_transformer": Training(
        "PositionalEmbedding(600) -> TransformerEncoder -> GlobalMaxPooling1D -> Dense(1)",
        lambda: positional_transformer_classifier(SEQUENCE_LENGTH, VOCAB_SIZE, EMBED_DIM, NUM_HEADS, DENSE_DIM),
        POSITIONAL_TRANSFORMER_BOOK_PARAMS, epochs=20, batch_size=32, workload="dense",
        book={"test_accuracy": "~0.88 (unverified)"}),
}


@CHAPTER.section("6.4", "Sequence processing with convnets",
                 "1D convnet on IMDB (1,315,937; ~0.84, with the sigmoid the book forgot), on Jena, convnet + GRU; "
                 "2nd ed.: the Transformer encoder (5,664,033 / 5,817,633; ~0.88)",
                 distributable=True)
def sequence_convnets(run):
    {1: sequence_convnets_1st_edition, 2: transformer_2nd_edition}[run.edition](run)


def sequence_convnets_1st_edition(run):
    jena_table = jena_trainings(run.options.gru_reset_after)
    names = chosen(run, IMDB_TRAININGS, jena_table)
    imdb_trainings = {name: IMDB_TRAININGS[name] for name in names if name in IMDB_TRAININGS}
    jena_chosen = {name: jena_table[name] for name in names if name in jena_table}
    models = check_models(run, {**imdb_trainings, **jena_chosen}, f"1e 6.4, GRU {run.options.gru_reset_after}")
    if "imdb_convnet" in imdb_trainings:
        run.record("imdb_convnet.output_activation", models["imdb_convnet"].layers[-1].activation.__name__,
                   book="none (a book bug)", note=MISSING_SIGMOID)
    if run.summary_only:
        return

    # IMDB: reviews cut to 500 words, RMSprop(1e-4).
    if imdb_trainings:
        imdb = imdb_arrays(run, MAX_LEN, MAX_FEATURES)
        training = imdb_trainings["imdb_convnet"]
        train_classifier(run, "imdb_convnet", training, models["imdb_convnet"],
                         array_dataset(imdb.x_train, imdb.y_train, run.batch_size(training.batch_size), shuffle=True,
                                       seed=run.seed),
                         array_dataset(imdb.x_val, imdb.y_val, 512), test=array_dataset(imdb.x_test, imdb.y_test, 512),
                         note=imdb.note)

    # Jena: the convnet on 6.3's samples, the convnet + GRU on twice as dense ones.
    if jena_chosen:
        try:
            data = load_jena_1st_edition(run, TRAIN_ROWS, VALIDATION_ROWS)
        except DataNotFoundError as e:
            print(f"The Jena models are not trained: {e}")
            run.record("jena.missing", str(e), label="Jena models not trained")
            if not imdb_trainings:
                raise
            return
        samples = {"jena_convnet": (LOOKBACK, STEP), "jena_conv_gru": (CONV_GRU_LOOKBACK, CONV_GRU_STEP)}
        for name, training in jena_chosen.items():
            lookback, step = samples[name]
            train, validation, val_steps = jena_generators(run, data, lookback, step, DELAY, BATCH_SIZE)
            print(f"{name}: lookback {lookback}, step {step}: {lookback // step} timesteps; validation {val_steps} "
                  "batches")
            train_forecaster(run, name, training, models[name], train, validation, data)


def transformer_2nd_edition(run):
    trainings = {name: TRANSFORMER_TRAININGS[name] for name in chosen(run, TRANSFORMER_TRAININGS)}
    models = check_models(run, trainings, "2e 11.4")
    if run.summary_only:
        return
    train, val, test = int_sequence_datasets(run, VOCAB_SIZE, SEQUENCE_LENGTH)
    for name, training in trainings.items():
        train_classifier(run, name, training, models[name], train, val, test=test,
                         note=quick_note(run, "a few batches of reviews"))
