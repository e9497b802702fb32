"""Chapter 11 of the 2nd edition: sequence-to-sequence learning (its 11.5).

    python -m chapters.ch11_sequence_to_sequence                      # 11.5: both translators, the book's epochs
    python -m chapters.ch11_sequence_to_sequence 11.5 --models gru    # only the GRU encoder-decoder
    python -m chapters.ch11_sequence_to_sequence --summary-only       # the two models and their parameters
    python -m chapters.ch11_sequence_to_sequence --quick              # a few batches: checks that everything runs

A sequence-to-sequence model reads a whole sentence and writes another, one
token at a time: here English in, Spanish out, on the 118,964 pairs of the
Anki/Tatoeba file spa-eng/spa.txt. First a GRU encoder-decoder (the English
sentence summed into one vector that starts the decoder), then a Transformer
encoder-decoder (the decoder attends to every English token). Both are trained
to predict each next Spanish word; then they translate test sentences by
greedy decoding. Only the 2nd edition has this chapter (the 1st edition's
chapter 6 stops at text classification), so there is no --edition flag.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch11_sequence_to_sequence", "Chapter 11 (2nd edition): Sequence-to-sequence learning",
                  __doc__.split("\n\n", 2)[2].strip(), editions=(2,))

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch11_sequence_to_sequence import translation  # noqa: E402,I001

CHAPTER.option("--models", nargs="+", metavar="NAME", choices=list(translation.TRAININGS),
               help=f"train only these of 11.5's models (default all): {' '.join(translation.TRAININGS)}")
