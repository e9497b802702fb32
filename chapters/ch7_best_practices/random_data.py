"""7.1's training on random arrays, as the book does it for each model of both editions.

The book shows that its functional models train by fitting them on random
inputs and targets; `train_on_random_data` is that fit, through `run.fit`, on
arrays of any nesting (a list or dict of inputs, a dict of targets).
"""

import tensorflow as tf

from datasets.arrays import without_autotuning

QUICK_RANDOM_SAMPLES = 64  # --quick: random samples per model


def train_on_random_data(run, model, inputs, targets, name, epochs, batch_size):
    """run.fit on random arrays (any nesting of inputs and targets), shuffled every epoch; returns the history."""
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    dataset = dataset.shuffle(len(tf.nest.flatten(targets)[0]), seed=run.seed, reshuffle_each_iteration=True)
    history = run.fit(model, without_autotuning(dataset.batch(run.batch_size(batch_size)).prefetch(2)), name=name,
                      epochs=epochs)
    run.record(f"{name}.loss_first_and_last_epoch", [round(history["loss"][0], 4), round(history["loss"][-1], 4)],
               label=f"{name}: loss after the first and the last epoch", note="random data")
    return history
