"""8.1 Text generation with an LSTM: a network that writes Nietzsche, one character at a time.

1st edition: every 3rd window of 60 characters of the lower-cased text is a
training sample, the character after it the target (200,278 samples over 57
characters). An LSTM(128) learns the distribution of the next character;
after every epoch it writes 400 characters from a random seed sentence at
four temperatures (0.2, 0.5, 1.0, 1.2) in turn, each continuing the text the
one before wrote, as the book's loop does: the lower the temperature, the more
repetitive and predictable the text; the higher, the more surprising (and the
more invented words).

The one-hot tensors are never built whole (the book's x is 200,278 x 60 x 57
booleans): the text is kept as character indices, and each batch of windows is
gathered and one-hot encoded in the input pipeline.

2nd edition (12.1): a word-level Transformer decoder learns to continue IMDB
reviews (100 tokens, a vocabulary of 15,000), and after every epoch continues
"This movie" at five temperatures.
"""

import time
from dataclasses import dataclass

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch8_generative import CHAPTER
from chapters.figures import save_figure
from chapters.storage import atomic_write
from datasets import DataError, nietzsche
from datasets.aclimdb import find_aclimdb
from datasets.arrays import without_autotuning
from datasets.nietzsche import load_nietzsche
from models.text_generation import (
    CHARACTER_LSTM_BOOK_PARAMS,
    TRANSFORMER_GENERATOR_BOOK_PARAMS,
    character_lstm_1st_edition,
    transformer_text_generator_2nd_edition,
)

# The 1st edition's numbers.
MAXLEN = 60  # characters per sample
STEP = 3  # a new sample every 3 characters
BOOK_CORPUS_LENGTH, BOOK_SEQUENCES, BOOK_UNIQUE_CHARACTERS = 600_893, 200_278, 57
LEARNING_RATE = 0.01  # RMSprop
BATCH_SIZE = 128
EPOCHS = 60  # the text's 60; the notebook's `range(1, 60)` runs 59
TEMPERATURES = (0.2, 0.5, 1.0, 1.2)
GENERATED_CHARACTERS = 400
# The notebook's loss after each of its 59 epochs: lowest 1.3014 at epoch 54, then the training diverges.
BOOK_LOSSES = [1.9895, 1.6382, 1.5460, 1.4973, 1.4682, 1.4466, 1.4282, 1.4150, 1.4035, 1.3947,
               1.3844, 1.3772, 1.3722, 1.3646, 1.3608, 1.3559, 1.3512, 1.3477, 1.3436, 1.3391,
               1.3378, 1.3333, 1.3316, 1.3281, 1.3253, 1.3228, 1.3207, 1.3176, 1.3180, 1.3154,
               1.3148, 1.3159, 1.3124, 1.3112, 1.3095, 1.3071, 1.3131, 1.3183, 1.3068, 1.3098,
               1.3371, 1.3126, 1.3076, 1.3073, 1.3052, 1.3068, 1.3025, 1.3048, 1.3035, 1.3031,
               1.3079, 1.3046, 1.3120, 1.3014, 1.3026, 1.5978, 4.7329, 12.5951, 14.5726]
QUICK_CHARACTERS, QUICK_GENERATED_CHARACTERS = 6_000, 40  # --quick: the start of the text, short samples

# The 2nd edition's numbers.
SEQUENCE_LENGTH, VOCAB_SIZE = 100, 15_000  # tokens per review, words in the vocabulary
EMBED_DIM, LATENT_DIM, NUM_HEADS = 256, 2_048, 2
TEXT_BATCH_SIZE = 256
EPOCHS_2ND_EDITION = 200
PROMPT, GENERATE_LENGTH = "This movie", 50
TEMPERATURES_2ND_EDITION = (0.2, 0.5, 0.7, 1.0, 1.5)
BOOK_REVIEWS = 100_000  # the whole archive: train/{pos,neg,unsup} and test/{pos,neg}
QUICK_TEXT_BATCHES, QUICK_GENERATE_LENGTH = 2, 5  # --quick: 2 batches of reviews, 5 words per sample


@CHAPTER.section("8.1", "Text generation with an LSTM",
                 "a character-level LSTM on Nietzsche (102,585 parameters), text at temperatures 0.2-1.2 "
                 "after every epoch; 2nd ed.: a Transformer on IMDB reviews",
                 distributable=True)
def text_generation(run):
    EDITIONS[run.edition](run)


def character_lstm_text_generation(run):
    """The 1st edition: the character-level LSTM on Nietzsche."""
    # The model: LSTM(128) over 60 one-hot characters, a softmax over the 57 characters.
    model = character_lstm_1st_edition(MAXLEN, BOOK_UNIQUE_CHARACTERS)
    run.check_against_book(model, CHARACTER_LSTM_BOOK_PARAMS, "DLwP 1e 8.1, the character-level LSTM")
    if run.summary_only:
        return

    # The data: the lower-cased text, a sample of 60 characters every 3, and the character that follows each.
    text, source = load_nietzsche(run.data_dir)
    if len(text) <= MAXLEN:  # not even one sample: a window and the character after it
        raise DataError(f"{source} has {len(text)} characters, fewer than one {MAXLEN}-character window plus the "
                        f"next character; it is not the book's text ({nietzsche.SIZE}): {nietzsche.how_to_get()}")
    run.record("corpus_length", len(text), book=BOOK_CORPUS_LENGTH, note=source)
    vocabulary = sorted(set(text))  # the characters of the whole text, also with --quick
    if run.quick:
        text = text[:QUICK_CHARACTERS]
    sequences = CharacterSequences(text, vocabulary, MAXLEN, STEP)
    quick_note = f"--quick: the first {len(text):,} characters" if run.quick else ""
    run.record("number_of_sequences", len(sequences), book=BOOK_SEQUENCES, note=quick_note)
    run.record("unique_characters", len(vocabulary), book=BOOK_UNIQUE_CHARACTERS)
    if len(vocabulary) != BOOK_UNIQUE_CHARACTERS:  # another text: the same network for its characters
        run.clear_session()
        model = character_lstm_1st_edition(MAXLEN, len(vocabulary))
        print(f"This text has {len(vocabulary)} distinct characters: the network's input and output have as many")

    # Compile and fit, one epoch after another; after each, the callback writes text at the four temperatures.
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=LEARNING_RATE), loss="categorical_crossentropy",
                  **run.compile_settings("dense"))
    writer = GeneratedText(run, sequences, TEMPERATURES,
                           QUICK_GENERATED_CHARACTERS if run.quick else GENERATED_CHARACTERS)
    history = run.fit(model, sequences.dataset(run.batch_size(BATCH_SIZE), seed=run.seed), name="character_lstm",
                      epochs=EPOCHS, callbacks=[writer])

    # The loss curve, ours beside the book's: the lowest loss, where it was reached, and what came after.
    losses = history["loss"]
    lowest = int(np.argmin(losses))
    run.record("lowest_loss", losses[lowest], book=min(BOOK_LOSSES), note=quick_note)
    run.record("lowest_loss_epoch", lowest + 1, book=int(np.argmin(BOOK_LOSSES)) + 1)
    run.record("final_loss", losses[-1], book=BOOK_LOSSES[-1], label=f"loss after epoch {len(losses)}",
               note="the book's run diverged after epoch 55" + (f"; {quick_note}" if quick_note else ""))
    run.record("loss_rise_after_lowest", max(losses[lowest:]) - losses[lowest],
               book=round(max(BOOK_LOSSES[int(np.argmin(BOOK_LOSSES)):]) - min(BOOK_LOSSES), 4),
               label="largest rise of the loss after its lowest point")
    print(f"Saved the loss curves to {plot_losses_beside_the_book(losses, run.path('loss_vs_book.png'))}")
    print(f"The generated texts are in {run.path('generated')}")


# ---------------------------------------------------------------------------
# The data: windows of characters, one-hot encoded batch by batch
# ---------------------------------------------------------------------------

@dataclass
class CharacterSequences:
    """The text as character indices, and the start of every `maxlen`-character sample, `step` apart.

    Sample i is text[starts[i]: starts[i] + maxlen]; its target is the next
    character, text[starts[i] + maxlen] (the book's `sentences` and `next_chars`).
    """

    text: str
    vocabulary: list  # the distinct characters, sorted (the book's `chars`)
    maxlen: int
    step: int

    def __post_init__(self):
        self.char_indices = {char: i for i, char in enumerate(self.vocabulary)}
        self.encoded = np.array([self.char_indices[char] for char in self.text], dtype=np.int32)
        self.starts = np.arange(0, len(self.text) - self.maxlen, self.step)

    def __len__(self):
        return len(self.starts)

    def one_hot(self, indices=None):
        """(x, y) of the samples `indices` (default all) as the book builds them: booleans, one 1 per character."""
        starts = self.starts if indices is None else self.starts[np.asarray(indices)]
        windows = self.encoded[starts[:, None] + np.arange(self.maxlen)]
        x = np.zeros((len(starts), self.maxlen, len(self.vocabulary)), dtype=bool)
        x[np.arange(len(starts))[:, None], np.arange(self.maxlen), windows] = True
        y = np.zeros((len(starts), len(self.vocabulary)), dtype=bool)
        y[np.arange(len(starts)), self.encoded[starts + self.maxlen]] = True
        return x, y

    def dataset(self, batch_size, seed=None, shuffle=True):
        """Batches of (x, y) as float32 one-hot tensors, gathered from the encoded text, reshuffled every epoch."""
        encoded = tf.constant(self.encoded)
        starts = tf.constant(self.starts, tf.int32)
        offsets = tf.range(self.maxlen, dtype=tf.int32)
        depth = len(self.vocabulary)

        def one_hot_batch(batch):
            first = tf.gather(starts, batch)
            windows = tf.gather(encoded, first[:, None] + offsets[None, :])
            next_chars = tf.gather(encoded, first + self.maxlen)
            return tf.one_hot(windows, depth), tf.one_hot(next_chars, depth)

        indices = tf.data.Dataset.range(len(self.starts))
        if shuffle:
            indices = indices.shuffle(len(self.starts), seed=seed, reshuffle_each_iteration=True)
        return without_autotuning(indices.batch(batch_size).map(one_hot_batch).prefetch(2))


# ---------------------------------------------------------------------------
# Sampling with a temperature, and the text written after each epoch
# ---------------------------------------------------------------------------

def reweight_distribution(preds, temperature):
    """The book's reweighting: p^(1/T), renormalised (computed as softmax(log(p) / T) for stability)."""
    logits = np.log(np.maximum(np.asarray(preds, dtype=np.float64), 1e-300)) / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def sample(preds, temperature, rng):
    """The index of the next character, drawn from the reweighted distribution."""
    probabilities = reweight_distribution(preds, temperature)
    return int(rng.choice(len(probabilities), p=probabilities))


def generate_characters(predict, sequences, seed_text, temperatures, length, rng):
    """[(window, generated)]: `length` characters at each temperature in turn, as the book's loop writes them.

    Each step feeds the last `maxlen` characters (one-hot) to the model and
    draws the next character. As in the book, the text is not reset between
    temperatures: each temperature continues from the last `maxlen`
    characters the one before wrote (the first from `seed_text`), and
    `window` is what it started from.
    """
    depth = len(sequences.vocabulary)
    window = np.array([[sequences.char_indices[c] for c in seed_text]], dtype=np.int64)
    written = []
    for temperature in temperatures:
        start, generated = "".join(sequences.vocabulary[i] for i in window[0]), []
        for _ in range(length):
            preds = np.asarray(predict(tf.one_hot(window, depth)))
            index = sample(preds[0], temperature, rng)
            generated.append(sequences.vocabulary[index])
            window = np.concatenate([window[:, 1:], [[index]]], axis=1)
        written.append((start, "".join(generated)))
    return written


class GeneratedText(keras.callbacks.Callback):
    """After every epoch: a random seed sentence, continued at each temperature in turn (the book's loop), to a file."""

    def __init__(self, run, sequences, temperatures, length):
        super().__init__()
        self.run, self.sequences, self.temperatures, self.length = run, sequences, temperatures, length
        self.predict = None

    def on_epoch_end(self, epoch, logs=None):
        if self.predict is None:
            self.predict = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        rng = np.random.default_rng([self.run.seed, epoch])  # the same seed sentence on --resume
        text = self.sequences.text
        start = int(rng.integers(0, len(text) - self.sequences.maxlen - 1))
        seed_text = text[start: start + self.sequences.maxlen]
        began = time.time()
        samples = generate_characters(self.predict, self.sequences, seed_text, self.temperatures, self.length, rng)
        lines = [f"epoch {epoch + 1}, loss {(logs or {}).get('loss', float('nan')):.4f}",
                 f'--- Generating with seed: "{seed_text}"']
        for temperature, (window, generated) in zip(self.temperatures, samples):
            lines += [f"------ temperature: {temperature}", window + generated]
        report = "\n".join(lines) + "\n"
        atomic_write(self.run.path(f"generated/epoch_{epoch + 1:03d}.txt"), report)
        print(report + f"({self.length} characters at {len(self.temperatures)} temperatures in "
                       f"{time.time() - began:.1f} s)", flush=True)


# ---------------------------------------------------------------------------
# The figure
# ---------------------------------------------------------------------------

def plot_losses_beside_the_book(losses, path):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(range(1, len(BOOK_LOSSES) + 1), BOOK_LOSSES, "r-", label="the book (1st ed. notebook)")
    ax.plot(range(1, len(losses) + 1), losses, "bo-", markersize=3, label="ours")
    top = max(2.2, min(max(losses) + 0.1, 4.0))
    ax.set_ylim(1.0, top)  # the book's last epochs reach 14.6: off the scale, listed in the corner
    off_scale = [f"{loss:.2f} (epoch {epoch})" for epoch, loss in enumerate(BOOK_LOSSES, start=1) if loss > top]
    if off_scale:
        ax.text(0.98, 0.97, "the book, off the scale:\n" + "\n".join(off_scale), transform=ax.transAxes, ha="right",
                va="top", fontsize=8, color="r")
    ax.set_xlabel("Epochs")
    ax.set_ylabel("Training loss (categorical crossentropy)")
    ax.set_title("8.1 character-level LSTM: training loss per epoch")
    ax.legend(loc="upper center")
    return save_figure(fig, path)


# ---------------------------------------------------------------------------
# 2nd edition: a Transformer that continues IMDB reviews
# ---------------------------------------------------------------------------

def transformer_text_generation(run):
    """The 2nd edition: a Transformer decoder on the raw IMDB reviews."""
    # The model: positional embedding of 100 tokens, one Transformer decoder block, a softmax over 15,000 words.
    model = transformer_text_generator_2nd_edition(SEQUENCE_LENGTH, VOCAB_SIZE, EMBED_DIM, LATENT_DIM, NUM_HEADS)
    run.check_against_book(model, TRANSFORMER_GENERATOR_BOOK_PARAMS, "DLwP 2e 12.1, the Transformer text generator")
    if run.summary_only:
        return

    # The data: every review file of aclImdb/ (the book reads the whole archive, train/unsup included),
    # "<br />" turned into spaces, cut to 100 tokens; the targets are the inputs shifted by one token.
    root = find_aclimdb(run.data_dir)
    reviews = keras.utils.text_dataset_from_directory(root, label_mode=None, batch_size=run.batch_size(
        TEXT_BATCH_SIZE), seed=run.seed)
    count = sum(1 for folder in root.iterdir() if folder.is_dir() for _ in folder.rglob("*.txt"))
    missing = "" if (root / "train" / "unsup").is_dir() else (
        f"train/unsup/ (50,000 unlabelled reviews) is missing in {root}: trained on the {count:,} reviews there")
    run.record("reviews", count, book=BOOK_REVIEWS, note=missing)
    reviews = reviews.map(lambda text: tf.strings.regex_replace(text, "<br />", " "))
    if run.quick:
        reviews = reviews.take(QUICK_TEXT_BATCHES)
    text_vectorization = keras.layers.TextVectorization(max_tokens=VOCAB_SIZE, output_mode="int",
                                                        output_sequence_length=SEQUENCE_LENGTH)
    text_vectorization.adapt(reviews)
    run.record("vocabulary_size", text_vectorization.vocabulary_size(), book=VOCAB_SIZE)

    def prepare_lm_dataset(text_batch):
        vectorized_sequences = text_vectorization(text_batch)
        return vectorized_sequences[:, :-1], vectorized_sequences[:, 1:]

    lm_dataset = reviews.map(prepare_lm_dataset, num_parallel_calls=2).prefetch(2)

    # Compile and fit; after every epoch the callback continues the prompt at five temperatures.
    model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", **run.compile_settings("dense"))
    writer = GeneratedWords(run, text_vectorization, PROMPT, TEMPERATURES_2ND_EDITION,
                            QUICK_GENERATE_LENGTH if run.quick else GENERATE_LENGTH)
    history = run.fit(model, lm_dataset, name="transformer_text_generator", epochs=EPOCHS_2ND_EDITION,
                      callbacks=[writer])
    run.record("final_loss", history["loss"][-1], label=f"loss after epoch {len(history['loss'])}",
               note=missing or ("--quick" if run.quick else ""))
    print(f"The generated texts are in {run.path('generated')}")


class GeneratedWords(keras.callbacks.Callback):
    """After every epoch: the prompt continued word by word at each temperature, to a file.

    The book reads the prediction at position i for the i-th new word, which
    lags behind the end of the sentence by the prompt's length minus one; we
    read the prediction after the sentence's last token. The book also never
    passes its temperatures to the sampler (all its samples are at 1.0); we do.
    """

    def __init__(self, run, text_vectorization, prompt, temperatures, length):
        super().__init__()
        self.run, self.text_vectorization, self.prompt = run, text_vectorization, prompt
        self.temperatures, self.length = temperatures, length
        self.tokens_index = dict(enumerate(text_vectorization.get_vocabulary()))

    def continue_prompt(self, temperature, rng):
        sentence = self.prompt
        for _ in range(self.length):
            tokens = self.text_vectorization([sentence])
            last = int(np.count_nonzero(np.asarray(tokens)[0])) - 1  # the sentence's last token
            # Only the vocabulary's words (fewer than 15,000 when the texts are few, as with --quick).
            predictions = np.asarray(self.model(tokens, training=False))[0, max(last, 0), :len(self.tokens_index)]
            # The book's TextGenerator calls sample_next(predictions) without its temperature, so every sample is
            # drawn at 1.0; ours passes it, a deliberate fix, so the five samples show what temperature does.
            sentence += " " + self.tokens_index[sample(predictions, temperature, rng)]
        return sentence

    def on_epoch_end(self, epoch, logs=None):
        rng = np.random.default_rng([self.run.seed, epoch])
        lines = [f"epoch {epoch + 1}, loss {(logs or {}).get('loss', float('nan')):.4f}"]
        for temperature in self.temperatures:
            lines += [f"== Generating with temperature {temperature}", self.continue_prompt(temperature, rng)]
        report = "\n".join(lines) + "\n"
        atomic_write(self.run.path(f"generated/epoch_{epoch + 1:03d}.txt"), report)
        print(report, flush=True)


EDITIONS = {1: character_lstm_text_generation, 2: transformer_text_generation}
