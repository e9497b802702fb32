"""The book's networks for the Jena temperature forecast, one builder per listing, with the book's per-layer counts.

1st edition (6.3, 6.4): Sequential models on samples of 240 timesteps (10 days, one every hour) of 14 values.
2nd edition (chapter 10): functional models on 120 timesteps (5 days, one every hour).

GRU layers: the 1st edition's Keras computed a GRU with one bias per gate,
3 * (units * (inputs + units) + units) parameters; Keras 3's default
(`reset_after=True`, as cuDNN computes it, and the 2nd edition's) adds a
second bias, 3 * (units * (inputs + units) + 2 * units). The builders take
`reset_after`; the `*_BOOK_PARAMS` tables of the 1st edition's GRU models have
both rows: "book" (reset_after=False, the counts the book prints) and "keras3".

Output layers compute in float32 (dtype="float32"): under --mixed-precision the loss and the predictions
stay in full precision while the hidden layers compute in 16 bits.
"""

import keras
from keras import layers

FEATURES = 14

# ---------------------------------------------------------------------------
# 1st edition, 6.3
# ---------------------------------------------------------------------------

# Flatten gives 240 * 14 = 3,360 values -> Dense(32): 107,552; Dense(1): 33. Total 107,585.
JENA_DENSE_1ST_EDITION_BOOK_PARAMS = [0, 107_552, 33]
# GRU(32) on 14 values: 3 * (32 * 46 + 32) = 4,512; with reset_after 3 * (32 * 46 + 64) = 4,608.
JENA_GRU_1ST_EDITION_BOOK_PARAMS = {"book": [4_512, 33], "keras3": [4_608, 33]}  # totals 4,545 / 4,641
# GRU(32) then GRU(64) on its 32 outputs: 3 * (64 * 96 + 64) = 18,624 (reset_after: 18,816); Dense(1): 65.
JENA_STACKED_GRU_1ST_EDITION_BOOK_PARAMS = {"book": [4_512, 18_624, 65], "keras3": [4_608, 18_816, 65]}
# Two GRU(32), one per direction; Dense(1) on their 64 outputs. Totals 9,089 / 9,281.
JENA_BIDIRECTIONAL_GRU_1ST_EDITION_BOOK_PARAMS = {"book": [9_024, 65], "keras3": [9_216, 65]}


def jena_dense_1st_edition(timesteps=240):
    """Flatten -> Dense(32, relu) -> Dense(1): a regression, no activation on the output."""
    return keras.Sequential([
        keras.Input(shape=(timesteps, FEATURES)),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, dtype="float32"),
    ], name="jena_dense")


def jena_gru_1st_edition(reset_after=False, dropout=0.0, recurrent_dropout=0.0, name="jena_gru"):
    """GRU(32) -> Dense(1); with `dropout` and `recurrent_dropout`, the book's regularised GRU (0.2 and 0.2)."""
    return keras.Sequential([
        keras.Input(shape=(None, FEATURES)),
        layers.GRU(32, dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after),
        layers.Dense(1, dtype="float32"),
    ], name=name)


def jena_stacked_gru_1st_edition(reset_after=False):
    """GRU(32, dropout 0.1, recurrent dropout 0.5, every step's output) -> GRU(64, relu, same dropouts) -> Dense(1)."""
    return keras.Sequential([
        keras.Input(shape=(None, FEATURES)),
        layers.GRU(32, dropout=0.1, recurrent_dropout=0.5, return_sequences=True, reset_after=reset_after),
        layers.GRU(64, activation="relu", dropout=0.1, recurrent_dropout=0.5, reset_after=reset_after),
        layers.Dense(1, dtype="float32"),
    ], name="jena_stacked_gru")


def jena_bidirectional_gru_1st_edition(reset_after=False):
    """Bidirectional(GRU(32)) -> Dense(1): one GRU reads the sequence forwards, the other backwards."""
    return keras.Sequential([
        keras.Input(shape=(None, FEATURES)),
        layers.Bidirectional(layers.GRU(32, reset_after=reset_after)),
        layers.Dense(1, dtype="float32"),
    ], name="jena_bidirectional_gru")


# ---------------------------------------------------------------------------
# 1st edition, 6.4
# ---------------------------------------------------------------------------

# Conv1D(32, 5) on 14 channels: 5 * 14 * 32 + 32 = 2,272; on 32 channels: 5 * 32 * 32 + 32 = 5,152. Total 12,609.
JENA_CONVNET_1ST_EDITION_BOOK_PARAMS = [2_272, 0, 5_152, 0, 5_152, 0, 33]
# Two Conv1D, then GRU(32) on their 32 channels: 3 * (32 * 64 + 32) = 6,240 (reset_after: 6,336).
JENA_CONV_GRU_1ST_EDITION_BOOK_PARAMS = {"book": [2_272, 0, 5_152, 6_240, 33],  # total 13,697
                                         "keras3": [2_272, 0, 5_152, 6_336, 33]}  # total 13,793


def jena_convnet_1st_edition():
    """Conv1D(32, 5) -> MaxPooling1D(3) -> Conv1D(32, 5) -> MaxPooling1D(3) -> Conv1D(32, 5) -> GlobalMaxPooling1D
    -> Dense(1)."""
    return keras.Sequential([
        keras.Input(shape=(None, FEATURES)),
        layers.Conv1D(32, 5, activation="relu"),
        layers.MaxPooling1D(3),
        layers.Conv1D(32, 5, activation="relu"),
        layers.MaxPooling1D(3),
        layers.Conv1D(32, 5, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, dtype="float32"),
    ], name="jena_convnet")


def jena_conv_gru_1st_edition(reset_after=False):
    """Conv1D(32, 5) -> MaxPooling1D(3) -> Conv1D(32, 5) -> GRU(32, dropout 0.1, recurrent dropout 0.5) -> Dense(1).

    The convolutions shorten the longer, denser sequences (a sample every 30
    minutes) before the GRU reads them.
    """
    return keras.Sequential([
        keras.Input(shape=(None, FEATURES)),
        layers.Conv1D(32, 5, activation="relu"),
        layers.MaxPooling1D(3),
        layers.Conv1D(32, 5, activation="relu"),
        layers.GRU(32, dropout=0.1, recurrent_dropout=0.5, reset_after=reset_after),
        layers.Dense(1, dtype="float32"),
    ], name="jena_conv_gru")


# ---------------------------------------------------------------------------
# 2nd edition, chapter 10 (functional models: the input layer comes first, 0 parameters)
# ---------------------------------------------------------------------------

# Flatten gives 120 * 14 = 1,680 values -> Dense(16): 26,896; Dense(1): 17. Total 26,913.
JENA_DENSE_2ND_EDITION_BOOK_PARAMS = [0, 0, 26_896, 17]
# Conv1D(8, 24) on 14: 2,696; Conv1D(8, 12) on 8: 776; Conv1D(8, 6): 392; Dense(1): 9. Total 3,873.
JENA_CONVNET_2ND_EDITION_BOOK_PARAMS = [0, 2_696, 0, 776, 0, 392, 0, 9]
JENA_CONVNET_2ND_EDITION_OUTPUT_SHAPES = [(120, 14), (97, 8), (48, 8), (37, 8), (18, 8), (13, 8), (8,), (1,)]
# LSTM(16) on 14: 4 * (16 * 30 + 16) = 1,984. Total 2,001.
JENA_LSTM_2ND_EDITION_BOOK_PARAMS = [0, 1_984, 17]
# LSTM(32) on 14: 4 * (32 * 46 + 32) = 6,016. Total 6,049.
JENA_LSTM_DROPOUT_2ND_EDITION_BOOK_PARAMS = [0, 6_016, 0, 33]
# GRU(32) with reset_after (the 2nd edition's Keras): 4,608, then on 32 values: 6,336. Total 10,977.
JENA_STACKED_GRU_2ND_EDITION_BOOK_PARAMS = {"book": [0, 4_608, 6_336, 0, 33], "keras3": [0, 4_608, 6_336, 0, 33]}
# Bidirectional(LSTM(16)): 2 * 1,984; Dense(1) on 32 values: 33. Total 4,001.
JENA_BIDIRECTIONAL_LSTM_2ND_EDITION_BOOK_PARAMS = [0, 3_968, 33]


def _jena_input(sequence_length):
    return keras.Input(shape=(sequence_length, FEATURES))


def jena_dense_2nd_edition(sequence_length=120):
    inputs = _jena_input(sequence_length)
    x = layers.Flatten()(inputs)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_dense")


def jena_convnet_2nd_edition(sequence_length=120):
    """Conv1D(8, 24) -> MaxPooling1D(2) -> Conv1D(8, 12) -> MaxPooling1D(2) -> Conv1D(8, 6) -> GlobalAveragePooling1D
    -> Dense(1): a window of 24 hours first."""
    inputs = _jena_input(sequence_length)
    x = layers.Conv1D(8, 24, activation="relu")(inputs)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(8, 12, activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Conv1D(8, 6, activation="relu")(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_convnet")


def jena_lstm_2nd_edition(sequence_length=120):
    inputs = _jena_input(sequence_length)
    x = layers.LSTM(16)(inputs)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_lstm")


def jena_lstm_dropout_2nd_edition(sequence_length=120):
    """LSTM(32, recurrent dropout 0.25) -> Dropout(0.5) -> Dense(1)."""
    inputs = _jena_input(sequence_length)
    x = layers.LSTM(32, recurrent_dropout=0.25)(inputs)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_lstm_dropout")


def jena_stacked_gru_2nd_edition(sequence_length=120, reset_after=True):
    """GRU(32, recurrent dropout 0.5, every step's output) -> GRU(32, recurrent dropout 0.5) -> Dropout(0.5)
    -> Dense(1)."""
    inputs = _jena_input(sequence_length)
    x = layers.GRU(32, recurrent_dropout=0.5, return_sequences=True, reset_after=reset_after)(inputs)
    x = layers.GRU(32, recurrent_dropout=0.5, reset_after=reset_after)(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_stacked_gru")


def jena_bidirectional_lstm_2nd_edition(sequence_length=120):
    inputs = _jena_input(sequence_length)
    x = layers.Bidirectional(layers.LSTM(16))(inputs)
    outputs = layers.Dense(1, dtype="float32")(x)
    return keras.Model(inputs, outputs, name="jena_bidirectional_lstm")
