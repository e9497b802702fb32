"""Chapter 7's recipes, callbacks, TensorBoard files, tuner and ensemble, and its command line, on synthetic data."""

import argparse
import dataclasses
import json

import keras
import numpy as np
import pytest

from chapters.ch7_best_practices import CHAPTER, monitoring_files
from chapters.ch7_best_practices import callbacks_tensorboard as s7_2
from chapters.ch7_best_practices import functional_api as s7_1
from chapters.ch7_best_practices import getting_the_most as s7_3
from chapters.ch7_best_practices import working_with_keras as s7_1_2nd
from chapters.errors import RunFailed
from models import functional_api as models
from tests.helpers import (
    MIXED_BFLOAT16,
    assert_trained_in_mixed_bfloat16,
    make_run,
    results_of,
    run_folders,
    run_in_process,
    training_of,
    write_word_sequence_data,
)

# --- synthetic data ------------------------------------------------------------------------------------


def synthetic_digits(n, seed=0):
    """28x28 uint8 'digits': a bright bar whose place is the class, on faint noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 2 + 12 * row: 12 + 12 * row, 1 + 5 * col: 6 + 5 * col] = 255
    return images, labels


def write_mnist(root, n_train=700, n_test=200):
    (root / "mnist").mkdir(parents=True, exist_ok=True)
    x_train, y_train = synthetic_digits(n_train, seed=1)
    x_test, y_test = synthetic_digits(n_test, seed=2)
    np.savez(root / "mnist" / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ch7_data")
    write_word_sequence_data(root)
    write_mnist(root)
    return root


def run_chapter(tmp_path, *argv):
    """The chapter's command line in this process, from `tmp_path`; returns the exit code."""
    return run_in_process(CHAPTER, argv, cwd=tmp_path)[0]


def quick_run(tmp_path_factory, data, name, *argv):
    tmp_path = tmp_path_factory.mktemp(name)
    code = run_chapter(tmp_path, *argv, "--quick", "--data-dir", data, "--output-dir", tmp_path / "out")
    assert code == 0
    return tmp_path


def flat_digits(n, seed, shift_labels=False):
    images, labels = synthetic_digits(n, seed)
    labels = labels.astype("int64")
    return images.reshape((n, 784)).astype("float32") / 255, (labels + 1) % 10 if shift_labels else labels


# --- the chapter -----------------------------------------------------------------------------------------

def test_the_chapter_has_the_books_three_sections_in_order():
    assert list(CHAPTER.sections) == ["7.1", "7.2", "7.3"]
    assert CHAPTER.name == "ch7_best_practices"


def test_the_editions_choose_their_own_code_for_each_section():
    assert s7_1.EDITIONS == {1: s7_1.functional_api_1st_edition, 2: s7_1_2nd.working_with_keras_2nd_edition}
    assert s7_2.FIRST_EDITION.demos == ("plateau_and_activations", "tensorboard_imdb_convnet")
    assert s7_2.SECOND_EDITION.demos == ("loss_history", "tensorboard_mnist")
    assert s7_3.EDITIONS[1].parts == ("batch_normalization", "separable_convnet", "hyperparameter_search", "ensemble")
    assert s7_3.EDITIONS[2].parts == ("hyperparameter_search", "ensemble")


# --- 7.1's recipes ----------------------------------------------------------------------------------------

def test_the_twins_train_on_1000_random_samples_10_epochs_of_128():
    assert (s7_1.TWIN_SAMPLES, s7_1.TWIN_EPOCHS, s7_1.TWIN_BATCH_SIZE) == (1000, 10, 128)
    assert s7_1.BOOK_GRAPH_DISCONNECTED.startswith("RuntimeError: Graph disconnected: cannot obtain value for tensor")


def test_the_question_answering_model_trains_on_1000_texts_of_100_words_10_epochs_of_128():
    assert (s7_1.QUESTION_ANSWERING_SAMPLES, s7_1.QUESTION_ANSWERING_LENGTH, s7_1.QUESTION_ANSWERING_EPOCHS,
            s7_1.QUESTION_ANSWERING_BATCH_SIZE) == (1000, 100, 10, 128)
    assert (models.TEXT_VOCABULARY_SIZE, models.QUESTION_VOCABULARY_SIZE, models.ANSWER_VOCABULARY_SIZE) == (
        10_000, 10_000, 500)


def test_the_three_output_model_weighs_its_losses_a_quarter_one_and_ten():
    assert s7_1.SOCIAL_MEDIA_LOSSES == {"age": "mse", "income": "categorical_crossentropy",
                                        "gender": "binary_crossentropy"}
    assert s7_1.SOCIAL_MEDIA_LOSS_WEIGHTS == {"age": 0.25, "income": 1.0, "gender": 10.0}
    assert (s7_1.SOCIAL_MEDIA_EPOCHS, s7_1.SOCIAL_MEDIA_BATCH_SIZE) == (10, 64)
    assert (s7_1.SOCIAL_MEDIA_SAMPLES, s7_1.SOCIAL_MEDIA_POST_LENGTH) == (256, 300)
    assert (models.POSTS_VOCABULARY_SIZE, models.NUM_INCOME_GROUPS) == (50_000, 10)


def test_the_graph_models_train_briefly_and_quick_keeps_64_samples():
    assert (s7_1.GRAPH_SAMPLES, s7_1.GRAPH_EPOCHS, s7_1.GRAPH_BATCH_SIZE, s7_1.SIAMESE_SENTENCE_LENGTH) == (
        256, 2, 32, 20)
    assert (s7_1.DUAL_CAMERA_PAIRS, s7_1.DUAL_CAMERA_BATCH_SIZE, s7_1.DUAL_CAMERA_EPOCHS) == (8, 4, 1)
    assert (s7_1.QUICK_RANDOM_SAMPLES, s7_1.QUICK_CAMERA_IMAGE_SIZE) == (64, 71)


def test_the_second_edition_trains_1280_tickets_one_epoch_and_mnist_3_epochs_of_32():
    assert (s7_1_2nd.TICKET_SAMPLES, s7_1_2nd.TICKET_EPOCHS) == (1280, 1)
    assert s7_1_2nd.TICKET_LOSSES == ["mean_squared_error", "categorical_crossentropy"]
    assert s7_1_2nd.TICKET_METRICS == [["mean_absolute_error"], ["accuracy"]]
    assert (s7_1_2nd.MNIST_VALIDATION_DIGITS, s7_1_2nd.MNIST_EPOCHS, s7_1_2nd.MNIST_BATCH_SIZE,
            s7_1_2nd.QUICK_VALIDATION_DIGITS) == (10_000, 3, 32, 500)


@pytest.fixture(scope="module")
def quick_7_1(tmp_path_factory, data):
    """7.1 --quick of the 1st edition in mixed bfloat16 (forced: on any CPU)."""
    return quick_run(tmp_path_factory, data, "ch7_7_1", "7.1", *MIXED_BFLOAT16) / "out"


def test_7_1_checks_every_model_and_both_printed_embedding_swaps(quick_7_1):
    results = results_of(quick_7_1, "7.1")
    checks = {key for key, entry in results.items() if key.startswith("book_check.") and entry["value"] == "MATCH"}
    assert checks == {f"book_check.{name}" for name in (
        "twin_sequential", "twin_functional", "question_answering_as_printed", "question_answering",
        "social_media_as_printed", "social_media", "inception_module", "residual_connections", "siamese_lstm",
        "dual_camera")}
    assert results["question_answering.params"]["value"] == results["question_answering.params"]["book"] == 1_000_052
    assert "2,909,812" in results["question_answering.params"]["note"]
    assert results["social_media.params"]["value"] == 14_146_316
    assert "45,982,476" in results["social_media.params"]["note"]
    assert "100 is not in [0, 64)" in results["question_answering_as_printed.word_index_100"]["value"]


def test_7_1_shows_keras_3s_graph_disconnected_error_beside_the_books(quick_7_1):
    entry = results_of(quick_7_1, "7.1")["graph_disconnected_error"]
    assert entry["value"].startswith("ValueError: ") and "not connected to `inputs`" in entry["value"]
    assert entry["book"] == s7_1.BOOK_GRAPH_DISCONNECTED


def test_7_1_trains_each_model_with_the_books_compile_arguments(quick_7_1):
    training = training_of(quick_7_1, "7.1")
    expected = {"twin_functional": ("categorical_crossentropy", 10),
                "question_answering_list_inputs": ("categorical_crossentropy", 10),
                "question_answering_dict_inputs": ("categorical_crossentropy", 10),
                "inception_module": ("sparse_categorical_crossentropy", 2),
                "residual_connections": ("sparse_categorical_crossentropy", 2),
                "siamese_lstm": ("binary_crossentropy", 2)}
    for name, (loss, book_epochs) in expected.items():
        facts = training[name]
        assert (facts["optimizer"], facts["learning_rate"], facts["loss"]) == ("RMSprop", pytest.approx(1e-3), loss)
        assert (facts["book_epochs"], facts["epochs"]) == (book_epochs, 1), name
    social = training["social_media"]
    assert social["loss"] == s7_1.SOCIAL_MEDIA_LOSSES and social["book_epochs"] == 10
    assert results_of(quick_7_1, "7.1")["social_media.loss_weights"]["value"] == {"age": 0.25, "income": 1.0,
                                                                                 "gender": 10.0}
    assert "dual_camera" not in training  # --quick calls it, does not train it


def test_7_1_the_total_loss_is_the_weighted_sum_of_the_three(quick_7_1):
    results = results_of(quick_7_1, "7.1")
    losses = results["social_media.output_losses"]["value"]
    assert results["social_media.weighted_sum_of_losses"]["value"] == pytest.approx(
        0.25 * losses["age"] + losses["income"] + 10 * losses["gender"], abs=1e-3)


def test_7_1_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_7_1):
    assert assert_trained_in_mixed_bfloat16(quick_7_1, "7.1") == 7


@pytest.fixture(scope="module")
def quick_7_1_second_edition(tmp_path_factory, data):
    return quick_run(tmp_path_factory, data, "ch7_7_1_e2", "7.1", "--edition", "2") / "out"


def test_7_1_second_edition_checks_the_ticket_models_and_trains_them(quick_7_1_second_edition):
    out = quick_7_1_second_edition
    results, training = results_of(out, "7.1"), training_of(out, "7.1")
    assert {key: entry["value"] for key, entry in results.items() if key.startswith("book_check.")} == {
        f"book_check.{name}": "MATCH" for name in (
            "my_example_model", "small_functional_model", "customer_ticket", "customer_ticket_with_difficulty",
            "customer_ticket_subclassed", "mnist_dropout_network")}
    for name in ("customer_ticket", "customer_ticket_subclassed"):
        assert training[name]["loss"] == ["mean_squared_error", "categorical_crossentropy"]
        assert (training[name]["book_epochs"], training[name]["optimizer"]) == (1, "RMSprop")
    assert (run_folders(out, "7.1")[-1] / "customer_ticket_subclassed" / "last.weights.h5").exists()


def test_7_1_second_edition_runs_the_gradient_tape_loop_and_the_train_step_with_the_rmse_metric(
        quick_7_1_second_edition):
    out = quick_7_1_second_edition
    results, training = results_of(out, "7.1"), training_of(out, "7.1")
    loop = training["gradient_tape_loop"]
    assert (loop["optimizer"], loop["learning_rate"], loop["loss"]) == (
        "RMSprop", pytest.approx(1e-3), "sparse_categorical_crossentropy")
    assert (loop["book_epochs"], loop["epochs"], loop["batch_size"], loop["epochs_done"]) == (3, 1, 32, 1)
    step = training["train_step_override"]
    assert (step["loss"], step["book_epochs"]) == ("sparse_categorical_crossentropy", 3)
    assert 0 <= results["train_step_override.validation_rmse"]["value"] <= np.sqrt(2)
    # the book's 7.4.4 listing has neither the custom metric nor validation data: labelled as ours
    assert results["train_step_override.validation_rmse"]["note"].startswith("ours: ")
    for key in ("gradient_tape_loop.test_accuracy", "train_step_override.test_accuracy"):
        assert 0.2 < results[key]["value"] <= 1, key  # the synthetic digits are easy
    state = json.loads((run_folders(out, "7.1")[-1] / "gradient_tape_loop" / "state.json").read_text())
    assert state["epoch"] == 1 and len(state["history"]["val_accuracy"]) == 1


def test_the_gradient_tape_loop_resumes_with_the_saved_weights_and_history(tmp_path):
    train, validation = flat_digits(96, 3), flat_digits(32, 4)
    run = make_run(tmp_path, section="7.1")
    keras.utils.set_random_seed(0)
    first = models.mnist_dropout_network()
    history = s7_1_2nd.train_with_gradient_tape(run, first, train, validation, epochs=2, batch_size=32)
    run.finish("stopped")
    resumed = make_run(tmp_path, section="7.1", resume=True)
    assert resumed.folder == run.folder
    keras.utils.set_random_seed(1)
    second = models.mnist_dropout_network()  # other weights: only the restored ones can equal the first's
    again = s7_1_2nd.train_with_gradient_tape(resumed, second, train, validation, epochs=2, batch_size=32)
    assert again == history and len(history["loss"]) == 2
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    more = s7_1_2nd.train_with_gradient_tape(resumed, second, train, validation, epochs=3, batch_size=32)
    assert more["loss"][:2] == history["loss"] and len(more["loss"]) == 3
    assert sorted(p.name for p in resumed.path("gradient_tape_loop").iterdir()) == [
        "epoch-0003.optimizer.npz", "epoch-0003.weights.h5", "state.json"]


# --- 7.2's recipes and callbacks ----------------------------------------------------------------------------

def test_the_first_editions_callbacks_are_the_books_snippets():
    edition = s7_2.FIRST_EDITION
    assert edition.early_stopping == {"monitor": "accuracy", "patience": 1}
    assert edition.checkpoint == {"filepath": "my_model.keras", "monitor": "val_loss", "save_best_only": True}
    assert (edition.epochs, edition.batch_size) == (10, 32)
    assert s7_2.REDUCE_LR_ON_PLATEAU == {"monitor": "val_loss", "factor": 0.1, "patience": 10}
    assert (s7_2.PLATEAU_EPOCHS, s7_2.PLATEAU_BATCH_SIZE, s7_2.ACTIVATION_SAMPLES) == (20, 128, 1)


def test_the_first_editions_tensorboard_run_is_20_epochs_of_128_with_a_fifth_for_validation():
    assert (s7_2.IMDB_CONVNET_EPOCHS, s7_2.IMDB_CONVNET_BATCH_SIZE, s7_2.IMDB_VALIDATION_SPLIT) == (20, 128, 0.2)
    assert s7_2.TENSORBOARD_HISTOGRAM_FREQ == 1 and s7_2.QUICK_IMDB_REVIEWS == (1000, 500)


def test_the_second_editions_callbacks_watch_val_accuracy_with_patience_2_on_get_mnist_model():
    edition = s7_2.SECOND_EDITION
    assert edition.mnist_model is models.mnist_dropout_network
    assert edition.early_stopping == {"monitor": "val_accuracy", "patience": 2}
    assert edition.checkpoint == {"filepath": "checkpoint_path.keras", "monitor": "val_loss", "save_best_only": True}
    assert (edition.epochs, edition.batch_size, s7_2.LOSS_HISTORY_EPOCHS, s7_2.TENSORBOARD_MNIST_EPOCHS) == (
        10, 32, 10, 10)
    assert (s7_2.MNIST_VALIDATION_DIGITS, s7_2.QUICK_VALIDATION_DIGITS) == (10_000, 500)


def worsening_digits(n_train=128, n_validation=64):
    """Validation labels shifted by one: the better the network learns, the worse its validation loss."""
    return s7_2.Digits(train=flat_digits(n_train, 5), validation=flat_digits(n_validation, 6, shift_labels=True),
                       test=flat_digits(32, 7), note="synthetic")


def test_early_stopping_stops_and_the_checkpoint_is_the_best_epoch(tmp_path):
    run = make_run(tmp_path, section="7.2")
    edition = dataclasses.replace(s7_2.SECOND_EDITION, early_stopping={"monitor": "val_loss", "patience": 2})
    keras.utils.set_random_seed(0)
    s7_2.early_stopping_and_checkpoint(run, edition, worsening_digits())
    results = results_of(run.output_base, "7.2")
    history = json.loads(run.path("early_stopping/history.json").read_text())
    assert results["early_stopping.epochs_run"]["value"] == len(history["loss"]) == 3 < 10
    assert results["early_stopping.best_epoch"]["value"] == 1
    assert results["early_stopping.checkpoint_validation_loss"]["value"] == pytest.approx(min(history["val_loss"]),
                                                                                          rel=1e-5)


def test_the_learning_rate_drops_tenfold_10_epochs_after_the_best_one_and_activations_are_saved(tmp_path):
    run = make_run(tmp_path, section="7.2", epochs=12)
    keras.utils.set_random_seed(0)
    s7_2.plateau_and_activations(run, s7_2.FIRST_EDITION, worsening_digits())
    results = results_of(run.output_base, "7.2")
    best = results["plateau.lowest_val_loss_epoch"]["value"]
    assert results["plateau.learning_rate_drops_after_epochs"]["value"] == [best + 10]
    rates = results["plateau.learning_rates"]["value"]
    assert rates[:best + 9] == [pytest.approx(1e-3)] * (best + 9) and rates[best + 9] == pytest.approx(1e-4)
    assert results["plateau.activation_files"]["value"] == 12
    with np.load(run.path("plateau/activations/activations_at_epoch_12.npz")) as saved:
        assert [saved[name].shape for name in saved.files] == [(1, 512), (1, 10)]
    assert run.path("plateau.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def quick_7_2(tmp_path_factory, data):
    """7.2 --quick with 2 epochs, so that TensorBoard has more than one epoch to show; in mixed bfloat16 (forced:
    on any CPU)."""
    return quick_run(tmp_path_factory, data, "ch7_7_2", "7.2", "--epochs", "2", *MIXED_BFLOAT16) / "out"


def test_7_2_trains_with_the_books_recipes(quick_7_2):
    training = training_of(quick_7_2, "7.2")
    assert training["early_stopping"]["early_stopping"] == {"monitor": "accuracy", "patience": 1}
    assert (training["early_stopping"]["optimizer"], training["early_stopping"]["loss"]) == (
        "RMSprop", "sparse_categorical_crossentropy")
    assert (training["early_stopping"]["book_epochs"], training["early_stopping"]["batch_size"]) == (10, 32)
    assert (training["plateau"]["book_epochs"], training["plateau"]["learning_rate"]) == (20, pytest.approx(1e-3))
    convnet = training["imdb_convnet"]
    assert (convnet["optimizer"], convnet["loss"], convnet["book_epochs"], convnet["epochs_done"]) == (
        "RMSprop", "binary_crossentropy", 20, 2)
    results = results_of(quick_7_2, "7.2")
    assert results["book_check.imdb_convnet"]["value"] == "MATCH"
    assert results["imdb_convnet.output_shapes_match_the_book"]["value"] is True
    assert results["tensorboard_command"]["value"].startswith("tensorboard --logdir ")


def test_7_2_tensorboards_event_files_hold_every_epochs_scalars_and_histograms(quick_7_2):
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    log_dir = run_folders(quick_7_2, "7.2")[-1] / "tensorboard"
    readers = {}
    for run_name in ("train", "validation"):
        readers[run_name] = event_accumulator.EventAccumulator(str(log_dir / run_name),
                                                               size_guidance={event_accumulator.TENSORS: 0})
        readers[run_name].Reload()
        for tag in ("epoch_loss", "epoch_accuracy"):
            events = readers[run_name].Tensors(tag)
            assert [event.step for event in events] == [0, 1], (run_name, tag)
            assert all(np.isfinite(tf.make_ndarray(event.tensor_proto)) for event in events)
    histograms = [tag for tag in readers["train"].Tags()["tensors"] if tag.endswith("/histogram")]
    assert len(histograms) == 7 and any("embed/embeddings" in tag for tag in histograms)  # every weight tensor
    assert all([event.step for event in readers["train"].Tensors(tag)] == [0, 1] for tag in histograms)


def test_7_2_tensorboards_projector_reads_the_trained_embedding_with_a_word_per_row(quick_7_2):
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin

    folder = run_folders(quick_7_2, "7.2")[-1]
    # Without a data provider the plugin reads the root log dir as a checkpoint directory, as TensorBoard does.
    plugin = ProjectorPlugin(base_plugin.TBContext(logdir=str(folder / "tensorboard"), data_provider=None))
    plugin._update_configs()
    embedding = plugin._configs["."].embeddings[0]
    assert embedding.tensor_name == monitoring_files.PROJECTOR_TENSOR_NAME and embedding.metadata_path == "metadata.tsv"
    tensor = plugin._get_reader_for_run(".").get_tensor(embedding.tensor_name)
    trained = keras.models.load_model(folder / "imdb_convnet" / "last.keras").get_layer("embed").embeddings
    np.testing.assert_allclose(tensor, keras.ops.convert_to_numpy(trained))
    words = (folder / "tensorboard" / "metadata.tsv").read_text().splitlines()
    assert len(words) == tensor.shape[0] == 2000 and words[:3] == ["<padding>", "<start>", "<out of vocabulary>"]
    assert words[4] == "word1"  # the synthetic word index: "word<i>" has rank i, so index i + 3


def test_7_2_under_forced_bfloat16_trains_hidden_layers_in_bfloat16_and_outputs_in_float32(quick_7_2):
    assert assert_trained_in_mixed_bfloat16(quick_7_2, "7.2") == 2  # plateau, imdb_convnet (early_stopping: model.fit)


def test_keras_3s_own_embeddings_freq_writes_nothing_the_projector_can_read(tmp_path):
    """Why 7.2 writes the projector's files itself: Keras 3 saves .weights.h5 files, not a TensorFlow checkpoint."""
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin

    model = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(20, 4, name="embed"),
                              keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    x, y = np.random.default_rng(0).integers(0, 20, (16, 5)), np.zeros(16)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.TensorBoard(str(tmp_path), embeddings_freq=1)])
    assert (tmp_path / "projector_config.pbtxt").exists() and list(tmp_path.glob("train/*.weights.h5"))
    plugin = ProjectorPlugin(base_plugin.TBContext(logdir=str(tmp_path), data_provider=None))
    plugin._update_configs()
    assert plugin._configs == {}  # no checkpoint found: the projector shows nothing


def test_7_2_saves_the_best_checkpoint_and_the_activations_of_each_epoch(quick_7_2):
    folder = run_folders(quick_7_2, "7.2")[-1]
    results = results_of(quick_7_2, "7.2")
    history = json.loads((folder / "early_stopping" / "history.json").read_text())
    assert results["early_stopping.checkpoint_validation_loss"]["value"] == pytest.approx(min(history["val_loss"]),
                                                                                          rel=1e-5)
    assert (folder / "early_stopping" / "my_model.keras").exists()
    assert sorted(p.name for p in (folder / "plateau" / "activations").iterdir()) == [
        "activations_at_epoch_1.npz", "activations_at_epoch_2.npz"]


def test_the_second_editions_loss_history_plots_each_epoch(tmp_path):
    run = make_run(tmp_path, section="7.2", epochs=2, edition=2)
    keras.utils.set_random_seed(0)
    s7_2.loss_history(run, s7_2.SECOND_EDITION, worsening_digits(n_train=256))
    assert sorted(p.name for p in run.path("loss_history").glob("plot_*")) == [
        "plot_at_epoch_1.png", "plot_at_epoch_2.png"]
    assert training_of(run.output_base, "7.2")["loss_history"]["book_epochs"] == 10


def test_the_second_editions_tensorboard_watches_get_mnist_model_every_epoch(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    run = make_run(tmp_path, section="7.2", epochs=2, edition=2)
    s7_2.tensorboard_mnist(run, s7_2.SECOND_EDITION, worsening_digits())
    facts = training_of(run.output_base, "7.2")["tensorboard_mnist"]
    assert (facts["book_epochs"], facts["epochs_done"], facts["loss"]) == (10, 2, "sparse_categorical_crossentropy")
    events = event_accumulator.EventAccumulator(str(run.path("tensorboard/validation")))
    events.Reload()
    assert [event.step for event in events.Tensors("epoch_accuracy")] == [0, 1]


# --- 7.3's recipes, the tuner and the ensemble -------------------------------------------------------------

def test_the_batch_normalization_and_separable_convnet_runs_are_sized_as_stated():
    assert (s7_3.BATCH_NORMALIZATION_EPOCHS, s7_3.BATCH_NORMALIZATION_BATCH_SIZE, s7_3.BATCH_STATISTICS_SAMPLES) == (
        1, 64, 256)
    assert (s7_3.SEPARABLE_SAMPLES, s7_3.SEPARABLE_EPOCHS, s7_3.SEPARABLE_BATCH_SIZE, s7_3.QUICK_RANDOM_SAMPLES) == (
        256, 2, 32, 64)


def test_the_search_is_the_second_editions_kerastuner_recipe():
    assert s7_3.SEARCH_UNITS == {"min_value": 16, "max_value": 64, "step": 16}
    assert s7_3.SEARCH_OPTIMIZERS == ["rmsprop", "adam"]
    assert (s7_3.TUNER_OBJECTIVE, s7_3.BOOK_MAX_TRIALS, s7_3.BOOK_EXECUTIONS_PER_TRIAL) == ("val_accuracy", 100, 2)
    assert (s7_3.SEARCH_EPOCHS, s7_3.SEARCH_BATCH_SIZE, s7_3.SEARCH_PATIENCE) == (100, 128, 5)
    assert (s7_3.SEARCH_VALIDATION_DIGITS, s7_3.QUICK_SEARCH_VALIDATION_DIGITS) == (10_000, 500)
    assert (s7_3.BOOK_TOP_N, s7_3.RETRAIN_PATIENCE, s7_3.FINAL_EPOCHS_FACTOR, s7_3.QUICK_TRIALS) == (4, 10, 1.2, 2)


def test_the_ensemble_is_chapter_3s_final_recipe_and_the_options_default_to_4():
    assert (s7_3.ENSEMBLE_EPOCHS, s7_3.ENSEMBLE_BATCH_SIZE, s7_3.QUICK_IMDB_REVIEWS) == (4, 512, (2000, 1000))
    options = CHAPTER.parser().parse_args(["7.3"])
    assert (options.trials, options.executions_per_trial, options.retrain_best, options.ensemble_size) == (4, 2, 1, 4)


def test_build_model_lets_the_tuner_choose_units_and_optimizer():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Fixed("units", 48)
    hp.Fixed("optimizer", "adam")
    model = s7_3.make_build_model({})(hp)
    assert model.layers[0].units == 48 and type(model.optimizer).__name__ == "Adam"
    assert model.loss == "sparse_categorical_crossentropy"


def test_the_ensemble_averages_its_members_predictions():
    predictions = [[0.2, 0.9, 0.4], [0.6, 0.5, 0.4], [0.7, 0.1, 0.4], [0.3, 0.3, 1.0]]
    np.testing.assert_allclose(s7_3.average_predictions(predictions), [0.45, 0.45, 0.55])
    book_weights = [0.5, 0.25, 0.1, 0.15]  # the book's weighted average
    np.testing.assert_allclose(s7_3.average_predictions(predictions, book_weights), [0.365, 0.63, 0.49])
    assert s7_3.accuracy(np.array([0.45, 0.45, 0.55]), np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_a_resumed_search_continues_the_trials_in_the_run_folder(tmp_path):
    x, y = flat_digits(64, 8)
    build_model = s7_3.make_build_model({})
    run = make_run(tmp_path, section="7.3")
    folder = run.path("tuner/mnist")
    tuner = s7_3.make_tuner(run, build_model, s7_3.TUNER_OBJECTIVE, 1, 1, folder)
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    run.finish("stopped")
    assert json.loads(run.path("run.json").read_text())["progress"] is True  # a finished trial marks progress
    resumed = make_run(tmp_path, section="7.3", resume=True)
    tuner = s7_3.make_tuner(resumed, build_model, s7_3.TUNER_OBJECTIVE, 2, 1, folder)
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    assert sorted(p.name for p in folder.glob("trial_*")) == ["trial_0", "trial_1"]
    assert len(tuner.oracle.get_best_trials(10)) == 2


@pytest.fixture(scope="module")
def quick_7_3(tmp_path_factory, data):
    """7.3 --quick of the 1st edition, in float32: its BatchNormalization check holds the layer's output to the
    formula within 1e-3, and bfloat16 rounds that output by about 2e-3."""
    return quick_run(tmp_path_factory, data, "ch7_7_3", "7.3", "--trials", "3", "--ensemble-size", "2")


def test_7_3_searches_two_trials_inside_the_run_folder_and_names_the_winner(quick_7_3):
    out = quick_7_3 / "out"
    results = results_of(out, "7.3")
    assert results["search.trials"]["value"] == 2 and results["search.trials"]["book"] == 100
    best, worst = results["search.best_trial"]["value"], results["search.worst_trial"]["value"]
    assert best["units"] in (16, 32, 48, 64) and best["optimizer"] in ("rmsprop", "adam")
    gain = results["search.best_minus_worst_val_accuracy"]["value"]
    assert gain == pytest.approx(best["val_accuracy"] - worst["val_accuracy"], abs=1e-4) and gain >= 0
    folder = run_folders(out, "7.3")[-1]
    assert sorted(p.name for p in (folder / "tuner" / "mnist").glob("trial_*")) == ["trial_0", "trial_1"]
    assert {p.name for p in quick_7_3.iterdir()} <= {"keras_home", "out"}  # nothing in the working folder
    retrained = training_of(out, "7.3")
    assert retrained["best_model_1_best_epoch"]["book_epochs"] == 100
    assert "best_model_2_best_epoch" not in retrained and 0 < results["search.best_model_1.test_accuracy"]["value"]


def test_7_3_compares_the_convnets_and_trains_the_ensemble(quick_7_3):
    out = quick_7_3 / "out"
    results, training = results_of(out, "7.3"), training_of(out, "7.3")
    assert results["batch_normalization.non_trainable_params"]["value"] == 448
    assert results["batch_normalization.formula_relative_difference"]["value"] < 1e-3
    assert results["batch_normalization.channel_means_before_and_after"]["value"][1] == pytest.approx(0, abs=1e-3)
    assert results["separable_convnet.params_against_regular"]["value"] == [38_949, 282_282]
    for name in ("without_batch_normalization", "with_batch_normalization"):
        assert (training[name]["loss"], training[name]["book_epochs"]) == ("sparse_categorical_crossentropy", 1)
    assert (training["separable_convnet"]["loss"], training["separable_convnet"]["book_epochs"]) == (
        "categorical_crossentropy", 2)
    for member in (1, 2):
        facts = training[f"ensemble_member_{member}"]
        assert (facts["optimizer"], facts["loss"], facts["book_epochs"]) == ("RMSprop", "binary_crossentropy", 4)
    with np.load(run_folders(out, "7.3")[-1] / "ensemble_predictions.npz") as saved:
        members, labels = saved["members"], saved["labels"]
    assert results["ensemble.test_accuracy"]["value"] == pytest.approx(
        np.mean((members.mean(axis=0) > 0.5) == labels))
    accuracies = results["ensemble.member_test_accuracies"]["value"]
    assert len(accuracies) == 2
    assert results["ensemble.best_single_test_accuracy"]["value"] == pytest.approx(max(accuracies), abs=1e-4)
    assert results["ensemble.gain_over_best_single"]["value"] == pytest.approx(
        results["ensemble.test_accuracy"]["value"] - max(accuracies), abs=1e-4)


def test_summary_only_of_the_second_edition_checks_every_model_without_data(tmp_path):
    assert run_chapter(tmp_path, "all", "--summary-only", "--edition", "2", "--output-dir", tmp_path / "out") == 0
    checks = {key: entry["value"] for section in ("7.2", "7.3")
              for key, entry in results_of(tmp_path / "out", section).items() if key.startswith("book_check.")}
    assert checks == {"book_check.mnist_dropout_network": "MATCH", "book_check.tunable_mnist_network_16": "MATCH",
                      "book_check.tunable_mnist_network_64": "MATCH", "book_check.imdb_network": "MATCH"}


def test_the_chapters_options_refuse_zero_trials(tmp_path):
    with pytest.raises(SystemExit):
        CHAPTER.parser().parse_args(["7.3", "--trials", "0"])
    assert isinstance(CHAPTER.parser().parse_args(["7.3"]), argparse.Namespace)


class FailingTraining(keras.callbacks.Callback):
    """Raises `error` when a trial starts training, for the first `times` trials (as a missing package does).

    KerasTuner deep-copies the callbacks of every trial; the count lives in a function, which a copy shares.
    """

    def __init__(self, error, times):
        super().__init__()
        started = []
        self.error, self.fails_now = error, lambda: started.append(1) or len(started) <= times

    def on_train_begin(self, logs=None):
        if self.fails_now():
            raise self.error


def test_a_failed_trial_is_reported_in_one_line_and_the_search_goes_on(tmp_path, capsys):
    x, y = flat_digits(64, 8)
    run = make_run(tmp_path, section="7.3")
    tuner = s7_3.make_tuner(run, s7_3.make_build_model({}), s7_3.TUNER_OBJECTIVE, 2, 1, run.path("tuner/mnist"))
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0,
                 callbacks=[FailingTraining(ValueError("no room for this model"), times=1)])
    completed = s7_3.completed_trials(tuner)
    assert [t.trial_id for t in completed] == ["1"]
    assert "trial 0 failed: ValueError: no room for this model" in capsys.readouterr().err.splitlines()


def test_a_search_whose_every_trial_failed_stops_with_one_line(tmp_path):
    x, y = flat_digits(64, 8)
    run = make_run(tmp_path, section="7.3")
    tuner = s7_3.make_tuner(run, s7_3.make_build_model({}), s7_3.TUNER_OBJECTIVE, 2, 1, run.path("tuner/mnist"))
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0,
                 callbacks=[FailingTraining(ImportError("No module named 'tensorboard'"), times=2)])
    with pytest.raises(RunFailed, match=r"no completed trial \(2 failed; the first: ImportError: No module named"):
        s7_3.completed_trials(tuner)


def test_retrain_best_beyond_the_books_four_is_refused():
    with pytest.raises(SystemExit):
        CHAPTER.parser().parse_args(["7.3", "--retrain-best", "5"])


def test_7_3_checks_batch_normalization_against_its_formula_in_float32_under_mixed_bfloat16():
    """Under --mixed-precision bfloat16 the layer's input and output are bfloat16 arrays: NumPy's means and
    variances over them lose the statistics (a relative gap of about 0.8); in float32 only bfloat16's rounding of
    the output remains."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        keras.utils.set_random_seed(0)
        model = s7_3.mnist_convnet_batch_normalized()
        probe = keras.Model(model.inputs[0], [model.layers[0].output, model.layers[1].output])
        images = np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32")
        before, after = (keras.ops.convert_to_numpy(t) for t in probe(images, training=True))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert before.dtype.name == after.dtype.name == "bfloat16"
    assert s7_3.difference_from_the_formula(before, after, model.layers[1].epsilon) < 2e-2
