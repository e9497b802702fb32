"""11.5 Beyond text classification: sequence-to-sequence learning, English to Spanish (2nd edition only).

11.5.1 The data: the sentence pairs of spa-eng/spa.txt, each Spanish sentence
wrapped in "[start] ... [end]", shuffled, 15% set apart for validation and 15%
for the test. Two TextVectorization layers of 15,000 tokens turn them into 20
English and 21 Spanish token ids; the Spanish one strips punctuation but
keeps [ and ], so that [start] and [end] stay words. A batch is
{"english": 20 ids, "spanish": the first 20 Spanish ids} and, as the target,
the next 20 Spanish ids: the same sentence shifted by one word.
11.5.2 The GRU encoder-decoder (rmsprop, 15 epochs of batches of 64): "We get
to 64% accuracy", the share of next words guessed right, padding excluded.
11.5.3 The Transformer encoder-decoder: the same training, 30 epochs.
Each then translates test sentences the book's way, greedily: start from
"[start]", add the most probable next word, until "[end]" or 20 words.
"""

import random
import re
import string
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from chapters.ch11_sequence_to_sequence import CHAPTER
from datasets.arrays import without_autotuning
from datasets.spa_eng import load_text_pairs
from models.translation import (
    GRU_TRANSLATOR_PARAMS,
    SEQUENCE_LENGTH,
    TRANSFORMER_TRANSLATOR_PARAMS,
    VOCAB_SIZE,
    gru_translator,
    transformer_translator,
)

VALIDATION_FRACTION = 0.15  # and as many pairs for the test
BATCH_SIZE = 64
TRANSLATED_SENTENCES = 20  # the book translates 20 random test sentences with each model
QUICK_BATCHES = {"train": 2, "val": 1}  # --quick: batches of pairs
QUICK_TRANSLATED_SENTENCES = 2
# The notebook prints neither; a third party's run of its code on the whole file (keras.io's example, same split).
BOOK_PAIRS, BOOK_SPLIT = 118_964, [83_276, 17_844, 17_844]
THIRD_PARTY_NOTE = "not printed by the book: a third party's run of the book's code"
STANDARDIZATION_EXAMPLE = "[start] ¿Dónde está el baño? [end]"


@dataclass(frozen=True)
class Training:
    """One translator as the book trains it."""
    title: str
    build_model: Callable[[], keras.Model]
    params: list  # per layer: our arithmetic (the notebook prints no summary)
    epochs: int
    recurrent: bool  # cuDNN's GRU kernels cannot be compiled by XLA
    book: dict = field(default_factory=dict)


TRAININGS = {
    "gru": Training("GRU encoder-decoder (11.5.2)", gru_translator, GRU_TRANSLATOR_PARAMS, epochs=15,
                    recurrent=True, book={"final_validation_accuracy": "64% ('We get to 64% accuracy')"}),
    "transformer": Training("Transformer encoder-decoder (11.5.3)", transformer_translator,
                            TRANSFORMER_TRANSLATOR_PARAMS, epochs=30, recurrent=False),
}


# 11.5.1 The Spanish standardization: lower case, no punctuation (nor the opening ¿), but [ and ] kept.
STRIP_CHARS = (string.punctuation + "¿").replace("[", "").replace("]", "")


def spanish_standardization(texts):
    # encoding="utf-8" lower-cases accented capitals too (the book's tf.strings.lower leaves "Él" as it is).
    return tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), f"[{re.escape(STRIP_CHARS)}]", "")


@CHAPTER.section("11.5", "Beyond text classification: sequence-to-sequence learning",
                 "2nd ed. 11.5: English to Spanish with a GRU encoder-decoder (34,869,912 parameters; ~64% "
                 "next-word accuracy) and a Transformer encoder-decoder (19,960,216); greedy translations",
                 distributable=True)
def sequence_to_sequence(run):
    names = run.options.models or list(TRAININGS)
    trainings = {name: TRAININGS[name] for name in TRAININGS if name in names}
    data = None if run.summary_only else translation_data(run)  # 11.5.1, before the models as in the book

    # The models, each checked against our count of the book's layers.
    models = {}
    for name, training in trainings.items():
        run.clear_session()  # layer names start again at embedding, as in the book
        models[name] = training.build_model()
        run.check_against_book(models[name], training.params,
                               f"DLwP 2e 11.5, {training.title} (our arithmetic: the book prints no summary)")
    if run.summary_only:
        return

    # 11.5.2 and 11.5.3: train each model to predict the next Spanish word, then translate test sentences.
    note = "--quick: a few batches of pairs" if run.quick else ""
    samples = random.Random(run.seed).sample(  # the same test sentences for both models
        data.test_pairs, min(len(data.test_pairs), QUICK_TRANSLATED_SENTENCES if run.quick else TRANSLATED_SENTENCES))
    for name, training in trainings.items():
        print(f"\n--- {training.title} ---")
        model = models[name]
        model.compile(optimizer=keras.optimizers.RMSprop(), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], **compile_settings(run, training))
        history = run.fit(model, data.train, name=name, epochs=training.epochs, validation_data=data.val)
        accuracies = history["val_accuracy"]
        run.record(f"{name}.final_validation_accuracy", accuracies[-1],
                   book=training.book.get("final_validation_accuracy"),
                   note=", ".join(filter(None, [note, f"epoch {len(accuracies)}"])),
                   label=f"{name}: validation accuracy (next word) at the last epoch")
        best = int(np.argmax(accuracies))
        run.record(f"{name}.best_validation_accuracy", accuracies[best],
                   note=", ".join(filter(None, [note, f"epoch {best + 1} of {len(accuracies)}"])),
                   label=f"{name}: best validation accuracy")

        # The book translates with the model as it is after its last epoch.
        translations = []
        for english, spanish in samples:
            translated = decode_sequence(model, data.source_vectorization, data.target_vectorization, english)
            print(f"-\n{english}\n{translated}")
            translations.append({"english": english, "translation": translated, "reference": spanish})
        run.record(f"{name}.translations", translations, label=f"{name}: test sentences translated")


@dataclass
class TranslationData:
    train: tf.data.Dataset
    val: tf.data.Dataset
    test_pairs: list
    source_vectorization: keras.layers.TextVectorization
    target_vectorization: keras.layers.TextVectorization


def translation_data(run):
    """11.5.1: the pairs, "[start] spanish [end]", split 70/15/15; the vocabularies; the batches."""
    pairs = [(english, f"[start] {spanish} [end]") for english, spanish in load_text_pairs(run.data_dir)]
    train_pairs, val_pairs, test_pairs = split_pairs(pairs, run.seed)
    print(f"A pair: {random.Random(run.seed).choice(pairs)}")
    run.record("pairs", len(pairs), book=BOOK_PAIRS, note=THIRD_PARTY_NOTE, label="sentence pairs")
    run.record("split_sizes", [len(train_pairs), len(val_pairs), len(test_pairs)], book=BOOK_SPLIT,
               note=THIRD_PARTY_NOTE, label="training, validation, test pairs")

    # The vocabularies, learned on the training pairs.
    source_vectorization, target_vectorization = adapted_vectorizations(train_pairs)
    run.record("vocabulary_sizes", [source_vectorization.vocabulary_size(), target_vectorization.vocabulary_size()],
               book=[VOCAB_SIZE, VOCAB_SIZE], label="English, Spanish vocabulary sizes",
               note="at most max_tokens; the whole file has more words")
    run.record("spanish_standardization_example",
               spanish_standardization(tf.constant(STANDARDIZATION_EXAMPLE)).numpy().decode("utf-8"),
               label=f"'{STANDARDIZATION_EXAMPLE}' standardized")

    batch_size = run.batch_size(BATCH_SIZE)
    train = translation_dataset(train_pairs, source_vectorization, target_vectorization, batch_size,
                                shuffle_seed=run.seed, batches=QUICK_BATCHES["train"] if run.quick else None)
    val = translation_dataset(val_pairs, source_vectorization, target_vectorization, batch_size,
                              batches=QUICK_BATCHES["val"] if run.quick else None)
    inputs, targets = next(iter(train))
    run.record("batch_shapes", {"english": list(inputs["english"].shape), "spanish": list(inputs["spanish"].shape),
                                "targets": list(targets.shape)},
               book={"english": [BATCH_SIZE, 20], "spanish": [BATCH_SIZE, 20], "targets": [BATCH_SIZE, 20]})
    return TranslationData(train, val, test_pairs, source_vectorization, target_vectorization)


def split_pairs(pairs, seed):
    """The book's split: shuffle, 15% for validation, 15% for the test, the rest (70%) to train on."""
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)  # the book's random.shuffle, seeded
    num_val_samples = int(VALIDATION_FRACTION * len(pairs))
    num_train_samples = len(pairs) - 2 * num_val_samples
    return (pairs[:num_train_samples], pairs[num_train_samples:num_train_samples + num_val_samples],
            pairs[num_train_samples + num_val_samples:])


def adapted_vectorizations(train_pairs):
    """English: Keras's standardization, 20 ids; Spanish: ours, 21 ids (the decoder's input and target, shifted)."""
    source_vectorization = keras.layers.TextVectorization(max_tokens=VOCAB_SIZE, output_mode="int",
                                                          output_sequence_length=SEQUENCE_LENGTH)
    target_vectorization = keras.layers.TextVectorization(max_tokens=VOCAB_SIZE, output_mode="int",
                                                          output_sequence_length=SEQUENCE_LENGTH + 1,
                                                          standardize=spanish_standardization)
    source_vectorization.adapt([english for english, _ in train_pairs], batch_size=1024)
    target_vectorization.adapt([spanish for _, spanish in train_pairs], batch_size=1024)
    return source_vectorization, target_vectorization


def translation_dataset(pairs, source_vectorization, target_vectorization, batch_size, shuffle_seed=None,
                        batches=None):
    """Batches of ({"english": ids, "spanish": ids[:-1]}, spanish ids[1:]), vectorised once and cached.

    `shuffle_seed`: the batches come in a new order each epoch (the book shuffles its batches too).
    `batches`: only the first few (--quick).
    """
    english, spanish = zip(*pairs)

    def format_dataset(eng, spa):
        spa = target_vectorization(spa)
        return {"english": source_vectorization(eng), "spanish": spa[:, :-1]}, spa[:, 1:]

    dataset = tf.data.Dataset.from_tensor_slices((list(english), list(spanish))).batch(batch_size)
    if batches is not None:
        dataset = dataset.take(batches)
    dataset = dataset.map(format_dataset, num_parallel_calls=4).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(2048, seed=shuffle_seed, reshuffle_each_iteration=True)
    return without_autotuning(dataset.prefetch(16))


def compile_settings(run, training):
    """The measured settings for dense models; a GRU model leaves XLA to Keras (it cannot compile cuDNN's GRU)."""
    settings = run.compile_settings("dense")
    if training.recurrent and settings["jit_compile"] is True and run.performance["jit_compile"] == "auto":
        settings["jit_compile"] = "auto"
    return settings


def decode_sequence(model, source_vectorization, target_vectorization, input_sentence,
                    max_decoded_sentence_length=SEQUENCE_LENGTH):
    """The book's greedy decoding: feed the translation so far, append the most probable next word, stop at [end].

    Both models get the Spanish ids without the 21st (the Transformer's positions go up to 20); the GRU's
    prediction at step i depends only on the words before it, so this changes nothing for it.
    """
    spanish_vocabulary = target_vectorization.get_vocabulary()
    tokenized_input_sentence = source_vectorization([input_sentence])
    decoded_sentence = "[start]"
    for i in range(max_decoded_sentence_length):
        tokenized_target_sentence = target_vectorization([decoded_sentence])[:, :-1]
        predictions = model({"english": tokenized_input_sentence, "spanish": tokenized_target_sentence},
                            training=False)
        # Indices past the vocabulary (a corpus with fewer than 15,000 Spanish words) never occur: not candidates.
        sampled_token = spanish_vocabulary[int(np.argmax(predictions[0, i, :len(spanish_vocabulary)]))]
        decoded_sentence += " " + sampled_token
        if sampled_token == "[end]":
            break
    return decoded_sentence
