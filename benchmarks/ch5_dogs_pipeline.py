"""5.2 input pipeline: images per second of decode + augment + train, against the model alone on tensors.

    DLWP_DATA_DIR=../shared/data python -m benchmarks.ch5_dogs_pipeline
    DLWP_DATA_DIR=../shared/data python -m benchmarks.ch5_dogs_pipeline --quick

The 1st edition's augmented model (dropout, 150x150, RMSprop 1e-4, batch 32),
fed four ways:
- "tensors": the model alone, on pictures already decoded in memory, no
  augmentation: the ceiling;
- "ours": the chapter's pipeline: image_dataset_from_directory, decoded
  pictures cached as uint8, shuffle, the book's augmentation as one
  RandomAffine layer (one warp per batch) in the tf.data pipeline, prefetch;
- "keras_layers": the same pipeline with the augmentation written as Keras's
  five layers (RandomRotation, RandomTranslation, RandomShear, RandomZoom,
  RandomFlip; bilinear), the way one would first port the book;
- "plain": the plain recipe: image_dataset_from_directory batches, no cache,
  no prefetch, those five layers inside the model, compile defaults.
Each recipe is built once and trained one epoch to decode, cache and trace.
Then the recipes take turns, one epoch each, for --rounds rounds, so that a
change in the machine's load hits all of them alike; the pipeline's cost is
1 - the median over rounds of (ours / tensors) images per second (target:
under 10%).
"""

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from benchmarks.common import benchmark_parser, write_report
from chapters.performance import PERFORMANCE_DEFAULTS, setup_device
from datasets import dogs_vs_cats
from models.convnets import augmentation_1st_edition, dogs_vs_cats_convnet_1st_edition

IMAGE_SIZE = (150, 150)
BATCH_SIZE = 32


def five_keras_layers():
    """The book's augmentation as Keras 3's separate layers: four warps and a flip per batch."""
    fill = dict(fill_mode="nearest")
    return keras.Sequential([
        layers.RandomRotation(40 / 360, **fill),
        layers.RandomTranslation(0.2, 0.2, **fill),
        layers.RandomShear(x_factor=0.2, y_factor=0.0, **fill),
        layers.RandomZoom(0.2, 0.2, **fill),
        layers.RandomFlip("horizontal"),
    ], name="five_augmentation_layers")


def build_model(settings, augmentation_inside=None):
    model = dogs_vs_cats_convnet_1st_edition(dropout=0.5)
    if augmentation_inside is not None:
        model = keras.Sequential([keras.Input((*IMAGE_SIZE, 3)), augmentation_inside,
                                  layers.Rescaling(1 / 255), *model.layers])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), loss="binary_crossentropy",
                  metrics=["accuracy"], **settings)
    return model


def plain_dataset(split):
    return keras.utils.image_dataset_from_directory(split.view, label_mode="binary", image_size=IMAGE_SIZE,
                                                    batch_size=BATCH_SIZE, shuffle=True, verbose=False)


def in_memory_tensors(split):
    """The same pictures, decoded once, as one tensor: what the model sees without any pipeline."""
    batches = list(dogs_vs_cats.make_dataset(split, IMAGE_SIZE, BATCH_SIZE))
    images = np.concatenate([x.numpy() for x, _ in batches])
    labels = np.concatenate([y.numpy() for _, y in batches])
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH_SIZE).cache().prefetch(tf.data.AUTOTUNE)


def one_epoch_seconds(model, data):
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0, shuffle=False)  # the datasets shuffle themselves
    return time.perf_counter() - start


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--images-per-class", type=int, default=300,
                        help="training pictures per class (the book has 1,000; fewer keeps the run short)")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per recipe, taken in turns")
    args = parser.parse_args()
    device = setup_device().kind
    settings = PERFORMANCE_DEFAULTS[(device, "conv")]
    per_class, rounds = (32, 2) if args.quick else (args.images_per_class, args.rounds)
    root = dogs_vs_cats.find_cats_and_dogs_small(args.data_dir)
    split = dogs_vs_cats.load_split(root, "train", per_class)
    count = sum(split.counts.values())
    print(f"{count} training pictures from {root}")

    keras.utils.set_random_seed(0)
    recipes = {
        "tensors": (build_model(settings), in_memory_tensors(split)),
        "ours": (build_model(settings), dogs_vs_cats.make_dataset(
            split, IMAGE_SIZE, BATCH_SIZE, shuffle=True, augmentation=augmentation_1st_edition())),
        "keras_layers": (build_model(settings), dogs_vs_cats.make_dataset(
            split, IMAGE_SIZE, BATCH_SIZE, shuffle=True, augmentation=five_keras_layers())),
        "plain": (build_model({}, augmentation_inside=five_keras_layers()), plain_dataset(split)),
    }
    first_epoch = {}
    for name, (model, data) in recipes.items():
        first_epoch[name] = one_epoch_seconds(model, data)  # decode, fill the cache, trace
        print(f"first epoch (decode, cache, trace): {name:<13} {first_epoch[name]:6.1f} s", flush=True)
    seconds = {name: [] for name in recipes}
    for round_number in range(rounds):
        for name, (model, data) in recipes.items():
            seconds[name].append(one_epoch_seconds(model, data))
        print(f"round {round_number + 1}: " + ", ".join(f"{name} {count / s[-1]:5.1f}" for name, s in seconds.items())
              + " images/s", flush=True)

    per_round = {name: np.array([count / s for s in values]) for name, values in seconds.items()}

    def median_ratio(name, baseline):
        return float(np.median(per_round[name] / per_round[baseline]))

    cost = 1 - median_ratio("ours", "tensors")
    write_report("ch5_dogs_pipeline", {
        "data": str(root), "training_images": count, "batch_size": BATCH_SIZE, "image_size": IMAGE_SIZE,
        "device": device, "our_settings": settings, "rounds": rounds, "first_epoch_seconds": first_epoch,
        "epoch_seconds": seconds,
        "median_images_per_second": {name: float(np.median(v)) for name, v in per_round.items()},
        "pipeline_cost_vs_tensors": cost,
        "keras_layers_cost_vs_tensors": 1 - median_ratio("keras_layers", "tensors"),
        "ours_vs_plain": median_ratio("ours", "plain"),
        "estimated_training_seconds_per_2000_image_epoch_ours": 2000 / float(np.median(per_round["ours"])),
        "target": "pipeline cost under 10% of the model alone on in-memory tensors",
    }, args.output)
    print(f"Pipeline cost: {cost:.1%} (target < 10%); with Keras's five augmentation layers instead: "
          f"{1 - median_ratio('keras_layers', 'tensors'):.1%}; ours vs plain: {median_ratio('ours', 'plain'):.2f}x")


if __name__ == "__main__":
    main()
