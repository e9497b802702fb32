"""In-memory arrays as a tf.data pipeline: how the chapters feed NumPy data to fit()."""


def array_dataset(inputs, labels, batch_size, shuffle=False, seed=None):
    """Batches of (inputs, labels) from in-memory arrays, reshuffled every epoch when `shuffle`.

    We shuffle the indices and gather whole batches: the same batches as
    shuffling every example on its own, with one gather per batch instead of
    one slice per example.
    """
    import tensorflow as tf

    inputs, labels = tf.constant(inputs), tf.constant(labels)
    indices = tf.data.Dataset.range(len(inputs))
    if shuffle:
        indices = indices.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(lambda batch: (tf.gather(inputs, batch), tf.gather(labels, batch)))
    return batches.prefetch(tf.data.AUTOTUNE)
