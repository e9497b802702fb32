"""Chapter 7: Advanced deep-learning best practices (2nd edition: chapters 7 and 13).

    python -m chapters.ch7_best_practices 7.1        # the functional API: multi-input, multi-output, graphs
    python -m chapters.ch7_best_practices 7.2        # callbacks and TensorBoard
    python -m chapters.ch7_best_practices 7.3        # batch normalisation, separable convs, KerasTuner, ensembles
    python -m chapters.ch7_best_practices all --quick
    python -m chapters.ch7_best_practices 7.1 --edition 2   # "Working with Keras": subclassing, custom loops

7.1 builds the models the Sequential API cannot: two inputs, three outputs,
an Inception module, residual connections, a shared LSTM, a model used as a
layer (2nd edition: the customer-ticket model, functional and subclassed, and
a training loop written by hand, then as a train_step). 7.2 watches and
steers training with callbacks and TensorBoard. 7.3 gets more out of a model:
batch normalisation, depthwise separable convolutions, a hyperparameter
search with KerasTuner, and an ensemble of networks.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch7_best_practices", "Chapter 7: Advanced deep-learning best practices",
                  __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch7_best_practices import functional_api, callbacks_tensorboard, getting_the_most  # noqa: E402,F401,I001
