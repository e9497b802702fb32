"""5.1 training throughput of the MNIST convnet: our pipeline against the book's plain recipe, in the same run.

    python -m benchmarks.ch5_mnist_convnet              # full MNIST if found (DLWP_DATA_DIR)
    python -m benchmarks.ch5_mnist_convnet --quick

The book's recipe: NumPy arrays straight into model.fit(), default compile
settings (jit_compile="auto", which Keras turns into XLA), one-hot labels,
rmsprop, batch 64. Ours: the same model, optimizer, labels and batch size, fed
by the chapter's tf.data pipeline and compiled with the per-device settings in
chapters.common.PERFORMANCE_DEFAULTS. Both train for the same epochs, timed
over the whole fit() (compilation included) and after the first epoch, and
are evaluated on the test set. The recipes alternate, so machine noise hits both.
"""

import time

import keras

from benchmarks.ch2_first_network import EpochTimer
from benchmarks.common import benchmark_parser, write_report
from chapters.ch5_convnets import make_digit_dataset, prepare_digits
from chapters.common import PERFORMANCE_DEFAULTS, setup_device
from datasets.mnist import load_mnist
from models.convnets import build_mnist_convnet


def train(recipe, train_images, train_labels, epochs, batch_size, settings):
    model = build_mnist_convnet(1)
    timer = EpochTimer()
    if recipe == "book":
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
        data, fit_kwargs = train_images, dict(y=train_labels, batch_size=batch_size)
    else:
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"], **settings)
        data = make_digit_dataset(train_images, train_labels, batch_size, shuffle=True)
        fit_kwargs = dict(shuffle=False)  # the dataset shuffles itself
    start = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer], **fit_kwargs)
    return model, time.perf_counter() - start, timer.seconds


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per recipe (the book trains 5)")
    args = parser.parse_args()
    device = setup_device()
    settings = PERFORMANCE_DEFAULTS[(device, "conv")]
    mnist = load_mnist(args.data_dir)
    epochs, batch_size = (2, 64) if args.quick else (args.epochs, 64)
    if args.quick:
        mnist = mnist.head(2000, 500)
    train_images, test_images = prepare_digits(mnist.train_images), prepare_digits(mnist.test_images)
    train_labels = keras.utils.to_categorical(mnist.train_labels, 10)
    test_labels = keras.utils.to_categorical(mnist.test_labels, 10)

    runs = {"book": [], "ours": []}
    for repeat in range(args.repeats):
        for recipe in ("book", "ours"):
            keras.utils.set_random_seed(repeat)
            model, seconds, epoch_seconds = train(recipe, train_images, train_labels, epochs, batch_size, settings)
            _, accuracy = model.evaluate(test_images, test_labels, batch_size=1024, verbose=0)
            later = epoch_seconds[1:] or epoch_seconds
            run = {"seconds": seconds, "epoch_seconds": epoch_seconds,
                   "samples_per_second": epochs * len(train_images) / seconds,
                   "steady_samples_per_second": len(later) * len(train_images) / sum(later),
                   "test_accuracy": accuracy}
            runs[recipe].append(run)
            print(f"repeat {repeat + 1}: {recipe:<4} {seconds:6.1f} s  {run['samples_per_second']:7,.0f} samples/s "
                  f"(after epoch 1: {run['steady_samples_per_second']:7,.0f})  test accuracy {accuracy:.4f}")

    def best(recipe, key):
        return max(run[key] for run in runs[recipe])

    def mean(recipe, key):
        return sum(run[key] for run in runs[recipe]) / len(runs[recipe])

    speedup = best("ours", "samples_per_second") / best("book", "samples_per_second")
    steady_speedup = best("ours", "steady_samples_per_second") / best("book", "steady_samples_per_second")
    write_report("ch5_mnist_convnet", {
        "data": mnist.source, "full_mnist": mnist.is_full, "epochs": epochs, "batch_size": batch_size,
        "device": device, "our_settings": settings, "book_settings": "compile defaults (jit_compile='auto')",
        "runs": runs, "speedup_best_vs_best": speedup, "speedup_after_first_epoch": steady_speedup,
        "book_test_accuracy_published": 0.991,
        "mean_test_accuracy": {"book_recipe": mean("book", "test_accuracy"), "ours": mean("ours", "test_accuracy")},
        "target": "speedup >= 2 with accuracy no worse",
    }, args.output)
    print(f"Speed-up over the whole fit: {speedup:.2f}x; after the first epoch: {steady_speedup:.2f}x (target >= 2)")


if __name__ == "__main__":
    main()
