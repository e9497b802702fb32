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

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch6_text_and_sequences import word_embeddings, recurrent_networks, advanced_recurrent, sequence_convnets  # noqa: E402,F401,I001


def model_names():
    """Each section's model names, per edition, from the sections' own tables (for --help)."""
    return {"6.1": (list(word_embeddings.FIRST_EDITION), list(word_embeddings.SECOND_EDITION)),
            "6.2": (list(recurrent_networks.FIRST_EDITION), list(recurrent_networks.SECOND_EDITION)),
            "6.3": ([*advanced_recurrent.jena_trainings_1st_edition("book"), *advanced_recurrent.IMDB_TRAININGS],
                    list(advanced_recurrent.jena_trainings_2nd_edition("book"))),
            "6.4": ([*sequence_convnets.IMDB_TRAININGS, *sequence_convnets.jena_trainings("book")],
                    list(sequence_convnets.TRANSFORMER_TRAININGS))}


CHAPTER.option("--models", nargs="+", metavar="NAME",
               help="train only these of the section's models (default all): " + "; ".join(
                   f"{number}: {' '.join(first)} (2nd ed.: {' '.join(second)})"
                   for number, (first, second) in model_names().items()))
