"""2nd ed. 9.2 An image segmentation example: every pixel of a pet picture as animal, background or contour.

The Oxford-IIIT Pet dataset: 7,390 pictures of cats and dogs, each with a
trimap (1 the animal, 2 the background, 3 the contour). The book resizes both
to 200x200, turns the trimap values into the classes 0, 1, 2, shuffles the
pairs with random.Random(1337) and keeps the last 1,000 for validation. Its
model encodes the picture with strided convolutions down to 25x25x256 and
decodes it back up with transposed convolutions to a 3-way softmax per pixel,
trained with rmsprop and sparse categorical crossentropy for 50 epochs of
batches of 64. The book's curves start overfitting around epoch 25; it
reloads the checkpoint with the lowest validation loss and draws one
validation picture (the fifth) with the mask it predicts.
"""

import matplotlib.pyplot as plt
import numpy as np

from chapters.ch9_advanced_vision import CHAPTER
from chapters.figures import save_figure
from chapters.training import best_checkpoint
from datasets import oxford_pets
from models.segmentation import SEGMENTATION_BOOK_PARAMS, SEGMENTATION_CLASSES, segmentation_model

BOOK_EPOCHS = 50
BOOK_BATCH_SIZE = 64
BOOK_FIGURE_INDEX = 4  # the book's `i = 4`: the fifth validation picture
BOOK_OVERFITTING_EPOCH = "~25"  # the book: "we start overfitting midway, around epoch 25"
QUICK_PAIRS = {"train": 48, "validation": 16}  # --quick: the first pairs of each split


@CHAPTER.section("9.2", "An image segmentation example",
                 "2nd ed. 9.2: an encoder-decoder (2,880,643 parameters) labels every pixel of the Oxford-IIIT "
                 "pets as animal, background or contour; 50 epochs, the best checkpoint draws a mask",
                 distributable=True)
def image_segmentation(run):
    # The model, checked against the book's model.summary().
    model = segmentation_model()
    run.check_against_book(model, SEGMENTATION_BOOK_PARAMS, "DLwP 2e 9.2, the book's model.summary()")
    if run.summary_only:
        return

    # The data: the book's split of picture/trimap pairs, as 200x200 pictures and 200x200x1 classes.
    data = oxford_pets.load_oxford_pets(run.data_dir, limit_train=QUICK_PAIRS["train"] if run.quick else None,
                                        limit_validation=QUICK_PAIRS["validation"] if run.quick else None)
    smaller = data.pairs < 2 * oxford_pets.VALIDATION_PAIRS
    print(f"Oxford-IIIT Pets from {data.root}: {data.pairs:,} picture/trimap pairs; training on "
          f"{len(data.train_images):,}, validating on {len(data.validation_images):,}")
    run.record("picture_trimap_pairs", data.pairs, book=oxford_pets.BOOK_PAIRS,
               note="fewer than 2,000 pairs: a fifth kept for validation instead of 1,000" if smaller else "")
    note = f"--quick: the first {QUICK_PAIRS['train']} and {QUICK_PAIRS['validation']} pairs" if run.quick else ""
    run.record("training_pairs", len(data.train_images), book=oxford_pets.BOOK_PAIRS - oxford_pets.VALIDATION_PAIRS,
               note=note)
    run.record("validation_pairs", len(data.validation_images), book=oxford_pets.VALIDATION_PAIRS, note=note)
    batch_size = run.batch_size(BOOK_BATCH_SIZE)
    train = oxford_pets.make_dataset(data.train_images, data.train_targets, batch_size, shuffle=True, seed=run.seed)
    validation = oxford_pets.make_dataset(data.validation_images, data.validation_targets, batch_size)

    # Compile and fit: one sparse label (0, 1, 2) per pixel against the 3-way softmax.
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", **run.compile_settings("conv"))
    history = run.fit(model, train, name="segmentation", epochs=BOOK_EPOCHS, validation_data=validation)
    note = f"--quick: {len(data.train_images)} pairs, {len(history['loss'])} epochs" if run.quick else ""
    run.record("final_training_loss", history["loss"][-1], note=note)
    run.record("final_validation_loss", history["val_loss"][-1], note=note)
    run.record("lowest_validation_loss", min(history["val_loss"]), note=note)

    # The book reloads the checkpoint with the lowest validation loss.
    best, best_epoch = model, run.training["segmentation"]["best_epoch"]
    if best_epoch != len(history["loss"]):  # else the model holds the best weights already
        best, _ = best_checkpoint(run, "segmentation")
    run.record("best_epoch", best_epoch, book=BOOK_OVERFITTING_EPOCH, note=note,
               label="best epoch (lowest validation loss; overfitting starts after it)")
    confusion = confusion_matrix(best, validation)
    run.record("validation_pixel_accuracy", float(np.trace(confusion) / confusion.sum()), note=note,
               label=f"validation pixel accuracy (best checkpoint, epoch {best_epoch})")
    for name, iou in zip(oxford_pets.TRIMAP_CLASSES, intersection_over_union(confusion)):
        run.record(f"validation_iou.{name}", iou, note=note, label=f"validation IoU of the {name}")
    plot_prediction(run, best, data, best_epoch)


def confusion_matrix(model, batches):
    """Pixels counted by (true class, predicted class), over every batch."""
    confusion = np.zeros((SEGMENTATION_CLASSES, SEGMENTATION_CLASSES), dtype="int64")
    for images, targets in batches:
        predicted = np.argmax(model.predict_on_batch(images), axis=-1)
        pairs = np.asarray(targets)[..., 0].astype("int64") * SEGMENTATION_CLASSES + predicted
        confusion += np.bincount(pairs.ravel(), minlength=SEGMENTATION_CLASSES ** 2).reshape(confusion.shape)
    return confusion


def intersection_over_union(confusion):
    """Per class: the pixels both call it, over the pixels either calls it (0 where neither does)."""
    both = np.diag(confusion).astype("float64")
    either = confusion.sum(axis=0) + confusion.sum(axis=1) - both
    return [float(b / e) if e else 0.0 for b, e in zip(both, either)]


def plot_prediction(run, model, data, best_epoch):
    """The book's figure: a validation picture and the mask the model predicts, with the true mask beside them."""
    i = min(BOOK_FIGURE_INDEX, len(data.validation_images) - 1)
    image = data.validation_images[i]
    predicted = np.argmax(model.predict(image[None].astype("float32"), verbose=0)[0], axis=-1)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    panels = [(image, "validation picture"), (predicted * 127, f"predicted mask (epoch {best_epoch})"),
              (data.validation_targets[i][..., 0] * 127, "true mask (trimap)")]
    for ax, (pixels, title) in zip(axes, panels):
        ax.imshow(pixels, **({"vmin": 0, "vmax": 254} if pixels.ndim == 2 else {}))
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle("9.2: 0 the animal, 127 the background, 254 the contour (the book's display_mask)")
    print(f"Saved a picture with its predicted and true masks to {save_figure(fig, run.path('segmentation.png'))}")
