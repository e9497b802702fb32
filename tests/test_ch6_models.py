"""Chapter 6's models and recipes: every layer's parameters (both GRU parameterisations), each edition's recipe,
the NumPy recurrent layer, the toy encodings, masking inside the Transformer encoder, the chapter's data limits."""

import keras
import numpy as np
import pytest

from chapters.ch6_text_and_sequences import advanced_recurrent as s6_3
from chapters.ch6_text_and_sequences import recurrent_networks as s6_2
from chapters.ch6_text_and_sequences import sequence_convnets as s6_4
from chapters.ch6_text_and_sequences import word_embeddings as s6_1
from models import text_networks as text
from models import timeseries_networks as timeseries
from tests.helpers import layer_params


def checked(entry):
    """A section's table entry (what it is, its builder, the book's counts per layer): the model, its counts
    asserted equal to the book's."""
    _, build, book_params = entry
    model = build()
    assert layer_params(model) == book_params, model.name
    return model


def trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# --- 6.1 -----------------------------------------------------------------------------------------------

def test_imdb_embedding_has_80_161_parameters_and_trains_10_epochs_of_32():
    recipe = s6_1.IMDB_EMBEDDING
    model = text.imdb_embedding_model(recipe["max_features"], recipe["maxlen"])
    assert layer_params(model) == text.IMDB_EMBEDDING_BOOK_PARAMS == [80_000, 0, 161]
    assert model.input_shape == (None, 20)
    assert recipe == dict(max_features=10_000, maxlen=20, epochs=10, batch_size=32)


def test_glove_model_has_1_320_065_parameters_of_which_320_065_train():
    recipe = s6_1.RAW_TEXT
    model = text.raw_text_embedding_model(recipe["max_words"], recipe["maxlen"], recipe["embedding_dim"],
                                          embedding_matrix=np.zeros((10_000, 100), "float32"))
    assert layer_params(model) == text.RAW_TEXT_EMBEDDING_BOOK_PARAMS == [1_000_000, 0, 320_032, 33]
    assert trainable(model) == text.RAW_TEXT_EMBEDDING_TRAINABLE_WITH_GLOVE == 320_065
    assert model.layers[0].trainable is False
    learned = text.raw_text_embedding_model()  # the same model learning its embedding
    assert layer_params(learned) == layer_params(model) and trainable(learned) == 1_320_065


def test_glove_vectors_are_the_frozen_embedding():
    matrix = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    model = text.raw_text_embedding_model(max_words=50, maxlen=3, embedding_dim=4, embedding_matrix=matrix)
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], matrix)
    assert not model.layers[0].trainable_weights


def test_raw_text_recipe_is_200_training_and_10_000_validation_reviews_of_100_words():
    assert s6_1.RAW_TEXT == dict(max_words=10_000, maxlen=100, embedding_dim=100, training_samples=200,
                                 validation_samples=10_000, epochs=10, batch_size=32)
    assert s6_1.QUICK_RAW_TEXT == dict(reviews_per_class=150, training=100, validation=100, test_per_class=50)
    assert s6_1.BOOK["glove"]["test_accuracy"] == 0.5366
    assert s6_1.MODELS[1] == ("imdb_embedding", "glove", "learned_embedding")


def test_toy_encodings_have_the_books_shapes():
    assert s6_1.word_one_hot(s6_1.SAMPLES).shape == (2, 10, 11)
    assert s6_1.character_one_hot(s6_1.SAMPLES).shape == (2, 50, 101)
    assert s6_1.hashing_trick(s6_1.SAMPLES).shape == (2, 10, 1000)
    assert s6_1.BOOK_SHAPES == {"word_one_hot": (2, 10, 11), "character_one_hot": (2, 50, 101),
                                "hashing_trick": (2, 10, 1000), "tokenizer_binary_matrix": (2, 1000)}


def test_word_one_hot_marks_each_word_at_its_dictionary_index():
    encoded = s6_1.word_one_hot(["a b a"], max_length=4)
    assert encoded.shape == (1, 4, 3)
    assert encoded[0].argmax(axis=1).tolist()[:3] == [1, 2, 1] and encoded[0, 3].sum() == 0


def test_hashing_gives_the_same_index_to_a_word_every_time():
    first, second = s6_1.hashing_trick(["the cat the"]), s6_1.hashing_trick(["the dog"])
    assert first[0, 0].argmax() == first[0, 2].argmax() == second[0, 0].argmax()
    assert first.sum() == 3


def test_raw_text_is_split_as_the_books_tokenizer_split_it():
    tokenizer = keras.layers.TextVectorization(standardize=s6_1.tokenizer_standardize, ragged=True)
    tokenizer.adapt(["Great movie.<br /><br />The end; don't-miss it!"])
    assert set(tokenizer.get_vocabulary()[2:]) == {"great", "movie", "br", "the", "end", "don't", "miss", "it"}
    assert s6_1.TOKENIZER_FILTERS == '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def test_unknown_words_are_dropped_and_the_last_100_words_kept():
    tokenizer = keras.layers.TextVectorization(standardize=s6_1.tokenizer_standardize, vocabulary=["a", "b"],
                                               ragged=True)
    padded = s6_1.texts_to_padded_sequences(tokenizer, ["a zz b", "b " * 150 + "a"])
    assert padded.shape == (2, 100)
    assert padded[0, -2:].tolist() == [2, 3] and padded[0, :-2].sum() == 0
    assert padded[1, -1] == 2 and (padded[1, :-1] == 3).all()


def test_bag_of_words_models_have_320_033_parameters_and_their_vectorizations():
    model = text.bag_of_words_model(s6_1.BAG_OF_WORDS["max_tokens"])
    assert layer_params(model) == text.BAG_OF_WORDS_BOOK_PARAMS == [0, 320_016, 0, 17]
    assert s6_1.BAG_OF_WORDS == dict(max_tokens=20_000, epochs=10, batch_size=32)
    assert s6_1.MODELS[2] == tuple(s6_1.VECTORIZATIONS) == tuple(s6_1.TITLES)
    assert s6_1.VECTORIZATIONS == {"unigrams": dict(output_mode="multi_hot"),
                                   "bigrams": dict(output_mode="multi_hot", ngrams=2),
                                   "bigrams_tf_idf": dict(output_mode="tf_idf", ngrams=2)}


def test_bag_of_words_model_drops_half_its_hidden_units():
    model = text.bag_of_words_model()
    assert model.layers[1].units == 16 and model.layers[2].rate == 0.5


# --- 6.2 -----------------------------------------------------------------------------------------------

def test_the_books_simple_rnn_summaries():
    for name, (build, book_params) in s6_2.SUMMARIES.items():
        assert layer_params(build()) == book_params, name
    assert s6_2.SUMMARIES["stacked_simple_rnn"][1] == [320_000, 2_080, 2_080, 2_080, 2_080]
    assert s6_2.SUMMARIES["simple_rnn_return_sequences"][1] == [320_000, 2_080]


def test_imdb_simple_rnn_and_lstm_have_322_113_and_328_353_parameters_10_epochs_of_128():
    from datasets.imdb import VALIDATION_SPLIT

    simple_rnn, lstm = s6_2.MODELS_1ST_EDITION["simple_rnn"], s6_2.MODELS_1ST_EDITION["lstm"]
    checked(simple_rnn), checked(lstm)
    assert simple_rnn[2] == [320_000, 2_080, 33] and lstm[2] == [320_000, 8_320, 33]
    assert s6_2.IMDB == dict(max_features=10_000, maxlen=500, epochs=10, batch_size=128)
    assert VALIDATION_SPLIT == 0.2
    assert s6_2.MODELS[1] == ("simple_rnn", "lstm")


def test_numpy_rnn_equals_simple_rnn_with_the_same_weights():
    rng = np.random.default_rng(1)
    inputs = rng.random((7, 3))
    W, U, b = rng.normal(0, 0.5, (5, 3)), rng.normal(0, 0.5, (5, 5)), rng.normal(0, 0.1, 5)
    layer = keras.layers.SimpleRNN(5, return_sequences=True)
    layer.build((None, 7, 3))
    layer.set_weights([W.T, U.T, b])
    expected = keras.ops.convert_to_numpy(layer(inputs[None].astype("float32")))[0]
    np.testing.assert_allclose(s6_2.numpy_rnn(inputs, W, U, b), expected, atol=1e-5)
    assert (s6_2.TIMESTEPS, s6_2.INPUT_FEATURES, s6_2.OUTPUT_FEATURES) == (100, 32, 64)


def test_numpy_rnn_carries_its_state_from_step_to_step():
    W, U, b = np.eye(1), np.full((1, 1), 0.5), np.zeros(1)
    outputs = s6_2.numpy_rnn(np.array([[1.0], [0.0]]), W, U, b)
    assert outputs[1, 0] == pytest.approx(np.tanh(0.5 * np.tanh(1.0)))


def test_second_edition_sequence_models_5_128_513_and_5_194_049_parameters():
    one_hot = s6_2.MODELS_2ND_EDITION["one_hot_bidirectional_lstm"]
    checked(one_hot)
    assert one_hot[2] == [0, 0, 5_128_448, 0, 65]
    for name in ("embedding_bidirectional_lstm", "embedding_bidirectional_lstm_masked"):
        checked(s6_2.MODELS_2ND_EDITION[name])
        assert s6_2.MODELS_2ND_EDITION[name][2] == [0, 5_120_000, 73_984, 0, 65]
    assert s6_2.SEQUENCES == dict(max_tokens=20_000, max_length=600, glove_dimension=100, epochs=10, batch_size=32)
    assert [s6_2.BOOK[name]["test_accuracy"] for name in s6_2.MODELS[2]] == [0.87, 0.87, 0.88, None]


def test_only_the_masked_model_masks_the_padding():
    masked = s6_2.MODELS_2ND_EDITION["embedding_bidirectional_lstm_masked"][1]()
    plain = s6_2.MODELS_2ND_EDITION["embedding_bidirectional_lstm"][1]()
    assert masked.layers[1].mask_zero is True and plain.layers[1].mask_zero is False
    assert masked.layers[1].output_dim == 256 and masked.layers[3].rate == 0.5


def test_one_hot_layer_gives_one_vector_of_depth_per_token():
    encoded = keras.ops.convert_to_numpy(text.OneHot(6)(np.array([[1, 5, 0]])))
    assert encoded.shape == (1, 3, 6) and encoded[0].argmax(axis=1).tolist() == [1, 5, 0]


# --- 6.3 -----------------------------------------------------------------------------------------------

JENA_1ST_EDITION_COUNTS = {
    "book": {"dense": [0, 107_552, 33], "gru": [4_512, 33], "gru_dropout": [4_512, 33],
             "stacked_gru": [4_512, 18_624, 65], "reversed_gru": [4_512, 33], "bidirectional_gru": [9_024, 65]},
    "keras3": {"dense": [0, 107_552, 33], "gru": [4_608, 33], "gru_dropout": [4_608, 33],
               "stacked_gru": [4_608, 18_816, 65], "reversed_gru": [4_608, 33], "bidirectional_gru": [9_216, 65]},
}


@pytest.mark.parametrize("gru", ["book", "keras3"])
def test_jena_models_of_the_first_edition_have_the_books_counts_per_gru_parameterisation(gru):
    table = s6_3.jena_models_1st_edition(gru)
    assert {name: entry[2] for name, entry in table.items()} == JENA_1ST_EDITION_COUNTS[gru]
    for entry in table.values():
        model = checked(entry)
        grus = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.GRU)]
        assert all(layer.cell.reset_after is (gru == "keras3") for layer in grus)


def test_jena_first_edition_recipe_500_steps_and_the_books_epochs():
    assert s6_3.EPOCHS[1] == {"dense": 20, "gru": 20, "gru_dropout": 40, "stacked_gru": 40, "reversed_gru": 20,
                              "bidirectional_gru": 40, "reversed_lstm": 10, "bidirectional_lstm": 10}
    assert s6_3.JENA == dict(lookback=1440, step=6, delay=144, batch_size=128, train_rows=200_000,
                             validation_rows=300_000, steps_per_epoch=500)
    assert s6_3.BOOK_BASELINE == {"mae": 0.29, "celsius": 2.57}
    assert (s6_3.BOOK_SAMPLES_SHAPE, s6_3.BOOK_VALIDATION_STEPS) == ([128, 240, 14], 769)
    assert s6_3.READ_BACKWARDS == {"reversed_gru", "reversed_lstm"}
    assert s6_3.GRU_RESET_AFTER == {1: {"book": False, "keras3": True}, 2: {"book": True, "keras3": True}}
    assert s6_3.MODELS[1] == (*JENA_1ST_EDITION_COUNTS["book"], "reversed_lstm", "bidirectional_lstm")


def test_jena_first_edition_dropouts():
    table = s6_3.jena_models_1st_edition("book")
    gru = table["gru_dropout"][1]().layers[0]
    assert (gru.dropout, gru.recurrent_dropout) == (0.2, 0.2)
    first, second = table["stacked_gru"][1]().layers[:2]
    assert (first.dropout, first.recurrent_dropout, first.return_sequences) == (0.1, 0.5, True)
    assert (second.units, second.dropout, second.recurrent_dropout) == (64, 0.1, 0.5)
    assert second.activation.__name__ == "relu"
    assert table["gru"][1]().layers[0].dropout == 0


def test_imdb_reversed_and_bidirectional_lstm_1_300_641_and_336_705_parameters():
    reversed_lstm, bidirectional = s6_3.IMDB_MODELS["reversed_lstm"], s6_3.IMDB_MODELS["bidirectional_lstm"]
    checked(reversed_lstm), checked(bidirectional)
    assert reversed_lstm[2] == [1_280_000, 20_608, 33]
    assert bidirectional[2] == [320_000, 16_640, 65]
    assert s6_3.IMDB == dict(max_features=10_000, maxlen=500, epochs=10, batch_size=128)


JENA_2ND_EDITION_COUNTS = {"dense": [0, 0, 26_896, 17], "convnet": [0, 2_696, 0, 776, 0, 392, 0, 9],
                           "lstm": [0, 1_984, 17], "lstm_dropout": [0, 6_016, 0, 33],
                           "stacked_gru": [0, 4_608, 6_336, 0, 33], "bidirectional_lstm": [0, 3_968, 33]}


def test_jena_models_of_the_second_edition_and_their_epochs():
    table = s6_3.jena_models_2nd_edition("book")
    assert {name: entry[2] for name, entry in table.items()} == JENA_2ND_EDITION_COUNTS
    assert s6_3.jena_models_2nd_edition("keras3")["stacked_gru"][2] == [0, 4_608, 6_336, 0, 33]
    assert s6_3.EPOCHS[2] == {
        "dense": 10, "convnet": 10, "lstm": 10, "lstm_dropout": 50, "stacked_gru": 50, "bidirectional_lstm": 10}
    for entry in table.values():
        checked(entry)
    assert s6_3.JENA_2ND_EDITION == dict(sampling_rate=6, sequence_length=120, delay=858, batch_size=256)
    assert s6_3.BOOK_BASELINE_2ND_EDITION == {"validation_mae": 2.44, "test_mae": 2.62}
    assert s6_3.BOOK[2]["lstm"] == {"best_validation_mae": 2.36, "test_mae": 2.55}
    assert s6_3.MODELS[2] == tuple(JENA_2ND_EDITION_COUNTS)


def test_jena_second_edition_dropouts():
    table = s6_3.jena_models_2nd_edition("book")
    lstm = table["lstm_dropout"][1]()
    assert lstm.layers[1].recurrent_dropout == 0.25 and lstm.layers[2].rate == 0.5
    stacked = table["stacked_gru"][1]()
    assert [layer.recurrent_dropout for layer in stacked.layers[1:3]] == [0.5, 0.5] and stacked.layers[3].rate == 0.5


def test_jena_second_edition_convnet_output_shapes():
    model = s6_3.jena_models_2nd_edition("book")["convnet"][1]()
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    assert shapes == timeseries.JENA_CONVNET_2ND_EDITION_OUTPUT_SHAPES == [
        (120, 14), (97, 8), (48, 8), (37, 8), (18, 8), (13, 8), (8,), (1,)]


# --- 6.4 -----------------------------------------------------------------------------------------------

def test_imdb_convnet_has_1_315_937_parameters_a_sigmoid_and_rmsprop_1e_4():
    model = text.imdb_convnet(s6_4.IMDB["max_features"], s6_4.IMDB["max_len"])
    assert layer_params(model) == text.IMDB_CONVNET_BOOK_PARAMS == [1_280_000, 28_704, 0, 7_200, 0, 33]
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == text.IMDB_CONVNET_OUTPUT_SHAPES
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert s6_4.IMDB == dict(max_features=10_000, max_len=500, learning_rate=1e-4, epochs=10, batch_size=128)


@pytest.mark.parametrize("gru,conv_gru", [("book", [2_272, 0, 5_152, 6_240, 33]),
                                          ("keras3", [2_272, 0, 5_152, 6_336, 33])])
def test_jena_convnets_have_the_books_counts(gru, conv_gru):
    table = s6_4.jena_models(gru)
    assert table["jena_convnet"][2] == [2_272, 0, 5_152, 0, 5_152, 0, 33]
    assert table["jena_conv_gru"][2] == conv_gru
    for entry in table.values():
        checked(entry)
    gru_layer = table["jena_conv_gru"][1]().layers[3]
    assert (gru_layer.dropout, gru_layer.recurrent_dropout) == (0.1, 0.5)
    assert s6_4.JENA_SAMPLES == {"jena_convnet": dict(lookback=1440, step=6),
                                 "jena_conv_gru": dict(lookback=720, step=3)}
    assert s6_4.JENA_EPOCHS == 20 and s6_4.MODELS[1] == ("imdb_convnet", "jena_convnet", "jena_conv_gru")


def test_transformers_have_5_664_033_and_5_817_633_parameters_20_epochs_of_32():
    plain, positional = s6_4.TRANSFORMERS["transformer"], s6_4.TRANSFORMERS["positional_transformer"]
    checked(plain), checked(positional)
    assert plain[2] == [0, 5_120_000, 543_776, 0, 0, 257]
    assert positional[2] == [0, 5_273_600, 543_776, 0, 0, 257]
    assert s6_4.TRANSFORMER == dict(vocab_size=20_000, sequence_length=600, embed_dim=256, num_heads=2, dense_dim=32,
                                    epochs=20, batch_size=32)


def test_the_padding_mask_reaches_the_transformers_attention():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,), dtype="int64")
    embedding, encoder = text.PositionalEmbedding(8, 20, 6), text.TransformerEncoder(6, 4, 2)
    model = keras.Model(inputs, encoder(embedding(inputs)))
    padded = np.array([[3, 7, 5, 0, 0, 0, 0, 0]])
    assert keras.ops.convert_to_numpy(embedding.compute_mask(padded)).tolist() == [[True] * 3 + [False] * 5]
    words = keras.ops.convert_to_numpy(model(padded))[0, :3]
    # The three words attend to each other only: as if the attention were restricted to them by hand...
    np.testing.assert_allclose(words, encoder_by_hand(embedding, encoder, padded, attend_to=3), atol=1e-5)
    # ...which differs from attending to the padding too.
    assert not np.allclose(words, encoder_by_hand(embedding, encoder, padded, attend_to=8), atol=1e-4)


def encoder_by_hand(embedding, encoder, tokens, attend_to):
    """The encoder's outputs for the first three tokens, attending to the first `attend_to` tokens only."""
    x = keras.ops.convert_to_tensor(keras.ops.convert_to_numpy(embedding(tokens)))  # without the embedding's mask
    mask = np.zeros((1, 8, 8), bool)
    mask[:, :, :attend_to] = True
    projection_input = encoder.layernorm_1(x + encoder.attention(x, x, attention_mask=mask))
    out = encoder.layernorm_2(projection_input + encoder.dense_proj(projection_input))
    return keras.ops.convert_to_numpy(out)[0, :3]


def test_the_transformer_passes_its_mask_without_warnings(recwarn):
    keras.utils.set_random_seed(0)
    model = text.positional_transformer_classifier(sequence_length=10, vocab_size=30, embed_dim=8, num_heads=2,
                                                   dense_dim=4)
    tokens = np.array([[1, 2, 3, 0, 0, 0, 0, 0, 0, 0], [4, 5, 6, 7, 8, 0, 0, 0, 0, 0]])
    assert keras.ops.convert_to_numpy(model(tokens, training=True)).shape == (2, 1)
    assert not [w for w in recwarn if "mask" in str(w.message)]


def test_custom_layers_survive_model_save_and_load(tmp_path):
    model = text.positional_transformer_classifier(sequence_length=10, vocab_size=30, embed_dim=8, num_heads=2,
                                                   dense_dim=4)
    tokens = np.array([[1, 2, 3, 0, 0, 0, 0, 0, 0, 0]])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(tokens)), keras.ops.convert_to_numpy(model(tokens)),
                               atol=1e-6)
    one_hot = text.one_hot_bidirectional_lstm(max_tokens=12)
    one_hot.save(tmp_path / "o.keras")
    assert layer_params(keras.models.load_model(tmp_path / "o.keras")) == layer_params(one_hot)


# --- the chapter's data and settings --------------------------------------------------------------------

def test_padded_imdb_pads_in_front_keeps_the_last_words_and_holds_out_the_last_fifth(tmp_path):
    from datasets.imdb import load_imdb, load_padded_imdb
    from tests.helpers import write_word_sequence_data

    data = write_word_sequence_data(tmp_path / "data")
    imdb = load_padded_imdb(maxlen=20, data_dir=str(data))
    backwards = load_padded_imdb(maxlen=20, data_dir=str(data), reverse=True)
    reviews = load_imdb(num_words=10_000, data_dir=str(data)).train_data
    assert (len(imdb.x_train), len(imdb.x_val)) == (560, 140)  # validation_split=0.2 of 700
    for i in (0, 1):
        review = reviews[i]
        assert imdb.x_train[i].tolist() == ([0] * max(0, 20 - len(review)) + review[-20:].tolist())
        assert backwards.x_train[i].tolist() == ([0] * max(0, 20 - len(review)) + review[::-1][-20:].tolist())
    np.testing.assert_array_equal(imdb.x_val[0][-5:], keras.utils.pad_sequences([reviews[560]], maxlen=20)[0][-5:])
    quick = load_padded_imdb(maxlen=20, data_dir=str(data), quick=True)
    assert (len(quick.x_train) + len(quick.x_val), len(quick.x_test)) == (256, 128)
    assert quick.note == "--quick: 256 reviews" and imdb.note == ""


def test_quick_limits():
    from datasets import aclimdb, imdb, jena

    assert imdb.QUICK_REVIEWS == (256, 128)
    assert aclimdb.QUICK_BATCHES == {"train": 2, "val": 1, "test": 1}
    assert jena.QUICK_VALIDATION_STEPS == 2
    assert aclimdb.BATCH_SIZE == 32


def test_recurrent_models_compile_with_xla_on_a_cpu_and_leave_cudnn_layers_to_keras_on_a_gpu():
    from chapters.performance import PERFORMANCE_DEFAULTS

    assert PERFORMANCE_DEFAULTS[("CPU", "recurrent")] == dict(jit_compile=True, steps_per_execution=1)
    assert PERFORMANCE_DEFAULTS[("GPU", "recurrent")]["jit_compile"] == "auto"


def test_the_recurrent_settings_are_declared_in_chapters_performance_itself():
    """No chapter adds them at import time: chapters.performance alone has them."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; from chapters.performance import PERFORMANCE_DEFAULTS as table; "
            "assert ('CPU', 'recurrent') in table and ('GPU', 'recurrent') in table; "
            "assert not any(name.startswith('chapters.ch6') for name in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
