"""5.3 Using a pretrained convnet: VGG16's convolutional base, trained on ImageNet, on dogs vs cats.

The book puts a small densely connected classifier on VGG16's conv base, three ways:
1. fast feature extraction: the conv base runs once over the 2,000 / 1,000 /
   1,000 pictures, and the classifier trains on the stored features (~0.90);
2. feature extraction with data augmentation: the frozen conv base inside the
   model, so every epoch sees new variants of the pictures (~0.96);
3. fine-tuning: the last convolutional block unfrozen, trained further at a
   low learning rate (test accuracy ~0.97).
The extracted features are kept in `<output dir>/feature_cache/`, named by a
key of what they depend on (the conv base's weights, the picture size and
preprocessing, the split's files), so a second run skips the extraction.
"""

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets.dogs_vs_cats import dogs_vs_cats_datasets, load_dogs_vs_cats
from chapters.ch5_convnets.feature_cache import FEATURE_CACHE, feature_key, read_cached_features, weights_fingerprint
from chapters.figures import save_figure
from chapters.runs import stop_cleanly
from chapters.storage import save_json, save_npz
from chapters.training import best_checkpoint
from datasets import dogs_vs_cats
from datasets.arrays import array_dataset
from models.convnets import augmentation_1st_edition, augmentation_2nd_edition
from models.pretrained import NETWORKS, is_untrained, weights_label
from models.pretrained_convnets import (
    CONV_BASE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS,
    CONV_BASE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS,
    FEATURE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS,
    FEATURE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS,
    VGG16_BOOK_PARAMS,
    VGG16_FEATURE_SHAPES,
    VGG16_NOTOP_BOOK_PARAMS,
    conv_base_classifier_1st_edition,
    conv_base_classifier_2nd_edition,
    feature_classifier_1st_edition,
    feature_classifier_2nd_edition,
    freeze,
    trainable_parameters,
    unfreeze_from_block5_conv1_1st_edition,
    unfreeze_last_four_layers_2nd_edition,
    vgg16_conv_base,
    vgg16_with_classifier,
)

QUICK_IMAGES_PER_CLASS = {"train": 10, "validation": 5, "test": 5}  # --quick: VGG16 is slow on a CPU
SMOOTHING = 0.8  # the book's smoothed fine-tuning curves: exponential moving average


@dataclass(frozen=True)
class Training:
    """One of the book's three trainings."""
    title: str
    optimizer: Callable[[], keras.optimizers.Optimizer]
    epochs: int
    batch_size: int
    steps_per_epoch: int | None = None  # the 1st edition's generators: 100 batches of 20 per epoch
    pipeline_augmentation: Callable | None = None  # augmentation(seed) in the data pipeline (1st edition)
    book_validation_accuracy: str | None = None
    book_test_accuracy: float | None = None


@dataclass(frozen=True)
class Edition:
    image_size: tuple
    rescale_in_pipeline: bool  # the 1st edition divides by 255; the 2nd uses VGG16's preprocess_input
    preprocessing: str  # what the conv base sees, for the feature cache's key
    preprocess_features: Callable  # pictures from the pipeline -> the conv base's input
    shape_features: Callable  # the stored (N, h, w, 512) features -> the classifier's input
    build_feature_classifier: Callable[[], keras.Model]
    feature_classifier_params: list
    build_conv_base_classifier: Callable  # build(conv_base, seed)
    conv_base_classifier_params: list
    unfreeze: Callable  # unfreeze(conv_base): the layers that fine-tuning trains
    trainings: dict


FIRST_EDITION = Edition(
    image_size=(150, 150), rescale_in_pipeline=True, preprocessing="rescale 1/255",
    preprocess_features=lambda images: images,
    shape_features=lambda features: features.reshape(len(features), -1),  # (N, 4, 4, 512) -> (N, 8192)
    build_feature_classifier=feature_classifier_1st_edition,
    feature_classifier_params=FEATURE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS,
    build_conv_base_classifier=lambda conv_base, seed: conv_base_classifier_1st_edition(conv_base),
    conv_base_classifier_params=CONV_BASE_CLASSIFIER_1ST_EDITION_BOOK_PARAMS,
    unfreeze=unfreeze_from_block5_conv1_1st_edition,
    trainings={
        "feature_extraction": Training(
            "fast feature extraction", lambda: keras.optimizers.RMSprop(learning_rate=2e-5), epochs=30,
            batch_size=20, book_validation_accuracy="~0.90"),
        # The book's generators: batches of 20, 100 per epoch (the 2,000 pictures), augmented as in 5.2.
        "augmentation": Training(
            "feature extraction with data augmentation", lambda: keras.optimizers.RMSprop(learning_rate=2e-5),
            epochs=30, batch_size=20, steps_per_epoch=100, pipeline_augmentation=augmentation_1st_edition,
            book_validation_accuracy="~0.96"),
        "fine_tuning": Training(
            "fine-tuning block5", lambda: keras.optimizers.RMSprop(learning_rate=1e-5), epochs=100, batch_size=20,
            steps_per_epoch=100, pipeline_augmentation=augmentation_1st_edition,
            book_validation_accuracy="~0.97-0.98", book_test_accuracy=0.97),
    })

SECOND_EDITION = Edition(
    image_size=(180, 180), rescale_in_pipeline=False, preprocessing="vgg16.preprocess_input",
    preprocess_features=keras.applications.vgg16.preprocess_input,
    shape_features=lambda features: features,
    build_feature_classifier=feature_classifier_2nd_edition,
    feature_classifier_params=FEATURE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS,
    build_conv_base_classifier=lambda conv_base, seed: conv_base_classifier_2nd_edition(
        conv_base, augmentation_2nd_edition(seed)),
    conv_base_classifier_params=CONV_BASE_CLASSIFIER_2ND_EDITION_BOOK_PARAMS,
    unfreeze=unfreeze_last_four_layers_2nd_edition,
    trainings={
        "feature_extraction": Training(
            "fast feature extraction", lambda: keras.optimizers.RMSprop(), epochs=20, batch_size=32,
            book_validation_accuracy="~0.97"),
        # The augmentation layers are part of the model; one pass over the 2,000 pictures per epoch.
        "augmentation": Training(
            "feature extraction with data augmentation", lambda: keras.optimizers.RMSprop(), epochs=50,
            batch_size=32, book_test_accuracy=0.975),
        "fine_tuning": Training(
            "fine-tuning block5", lambda: keras.optimizers.RMSprop(learning_rate=1e-5), epochs=30, batch_size=32,
            book_test_accuracy=0.985),
    })

EDITIONS = {1: FIRST_EDITION, 2: SECOND_EDITION}
# Fine-tuning starts from the classifier trained with the frozen base, as in the book.
TECHNIQUES_CHOSEN = {"fast": ["feature_extraction"], "augmentation": ["augmentation"],
                     "fine_tuning": ["augmentation", "fine_tuning"],
                     "all": ["feature_extraction", "augmentation", "fine_tuning"]}

CHAPTER.option("--weights", default="imagenet", defines_model=True,
               help="5.3, 5.4: the ImageNet weights: imagenet (the Keras cache, else the Keras download; default), "
                    "a copy of the weights file, a folder holding it under Keras's file name, or random "
                    "(untrained: the whole section as a demo, every number and figure marked UNTRAINED)")
CHAPTER.option("--technique", choices=list(TECHNIQUES_CHOSEN), default="all",
               help="5.3: fast feature extraction, feature extraction with augmentation, fine-tuning (after the "
                    "augmentation training, as the book), or all three in turn (default)")


@CHAPTER.section("5.3", "Using a pretrained convnet",
                 "VGG16's conv base (14,714,688 params): feature extraction ~0.90, with augmentation ~0.96, "
                 "fine-tuning test ~0.97")
def pretrained_convnet(run):
    edition = EDITIONS[run.edition]
    techniques = TECHNIQUES_CHOSEN[run.options.technique]
    # The parameters do not depend on the weights: --summary-only needs no download.
    weights = "random" if run.summary_only else weights_for("vgg16_notop", run.options.weights)
    label = weights_label("vgg16_notop", weights)
    untrained_label = label if is_untrained(weights) else None  # printed with every number of an untrained base
    tag = "_untrained-vgg16" if untrained_label else ""

    # The conv base, checked layer by layer; the slides' full VGG16 with --summary-only.
    conv_base = vgg16_conv_base(weights, edition.image_size)
    print(f"Conv base: {label}")
    run.check_against_book(conv_base, VGG16_NOTOP_BOOK_PARAMS,
                           f"DLwP {run.edition}e 5.3, VGG16(include_top=False, input_shape={(*edition.image_size, 3)})")
    feature_shape = tuple(conv_base.output.shape[1:])
    run.record("conv_base_output_shape", list(feature_shape), book=list(VGG16_FEATURE_SHAPES[edition.image_size]))
    if run.summary_only:
        run.check_against_book(vgg16_with_classifier("random"), VGG16_BOOK_PARAMS,
                               "the slides: VGG16 with its ImageNet classifier, 224x224 pictures")
    # The classifiers: on the stored features, and on top of the conv base inside one model.
    run.check_against_book(edition.build_feature_classifier(), edition.feature_classifier_params,
                           f"DLwP {run.edition}e 5.3, the classifier of fast feature extraction")
    model = edition.build_conv_base_classifier(conv_base, run.seed)
    check_freezing(run, model, conv_base, edition)
    if run.summary_only:
        return

    # The data: the book's split, every picture checked (5.2's loader).
    splits = load_dogs_vs_cats(run, QUICK_IMAGES_PER_CLASS)  # 5.2's loader, fewer pictures with --quick

    if "feature_extraction" in techniques:
        print(f"\n--- {edition.trainings['feature_extraction'].title} ---")
        features = extract_all_features(run, conv_base, splits, edition, edition.trainings["feature_extraction"])
        train_on_features(run, edition, features, untrained_label, tag)

    if "augmentation" in techniques:
        training = edition.trainings["augmentation"]
        print(f"\n--- {training.title} ---")
        freeze(conv_base)
        print(f"Trainable parameters with the conv base frozen: {trainable_parameters(model):,}")
        train_end_to_end(run, model, splits, edition, "augmentation", untrained_label, tag)

    if "fine_tuning" in techniques:
        training = edition.trainings["fine_tuning"]
        print(f"\n--- {training.title} ---")
        edition.unfreeze(conv_base)
        print(f"Trainable parameters with block5 unfrozen: {trainable_parameters(model):,}")
        history = train_end_to_end(run, model, splits, edition, "fine_tuning", untrained_label, tag)
        path = plot_smoothed_curves(history, run.path(f"fine_tuning_smoothed{tag}.png"),
                                    f"Fine-tuning, smoothed (factor {SMOOTHING}); {label}")
        print(f"Saved the smoothed curves to {path}")


def weights_for(network_name, weights):
    """--weights as models.pretrained takes it; a folder means the network's file inside it (so `all` works)."""
    if weights in ("imagenet", "random"):
        return weights
    path = Path(weights).expanduser()
    return str(path / NETWORKS[network_name].file) if path.is_dir() else weights


def check_freezing(run, model, conv_base, edition):
    """The conv base inside the model: trainable weights before and after freezing it, and for fine-tuning."""
    run.check_against_book(model, edition.conv_base_classifier_params,
                           f"DLwP {run.edition}e 5.3, the classifier on top of the conv base")
    run.record("trainable_weights_before_freezing", len(model.trainable_weights), book=30,
               label="trainable weight tensors before freezing the conv base")
    freeze(conv_base)
    run.record("trainable_weights_after_freezing", len(model.trainable_weights), book=4,
               label="trainable weight tensors after freezing the conv base")
    run.record("trainable_params_frozen", trainable_parameters(model), book=sum(edition.feature_classifier_params),
               label="trainable parameters with the conv base frozen")
    edition.unfreeze(conv_base)
    run.record("trainable_params_fine_tuning", trainable_parameters(model),
               book=sum(edition.feature_classifier_params) + 3 * VGG16_NOTOP_BOOK_PARAMS[-2],
               label="trainable parameters when fine-tuning block5_conv1-3")
    freeze(conv_base)


def record_result(run, key, value, label, book=None, note="", untrained_label=None):
    """run.record, except that numbers of an untrained conv base say so and are not compared with the book."""
    if untrained_label:
        run.record(key, value, note=untrained_label, label=f"UNTRAINED {label}")
    else:
        run.record(key, value, book=book, note=note, label=label)


# ---------------------------------------------------------------------------
# 1. Fast feature extraction
# ---------------------------------------------------------------------------

def extract_all_features(run, conv_base, splits, edition, training):
    """{split: (features, labels)}: from the feature cache when it has them, else through the conv base once."""
    cache = run.output_base / FEATURE_CACHE
    weights_key = weights_fingerprint(conv_base)
    features = {}
    with stop_cleanly(f"feature extraction stopped; the splits already extracted are kept in {cache} and are not "
                      "extracted again; run the same command (with --resume to keep this run folder) to continue"):
        for name, split in splits.items():
            key = feature_key(weights_key, edition.image_size, edition.preprocessing, split, conv_base.compute_dtype)
            path = cache / f"vgg16_{name}_{key}.npz"
            features[name] = read_cached_features(path, name)
            if features[name] is not None:
                print(f"{name}: features {features[name][0].shape} from the cache ({path})")
                run.record(f"feature_extraction.{name}_features_from_cache", True)
                continue
            features[name], seconds = extract_features(conv_base, split, edition,
                                                       run.batch_size(training.batch_size))
            save_npz(path, features=features[name][0], labels=features[name][1])
            save_json(path.with_suffix(".json"), {"split": name, "image_size": edition.image_size,
                                                  "preprocessing": edition.preprocessing, "weights": weights_key,
                                                  "pictures": len(features[name][1]), "seconds": round(seconds, 1)})
            run.mark_progress()
            run.record(f"feature_extraction.{name}_features_from_cache", False)
            run.record(f"feature_extraction.{name}_images_per_second", round(len(features[name][1]) / seconds, 2),
                       label=f"{name}: pictures per second through the conv base")
    return features


def extract_features(conv_base, split, edition, batch_size):
    """((N, h, w, 512) features, (N,) labels) of one split, and the seconds it took; progress as it goes."""
    dataset = dogs_vs_cats.make_dataset(split, image_size=edition.image_size, batch_size=batch_size,
                                        scale=edition.rescale_in_pipeline)
    total = sum(split.counts.values())
    progress = keras.utils.Progbar(total, unit_name="picture", verbose=1 if sys.stdout.isatty() else 0)
    features, labels = [], []
    start, done, printed = time.time(), 0, 0
    for images, batch_labels in dataset:
        # float32 whatever the precision the conv base computes in: the cache's files hold float32
        features.append(np.asarray(conv_base.predict_on_batch(edition.preprocess_features(images)), "float32"))
        labels.append(np.asarray(batch_labels)[:, 0])
        done += len(batch_labels)
        progress.update(done)
        if not sys.stdout.isatty() and (done - printed >= 200 or done == total):
            printed = done
            print(f"  {split.name}: {done}/{total} pictures through the conv base, "
                  f"{done / (time.time() - start):.1f} per second", flush=True)
    return (np.concatenate(features), np.concatenate(labels).astype("float32")), time.time() - start


def train_on_features(run, edition, features, untrained_label, tag):
    """The book's densely connected classifier on the stored features: quick epochs, no conv base."""
    training = edition.trainings["feature_extraction"]
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = (
        (edition.shape_features(features[split][0]), features[split][1]) for split in ("train", "validation", "test"))
    batch_size = run.batch_size(training.batch_size)
    keras.utils.set_random_seed(run.seed)
    classifier = edition.build_feature_classifier()
    classifier.compile(optimizer=training.optimizer(), loss="binary_crossentropy", metrics=["accuracy"],
                       **run.compile_settings("dense"))
    name = f"feature_extraction{tag}"
    history = run.fit(classifier, array_dataset(train_x, train_y, batch_size, shuffle=True, seed=run.seed),
                      name=name, epochs=training.epochs, validation_data=array_dataset(val_x, val_y, 500))
    note = f"--quick: {len(train_y)} pictures, {len(history['loss'])} epoch(s)" if run.quick else ""
    record_result(run, "feature_extraction.final_validation_accuracy", history["val_accuracy"][-1],
                  "fast feature extraction: validation accuracy after the last epoch",
                  book=training.book_validation_accuracy, note=note, untrained_label=untrained_label)
    record_result(run, "feature_extraction.best_validation_accuracy", max(history["val_accuracy"]),
                  "fast feature extraction: best validation accuracy", note=note, untrained_label=untrained_label)
    best, best_epoch = best_checkpoint(run, name)
    record_result(run, "feature_extraction.test_accuracy_best_checkpoint",
                  float(best.evaluate(array_dataset(test_x, test_y, 500), verbose=0)[1]),
                  f"fast feature extraction: test accuracy (best checkpoint, epoch {best_epoch})", note=note,
                  untrained_label=untrained_label)


# ---------------------------------------------------------------------------
# 2 and 3. The conv base inside the model: augmentation, then fine-tuning
# ---------------------------------------------------------------------------

def train_end_to_end(run, model, splits, edition, technique, untrained_label, tag):
    """Compile and fit the whole model (conv base frozen or partly unfrozen); the book's numbers beside ours."""
    training = edition.trainings[technique]
    augmentation = training.pipeline_augmentation(run.seed) if training.pipeline_augmentation else None
    train, validation, test = dogs_vs_cats_datasets(run, splits, edition.image_size, training.batch_size,
                                                    scale=edition.rescale_in_pipeline, augmentation=augmentation,
                                                    looping_steps=training.steps_per_epoch)
    model.compile(optimizer=training.optimizer(), loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("conv", steps_per_epoch=training.steps_per_epoch))
    name = f"{technique}{tag}"
    history = run.fit(model, train, name=name, epochs=training.epochs, steps_per_epoch=training.steps_per_epoch,
                      validation_data=validation)
    note = f"--quick: {sum(splits['train'].counts.values())} pictures, {len(history['loss'])} epoch(s)" \
        if run.quick else ""
    record_result(run, f"{technique}.final_validation_accuracy", history["val_accuracy"][-1],
                  f"{training.title}: validation accuracy after the last epoch",
                  book=training.book_validation_accuracy, note=note, untrained_label=untrained_label)
    record_result(run, f"{technique}.best_validation_accuracy", max(history["val_accuracy"]),
                  f"{training.title}: best validation accuracy", note=note, untrained_label=untrained_label)
    if training.book_test_accuracy is not None:
        # The 1st edition evaluates the model as it is after the last epoch, the 2nd its best checkpoint: both.
        record_result(run, f"{technique}.test_accuracy_last_epoch", float(model.evaluate(test, verbose=0)[1]),
                      f"{training.title}: test accuracy (last epoch)", book=training.book_test_accuracy, note=note,
                      untrained_label=untrained_label)
        best, best_epoch = best_checkpoint(run, name)
        record_result(run, f"{technique}.test_accuracy_best_checkpoint", float(best.evaluate(test, verbose=0)[1]),
                      f"{training.title}: test accuracy (best checkpoint, epoch {best_epoch})",
                      book=training.book_test_accuracy, note=note, untrained_label=untrained_label)
        del best
    return history


def smooth_curve(points, factor=SMOOTHING):
    """The book's exponential moving average: each point is factor * previous + (1 - factor) * itself."""
    smoothed = []
    for point in points:
        smoothed.append(smoothed[-1] * factor + point * (1 - factor) if smoothed else point)
    return smoothed


def plot_smoothed_curves(history, path, title):
    """The book's fine-tuning figures: smoothed training and validation accuracy, and loss."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = range(1, len(history["loss"]) + 1)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        ax.plot(epochs, smooth_curve(history[metric]), "bo", markersize=3, label=f"Smoothed training {metric}")
        ax.plot(epochs, smooth_curve(history[f"val_{metric}"]), "b", label=f"Smoothed validation {metric}")
        ax.set_title(f"Training and validation {metric}")
        ax.set_xlabel("Epochs")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.legend()
    fig.suptitle(title, y=1.02)
    return save_figure(fig, path)
