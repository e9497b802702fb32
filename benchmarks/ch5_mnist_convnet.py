"""5.1 training throughput of the MNIST convnet: our pipeline against the book's plain recipe, in the same run.

    python -m benchmarks.ch5_mnist_convnet              # full MNIST if found (DLWP_DATA_DIR)
    python -m benchmarks.ch5_mnist_convnet --quick

The book's recipe: NumPy arrays straight into model.fit(), default compile
settings (jit_compile="auto": Keras 3 uses XLA on a GPU, not on a CPU), one-hot labels,
rmsprop, batch 64. Ours: the same model, optimizer, labels and batch size, fed
by a tf.data pipeline and compiled with the per-device settings in
chapters.performance.PERFORMANCE_DEFAULTS. The two train in turns, one epoch each
(see benchmarks.common.compare_training_recipes), for the same epochs: the
speed-up is reported over the whole training (compilation included) and per
epoch after the first; both models are evaluated on the test set.
"""

import keras

from benchmarks.common import benchmark_parser, book_or_our_recipe, compare_training_recipes, write_report
from chapters.ch5_convnets.mnist_convnet import prepare_digits
from chapters.performance import PERFORMANCE_DEFAULTS, setup_device
from datasets.mnist import load_mnist
from models.convnets import mnist_convnet_1st_edition


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per recipe (the book trains 5)")
    args = parser.parse_args()
    device = setup_device().kind
    settings = PERFORMANCE_DEFAULTS[(device, "conv")]
    mnist = load_mnist(args.data_dir)
    epochs, batch_size = (2, 64) if args.quick else (args.epochs, 64)
    if args.quick:
        mnist = mnist.head(2000, 500)
    train_images, test_images = prepare_digits(mnist.train_images), prepare_digits(mnist.test_images)
    train_labels = keras.utils.to_categorical(mnist.train_labels, 10)
    test_labels = keras.utils.to_categorical(mnist.test_labels, 10)

    def prepare(recipe, repeat):
        return book_or_our_recipe(recipe, mnist_convnet_1st_edition, train_images, train_labels, batch_size,
                                  settings, seed=repeat)

    def evaluate(model):
        return model.evaluate(test_images, test_labels, batch_size=1024, verbose=0)[1]

    runs, summary = compare_training_recipes(prepare, evaluate, len(train_images), epochs, args.repeats)
    write_report("ch5_mnist_convnet", {
        "data": mnist.source, "full_mnist": mnist.is_full, "epochs": epochs, "batch_size": batch_size,
        "device": device, "our_settings": settings,
        "book_settings": "compile defaults (jit_compile='auto': no XLA on a CPU-only machine)",
        "runs": runs, **summary, "book_test_accuracy_published": 0.991,
        "target": "speedup >= 2 with accuracy no worse",
    }, args.output)


if __name__ == "__main__":
    main()
