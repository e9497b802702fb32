"""3.5 Classifying movie reviews: a binary classification example (IMDB)."""

import numpy as np

from chapters.ch3_getting_started import CHAPTER
from datasets.imdb import decode_review, load_imdb, load_imdb_word_index, multi_hot_dataset, vectorize_sequences
from models.dense_networks import IMDB_BOOK_PARAMS, imdb_network

BOOK_TEST_ACCURACY = {1: 0.885, 2: 0.883}  # 1st edition 0.88496, 2nd 0.88328
NUM_WORDS = 10_000  # the most frequent words kept
VALIDATION_REVIEWS = 10_000  # the first training reviews, set apart
VALIDATION_RUN_EPOCHS, FINAL_EPOCHS, BATCH_SIZE = 20, 4, 512
QUICK_SUBSET, QUICK_VALIDATION_REVIEWS = (2000, 1000), 500  # --quick


@CHAPTER.section("3.5", "Classifying movie reviews (IMDB)",
                 "multi-hot reviews, Dense(16) x 2 -> Dense(1): 160,305 parameters, test accuracy ~0.885",
                 distributable=True)
def imdb_reviews(run):
    # The network: multi-hot vectors of 10,000 -> Dense(16, relu) x 2 -> Dense(1, sigmoid).
    model = imdb_network()
    run.check_against_book(model, IMDB_BOOK_PARAMS, "DLwP 3.5")
    if run.summary_only:
        return

    # The data: 25,000 training and 25,000 test reviews as lists of word indices.
    imdb = load_imdb(num_words=NUM_WORDS, data_dir=run.data_dir)
    word_index = load_imdb_word_index(run.data_dir)
    show_the_data(run, imdb, word_index)
    if run.quick:
        imdb = imdb.head(*QUICK_SUBSET)
    # The book's vectors: one 10,000-long row of 0s and 1s per review. The network gets the same
    # vectors built batch by batch (1 GB of float32 for 25,000 reviews is never built at once).
    sample = vectorize_sequences(imdb.train_data[:2], NUM_WORDS)
    print(f"vectorize_sequences(train_data[:2]): shape {sample.shape}, {int(sample[0].sum())} ones in row 0")

    # Validation: the first 10,000 training reviews are set apart; 20 epochs show the overfitting.
    n_val = QUICK_VALIDATION_REVIEWS if run.quick else VALIDATION_REVIEWS
    batch_size = run.batch_size(BATCH_SIZE)
    validation = binary_dataset(imdb.train_data[:n_val], imdb.train_labels[:n_val], 2048)
    training = binary_dataset(imdb.train_data[n_val:], imdb.train_labels[n_val:], batch_size, shuffle=True,
                              seed=run.seed)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("dense"))
    history = run.fit(model, training, name="validation_run", epochs=VALIDATION_RUN_EPOCHS,
                      validation_data=validation)
    best = int(np.argmax(history["val_accuracy"]))
    run.record("best_validation_accuracy", history["val_accuracy"][best], book="~0.89 at epoch 3-4",
               note=f"epoch {best + 1}; training accuracy at the end {history['accuracy'][-1]:.3f}")

    # A new network trained on all 25,000 reviews for the book's 4 epochs, evaluated once on the test set.
    model = imdb_network()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                  **run.compile_settings("dense"))
    run.fit(model, binary_dataset(imdb.train_data, imdb.train_labels, batch_size, shuffle=True, seed=run.seed),
            name="final_model", epochs=FINAL_EPOCHS)
    test_loss, test_accuracy = model.evaluate(binary_dataset(imdb.test_data, imdb.test_labels, 2048), verbose=0)
    run.record("test_accuracy", float(test_accuracy), book=BOOK_TEST_ACCURACY[run.edition],
               note="--quick: a small subset" if run.quick else "")
    run.record("test_loss", float(test_loss))

    # The book's last step: the model's confidence on a few test reviews.
    probabilities = model.predict(binary_dataset(imdb.test_data[:5], imdb.test_labels[:5], 5), verbose=0)[:, 0]
    print("\nPredictions on the first test reviews (probability of 'positive'):")
    for sequence, label, p in zip(imdb.test_data, imdb.test_labels, probabilities):
        print(f"  {p:.3f} (label {label}): {decode_review(sequence[1:], word_index)[:150]} ...")


def show_the_data(run, imdb, word_index):
    """What the book prints about the data before any training."""
    first = imdb.train_data[0]
    print(f"train_data[0][:10] = {first[:10].tolist()} ... ({len(first)} tokens; book: 218)")
    print(f"train_labels[0] = {imdb.train_labels[0]} (book: 1)")
    print(f"largest word index = {max(int(s.max()) for s in imdb.train_data)} (book: 9999)")
    print(f"Decoded: {decode_review(first, word_index)[:300]} ...")
    run.record("first_review_tokens", len(first), book=218)
    run.record("first_review_label", int(imdb.train_labels[0]), book=1)


def binary_dataset(data, labels, batch_size, shuffle=False, seed=None):
    """Multi-hot reviews, built batch by batch in tf.data; labels as float32 (for binary crossentropy)."""
    return multi_hot_dataset(data, np.asarray(labels, dtype="float32"), batch_size, dimension=NUM_WORDS,
                             shuffle=shuffle, seed=seed)
