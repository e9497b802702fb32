"""Two small fixes that let Keras 3.15's model.fit train under tf.distribute.MultiWorkerMirroredStrategy.

Since TensorFlow 2.16 (Keras 3), fit() fails there with "Attempt to convert a
value (PerReplica...) ... to a Tensor" (keras-team/keras#20585, open). Two
places of Keras's TensorFlow trainer average values across the workers
eagerly in a way the multi-worker collectives refuse:

1. `_maybe_symbolic_build` averages a whole data batch across replicas only to
   learn its shapes and dtypes; we take the first local replica's batch, which
   has the same ones.
2. `reduce_per_replica` averages the logged metrics with `axis=0`, which fails
   for scalars; we average scalars with `axis=None`.

`apply()` is called by chapters.performance only for --distribute multiworker;
the test trains two workers on localhost and checks the loss against one device.
"""

import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as trainer_module

_applied = False


def apply():
    global _applied
    if _applied:
        return
    _applied = True
    original_build = trainer_module.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer_module.reduce_per_replica

    def first_local(strategy, value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build_from_a_local_batch(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None or iterator is None:
            return original_build(self, iterator, data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            break
        local = tree.map_structure(lambda v: first_local(self.distribute_strategy, v), batch)
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=local)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer_module._collective_all_reduce_multi_worker(strategy):
            def mean(value):
                axis = 0 if first_local(strategy, value).shape.rank else None
                return strategy.reduce("MEAN", value, axis=axis)
            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    trainer_module.TensorFlowTrainer._maybe_symbolic_build = build_from_a_local_batch
    trainer_module.reduce_per_replica = reduce_per_replica
