"""Chapter 3: Getting started with neural networks.

    python -m chapters.ch3_getting_started 3.5        # IMDB reviews, positive or negative
    python -m chapters.ch3_getting_started 3.6        # Reuters newswires, 46 topics
    python -m chapters.ch3_getting_started 3.7        # Boston house prices, K-fold validation
    python -m chapters.ch3_getting_started all --quick

Three small Dense networks on three kinds of problem: binary classification
(3.5), single-label multiclass classification (3.6) and scalar regression
(3.7). Each section follows the book: look at the data, vectorise it, build
and check the network, watch it overfit on a validation set, then retrain for
the best number of epochs and evaluate once on the test set.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch3_getting_started", "Chapter 3: Getting started with neural networks",
                  __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch3_getting_started import imdb_reviews, reuters_newswires, boston_housing  # noqa: E402,F401,I001
