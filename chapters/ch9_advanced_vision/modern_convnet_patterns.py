"""2nd ed. 9.3 Modern convnet architecture patterns: residual connections, batch normalisation, separable convolutions.

The section's listings first, each built and checked: a residual connection
around a block that changes the number of filters (a 1x1 projection of the
residual), one around a block with max pooling (a strided 1x1 projection),
the book's small model of three `residual_block`s, and where batch
normalisation goes. Then the book puts everything together in a mini
Xception-like model and trains it from scratch on chapter 5's dogs vs cats
(2,000 training pictures, the same augmentation as 5.2): the book reports a
test accuracy of 90.8%, where 5.2's convnet reached 83.5%.
"""

import keras

from chapters.ch5_convnets.dogs_vs_cats import load_dogs_vs_cats
from chapters.ch9_advanced_vision import CHAPTER
from chapters.training import best_checkpoint
from datasets import dogs_vs_cats
from models.convnets import augmentation_2nd_edition
from models.modern_convnets import (
    BATCHNORM_AFTER_ACTIVATION_BOOK_PARAMS,
    BATCHNORM_BEFORE_ACTIVATION_BOOK_PARAMS,
    MINI_XCEPTION_BOOK_PARAMS,
    MINI_XCEPTION_IMAGE_SIZE,
    RESIDUAL_BLOCKS_MODEL_BOOK_PARAMS,
    RESIDUAL_FILTERS_CHANGE_BOOK_PARAMS,
    RESIDUAL_WITH_POOLING_BOOK_PARAMS,
    batchnorm_after_activation_summary,
    batchnorm_before_activation_summary,
    mini_xception,
    residual_blocks_model,
    residual_filters_change_summary,
    residual_with_pooling_summary,
)

# The section's listings in the book's order: (builder, its per-layer counts, what it shows).
LISTINGS = [
    (residual_filters_change_summary, RESIDUAL_FILTERS_CHANGE_BOOK_PARAMS,
     "residual block changing the number of filters"),
    (residual_with_pooling_summary, RESIDUAL_WITH_POOLING_BOOK_PARAMS, "residual block with max pooling"),
    (residual_blocks_model, RESIDUAL_BLOCKS_MODEL_BOOK_PARAMS, "three residual_block()s"),
    (batchnorm_after_activation_summary, BATCHNORM_AFTER_ACTIVATION_BOOK_PARAMS, "batch normalisation, how not to"),
    (batchnorm_before_activation_summary, BATCHNORM_BEFORE_ACTIVATION_BOOK_PARAMS,
     "batch normalisation before the ReLU"),
]
COUNTS_NOTE = "the book prints no summary: counts from the listing's layer shapes"
BOOK_EPOCHS = 100
BOOK_BATCH_SIZE = 32  # image_dataset_from_directory's default, as the book leaves it
BOOK_TEST_ACCURACY = 0.908  # "a test accuracy of 90.8%, compared to 83.5% for the naive model in the last chapter"
BOOK_TEST_SPLIT_NOTE = "the book tests on cat/dog 1500-2499 (2,000 pictures), the split here on 1500-1999 (1,000)"


@CHAPTER.section("9.3", "Modern convnet architecture patterns",
                 "2nd ed. 9.3: residual blocks, batch normalisation, separable convolutions; a mini Xception "
                 "(721,857 parameters) trained from scratch on dogs vs cats: ~0.91 test accuracy in the book",
                 distributable=True)
def modern_convnet_patterns(run):
    # The listings: residual connections with 1x1 projections, and the batch normalisation placements.
    for build, params, what in LISTINGS:
        run.clear_session()  # layer names start again at conv2d, as in a fresh notebook
        run.check_against_book(build(), params, f"DLwP 2e 9.3, {what} ({COUNTS_NOTE})")

    # The mini Xception-like model, with the book's augmentation inside it.
    run.clear_session()
    model = mini_xception(augmentation_2nd_edition(run.seed))
    run.check_against_book(model, MINI_XCEPTION_BOOK_PARAMS, f"DLwP 2e 9.3, the mini Xception-like model "
                                                             f"({COUNTS_NOTE})")
    trainable = sum(int(keras.ops.size(weight)) for weight in model.trainable_weights)
    statistics = model.count_params() - trainable
    run.record("mini_xception_params", model.count_params(), label="mini Xception parameters",
               note=f"{trainable:,} trained, {statistics:,} the normalisations' moving statistics")
    if run.summary_only:
        return

    # The data: 5.2's split of dogs vs cats at the 2nd edition's 180x180, in [0, 255] (the model rescales).
    splits = load_dogs_vs_cats(run)
    batch_size = run.batch_size(BOOK_BATCH_SIZE)
    train = dogs_vs_cats.make_dataset(splits["train"], MINI_XCEPTION_IMAGE_SIZE, batch_size, shuffle=True,
                                      seed=run.seed, scale=False)
    validation, test = (dogs_vs_cats.make_dataset(splits[name], MINI_XCEPTION_IMAGE_SIZE, batch_size, scale=False)
                        for name in ("validation", "test"))

    # Compile and fit as the book: rmsprop, binary crossentropy, 100 epochs.
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("conv"))
    history = run.fit(model, train, name="mini_xception", epochs=BOOK_EPOCHS, validation_data=validation)

    # Evaluate: the book's model after its last epoch, and the epoch with the lowest validation loss.
    note = (f"--quick: {sum(splits['train'].counts.values())} pictures, {len(history['loss'])} epochs"
            if run.quick else "")
    run.record("final_training_accuracy", history["accuracy"][-1], note=note)
    run.record("final_validation_accuracy", history["val_accuracy"][-1], note=note)
    run.record("best_validation_accuracy", max(history["val_accuracy"]), note=note)
    last_epoch_accuracy = float(model.evaluate(test, verbose=0)[1])
    run.record("test_accuracy_last_epoch", last_epoch_accuracy, book=BOOK_TEST_ACCURACY,
               note="; ".join(filter(None, [note, BOOK_TEST_SPLIT_NOTE])),
               label=f"test accuracy after epoch {len(history['loss'])}")
    best_epoch = run.training["mini_xception"]["best_epoch"]
    best_accuracy = last_epoch_accuracy  # when the last epoch is the best, the model holds the best weights
    if best_epoch != len(history["loss"]):
        best, _ = best_checkpoint(run, "mini_xception")
        best_accuracy = float(best.evaluate(test, verbose=0)[1])
    run.record("test_accuracy_best_checkpoint", best_accuracy, note=note,
               label=f"test accuracy (best checkpoint, epoch {best_epoch})")
