"""Chapter 6: Deep learning for text and sequences.

    python -m chapters.ch6_text_and_sequences              # 6.1: one-hot encoding, word embeddings, GloVe
    python -m chapters.ch6_text_and_sequences 6.2          # a recurrent layer in NumPy; SimpleRNN and LSTM on IMDB
    python -m chapters.ch6_text_and_sequences 6.3          # Jena temperature forecasting: GRU, dropout, stacking, ...
    python -m chapters.ch6_text_and_sequences 6.4          # 1D convnets on IMDB and Jena
    python -m chapters.ch6_text_and_sequences 6.2 --models lstm     # one of a section's models
    python -m chapters.ch6_text_and_sequences all --quick --edition 2

Text becomes numbers (one-hot vectors, hashed tokens, learned or pretrained
word embeddings); recurrent layers (SimpleRNN, LSTM, GRU) read sequences one
step at a time, and 1D convnets read them a window at a time. With
`--edition 2` each section runs the 2nd edition's version: 6.1 the text
pipeline of its chapter 11 (TextVectorization, bag-of-words models), 6.2 its
sequence models (bidirectional LSTMs on one-hot tokens and on embeddings, with
masking), 6.3 chapter 10's Jena models, 6.4 the Transformer encoder.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch6_text_and_sequences", "Chapter 6: Deep learning for text and sequences",
                  __doc__.split("\n\n", 2)[2].strip())

CHAPTER.option("--models", nargs="+", metavar="NAME",
               help="train only these of the section's models (default all; a wrong name lists the section's)")

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch6_text_and_sequences import word_embeddings, recurrent_networks, advanced_recurrent, sequence_convnets  # noqa: E402,F401,I001
