"""The book's networks for text, one builder per listing, with the book's parameter count for every layer.

1st edition (chapter 6, on the Keras IMDB arrays unless said otherwise):
  6.1  Embedding(10000, 8) on reviews cut to 20 words; the raw-text model with a 100-dimensional
       (GloVe) embedding of 10,000 words on reviews cut to 100 words
  6.2  SimpleRNN and LSTM on reviews cut to 500 words (and the book's summaries of stacked SimpleRNNs)
  6.3  the LSTM on reversed reviews; the bidirectional LSTM
  6.4  the 1D convnet
2nd edition (chapter 11, on the raw reviews vectorised by TextVectorization):
  11.3 the bag-of-words model; bidirectional LSTMs on one-hot tokens and on learned embeddings (with masking)
  11.4 the Transformer encoder, without and with positional embedding

Builders only: no data, no training. A `*_BOOK_PARAMS` list gives the book's
count for each entry of `model.layers` (Sequential models, the 1st edition's,
list no input layer; functional ones, the 2nd edition's, start with theirs, 0).

Output layers compute in float32 (dtype="float32"): under --mixed-precision the loss and the predictions
stay in full precision while the hidden layers compute in 16 bits.
"""

import keras
from keras import layers, ops

# ---------------------------------------------------------------------------
# 1st edition, 6.1: word embeddings
# ---------------------------------------------------------------------------

# Embedding(10000, 8) on 20 words: 10,000 * 8 = 80,000; Flatten gives 20 * 8 = 160 values -> Dense(1): 161.
IMDB_EMBEDDING_BOOK_PARAMS = [80_000, 0, 161]
# Embedding(10000, 100) on 100 words: 1,000,000; Flatten 10,000 -> Dense(32): 320,032; Dense(1): 33.
RAW_TEXT_EMBEDDING_BOOK_PARAMS = [1_000_000, 0, 320_032, 33]
RAW_TEXT_EMBEDDING_TRAINABLE_WITH_GLOVE = 320_065  # the embedding frozen: only the two Dense layers train


def imdb_embedding_model(max_features=10_000, maxlen=20, embedding_dim=8):
    """Embedding -> Flatten -> Dense(1, sigmoid): each review is its first `maxlen` words' vectors, side by side."""
    return keras.Sequential([
        keras.Input(shape=(maxlen,), dtype="int32"),  # Keras 3: the length goes here, not Embedding(input_length=)
        layers.Embedding(max_features, embedding_dim),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_embedding")


def raw_text_embedding_model(max_words=10_000, maxlen=100, embedding_dim=100, embedding_matrix=None, name=None):
    """Embedding -> Flatten -> Dense(32, relu) -> Dense(1, sigmoid).

    With `embedding_matrix` (GloVe's vectors, one row per word index) the
    embedding starts from it and is frozen, as the book's
    `layers[0].set_weights([embedding_matrix]); layers[0].trainable = False`.
    """
    pretrained = embedding_matrix is not None
    model = keras.Sequential([
        keras.Input(shape=(maxlen,), dtype="int32"),
        layers.Embedding(max_words, embedding_dim),
        layers.Flatten(),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name=name or ("raw_text_glove" if pretrained else "raw_text_learned_embedding"))
    if pretrained:
        model.layers[0].set_weights([embedding_matrix])
        model.layers[0].trainable = False
    return model


# ---------------------------------------------------------------------------
# 1st edition, 6.2: recurrent layers on IMDB
# ---------------------------------------------------------------------------

# SimpleRNN(32) on 32 features: 32*32 (input) + 32*32 (recurrent) + 32 = 2,080. Embedding(10000, 32): 320,000.
SIMPLE_RNN_SUMMARY_BOOK_PARAMS = [320_000, 2_080]  # total 322,080, with and without return_sequences
STACKED_SIMPLE_RNN_BOOK_PARAMS = [320_000, 2_080, 2_080, 2_080, 2_080]  # total 328,320
IMDB_SIMPLE_RNN_BOOK_PARAMS = [320_000, 2_080, 33]  # total 322,113
# LSTM(32) on 32 features: 4 gates * (32*32 + 32*32 + 32) = 8,320.
IMDB_LSTM_BOOK_PARAMS = [320_000, 8_320, 33]  # total 328,353


def simple_rnn_summary(return_sequences=False):
    """The book's first SimpleRNN summary: Embedding(10000, 32) -> SimpleRNN(32), no classifier."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(10_000, 32),
        layers.SimpleRNN(32, return_sequences=return_sequences),
    ], name="simple_rnn_return_sequences" if return_sequences else "simple_rnn_last_output")


def stacked_simple_rnn_summary():
    """Four SimpleRNN(32): every one but the last returns its full sequence of outputs."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(10_000, 32),
        layers.SimpleRNN(32, return_sequences=True),
        layers.SimpleRNN(32, return_sequences=True),
        layers.SimpleRNN(32, return_sequences=True),
        layers.SimpleRNN(32),
    ], name="stacked_simple_rnn")


def imdb_simple_rnn(max_features=10_000):
    """Embedding(10000, 32) -> SimpleRNN(32) -> Dense(1, sigmoid)."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(max_features, 32),
        layers.SimpleRNN(32),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_simple_rnn")


def imdb_lstm(max_features=10_000):
    """Embedding(10000, 32) -> LSTM(32) -> Dense(1, sigmoid)."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(max_features, 32),
        layers.LSTM(32),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_lstm")


# ---------------------------------------------------------------------------
# 1st edition, 6.3 (IMDB side experiments) and 6.4
# ---------------------------------------------------------------------------

# Embedding(10000, 128): 1,280,000; LSTM(32) on 128 features: 4 * (128*32 + 32*32 + 32) = 20,608. Total 1,300,641.
IMDB_REVERSED_LSTM_BOOK_PARAMS = [1_280_000, 20_608, 33]
# Bidirectional(LSTM(32)): two LSTMs of 8,320; Dense(1) on their 64 concatenated outputs: 65. Total 336,705.
IMDB_BIDIRECTIONAL_LSTM_BOOK_PARAMS = [320_000, 16_640, 65]
# Conv1D(32, 7) on 128 channels: 7*128*32 + 32 = 28,704; on 32 channels: 7*32*32 + 32 = 7,200. Total 1,315,937.
IMDB_CONVNET_BOOK_PARAMS = [1_280_000, 28_704, 0, 7_200, 0, 33]
IMDB_CONVNET_OUTPUT_SHAPES = [(500, 128), (494, 32), (98, 32), (92, 32), (32,), (1,)]


def imdb_reversed_lstm(max_features=10_000):
    """Embedding(10000, 128) -> LSTM(32) -> Dense(1, sigmoid): the model the book trains on reversed reviews."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(max_features, 128),
        layers.LSTM(32),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_reversed_lstm")


def imdb_bidirectional_lstm(max_features=10_000):
    """Embedding(10000, 32) -> Bidirectional(LSTM(32)) -> Dense(1, sigmoid)."""
    return keras.Sequential([
        keras.Input(shape=(None,), dtype="int32"),
        layers.Embedding(max_features, 32),
        layers.Bidirectional(layers.LSTM(32)),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_bidirectional_lstm")


def imdb_convnet(max_features=10_000, max_len=500):
    """Embedding(10000, 128) -> Conv1D(32, 7) -> MaxPooling1D(5) -> Conv1D(32, 7) -> GlobalMaxPooling1D -> Dense(1).

    The book's listing ends in Dense(1) without an activation, yet trains it
    with binary crossentropy, which expects a probability; we add the sigmoid
    (it has no parameters: the counts are the book's).
    """
    return keras.Sequential([
        keras.Input(shape=(max_len,), dtype="int32"),
        layers.Embedding(max_features, 128),
        layers.Conv1D(32, 7, activation="relu"),
        layers.MaxPooling1D(5),
        layers.Conv1D(32, 7, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid", dtype="float32"),
    ], name="imdb_convnet")


# ---------------------------------------------------------------------------
# 2nd edition, 11.3: sets and sequences of words
# ---------------------------------------------------------------------------

# get_model(): multi-hot or TF-IDF vectors of 20,000 -> Dense(16): 320,016; Dense(1): 17. Total 320,033.
BAG_OF_WORDS_BOOK_PARAMS = [0, 320_016, 0, 17]
# Bidirectional(LSTM(32)) on 20,000-wide one-hot vectors: 2 * 4 * (20000*32 + 32*32 + 32) = 5,128,448. Total 5,128,513.
ONE_HOT_BIDIRECTIONAL_LSTM_BOOK_PARAMS = [0, 0, 5_128_448, 0, 65]
# Embedding(20000, 256): 5,120,000; Bidirectional(LSTM(32)) on 256: 2 * 4 * (256*32 + 32*32 + 32) = 73,984.
EMBEDDING_BIDIRECTIONAL_LSTM_BOOK_PARAMS = [0, 5_120_000, 73_984, 0, 65]  # total 5,194,049, masked or not


def bag_of_words_model(max_tokens=20_000, hidden_dim=16):
    """The 2nd edition's get_model(): Dense(16, relu) -> Dropout(0.5) -> Dense(1, sigmoid) on a vector per review."""
    inputs = keras.Input(shape=(max_tokens,))
    x = layers.Dense(hidden_dim, activation="relu")(inputs)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="bag_of_words")


@keras.saving.register_keras_serializable(package="dlwp")
class OneHot(layers.Layer):
    """Token indices -> one-hot vectors of `depth` (the book's `tf.one_hot(inputs, depth=max_tokens)`)."""

    def __init__(self, depth, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth

    def call(self, inputs):
        return ops.one_hot(inputs, self.depth)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.depth)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}


def one_hot_bidirectional_lstm(max_tokens=20_000):
    """Token indices -> one-hot -> Bidirectional(LSTM(32)) -> Dropout(0.5) -> Dense(1, sigmoid)."""
    inputs = keras.Input(shape=(None,), dtype="int64")
    embedded = OneHot(max_tokens, name="one_hot")(inputs)
    x = layers.Bidirectional(layers.LSTM(32))(embedded)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="one_hot_bidirectional_lstm")


def embedding_bidirectional_lstm(max_tokens=20_000, embedding_dim=256, mask_zero=False):
    """Embedding(20000, 256) -> Bidirectional(LSTM(32)) -> Dropout(0.5) -> Dense(1, sigmoid).

    `mask_zero=True`: the padding (index 0) is masked, so the backward LSTM
    does not start by reading hundreds of padding vectors.
    """
    inputs = keras.Input(shape=(None,), dtype="int64")
    embedded = layers.Embedding(max_tokens, embedding_dim, mask_zero=mask_zero)(inputs)
    x = layers.Bidirectional(layers.LSTM(32))(embedded)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="embedding_bidirectional_lstm" + ("_masked" if mask_zero else ""))


# ---------------------------------------------------------------------------
# 2nd edition, 11.4: the Transformer encoder
# ---------------------------------------------------------------------------

# MultiHeadAttention(2 heads, key_dim 256) on 256: query, key and value 3 * (256*512 + 512) = 394,752, output
# 512*256 + 256 = 131,328 -> 526,080; Dense(32) 8,224 + Dense(256) 8,448 = 16,672; 2 LayerNormalization 1,024.
TRANSFORMER_ENCODER_PARAMS = 543_776
TRANSFORMER_BOOK_PARAMS = [0, 5_120_000, TRANSFORMER_ENCODER_PARAMS, 0, 0, 257]  # total 5,664,033
# PositionalEmbedding(600, 20000, 256): tokens 5,120,000 + positions 600*256 = 153,600.
POSITIONAL_TRANSFORMER_BOOK_PARAMS = [0, 5_273_600, TRANSFORMER_ENCODER_PARAMS, 0, 0, 257]  # total 5,817,633


@keras.saving.register_keras_serializable(package="dlwp")
class TransformerEncoder(layers.Layer):
    """Self-attention, then a dense projection, each added to its input and layer-normalised.

    A padding mask coming from the embedding reaches the attention (padded
    tokens are never attended to). The mask ends here: the book's
    GlobalMaxPooling1D that follows takes none.
    """

    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.dense_dim, self.num_heads = embed_dim, dense_dim, num_heads
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential([layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.supports_masking = True

    def build(self, input_shape):
        self.attention.build(input_shape, input_shape)
        self.dense_proj.build(input_shape)
        self.layernorm_1.build(input_shape)
        self.layernorm_2.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        attention_mask = None if mask is None else ops.expand_dims(mask, axis=1)  # (batch, 1, keys)
        attention_output = self.attention(inputs, inputs, attention_mask=attention_mask)
        projection_input = self.layernorm_1(inputs + attention_output)
        return self.layernorm_2(projection_input + self.dense_proj(projection_input))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads}


@keras.saving.register_keras_serializable(package="dlwp")
class PositionalEmbedding(layers.Layer):
    """A learned vector per token plus a learned vector per position; index 0 (padding) is masked."""

    def __init__(self, sequence_length, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length, self.input_dim, self.output_dim = sequence_length, input_dim, output_dim
        self.token_embeddings = layers.Embedding(input_dim, output_dim)
        self.position_embeddings = layers.Embedding(sequence_length, output_dim)

    def build(self, input_shape):
        self.token_embeddings.build(input_shape)
        self.position_embeddings.build((input_shape[-1],))
        self.built = True

    def call(self, inputs):
        positions = ops.arange(0, ops.shape(inputs)[-1])
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "sequence_length": self.sequence_length, "input_dim": self.input_dim,
                "output_dim": self.output_dim}


def transformer_classifier(vocab_size=20_000, embed_dim=256, num_heads=2, dense_dim=32):
    """Embedding -> TransformerEncoder -> GlobalMaxPooling1D -> Dropout(0.5) -> Dense(1, sigmoid): word order unseen."""
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(vocab_size, embed_dim)(inputs)
    x = TransformerEncoder(embed_dim, dense_dim, num_heads, name="transformer_encoder")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="transformer_encoder")


def positional_transformer_classifier(sequence_length=600, vocab_size=20_000, embed_dim=256, num_heads=2,
                                      dense_dim=32):
    """The same with PositionalEmbedding: the encoder now sees where each word stands, and padding is masked."""
    inputs = keras.Input(shape=(sequence_length,), dtype="int64")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim, name="positional_embedding")(inputs)
    x = TransformerEncoder(embed_dim, dense_dim, num_heads, name="transformer_encoder")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="positional_transformer_encoder")


# ---------------------------------------------------------------------------
# 2nd edition, 11.3.3: pretrained GloVe embeddings
# ---------------------------------------------------------------------------

# Embedding(20000, 100) from GloVe, frozen: 2,000,000; Bidirectional(LSTM(32)) on 100: 2 * 4 * (100*32 + 32*32 + 32)
# = 34,048; Dense(1) 65. Total 2,034,113, of which 34,113 train.
GLOVE_BIDIRECTIONAL_LSTM_BOOK_PARAMS = [0, 2_000_000, 34_048, 0, 65]


def glove_bidirectional_lstm(embedding_matrix):
    """GloVe's vectors (one row per token index), frozen and masking index 0 -> Bidirectional(LSTM(32)) ->
    Dropout(0.5) -> Dense(1, sigmoid).

    The book passes the matrix as `embeddings_initializer=Constant(matrix)`; we set it as the layer's weights
    (the same values), so that model.save does not write 2,000,000 numbers into the model's config.
    """
    max_tokens, embedding_dim = embedding_matrix.shape
    inputs = keras.Input(shape=(None,), dtype="int64")
    embedding = layers.Embedding(max_tokens, embedding_dim, trainable=False, mask_zero=True)
    x = layers.Bidirectional(layers.LSTM(32))(embedding(inputs))
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="glove_bidirectional_lstm")
    embedding.set_weights([embedding_matrix])
    return model
