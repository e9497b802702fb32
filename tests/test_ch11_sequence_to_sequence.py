"""2nd edition 11.5, English to Spanish: the two translators' parameters, the decoder's masks, the data recipe,
the loader of spa-eng/spa.txt, and the chapter as a student runs it on a small file in the real format."""

import dataclasses
import functools
import json
import zipfile

import numpy as np
import pytest

from chapters.ch11_sequence_to_sequence import CHAPTER
from chapters.ch11_sequence_to_sequence import translation as s11_5
from datasets import DataError, DataNotFoundError, spa_eng
from models import translation
from tests.helpers import (
    MIXED_BFLOAT16_MIRRORED,
    assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables,
    layer_params,
    results_of,
    run_folders,
    run_in_process,
    training_of,
)

SUBJECTS = [("I", "Yo"), ("You", "Tú"), ("He", "Él"), ("She", "Ella"), ("We", "Nosotros")]
VERBS = [("see", "veo"), ("want", "quiero"), ("have", "tengo"), ("need", "necesito")]
OBJECTS = [("the cat", "el gato"), ("a dog", "un perro"), ("the house", "la casa"), ("water", "agua"),
           ("the book", "el libro"), ("a car", "un coche"), ("the bread", "el pan"), ("some milk", "leche")]


def spa_eng_lines(count=300):
    """Lines as in the real spa.txt: English, Spanish and the attribution column, tab-separated."""
    lines = []
    for i in range(count):
        (en_s, es_s), (en_v, es_v), (en_o, es_o) = SUBJECTS[i % 5], VERBS[i // 5 % 4], OBJECTS[i // 20 % 8]
        question = i % 3 == 0
        english = f"{en_s} {en_v} {en_o}" + ("?" if question else ".")
        spanish = ("¿" if question else "") + f"{es_s} {es_v} {es_o}" + ("?" if question else ".")
        lines.append(f"{english}\t{spanish}\tCC-BY 2.0 (France) Attribution: tatoeba.org #{i} (CK) & #{i + 1} (x)")
    return lines


def write_spa_eng(root, count=300):
    path = root / "spa-eng" / "spa.txt"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(spa_eng_lines(count)) + "\n", encoding="utf-8")
    return root


# --- the models at the book's sizes ------------------------------------------------------------------

def test_gru_translator_has_34_869_912_parameters_layer_by_layer():
    model = translation.gru_translator()
    assert layer_params(model) == translation.GRU_TRANSLATOR_PARAMS == [
        0, 0, 3_840_000, 3_840_000, 7_876_608, 3_938_304, 0, 15_375_000]
    assert model.count_params() == 34_869_912
    assert [i.name for i in model.inputs] == ["english", "spanish"]


def test_transformer_translator_has_19_960_216_parameters_layer_by_layer():
    model = translation.transformer_translator()
    assert layer_params(model) == translation.TRANSFORMER_TRANSLATOR_PARAMS == [
        0, 0, 3_845_120, 3_845_120, 3_155_456, 5_259_520, 0, 3_855_000]
    assert model.count_params() == 19_960_216
    heads = model.layers[5].attention_1
    assert (heads.num_heads, heads.key_dim) == (8, 256)


def small_transformer():
    return translation.transformer_translator(sequence_length=6, vocab_size=30, embed_dim=8, dense_dim=16,
                                              num_heads=2)


def test_decoder_never_sees_later_spanish_words_but_sees_every_english_word():
    import keras

    keras.utils.set_random_seed(0)
    model = small_transformer()
    english, spanish = np.array([[3, 4, 5, 0, 0, 0]]), np.array([[2, 6, 7, 8, 0, 0]])
    base = np.asarray(model([english, spanish]))
    later_spanish = np.asarray(model([english, np.array([[2, 6, 9, 8, 0, 0]])]))
    later_english = np.asarray(model([np.array([[3, 4, 9, 0, 0, 0]]), spanish]))
    np.testing.assert_allclose(later_spanish[0, :2], base[0, :2], atol=1e-6)
    assert np.abs(later_spanish[0, 2] - base[0, 2]).max() > 1e-4
    assert np.abs(later_english[0, 0] - base[0, 0]).max() > 1e-4  # word 0 reads English word 2 too


def test_transformer_translator_saves_and_loads_with_its_decoder(tmp_path):
    import keras

    model = small_transformer()
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    inputs = [np.array([[3, 4, 0, 0, 0, 0]]), np.array([[2, 5, 0, 0, 0, 0]])]
    np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(model(inputs)), atol=1e-6)
    assert type(loaded.layers[5]) is translation.TranslationDecoder


# --- the data recipe ---------------------------------------------------------------------------------

def test_split_is_70_15_15_and_gives_83_276_17_844_17_844_of_118_964_pairs():
    sizes = [len(part) for part in s11_5.split_pairs(range(118_964), seed=0)]
    assert sizes == [83_276, 17_844, 17_844] == s11_5.BOOK_SPLIT
    train, val, test = s11_5.split_pairs(range(1000), seed=0)
    assert sorted([*train, *val, *test]) == list(range(1000)) and list(train[:5]) != [0, 1, 2, 3, 4]


def test_spanish_standardization_lowers_and_strips_punctuation_but_keeps_start_and_end():
    import tensorflow as tf

    text = s11_5.spanish_standardization(tf.constant("[start] ¿Él tiene, el LIBRO? [end]")).numpy().decode()
    assert text == "[start] él tiene el libro [end]"


def test_recipes_are_the_books():
    gru, transformer = s11_5.TRAININGS["gru"], s11_5.TRAININGS["transformer"]
    assert (gru.epochs, transformer.epochs, s11_5.BATCH_SIZE) == (15, 30, 64)
    assert (translation.VOCAB_SIZE, translation.SEQUENCE_LENGTH, translation.EMBED_DIM) == (15_000, 20, 256)
    assert (translation.LATENT_DIM, translation.DENSE_DIM, translation.NUM_HEADS) == (1_024, 2_048, 8)
    assert gru.book["final_validation_accuracy"].startswith("64%")


# --- the loader ----------------------------------------------------------------------------------------

def test_loader_reads_english_and_spanish_and_ignores_the_attribution(tmp_path):
    write_spa_eng(tmp_path / "data", count=5)
    pairs = spa_eng.load_text_pairs(tmp_path / "data")
    assert pairs[0] == ("I see the cat?", "¿Yo veo el gato?") and len(pairs) == 5


def test_loader_reads_the_book_zip_without_extracting_it(tmp_path):
    (tmp_path / "data").mkdir()
    with zipfile.ZipFile(tmp_path / "data" / "spa-eng.zip", "w") as archive:
        archive.writestr("spa-eng/_about.txt", "about")
        archive.writestr("spa-eng/spa.txt", "Go.\tVe.\nHi.\tHola.\n")
    assert spa_eng.load_text_pairs(tmp_path / "data") == [("Go.", "Ve."), ("Hi.", "Hola.")]
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["spa-eng.zip"]


def test_a_line_without_a_tab_stops_with_its_number(tmp_path):
    (tmp_path / "spa.txt").write_text("Go.\tVe.\nbroken line\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        spa_eng.load_text_pairs(tmp_path)


def test_offline_without_the_file_one_line_says_what_to_fetch(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        spa_eng.load_text_pairs(tmp_path)
    message = str(error.value)
    assert "\n" not in message and spa_eng.URL in message and "spa-eng/spa.txt" in message


# --- the chapter as a student runs it ----------------------------------------------------------------

SMALL_BUILDERS = {  # the book's builders at a small size: the run costs seconds, not minutes and a gigabyte
    "gru": functools.partial(translation.gru_translator, vocab_size=64, embed_dim=8, latent_dim=16),
    "transformer": functools.partial(translation.transformer_translator, vocab_size=64, embed_dim=8, dense_dim=16,
                                     num_heads=2),
}


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """--quick with both models, then --resume --epochs 2 of the Transformer (both in mixed bfloat16, forced: on any
    CPU, and with --distribute mirrored, on one device), then --summary-only (small models)."""
    folder = tmp_path_factory.mktemp("ch11")
    data = write_spa_eng(folder / "spa")
    small = {name: dataclasses.replace(training, build_model=SMALL_BUILDERS[name],
                                       params=layer_params(SMALL_BUILDERS[name]()))
             for name, training in s11_5.TRAININGS.items()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(s11_5, "TRAININGS", small)
        common = ["--data-dir", data, "--output-dir", "out", "--batch-size", "16", *MIXED_BFLOAT16_MIRRORED]
        runs = {"quick": run_in_process(CHAPTER, ["11.5", "--quick", *common], cwd=folder)}
        runs["resume"] = run_in_process(CHAPTER, ["11.5", "--quick", "--resume", "--epochs", "2", "--models",
                                                  "transformer", *common], cwd=folder)
        runs["summary"] = run_in_process(CHAPTER, ["--summary-only", "--output-dir", "summary"], cwd=folder)
    for name, (code, _, err) in runs.items():
        assert code == 0, (name, err[-3000:])
    return folder, runs


def test_quick_run_records_the_split_the_batches_and_the_standardization(quick_runs):
    folder, _ = quick_runs
    results = results_of(folder / "out", "11.5")
    assert results["pairs"]["value"] == 300 and results["split_sizes"]["value"] == [210, 45, 45]
    assert results["batch_shapes"]["value"] == {"english": [16, 20], "spanish": [16, 20], "targets": [16, 20]}
    assert results["spanish_standardization_example"]["value"] == "[start] dónde está el baño [end]"


def test_both_models_train_with_rmsprop_and_sparse_crossentropy_for_the_books_epochs(quick_runs):
    folder, _ = quick_runs
    training = training_of(folder / "out", "11.5")
    for name, book_epochs in (("gru", 15), ("transformer", 30)):
        facts = training[name]
        assert (facts["optimizer"], facts["loss"], facts["book_epochs"]) == (
            "RMSprop", "sparse_categorical_crossentropy", book_epochs)
        assert facts["learning_rate"] == pytest.approx(1e-3)


def test_each_model_translates_the_same_test_sentences_from_start(quick_runs):
    folder, _ = quick_runs
    results = results_of(folder / "out", "11.5")
    gru, transformer = results["gru.translations"]["value"], results["transformer.translations"]["value"]
    assert len(gru) == s11_5.QUICK_TRANSLATED_SENTENCES
    assert [t["english"] for t in gru] == [t["english"] for t in transformer]
    for t in gru + transformer:
        assert t["translation"].startswith("[start]") and t["reference"].startswith("[start] ")
        assert len(t["translation"].split()) <= 21
    assert 0 <= results["gru.final_validation_accuracy"]["value"] <= 1


def test_resume_with_two_epochs_trains_one_more_in_the_same_run(quick_runs):
    folder, runs = quick_runs
    assert len(run_folders(folder / "out", "11.5")) == 1
    training = training_of(folder / "out", "11.5")
    assert training["transformer"]["epochs_done"] == 2 and training["gru"]["epochs_done"] == 1
    history = json.loads((run_folders(folder / "out", "11.5")[0] / "transformer" / "history.json").read_text())
    assert len(history["val_accuracy"]) == 2


def test_11_5_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_runs):
    folder, _ = quick_runs
    assert assert_trained_in_mixed_bfloat16(folder / "out", "11.5") == 2  # gru, transformer


def test_11_5_under_mirrored_builds_every_model_in_the_strategys_scope(quick_runs):
    folder, _ = quick_runs
    assert_trained_with_mirrored_variables(folder / "out", "11.5")


def test_summary_only_checks_the_models_without_data_or_training(quick_runs):
    folder, _ = quick_runs
    results = results_of(folder / "summary", "11.5")
    assert {"book_check.seq2seq_rnn", "book_check.seq2seq_transformer"} <= set(results)
    assert "pairs" not in results and not list((folder / "summary").glob("11.5-*/gru"))


def test_without_the_pairs_the_run_ends_in_one_line_and_exit_code_2(tmp_path):
    code, _, err = run_in_process(CHAPTER, ["--output-dir", "out"], cwd=tmp_path)
    assert code == 2
    assert err.count("\n") == 1 and "spa-eng.zip" in err and err.startswith("error: ")
    state = json.loads(next((tmp_path / "out").glob("11.5-*/run.json")).read_text())
    assert state["status"] == "no data"


def test_the_chapter_is_listed_and_has_only_the_second_edition(capsys):
    from chapters.__main__ import main

    main()
    assert "python -m chapters.ch11_sequence_to_sequence 11.5" in capsys.readouterr().out
    assert CHAPTER.editions == (2,)
    with pytest.raises(SystemExit):
        CHAPTER.parser().parse_args(["--edition", "2"])
    assert CHAPTER.sections["11.5"].summary.startswith("2nd ed. 11.5:")


# --- what the batches hold: identities carried by the words ------------------------------------------

def identified_pairs(count):
    """Pair i: English "e<i> f<i>", Spanish "[start] s<i> t<i> [end]": every word says which pair it is from."""
    return [(f"e{i} f{i}", f"[start] s{i} t{i} [end]") for i in range(count)]


def words_of(ids, vocabulary):
    return [vocabulary[i] for i in np.asarray(ids) if i != 0]


def passes(dataset, count=2):
    """`count` passes over a dataset, each as [(english ids, decoder input ids, target ids)] per pair."""
    return [[(tuple(e), tuple(s), tuple(t)) for inputs, targets in dataset
             for e, s, t in zip(np.asarray(inputs["english"]), np.asarray(inputs["spanish"]), np.asarray(targets))]
            for _ in range(count)]


def test_11_5_each_target_is_its_decoder_input_one_word_later_and_stays_with_its_english_source():
    pairs = identified_pairs(40)
    source, target = s11_5.adapted_vectorizations(pairs)
    english_words, spanish_words = source.get_vocabulary(), target.get_vocabulary()
    for dataset in (s11_5.translation_dataset(pairs, source, target, 8, shuffle_seed=0),  # training
                    s11_5.translation_dataset(pairs, source, target, 8)):  # validation
        rows = passes(dataset, 1)[0]
        assert len(rows) == 40
        for english, decoder_input, next_words in rows:
            assert len(english) == len(decoder_input) == len(next_words) == translation.SEQUENCE_LENGTH == 20
            i = words_of(english, english_words)[0][1:]
            assert words_of(english, english_words) == [f"e{i}", f"f{i}"]
            assert words_of(decoder_input, spanish_words) == ["[start]", f"s{i}", f"t{i}", "[end]"]
            assert words_of(next_words, spanish_words) == [f"s{i}", f"t{i}", "[end]"]


def test_11_5_training_batches_come_in_a_new_order_each_epoch_and_validation_batches_keep_theirs():
    pairs = identified_pairs(200)
    source, target = s11_5.adapted_vectorizations(pairs)
    first, second = passes(s11_5.translation_dataset(pairs, source, target, 4, shuffle_seed=0))
    assert first != second and sorted(first) == sorted(second)
    first, second = passes(s11_5.translation_dataset(pairs, source, target, 4))
    assert first == second


def test_11_5_vocabularies_are_learned_from_the_training_pairs_only(tmp_path):
    from tests.helpers import make_run

    path = tmp_path / "data" / "spa-eng" / "spa.txt"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"e{i} f{i}.\ts{i} t{i}.\n" for i in range(100)), encoding="utf-8")
    run = make_run(tmp_path, section="11.5", edition=2, quick=True, data_dir=tmp_path / "data")
    data = s11_5.translation_data(run)
    pairs = [(english, f"[start] {spanish} [end]") for english, spanish in spa_eng.load_text_pairs(tmp_path / "data")]
    train, val, test = s11_5.split_pairs(pairs, run.seed)
    assert {english for english, _ in data.test_pairs} == {english for english, _ in test}
    for vectorization, side in ((data.source_vectorization, 0), (data.target_vectorization, 1)):
        learned = set(vectorization.get_vocabulary()) - {"", "[UNK]", "[start]", "[end]"}
        expected = {word.strip(".").lower() for pair in train for word in pair[side].split()} - {"[start]", "[end]"}
        assert learned == expected
