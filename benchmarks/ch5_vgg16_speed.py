"""5.3 on this machine: how fast VGG16's conv base runs, and how long each of the book's three trainings takes.

    python -m benchmarks.ch5_vgg16_speed               # the 1st edition's sizes: 150x150, batches of 20
    python -m benchmarks.ch5_vgg16_speed --edition 2   # 180x180, batches of 32
    python -m benchmarks.ch5_vgg16_speed --quick

Timing does not depend on the weights or the pictures, so the conv base is
untrained and the pictures random. Measured, in batches of the book's size:
- "inference": pictures per second through the conv base (fast feature
  extraction, and every validation or test pass);
- "frozen": training pictures per second of the whole model with the conv
  base frozen (feature extraction with data augmentation);
- "fine_tuning": the same with block5_conv1-3 trainable;
- one epoch of the densely connected classifier on 2,000 stored features.
The kinds take turns, one timed batch-run each, for --repeats rounds, so that
a change in the machine's load hits all alike; the medians give the seconds
per epoch of each training (2,000 training and 1,000 validation pictures) and
of the book's whole schedule. The machine's load average is kept in the report:
these trainings are compute-bound, and other processes slow them in proportion.
"""

import os
import time

import keras
import numpy as np

from benchmarks.common import benchmark_parser, write_report
from chapters.ch5_convnets.pretrained_convnet import EDITIONS
from chapters.performance import setup_device
from datasets.arrays import array_dataset
from models.pretrained_convnets import freeze, vgg16_conv_base

TRAINING_PICTURES, VALIDATION_PICTURES, TEST_PICTURES = 2000, 1000, 1000


def pictures_per_second(step, batch, batches):
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return batches * batch / (time.perf_counter() - start)


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--edition", type=int, choices=[1, 2], default=1)
    parser.add_argument("--batches", type=int, default=3, help="batches per timed run")
    args = parser.parse_args()
    device = setup_device().kind
    edition = EDITIONS[args.edition]
    trainings = edition.trainings
    batch = trainings["augmentation"].batch_size
    batches, repeats = (1, 1) if args.quick else (args.batches, args.repeats)
    load_before = os.getloadavg()

    keras.utils.set_random_seed(0)
    conv_base = vgg16_conv_base("random", edition.image_size)
    model = edition.build_conv_base_classifier(conv_base, 0)
    rng = np.random.default_rng(0)
    pictures = rng.uniform(0, 255 if not edition.rescale_in_pipeline else 1, (batch, *edition.image_size, 3))
    pictures = pictures.astype("float32")
    labels = rng.integers(0, 2, (batch, 1)).astype("float32")

    def compiled(unfreeze):
        freeze(conv_base)
        if unfreeze:
            edition.unfreeze(conv_base)
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-5), loss="binary_crossentropy")
        return lambda: model.train_on_batch(pictures, labels)

    steps = {"inference": lambda: conv_base.predict_on_batch(edition.preprocess_features(pictures))}
    speeds = {name: [] for name in ("inference", "frozen", "fine_tuning")}
    for round_number in range(repeats + 1):  # round 0 traces and warms up
        for name in speeds:
            step = steps["inference"] if name == "inference" else compiled(unfreeze=name == "fine_tuning")
            step()
            speed = pictures_per_second(step, batch, batches)
            if round_number:
                speeds[name].append(speed)
        if round_number:
            print(f"round {round_number}: " + ", ".join(f"{n} {s[-1]:.2f}" for n, s in speeds.items())
                  + " pictures/s", flush=True)
    median = {name: float(np.median(values)) for name, values in speeds.items()}

    # The classifier of fast feature extraction: one epoch over 2,000 stored feature maps.
    features = rng.random((TRAINING_PICTURES, *conv_base.output.shape[1:])).astype("float32")
    classifier = edition.build_feature_classifier()
    classifier.compile(optimizer=trainings["feature_extraction"].optimizer(), loss="binary_crossentropy")
    data = array_dataset(edition.shape_features(features), rng.integers(0, 2, TRAINING_PICTURES).astype("float32"),
                         trainings["feature_extraction"].batch_size)
    classifier.fit(data, epochs=1, verbose=0)
    start = time.perf_counter()
    classifier.fit(data, epochs=1, verbose=0)
    classifier_epoch = time.perf_counter() - start

    validation = VALIDATION_PICTURES / median["inference"]
    test = TEST_PICTURES / median["inference"]
    epoch = {"feature_extraction": classifier_epoch,
             "augmentation": TRAINING_PICTURES / median["frozen"] + validation,
             "fine_tuning": TRAINING_PICTURES / median["fine_tuning"] + validation}
    extraction = (TRAINING_PICTURES + VALIDATION_PICTURES + TEST_PICTURES) / median["inference"]
    # The chapter evaluates the test pictures twice (last epoch, best checkpoint) where the book has a test number.
    whole = {name: training.epochs * epoch[name] + (2 * test if training.book_test_accuracy is not None else 0)
             for name, training in trainings.items()}
    whole["feature_extraction"] += extraction
    load_after = os.getloadavg()
    write_report(f"ch5_vgg16_speed_edition{args.edition}", {
        "device": device, "edition": args.edition, "image_size": edition.image_size, "batch_size": batch,
        "load_average_before_after": [load_before, load_after], "pictures_per_second_rounds": speeds,
        "median_pictures_per_second": median, "feature_extraction_seconds": extraction,
        "seconds_per_epoch": epoch, "book_epochs": {name: t.epochs for name, t in trainings.items()},
        "estimated_seconds_for_the_books_schedule": whole}, args.output)
    print(f"Conv base: {median['inference']:.2f} pictures/s (extraction of 4,000: {extraction / 60:.1f} min); "
          f"seconds per epoch: " + ", ".join(f"{name} {s:.0f}" for name, s in epoch.items())
          + "; the book's schedules: " + ", ".join(f"{name} {s / 3600:.1f} h" for name, s in whole.items()))


if __name__ == "__main__":
    main()
