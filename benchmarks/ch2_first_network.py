"""2.1 training throughput: our pipeline against the book's plain recipe, in the same run.

    python -m benchmarks.ch2_first_network              # full MNIST if found (DLWP_DATA_DIR)
    python -m benchmarks.ch2_first_network --quick

The book's recipe: NumPy arrays straight into model.fit(), default compile
settings, one-hot labels, rmsprop, 5 epochs of batch 128. Ours: the same model,
optimizer, labels, epochs and batch size, fed by a tf.data pipeline and compiled
with the per-device settings in chapters.common.PERFORMANCE_DEFAULTS. Both are
timed over the whole fit() (compilation included) and evaluated on the test set.
"""

import time

import keras

from benchmarks.common import benchmark_parser, write_report
from chapters.ch2_building_blocks import make_dataset, prepare_images, prepare_labels
from chapters.common import PERFORMANCE_DEFAULTS, setup_device
from datasets.mnist import load_mnist
from models.first_network import build_first_network


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (the first one includes tracing and compilation)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.seconds = []


def train_book_recipe(train_images, train_labels, epochs, batch_size):
    model = build_first_network()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    start = time.perf_counter()
    model.fit(train_images, train_labels, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=[timer])
    return model, time.perf_counter() - start, timer.seconds


def train_ours(train_images, train_labels, epochs, batch_size, settings):
    model = build_first_network()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"], **settings)
    timer = EpochTimer()
    start = time.perf_counter()
    model.fit(make_dataset(train_images, train_labels, batch_size, shuffle=True), epochs=epochs, verbose=0,
              callbacks=[timer])
    return model, time.perf_counter() - start, timer.seconds


def main():
    args = benchmark_parser(__doc__).parse_args()
    device = setup_device()
    settings = PERFORMANCE_DEFAULTS[(device, "dense")]
    mnist = load_mnist(args.data_dir)
    if args.quick:
        mnist = mnist.head(2000, 500)
    epochs, batch_size = (1, 128) if args.quick else (5, 128)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    train_labels = prepare_labels(mnist.train_labels, one_hot=True)
    test_labels = prepare_labels(mnist.test_labels, one_hot=True)

    runs = {"book": [], "ours": []}
    for repeat in range(args.repeats):
        for recipe in ("book", "ours"):  # alternate, so that machine noise hits both alike
            keras.utils.set_random_seed(repeat)
            if recipe == "book":
                model, seconds, epoch_seconds = train_book_recipe(train_images, train_labels, epochs, batch_size)
            else:
                model, seconds, epoch_seconds = train_ours(train_images, train_labels, epochs, batch_size, settings)
            _, accuracy = model.evaluate(test_images, test_labels, batch_size=1024, verbose=0)
            samples_per_second = epochs * len(train_images) / seconds
            # After the first epoch: the steady state, without tracing and compilation.
            later = epoch_seconds[1:] or epoch_seconds
            steady_samples_per_second = len(later) * len(train_images) / sum(later)
            runs[recipe].append({"seconds": seconds, "epoch_seconds": epoch_seconds,
                                 "samples_per_second": samples_per_second,
                                 "steady_samples_per_second": steady_samples_per_second,
                                 "test_accuracy": accuracy})
            print(f"repeat {repeat + 1}: {recipe:<4} {seconds:6.2f} s  {samples_per_second:9,.0f} samples/s "
                  f"(after epoch 1: {steady_samples_per_second:9,.0f})  test accuracy {accuracy:.4f}")

    def best(recipe, key):
        return max(run[key] for run in runs[recipe])

    def mean(recipe, key):
        return sum(run[key] for run in runs[recipe]) / len(runs[recipe])

    speedup = best("ours", "samples_per_second") / best("book", "samples_per_second")
    steady_speedup = best("ours", "steady_samples_per_second") / best("book", "steady_samples_per_second")
    write_report("ch2_first_network", {
        "data": mnist.source, "full_mnist": mnist.is_full, "epochs": epochs, "batch_size": batch_size,
        "device": device, "our_settings": settings, "runs": runs,
        "speedup_best_vs_best": speedup,
        "speedup_after_first_epoch": steady_speedup,
        "book_test_accuracy_published": 0.978,
        "mean_test_accuracy": {"book_recipe": mean("book", "test_accuracy"), "ours": mean("ours", "test_accuracy")},
        "target": "speedup >= 2 with accuracy no worse",
    }, args.output)
    print(f"Speed-up over the whole fit: {speedup:.2f}x; after the first epoch: {steady_speedup:.2f}x (target >= 2)")


if __name__ == "__main__":
    main()
