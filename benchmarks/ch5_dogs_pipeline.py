"""5.2 input pipeline: images per second of decode + augment + train, against the model alone on tensors.

    DLWP_DATA_DIR=../shared/data python -m benchmarks.ch5_dogs_pipeline
    DLWP_DATA_DIR=../shared/data python -m benchmarks.ch5_dogs_pipeline --quick

Four ways to feed the 1st edition's augmented model (dropout, 150x150,
RMSprop 1e-4, batch 32), each timed on its second epoch (the first decodes,
fills the cache and traces):
- "tensors": the model alone, on pictures already decoded in memory, no
  augmentation: the ceiling;
- "ours": the chapter's pipeline: image_dataset_from_directory, decoded
  pictures cached as uint8, shuffle, augmentation layers in the tf.data
  pipeline (parallel map), prefetch;
- "augmentation_in_model": the same cached pipeline, the augmentation layers
  inside the model instead (the 2nd edition's way);
- "book_plain": the plain recipe, image_dataset_from_directory batches with
  no cache and no prefetch, augmentation inside the model, compile defaults.
The pipeline's cost is 1 - ours / tensors (target: under 10%).
"""

import keras
import numpy as np
import tensorflow as tf

from benchmarks.ch2_first_network import EpochTimer
from benchmarks.common import benchmark_parser, write_report
from chapters.common import PERFORMANCE_DEFAULTS, setup_device
from datasets import dogs_vs_cats
from models.convnets import build_book_augmentation, build_dogs_vs_cats_convnet

IMAGE_SIZE = (150, 150)
BATCH_SIZE = 32


def build_model(augmentation_inside, settings):
    model = build_dogs_vs_cats_convnet(1, dropout=True)
    if augmentation_inside:
        model = keras.Sequential([keras.Input((*IMAGE_SIZE, 3)), build_book_augmentation(),
                                  keras.layers.Rescaling(1 / 255), *model.layers])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="binary_crossentropy",
                  metrics=["accuracy"], **settings)
    return model


def plain_dataset(split):
    images = keras.utils.image_dataset_from_directory(split.view, label_mode="binary", image_size=IMAGE_SIZE,
                                                      batch_size=BATCH_SIZE, shuffle=True, verbose=False)
    return images


def in_memory_tensors(split):
    """The same pictures, decoded once, as one tensor: what the model sees without any pipeline."""
    batches = list(dogs_vs_cats.make_dataset(split, IMAGE_SIZE, BATCH_SIZE))
    images = np.concatenate([x.numpy() for x, _ in batches])
    labels = np.concatenate([y.numpy() for _, y in batches])
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH_SIZE).cache().prefetch(tf.data.AUTOTUNE)


def time_epochs(model, data, epochs):
    timer = EpochTimer()
    model.fit(data, epochs=epochs, verbose=0, callbacks=[timer], shuffle=False)  # the datasets shuffle themselves
    return timer.seconds


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--images-per-class", type=int, default=300,
                        help="training pictures per class (the book has 1,000; fewer keeps the run short)")
    args = parser.parse_args()
    device = setup_device()
    settings = PERFORMANCE_DEFAULTS[(device, "conv")]
    per_class = 32 if args.quick else args.images_per_class
    root = dogs_vs_cats.find_cats_and_dogs_small(args.data_dir)
    split = dogs_vs_cats.load_split(root, "train", per_class)
    count = sum(split.counts.values())
    print(f"{count} training pictures from {root}")

    recipes = {
        "tensors": lambda: (build_model(False, settings), in_memory_tensors(split)),
        "ours": lambda: (build_model(False, settings),
                         dogs_vs_cats.make_dataset(split, IMAGE_SIZE, BATCH_SIZE, shuffle=True,
                                                   augmentation=build_book_augmentation())),
        "augmentation_in_model": lambda: (build_model(True, settings),
                                          dogs_vs_cats.make_dataset(split, IMAGE_SIZE, BATCH_SIZE, shuffle=True,
                                                                    scale=False)),
        "book_plain": lambda: (build_model(True, {}), plain_dataset(split)),
    }
    runs = {name: [] for name in recipes}
    for repeat in range(args.repeats):
        for name, make in recipes.items():
            keras.utils.set_random_seed(repeat)
            model, data = make()
            seconds = time_epochs(model, data, epochs=2)
            runs[name].append({"epoch_seconds": seconds, "images_per_second": count / seconds[-1]})
            print(f"repeat {repeat + 1}: {name:<22} epoch 1 {seconds[0]:6.1f} s, epoch 2 {seconds[1]:6.1f} s "
                  f"= {count / seconds[1]:6.1f} images/s")

    best = {name: max(r["images_per_second"] for r in rs) for name, rs in runs.items()}
    cost = 1 - best["ours"] / best["tensors"]
    write_report("ch5_dogs_pipeline", {
        "data": str(root), "training_images": count, "batch_size": BATCH_SIZE, "image_size": IMAGE_SIZE,
        "device": device, "our_settings": settings, "runs": runs, "best_images_per_second": best,
        "pipeline_cost_vs_tensors": cost,
        "ours_vs_book_plain": best["ours"] / best["book_plain"],
        "augmentation_in_pipeline_vs_in_model": best["ours"] / best["augmentation_in_model"],
        "estimated_seconds_per_2000_image_epoch_ours": 2000 / best["ours"],
        "target": "pipeline cost under 10% of the model alone on in-memory tensors",
    }, args.output)
    print(f"Pipeline cost: {cost:.1%} (target < 10%); ours vs plain: {best['ours'] / best['book_plain']:.2f}x; "
          f"augmentation in the pipeline vs in the model: {best['ours'] / best['augmentation_in_model']:.2f}x")


if __name__ == "__main__":
    main()
