"""The 2nd edition's English-to-Spanish translators (its 11.5), with the parameter count of every layer.

Both read an English sentence ("english": 20 token ids) and the Spanish
translation so far ("spanish": 20 token ids, starting with [start]) and give,
at every position, a softmax over the 15,000 Spanish tokens for the next one.

  11.5.2  a GRU encoder-decoder: a bidirectional GRU sums the English sentence into one vector of 1,024, the
          decoder GRU starts from it
  11.5.3  a Transformer encoder-decoder: the encoder of 11.4 (models/text_networks.py) over the English tokens,
          a decoder whose self-attention is causal and whose second attention reads the encoder's outputs

The notebook prints no model summary for either: the counts below are our
arithmetic (and Keras 3.15's count, which the tests pin).

Builders only: no data, no training.
"""

import keras
from keras import layers, ops

from models.text_generation import TransformerDecoder
from models.text_networks import PositionalEmbedding, TransformerEncoder

# The book's sizes (11.5.1-11.5.3).
VOCAB_SIZE = 15_000
SEQUENCE_LENGTH = 20
EMBED_DIM = 256
LATENT_DIM = 1_024  # the GRUs
DENSE_DIM = 2_048  # the Transformer's dense projections
NUM_HEADS = 8

# Our arithmetic, per entry of model.layers. GRU(1024) on 256 features (Keras 3's reset_after=True, two biases):
# 3 gates * (256*1024 + 1024*1024 + 2*1024) = 3,938,304; the bidirectional encoder has two: 7,876,608.
# Embedding(15000, 256): 3,840,000 each; Dense(15000) on 1,024: 15,375,000. Total 34,869,912.
GRU_TRANSLATOR_PARAMS = [0, 0, 3_840_000, 3_840_000, 7_876_608, 3_938_304, 0, 15_375_000]

# PositionalEmbedding(20, 15000, 256): 3,840,000 + 20*256 = 3,845,120.
# MultiHeadAttention(8 heads, key_dim 256) on 256: query, key, value 3 * (256*2048 + 2048) = 1,579,008, output
# 2048*256 + 256 = 524,544 -> 2,103,552. Dense(2048) 526,336 + Dense(256) 524,544 = 1,050,880. LayerNormalization
# 512 each. Encoder: 2,103,552 + 1,050,880 + 2*512 = 3,155,456; decoder: 2*2,103,552 + 1,050,880 + 3*512 =
# 5,259,520. Dense(15000) on 256: 3,855,000. Total 19,960,216.
TRANSFORMER_TRANSLATOR_PARAMS = [0, 0, 3_845_120, 3_845_120, 3_155_456, 5_259_520, 0, 3_855_000]


def gru_translator(vocab_size=VOCAB_SIZE, embed_dim=EMBED_DIM, latent_dim=LATENT_DIM):
    """English -> Embedding -> Bidirectional(GRU(1024), sum); Spanish so far -> Embedding -> GRU(1024) started
    from the English summary -> Dropout(0.5) -> Dense(15000, softmax) at every position."""
    source = keras.Input(shape=(None,), dtype="int64", name="english")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(source)
    encoded_source = layers.Bidirectional(layers.GRU(latent_dim), merge_mode="sum")(x)

    past_target = keras.Input(shape=(None,), dtype="int64", name="spanish")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True)(past_target)
    x = layers.GRU(latent_dim, return_sequences=True)(x, initial_state=encoded_source)
    x = layers.Dropout(0.5)(x)
    target_next_step = layers.Dense(vocab_size, activation="softmax", dtype="float32")(x)
    return keras.Model([source, past_target], target_next_step, name="seq2seq_rnn")


@keras.saving.register_keras_serializable(package="dlwp")
class TranslationDecoder(TransformerDecoder):
    """The book's TransformerDecoder (the same layers and weights as 12.1's), masked for translation.

    Self-attention: causal (position i sees the Spanish tokens 0..i) and blind
    to the Spanish padding. Attention over the encoder: every English token but
    the padding (`source_mask`). The book's decoder masks this second attention
    with the Spanish padding and the causal mask (so Spanish word i would read
    only the first i+1 English words, and English words are hidden where the
    Spanish sentence has padding): right for 12.1's generator, where both
    sequences are the same text, not for translation. The parameters are the same.
    """

    def build(self, inputs_shape, encoder_outputs_shape=None, source_mask_shape=None):
        super().build(inputs_shape, encoder_outputs_shape)

    def call(self, inputs, encoder_outputs, mask=None, source_mask=None):
        attention_output_1 = self.attention_1(query=inputs, value=inputs, key=inputs, value_mask=mask,
                                              use_causal_mask=True)
        attention_output_1 = self.layernorm_1(inputs + attention_output_1)
        attention_output_2 = self.attention_2(query=attention_output_1, value=encoder_outputs,
                                              key=encoder_outputs, value_mask=source_mask)
        attention_output_2 = self.layernorm_2(attention_output_1 + attention_output_2)
        return self.layernorm_3(attention_output_2 + self.dense_proj(attention_output_2))


def transformer_translator(sequence_length=SEQUENCE_LENGTH, vocab_size=VOCAB_SIZE, embed_dim=EMBED_DIM,
                           dense_dim=DENSE_DIM, num_heads=NUM_HEADS):
    """English -> PositionalEmbedding -> TransformerEncoder; Spanish so far -> PositionalEmbedding ->
    TranslationDecoder(reading the encoder) -> Dropout(0.5) -> Dense(15000, softmax) at every position."""
    encoder_inputs = keras.Input(shape=(None,), dtype="int64", name="english")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(encoder_inputs)
    encoder_outputs = TransformerEncoder(embed_dim, dense_dim, num_heads)(x)

    decoder_inputs = keras.Input(shape=(None,), dtype="int64", name="spanish")
    x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(decoder_inputs)
    # The encoder's mask stops at the encoder (11.4's layer): the decoder gets the English padding from the tokens.
    x = TranslationDecoder(embed_dim, dense_dim, num_heads)(x, encoder_outputs,
                                                            source_mask=ops.not_equal(encoder_inputs, 0))
    x = layers.Dropout(0.5)(x)
    decoder_outputs = layers.Dense(vocab_size, activation="softmax", dtype="float32")(x)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs, name="seq2seq_transformer")
