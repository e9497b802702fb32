"""2.1 training throughput: our pipeline against the book's plain recipe, in the same run.

    python -m benchmarks.ch2_first_network              # full MNIST if found (DLWP_DATA_DIR)
    python -m benchmarks.ch2_first_network --quick

The book's recipe: NumPy arrays straight into model.fit(), default compile
settings, one-hot labels, rmsprop, 5 epochs of batch 128. Ours: the same model,
optimizer, labels, epochs and batch size, fed by a tf.data pipeline and compiled
with the per-device settings in chapters.performance.PERFORMANCE_DEFAULTS. The two
train in turns, one epoch each (see benchmarks.common.compare_training_recipes):
the speed-up is reported over the whole training (compilation included) and
per epoch after the first; both models are evaluated on the test set.
"""

from benchmarks.common import benchmark_parser, book_or_our_recipe, compare_training_recipes, write_report
from chapters.ch2_building_blocks.first_network import prepare_images, prepare_labels
from chapters.performance import PERFORMANCE_DEFAULTS, setup_device
from datasets.mnist import load_mnist
from models.first_network import first_network


def main():
    args = benchmark_parser(__doc__).parse_args()
    device = setup_device().kind
    settings = PERFORMANCE_DEFAULTS[(device, "dense")]
    mnist = load_mnist(args.data_dir)
    if args.quick:
        mnist = mnist.head(2000, 500)
    epochs, batch_size = (1, 128) if args.quick else (5, 128)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    train_labels = prepare_labels(mnist.train_labels, one_hot=True)
    test_labels = prepare_labels(mnist.test_labels, one_hot=True)

    def prepare(recipe, repeat):
        return book_or_our_recipe(recipe, first_network, train_images, train_labels, batch_size, settings,
                                  seed=repeat)

    def evaluate(model):
        return model.evaluate(test_images, test_labels, batch_size=1024, verbose=0)[1]

    runs, summary = compare_training_recipes(prepare, evaluate, len(train_images), epochs, args.repeats)
    write_report("ch2_first_network", {
        "data": mnist.source, "full_mnist": mnist.is_full, "epochs": epochs, "batch_size": batch_size,
        "device": device, "our_settings": settings, "runs": runs, **summary,
        "book_test_accuracy_published": 0.978, "target": "speedup >= 2 with accuracy no worse",
    }, args.output)


if __name__ == "__main__":
    main()
