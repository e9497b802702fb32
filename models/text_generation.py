"""The text generators of DLwP 8.1 (1st edition) and 12.1 (2nd edition), with the book's per-layer counts.

1st edition: a character-level LSTM. 60 one-hot characters in, a softmax over
the 57 characters of the lower-cased Nietzsche text out.
2nd edition: a word-level Transformer decoder over 100 tokens of IMDB reviews
(a vocabulary of 15,000), trained to predict each next token.

Builders only: no data, no training.
"""

import keras
from keras import layers, ops

from models.text_networks import PositionalEmbedding  # the same layer as 6.4's Transformer (2nd edition)

# ---------------------------------------------------------------------------
# 1st edition: the character-level LSTM
# ---------------------------------------------------------------------------

# LSTM(128) on 57 inputs: 4 gates x (57 * 128 + 128 * 128 + 128) = 95,232;
# Dense(57) on 128: 128 * 57 + 57 = 7,353. Total 102,585.
CHARACTER_LSTM_BOOK_PARAMS = [95_232, 7_353]


def character_lstm_1st_edition(maxlen=60, num_chars=57):
    """LSTM(128) over `maxlen` one-hot characters -> Dense(num_chars, softmax): the next character."""
    return keras.Sequential([
        keras.Input(shape=(maxlen, num_chars)),
        layers.LSTM(128),
        layers.Dense(num_chars, activation="softmax", dtype="float32"),
    ], name="character_lstm")


# ---------------------------------------------------------------------------
# 2nd edition: the Transformer text generator
# ---------------------------------------------------------------------------

# PositionalEmbedding(100, 15,000, 256): token embedding 15,000 * 256 + position embedding 100 * 256 = 3,865,600.
# TransformerDecoder(256, 2,048, 2 heads): two MultiHeadAttention(2 heads, key_dim 256) of
# 3 * (256 * 512 + 512) + 512 * 256 + 256 = 526,080 each; Dense(2,048) 526,336 and Dense(256) 524,544;
# three LayerNormalization of 512: 2,104,576. Dense(15,000) on 256: 3,855,000. Total 9,825,176.
TRANSFORMER_GENERATOR_BOOK_PARAMS = [0, 3_865_600, 2_104_576, 3_855_000]


@keras.saving.register_keras_serializable(package="dlwp")
class TransformerDecoder(layers.Layer):
    """The book's decoder block: causal self-attention, attention over the encoder's outputs, a dense projection.

    Each of the three sub-blocks has a residual connection and layer
    normalisation. In text generation the "encoder outputs" are the inputs
    themselves (`decoder(x, x)`), as in the book; as in the book, the second
    attention combines the padding mask with the causal mask, so that no
    position sees the tokens after it through either attention.
    """

    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.dense_dim, self.num_heads = embed_dim, dense_dim, num_heads
        self.attention_1 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.attention_2 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential([layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()
        self.layernorm_3 = layers.LayerNormalization()
        self.supports_masking = True  # Keras 3 would otherwise drop the padding mask with a warning

    def build(self, inputs_shape, encoder_outputs_shape=None):
        encoder_outputs_shape = encoder_outputs_shape or inputs_shape
        self.attention_1.build(inputs_shape, inputs_shape, inputs_shape)
        self.attention_2.build(inputs_shape, encoder_outputs_shape, encoder_outputs_shape)
        self.dense_proj.build(inputs_shape)
        for norm in (self.layernorm_1, self.layernorm_2, self.layernorm_3):
            norm.build(inputs_shape)
        self.built = True

    def call(self, inputs, encoder_outputs, mask=None):
        padding_mask = None if mask is None else ops.cast(mask[:, None, :], "int32")
        attention_output_1 = self.attention_1(query=inputs, value=inputs, key=inputs, use_causal_mask=True)
        attention_output_1 = self.layernorm_1(inputs + attention_output_1)
        attention_output_2 = self.attention_2(query=attention_output_1, value=encoder_outputs, key=encoder_outputs,
                                              attention_mask=padding_mask, use_causal_mask=True)
        attention_output_2 = self.layernorm_2(attention_output_1 + attention_output_2)
        return self.layernorm_3(attention_output_2 + self.dense_proj(attention_output_2))

    def compute_output_shape(self, inputs_shape, encoder_outputs_shape=None):
        return inputs_shape

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                "num_heads": self.num_heads}


def transformer_text_generator_2nd_edition(sequence_length=100, vocab_size=15_000, embed_dim=256, latent_dim=2_048,
                                           num_heads=2):
    """Token ids -> PositionalEmbedding -> TransformerDecoder(x, x) -> Dense(vocab, softmax) at every position."""
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(inputs)
    x = TransformerDecoder(embed_dim, latent_dim, num_heads)(x, x)
    outputs = layers.Dense(vocab_size, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="transformer_text_generator")
