"""What each section's data pipeline feeds its models: which samples, in which order, with which labels.

Synthetic data that carries each sample's identity, so that a test can tell
which sample (and which part of it) a model sees, and whether its label came
with it.
"""

import numpy as np
import pytest

from chapters.ch6_text_and_sequences import advanced_recurrent as s6_3
from datasets import imdb as imdb_module
from datasets.imdb import WordSequences
from tests.helpers import make_run

# ---------------------------------------------------------------------------
# Reviews whose first word says which review they are (5000 + i) and whose label is i's parity
# ---------------------------------------------------------------------------

IDENTITY = 5_000


def identified_reviews(count, first_length=600):
    """Review i: its identity, then the words 4, 5, 6, ... (first_length + i words); label i % 2."""
    reviews = np.empty(count, dtype=object)
    for i in range(count):
        reviews[i] = np.concatenate([[IDENTITY + i], 4 + np.arange(1, first_length + i)]).astype("int32")
    return reviews, (np.arange(count) % 2).astype("int64")


@pytest.fixture
def identified_imdb(monkeypatch):
    train, train_labels = identified_reviews(20)
    test, test_labels = identified_reviews(10)
    test = np.array([review + np.where(review >= IDENTITY, 100, 0) for review in test], dtype=object)  # 5100 + i
    imdb = WordSequences(train, train_labels, test, test_labels, "synthetic")
    monkeypatch.setattr(imdb_module, "load_imdb", lambda **kwargs: imdb)
    return imdb


def test_6_3_both_imdb_models_see_each_reviews_first_500_words_read_backwards(tmp_path, identified_imdb):
    assert set(s6_3.IMDB_MODELS) == {"reversed_lstm", "bidirectional_lstm"}  # both train on these arrays
    arrays = s6_3.imdb_read_backwards(make_run(tmp_path, section="6.3"))
    for x, y, reviews, labels in ((np.concatenate([arrays.x_train, arrays.x_val]),
                                   np.concatenate([arrays.y_train, arrays.y_val]), identified_imdb.train_data,
                                   identified_imdb.train_labels),
                                  (arrays.x_test, arrays.y_test, identified_imdb.test_data,
                                   identified_imdb.test_labels)):
        assert x.shape[1] == s6_3.IMDB["maxlen"] == 500
        for row, label, review, book_label in zip(x, y, reviews, labels):
            # the book reverses before pad_sequences(maxlen=500): the review's first 500 words, backwards
            np.testing.assert_array_equal(row, review[:500][::-1])
            assert label == book_label


# ---------------------------------------------------------------------------
# The sections walked: each section's quick run on synthetic data that carries identities, with spies on what
# run.fit, Model.fit, Model.evaluate, jena.normalize and 3.7's training receive
# ---------------------------------------------------------------------------

# (section, edition, extra arguments): every model trains 2 epochs, so that its best checkpoint (epoch 1, see
# WorseAfterTheFirstEpoch) is not its last weights.
WALKED = [("3.7", 1, ["--folds", "2", "--kfold-epochs", "1", "--final-runs", "1"]),
          ("5.2", 1, ["--epochs", "2", "--batch-size", "16"]),
          ("5.2", 2, ["--augmentation", "on", "--epochs", "2", "--batch-size", "16"]),
          ("6.3", 1, ["--models", "reversed_gru", "bidirectional_lstm", "--epochs", "2", "--batch-size", "32"]),
          # batches so large that --quick's first 4 training and 2 validation batches hold every window
          ("6.3", 2, ["--models", "lstm", "--epochs", "2", "--batch-size", "1024"]),
          ("5.3", 1, ["--technique", "fast", "--weights", "random", "--epochs", "2", "--batch-size", "16"]),
          ("9.3", 2, ["--epochs", "2", "--batch-size", "16"])]
CHAPTERS = {"3": "chapters.ch3_getting_started", "5": "chapters.ch5_convnets", "6": "chapters.ch6_text_and_sequences",
            "9": "chapters.ch9_advanced_vision"}
# Where the book itself shuffles what it evaluates on: the 2nd edition's Jena datasets (shuffle=True, all three).
EVALUATION_SHUFFLED_BY_THE_BOOK = {("6.3", 2)}
# Models whose training pictures the recipe augments (5.2's 2nd edition augments inside the model, not the data).
AUGMENTED_IN_THE_PIPELINE = {("5.2", 1, "augmentation_dropout")}
# Models whose samples the recipe reads backwards in time (6.3, 1st edition: training and validation alike).
READ_BACKWARDS = {("6.3", 1, "reversed_gru")}
BOSTON_ROWS, JENA_ROWS, IMDB_REVIEWS = 120, 8_000, (300, 150)


def write_identified_data(root):
    """Data whose samples say who they are: IMDB reviews of one repeated word (its parity the label), Boston houses
    whose first feature and price both grow with the row (test houses far from the training ones), Jena rows whose
    pressure grows with time, and the cats (reddish) and dogs (bluish) of 5.2."""
    from datasets.boston_housing import keras_split
    from tests.helpers import JENA_HEADER, jena_rows, make_split_folder

    (root / "imdb").mkdir(parents=True)
    parts = {}
    for part, count, first in (("train", IMDB_REVIEWS[0], 0), ("test", IMDB_REVIEWS[1], 1000)):
        reviews = np.empty(count, dtype=object)
        reviews[:] = [[4 + first + i] * (30 + i % 40) for i in range(count)]  # one word, 4 + id, repeated
        parts[f"x_{part}"], parts[f"y_{part}"] = reviews, (first + np.arange(count)) % 2
    np.savez(root / "imdb" / "imdb.npz", **parts)
    (root / "imdb" / "imdb_word_index.json").write_text("{}")

    rows = np.arange(BOSTON_ROWS)
    test_rows = keras_split(rows[:, None], rows).test_targets  # which rows Keras's split makes test houses
    x = np.random.default_rng(0).normal(size=(BOSTON_ROWS, 13))
    x[:, 0] = rows + np.where(np.isin(rows, test_rows), 1000, 0)  # the test houses' statistics differ
    (root / "boston_housing").mkdir()
    np.savez(root / "boston_housing" / "boston_housing.npz", x=x, y=5 + 0.1 * rows)

    values = jena_rows(JENA_ROWS)
    values[:, 0] = 900 + 0.01 * np.arange(JENA_ROWS)  # the pressure grows with time: a sample shows its direction
    (root / "jena_climate").mkdir()
    (root / "jena_climate" / "jena_climate_2009_2016.csv").write_text("\n".join(
        [JENA_HEADER] + ["01.01.2009 00:10:00," + ",".join(f"{v:.2f}" for v in row) for row in values]) + "\n")
    make_split_folder(root / "cats_and_dogs_small", {"train": 40, "validation": 20, "test": 20})
    return root


def materialised(data, batches=None):
    """One pass over a dataset as [(inputs, labels)] of NumPy arrays (`batches` of an endless one)."""
    if data is None:
        return None
    data = data if batches is None else data.take(batches)
    return [(np.asarray(x), np.asarray(y)) for x, y in data]


def two_epochs(data, steps=None):
    """Two epochs of training batches as fit() draws them: with steps_per_epoch, fit() keeps one iterator over
    the (endless) pipeline and the second epoch continues where the first stopped; without, it starts again."""
    if steps is None:
        return [materialised(data) for _ in range(2)]
    batches = materialised(data, 2 * steps)
    return [batches[:steps], batches[steps:]]


class WorseAfterTheFirstEpoch:
    """A callback, first in fit's list, that reports every later epoch's validation loss as 1e9: the best
    checkpoint is then always epoch 1's weights, never the last."""

    def __new__(cls):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch > 0 and logs is not None and "val_loss" in logs:
                    logs["val_loss"] = 1e9

        return Callback()


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    import importlib

    import keras

    from chapters import training
    from chapters.ch3_getting_started import boston_housing as s3_7
    from datasets import jena
    from tests.helpers import run_in_process

    folder = tmp_path_factory.mktemp("walk")
    data = write_identified_data(folder / "data")
    spy = {"fits": [], "keras_fits": [], "evaluations": [], "normalized": [], "boston": [], "current": {}}
    real = {"fit": training.fit, "model_fit": keras.Model.fit, "evaluate": keras.Model.evaluate,
            "normalize": jena.normalize, "boston": s3_7.train_boston_network}

    def fit(run, model, data, *, name, validation_data=None, steps_per_epoch=None, **kwargs):
        steps = run.steps_per_epoch(steps_per_epoch)
        record = {"section": run.section, "edition": run.edition, "name": name, "folder": run.path(name),
                  "train": two_epochs(data, steps),
                  "validation": [materialised(validation_data) for _ in range(2)]}
        spy["fits"].append(record)
        spy["current"] = record
        return real["fit"](run, model, data, name=name, validation_data=validation_data,
                           steps_per_epoch=steps_per_epoch, **kwargs)

    def model_fit(self, *args, callbacks=None, **kwargs):
        spy["keras_fits"].append({"name": spy["current"].get("name"), "callbacks": list(callbacks or [])})
        return real["model_fit"](self, *args, callbacks=[WorseAfterTheFirstEpoch(), *(callbacks or [])], **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        result = real["evaluate"](self, x, y, *args, **kwargs)
        spy["evaluations"].append({"fit": spy["current"], "weights": [np.array(w) for w in self.get_weights()],
                                   "x": x, "y": y, "result": result})
        return result

    def normalize(float_data, train_rows):
        spy["normalized"].append({"rows": len(float_data), "train_rows": train_rows})
        return real["normalize"](float_data, train_rows)

    def boston(loop, model, x, y, epochs, batch_size, validation_data=None):
        spy["boston"].append({"x": x, "y": y, "validation": validation_data})
        return real["boston"](loop, model, x, y, epochs, batch_size, validation_data)

    runs = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "fit", fit)
        patch.setattr(keras.Model, "fit", model_fit)
        patch.setattr(keras.Model, "evaluate", evaluate)
        patch.setattr(jena, "normalize", normalize)
        patch.setattr(s3_7, "train_boston_network", boston)
        for section, edition, extra in WALKED:
            chapter = importlib.import_module(CHAPTERS[section[0]]).CHAPTER
            before = len(spy["normalized"])
            editions = ["--edition", edition] if len(chapter.editions) > 1 else []  # 9.x has the 2nd edition only
            runs[section, edition] = run_in_process(chapter, [section, "--quick", *editions, "--data-dir", data,
                                                              "--output-dir", folder / "out", *extra], cwd=folder)
            assert runs[section, edition][0] == 0, runs[section, edition][2][-3000:]
            for record in spy["normalized"][before:]:
                record["section"] = (section, edition)
    return folder, spy, runs


def fingerprints(batches):
    """The pass's samples, each as (bytes of its inputs, its label), in the order the pipeline gave them."""
    return [(np.round(x, 4).tobytes(), float(np.ravel(y)[0])) for xs, ys in batches for x, y in zip(xs, ys)]


def fits(spy, **where):
    return [f for f in spy["fits"] if all(f[key] == value for key, value in where.items())]


def test_every_training_through_run_fit_has_terminate_on_nan(walked):
    import keras

    _, spy, _ = walked
    assert len(spy["keras_fits"]) >= len(spy["fits"]) >= 6
    for call in spy["keras_fits"]:
        assert any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in call["callbacks"]), call["name"]


def test_training_data_is_reshuffled_every_epoch_and_evaluation_data_keeps_its_order(walked):
    _, spy, _ = walked
    for fit in spy["fits"]:
        where = (fit["section"], fit["edition"], fit["name"])
        first, second = (fingerprints(p) for p in fit["train"])
        assert first != second, f"{where}: the training data comes in the same order every epoch"
        first, second = (fingerprints(p) for p in fit["validation"])
        if (fit["section"], fit["edition"]) in EVALUATION_SHUFFLED_BY_THE_BOOK:
            assert sorted(first) == sorted(second) and first != second, f"{where}: the book shuffles its validation"
        else:
            assert first == second, f"{where}: the validation data changes from one pass to the next"


def test_shuffling_moves_each_label_with_its_sample(walked):
    _, spy, _ = walked
    for fit in spy["fits"]:
        where = (fit["section"], fit["edition"], fit["name"])
        if where in AUGMENTED_IN_THE_PIPELINE or where == ("6.3", 1, "reversed_gru"):
            continue  # new pictures every epoch; random rows of the series
        first, second = (fingerprints(p) for p in fit["train"])
        assert sorted(first) == sorted(second), f"{where}: two epochs hold different (sample, label) pairs"


def test_labels_are_the_ones_their_samples_carry(walked):
    _, spy, _ = walked
    checked = 0
    for fit in fits(spy, name="bidirectional_lstm") + fits(spy, section="5.2"):
        for passes in (fit["train"], fit["validation"]):
            for x, y in passes[0]:
                if fit["section"] == "6.3":  # every word of review `id` is 7 + id (4 + id, shifted by 3); label id % 2
                    expected = (x.max(axis=1) - 7) % 2
                else:  # dogs (1) bluish, cats (0) reddish, however augmented
                    expected = x[..., 2].mean(axis=(1, 2)) > x[..., 0].mean(axis=(1, 2))
                np.testing.assert_array_equal(np.ravel(y), expected.astype(float), err_msg=fit["name"])
                checked += len(y)
    assert checked > 500


def unaugmented_pictures(data_dir, edition):
    """Every picture of every split as the section's pipeline gives it without augmentation."""
    from datasets import dogs_vs_cats

    # the 1st edition scales the pictures to [0, 1] in the pipeline; the 2nd in the model (a Rescaling layer)
    image_size, scale = {1: ((150, 150), True), 2: ((180, 180), False)}[edition]
    root = data_dir / "cats_and_dogs_small"
    found = set()
    for split in ("train", "validation", "test"):
        dataset = dogs_vs_cats.make_dataset(dogs_vs_cats.load_split(root, split), image_size, 64, scale=scale)
        found.update(fingerprints(materialised(dataset)))
    return found


def test_5_2_augments_exactly_the_training_pictures_its_recipe_says(walked):
    folder, spy, _ = walked
    for edition in (1, 2):
        pictures = unaugmented_pictures(folder / "data", edition)
        for fit in fits(spy, section="5.2", edition=edition):
            where = (fit["section"], fit["edition"], fit["name"])
            for validation in fit["validation"]:
                assert set(fingerprints(validation)) <= pictures, f"{where}: validation pictures are augmented"
            training = fingerprints(fit["train"][0])
            unchanged = sum(sample in pictures for sample in training) / len(training)
            if where in AUGMENTED_IN_THE_PIPELINE:
                assert unchanged < 0.2, f"{where}: the training pictures are not augmented"
            else:
                assert unchanged == 1, f"{where}: training pictures changed although the recipe does not augment"


def test_6_3_reads_backwards_exactly_the_models_the_recipe_says_in_training_and_validation(walked):
    _, spy, _ = walked
    jena_fits = [fit for fit in spy["fits"] if fit["section"] == "6.3" and fit["name"] != "bidirectional_lstm"]
    assert {fit["name"] for fit in jena_fits} == {"reversed_gru", "lstm"}
    for fit in jena_fits:
        backwards = (fit["section"], fit["edition"], fit["name"]) in READ_BACKWARDS
        for passes in (fit["train"], fit["validation"]):
            for x, _ in passes[0]:
                rising = x[:, -1, 0] > x[:, 0, 0]  # the pressure grows with time
                assert (~rising if backwards else rising).all(), (fit["name"], backwards)


def test_6_3_normalises_jena_with_the_training_rows_statistics_only(walked):
    from datasets import jena

    _, spy, _ = walked
    expected = {("6.3", 1): int(JENA_ROWS * s6_3.JENA["train_rows"] / jena.BOOK_ROWS),
                ("6.3", 2): jena.split_sizes(JENA_ROWS).train}
    assert {record["section"]: record["train_rows"] for record in spy["normalized"]} == expected
    assert all(record["rows"] == JENA_ROWS for record in spy["normalized"])


def test_3_7_normalises_every_house_with_the_training_houses_statistics(walked):
    from datasets.boston_housing import keras_split

    _, spy, _ = walked
    rows = np.arange(BOSTON_ROWS)
    train_rows = keras_split(rows[:, None], rows).train_targets
    mean, std = train_rows.mean(), train_rows.std()  # the training houses' first feature is their row

    def statistics(x, y):
        """(mean, std) the first feature was normalised with: it is (row - mean) / std, and the price 5 + row / 10."""
        slope, intercept = np.polyfit((np.asarray(y) - 5) / 0.1 % 1000, np.asarray(x)[:, 0], 1)
        residual = np.abs(np.asarray(x)[:, 0] - (slope * ((np.asarray(y) - 5) / 0.1) + intercept)).max()
        assert residual < 1e-3, "the prices do not belong to their houses"
        return -intercept / slope, 1 / slope

    trainings = spy["boston"]
    assert len(trainings) == 3  # two folds, one final model
    for training in trainings:
        assert statistics(training["x"], training["y"]) == pytest.approx((mean, std), rel=1e-4)
        if training["validation"] is not None:
            assert statistics(*training["validation"]) == pytest.approx((mean, std), rel=1e-4)
            assert sorted(np.concatenate([training["y"], training["validation"][1]])) == pytest.approx(
                sorted(5 + 0.1 * train_rows))  # the folds split the training houses, each house once
    test = [e for e in spy["evaluations"] if isinstance(e["x"], np.ndarray) and e["x"].shape[1:] == (13,)]
    assert len(test) == 1
    test_rows = (np.asarray(test[0]["y"]) - 5) / 0.1
    np.testing.assert_allclose(test[0]["x"][:, 0], (test_rows + 1000 - mean) / std, rtol=1e-5)


def test_every_best_checkpoint_number_comes_from_the_checkpoints_weights(walked):
    import json

    import keras

    folder, spy, _ = walked
    checked = 0
    for results_path in sorted((folder / "out").glob("*/results.json")):
        results = json.loads(results_path.read_text())["results"]
        for key, entry in results.items():
            # "<training>.<number>", or "<number>" alone in a section that trains one model; a training's folder may
            # carry a tag ("feature_extraction_untrained-vgg16")
            name, _, what = key.rpartition(".")
            if what not in ("test_accuracy_best_checkpoint", "test_mae"):
                continue
            checkpoints = [path.parent for path in results_path.parent.glob("*/best.keras")
                           if not name or path.parent.name == name or path.parent.name.startswith(f"{name}_")]
            if not checkpoints:
                continue  # not a trained model's number (the common-sense baseline)
            assert len(checkpoints) == 1, (key, checkpoints)
            checkpoint = checkpoints[0]
            assert json.loads((checkpoint / "best.json").read_text())["epoch"] == 1  # not the last of 2
            best = [np.asarray(w) for w in keras.models.load_model(checkpoint / "best.keras").get_weights()]
            evaluations = [e for e in spy["evaluations"] if e["fit"].get("folder") == checkpoint
                           and isinstance(e["result"], list) and np.isclose(e["result"][1], entry["value"], rtol=1e-6)]
            assert any(len(e["weights"]) == len(best) and all(np.array_equal(a, b) for a, b in zip(e["weights"], best))
                       for e in evaluations), f"{key}: not computed with {checkpoint / 'best.keras'}'s weights"
            checked += 1
    assert checked >= 7
