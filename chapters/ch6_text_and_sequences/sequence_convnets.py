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

from chapters.ch6_text_and_sequences import (
    CHAPTER,
    best_weights,
    chosen,
    compile_settings,
    quick_note,
    record_validation,
)
from chapters.ch6_text_and_sequences.advanced_recurrent import GRU_RESET_AFTER, JENA
from datasets import DataNotFoundError, aclimdb, jena
from datasets.arrays import array_dataset
from datasets.imdb import load_padded_imdb
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

# The book's recipes. IMDB: the 10,000 most frequent words, reviews cut to 500 words; RMSprop(1e-4), 10 epochs of
# 128. Jena: 6.3's data and generators, RMSprop, mean absolute error, 20 epochs of 500 batches; the convnet reads
# 6.3's samples (lookback 1440, step 6), the convnet + GRU 5 days at a reading every 30 minutes (lookback 720,
# step 3): 240 timesteps either way. 2nd edition, 11.4: reviews as their first 600 of 20,000 word indices; the
# Transformer encoder (embeddings of 256, 2 heads, a projection of 32); rmsprop, 20 epochs of 32.
IMDB = dict(max_features=10_000, max_len=500, learning_rate=1e-4, epochs=10, batch_size=128)
JENA_SAMPLES = {"jena_convnet": dict(lookback=JENA["lookback"], step=JENA["step"]),
                "jena_conv_gru": dict(lookback=720, step=3)}
JENA_EPOCHS = 20
TRANSFORMER = dict(vocab_size=20_000, sequence_length=600, embed_dim=256, num_heads=2, dense_dim=32, epochs=20,
                   batch_size=aclimdb.BATCH_SIZE)


def jena_models(gru):
    """name -> (what it is, its builder, the book's count per layer); `gru` "book" or "keras3": the GRU layer."""
    reset_after = GRU_RESET_AFTER[1][gru]
    return {
        "jena_convnet": ("Conv1D(32, 5) x 3 with max pooling -> GlobalMaxPooling1D -> Dense(1)",
                         jena_convnet_1st_edition, JENA_CONVNET_1ST_EDITION_BOOK_PARAMS),
        "jena_conv_gru": ("Conv1D(32, 5) -> MaxPooling1D(3) -> Conv1D(32, 5) -> GRU(32, dropout 0.1, recurrent "
                          "dropout 0.5)", lambda: jena_conv_gru_1st_edition(reset_after),
                          JENA_CONV_GRU_1ST_EDITION_BOOK_PARAMS[gru]),
    }


SIZES = {key: TRANSFORMER[key] for key in ("vocab_size", "embed_dim", "num_heads", "dense_dim")}
TRANSFORMERS = {
    "transformer": ("Embedding -> TransformerEncoder(256, 32, 2 heads) -> GlobalMaxPooling1D -> Dense(1)",
                    lambda: transformer_classifier(**SIZES), TRANSFORMER_BOOK_PARAMS),
    "positional_transformer": ("PositionalEmbedding(600) -> TransformerEncoder -> GlobalMaxPooling1D -> Dense(1)",
                               lambda: positional_transformer_classifier(TRANSFORMER["sequence_length"], **SIZES),
                               POSITIONAL_TRANSFORMER_BOOK_PARAMS),
}
MODELS = {1: ("imdb_convnet", *jena_models("book")), 2: tuple(TRANSFORMERS)}

# The book's numbers beside ours.
BOOK = {
    "imdb_convnet": {"best_validation_accuracy": "0.8382 (epoch 6)", "final_validation_accuracy": 0.7600},
    "jena_convnet": {"best_validation_mae": "0.4521 (epoch 1); above the baseline (0.29)",
                     "final_validation_mae": 0.4821},
    "jena_conv_gru": {"best_validation_mae": "0.2730 (epoch 4)", "final_validation_mae": 0.2952},
    "transformer": {"test_accuracy": "~0.88 (uncertain)"},
    "positional_transformer": {"test_accuracy": "~0.88 (unverified)"},
}
MISSING_SIGMOID = ("the book's listing ends in Dense(1) without an activation yet trains it with binary crossentropy; "
                   "this model ends in Dense(1, activation='sigmoid') (the same 33 parameters)")


@CHAPTER.section("6.4", "Sequence processing with convnets",
                 "1D convnet on IMDB (1,315,937; ~0.84, with the sigmoid the book forgot), on Jena, convnet + GRU; "
                 "2nd ed.: the Transformer encoder (5,664,033 / 5,817,633; ~0.88)",
                 distributable=True)
def sequence_convnets(run):
    {1: sequence_convnets_1st_edition, 2: transformer_2nd_edition}[run.edition](run)


def sequence_convnets_1st_edition(run):
    names, gru = chosen(run, MODELS[1]), run.options.gru_reset_after

    # 6.4.3 A 1D convnet on IMDB. The data: reviews cut to 500 words, the last 20% of the training reviews validate.
    if "imdb_convnet" in names:
        imdb = None if run.summary_only else load_padded_imdb(IMDB["max_len"], IMDB["max_features"], run.data_dir,
                                                              quick=run.quick)
        # The model: Embedding(10000, 128) -> Conv1D(32, 7) -> MaxPooling1D(5) -> Conv1D(32, 7) ->
        # GlobalMaxPooling1D -> Dense(1, sigmoid).
        run.clear_session()
        model = imdb_convnet(IMDB["max_features"], IMDB["max_len"])
        run.check_against_book(model, IMDB_CONVNET_BOOK_PARAMS, f"DLwP 1e 6.4, GRU {gru}, Embedding(10000, 128) -> "
                               "Conv1D(32, 7) -> MaxPooling1D(5) -> Conv1D(32, 7) -> GlobalMaxPooling1D -> Dense(1)")
        run.record("imdb_convnet.output_activation", model.layers[-1].activation.__name__,
                   book="none (a book bug)", note=MISSING_SIGMOID)
        if imdb is not None:
            model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=IMDB["learning_rate"]),
                          loss="binary_crossentropy", metrics=["accuracy"], **compile_settings(run, "conv"))
            train = array_dataset(imdb.x_train, imdb.y_train, run.batch_size(IMDB["batch_size"]), shuffle=True,
                                  seed=run.seed)
            history = run.fit(model, train, name="imdb_convnet", epochs=IMDB["epochs"],
                              validation_data=array_dataset(imdb.x_val, imdb.y_val, 512))
            note = f"{imdb.note}, {len(history['loss'])} epochs" if imdb.note else ""
            record_validation(run, "imdb_convnet", history["val_accuracy"], "accuracy", max, BOOK["imdb_convnet"],
                              note)
            model, epoch = best_weights(run, "imdb_convnet", model, history)
            run.record("imdb_convnet.test_accuracy_best_checkpoint",
                       float(model.evaluate(array_dataset(imdb.x_test, imdb.y_test, 512), verbose=0)[1]), note=note,
                       label=f"imdb_convnet: test accuracy (best checkpoint, epoch {epoch})")

    # 6.4.4-6.4.5 On Jena: 6.3's data; the convnet on 6.3's samples, the convnet + GRU on twice as dense ones.
    models = {name: model for name, model in jena_models(gru).items() if name in names}
    data = missing = None
    if models and not run.summary_only:
        try:
            data = jena.load_jena_1st_edition(run.data_dir, JENA["train_rows"], JENA["validation_rows"])
        except DataNotFoundError as e:
            missing = e
            print(f"The Jena models are not trained: {e}")
            run.record("jena.missing", str(e), label="Jena models not trained")
    for name, (title, build, book_params) in models.items():
        run.clear_session()
        model = build()
        run.check_against_book(model, book_params, f"DLwP 1e 6.4, GRU {gru}, {title}")
        if data is None:
            continue
        lookback, step = JENA_SAMPLES[name]["lookback"], JENA_SAMPLES[name]["step"]
        train, validation, val_steps = jena.generators_1st_edition(
            data, lookback, step, JENA["delay"], run.batch_size(JENA["batch_size"]), seed=run.seed, quick=run.quick)
        print(f"{name}: lookback {lookback}, step {step}: {lookback // step} timesteps; validation {val_steps} batches")
        model.compile(optimizer="rmsprop", loss="mae",
                      **compile_settings(run, "conv" if name == "jena_convnet" else "recurrent",
                                         JENA["steps_per_epoch"]))
        history = run.fit(model, train, name=name, epochs=JENA_EPOCHS, steps_per_epoch=JENA["steps_per_epoch"],
                          validation_data=validation)
        record_validation(run, name, history["val_loss"], "mae", min, BOOK[name],
                          quick_note(run, f"{len(history['loss'])} epochs of a few batches"),
                          scale=float(data.std[data.temperature_column]), unit="celsius")
    if missing is not None and "imdb_convnet" not in names:
        raise missing  # nothing could run


def transformer_2nd_edition(run):
    names, recipe = chosen(run, MODELS[2]), TRANSFORMER

    # 11.4.3 The data: the raw reviews as their first 600 word indices of 20,000, in batches of 32.
    if not run.summary_only:
        train, val, test, _ = aclimdb.int_sequence_datasets(
            recipe["vocab_size"], recipe["sequence_length"], run.data_dir, run.batch_size(recipe["batch_size"]),
            run.seed, quick=run.quick)
    for name in names:
        # The model: the Transformer encoder on word embeddings (11.4.3), which sees no word order, then on
        # embeddings of the words and of their positions (11.4.4).
        title, build, book_params = TRANSFORMERS[name]
        run.clear_session()
        model = build()
        run.check_against_book(model, book_params, f"DLwP 2e 11.4, {title}")
        if run.summary_only:
            continue
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                      **compile_settings(run, "dense"))
        history = run.fit(model, train, name=name, epochs=recipe["epochs"], validation_data=val)
        note = quick_note(run, f"a few batches of reviews, {len(history['loss'])} epochs")
        record_validation(run, name, history["val_accuracy"], "accuracy", max, BOOK[name], note)
        # The book evaluates the checkpoint of the lowest validation loss.
        model, epoch = best_weights(run, name, model, history)
        run.record(f"{name}.test_accuracy_best_checkpoint", float(model.evaluate(test, verbose=0)[1]),
                   book=BOOK[name]["test_accuracy"], note=note,
                   label=f"{name}: test accuracy (best checkpoint, epoch {epoch})")
