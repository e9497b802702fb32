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


def test_the_autotuner_is_off_for_array_pipelines():
    # When on, it holds the end of every epoch until its next wake-up (2.55 s, 5.11 s, ...).
    from datasets.imdb import multi_hot_dataset

    assert array_dataset(np.zeros((4, 2)), np.arange(4), batch_size=2).options().autotune.enabled is False
    assert multi_hot_dataset([[1, 2], [3]], np.array([0, 1]), batch_size=2).options().autotune.enabled is False
