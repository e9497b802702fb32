"""array_dataset: in-memory arrays as shuffled batches, the way chapters 2 and 5 feed fit()."""

import numpy as np

from datasets.arrays import array_dataset


def test_batches_keep_pairs_and_cover_every_sample_once_per_epoch():
    inputs = np.arange(10, dtype="float32")[:, None] * np.ones((1, 3), "float32")
    labels = np.arange(10)
    dataset = array_dataset(inputs, labels, batch_size=4, shuffle=True, seed=0)
    epochs = []
    for _ in range(2):
        batches = list(dataset.as_numpy_iterator())
        assert [len(y) for _, y in batches] == [4, 4, 2]
        for x, y in batches:
            np.testing.assert_array_equal(x[:, 0], y)  # each input still beside its own label
        epochs.append(np.concatenate([y for _, y in batches]))
    assert sorted(epochs[0]) == list(range(10)) and sorted(epochs[1]) == list(range(10))
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled every epoch


def test_without_shuffle_the_order_is_kept():
    batches = list(array_dataset(np.zeros((5, 2)), np.arange(5), batch_size=2).as_numpy_iterator())
    assert np.concatenate([y for _, y in batches]).tolist() == [0, 1, 2, 3, 4]
