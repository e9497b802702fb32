"""What several test modules share: running a chapter as a user does, reading its results, small models."""

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def run_cli(module, *args, cwd, env=None, timeout=300):
    """Run `python -m <module> <args>` from `cwd` as a user would; returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("DLWP_DATA_DIR", None)
    full_env["DLWP_OFFLINE"] = "1"
    full_env["KERAS_HOME"] = str(Path(cwd) / "keras_home")
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_in_process(chapter, argv, cwd=None, env=None):
    """`chapter.main(argv)` in this process, as run_cli runs it but with no second TensorFlow start-up.

    Returns (exit code, stdout, stderr). Offline as run_cli (no $DLWP_DATA_DIR, no download attempts); from
    `cwd` with its own Keras home when given; `env` sets more variables. Captures the output itself, so it
    also serves module-scoped fixtures (capsys is per test).
    """
    import contextlib
    import io

    import pytest

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DLWP_DATA_DIR", raising=False)
        patch.setenv("DLWP_OFFLINE", "1")
        if cwd is not None:
            patch.chdir(cwd)
            patch.setenv("KERAS_HOME", str(Path(cwd) / "keras_home"))
        for name, value in (env or {}).items():
            patch.setenv(name, str(value))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                chapter.main([str(a) for a in argv])
                code = 0
            except SystemExit as e:
                code = e.code
    return code, out.getvalue(), err.getvalue()


def run_folders(output_dir, section):
    return sorted(Path(output_dir).glob(f"{section}-*"))


def results_file(output_dir, section=None):
    """The whole results.json of the newest run folder (of `section`) under output_dir."""
    pattern = f"{section}-*/results.json" if section else "*/results.json"
    files = sorted(Path(output_dir).glob(pattern))
    assert files, f"no results.json under {output_dir}"
    return json.loads(files[-1].read_text())


def results_of(output_dir, section=None):
    """The `results` of the newest run folder: {key: {"value", "book", "note"}}."""
    return results_file(output_dir, section)["results"]


def training_of(output_dir, section=None):
    """The `training` facts of the newest run folder: {name: {"optimizer", "learning_rate", "epochs", ...}}."""
    return results_file(output_dir, section)["training"]


def layer_params(model):
    return [layer.count_params() for layer in model.layers]


def make_run(tmp_path, section="9.1", resume=False, model_settings=None, **settings):
    """A chapters.runs.Run as the command line would make it, with the book's defaults."""
    from chapters.runs import Run

    defaults = dict(edition=1, quick=False, seed=0, data_dir=None, summary_only=False, epochs=None, batch_size=None,
                    performance={"jit_compile": "auto", "steps_per_execution": None})
    defaults.update(settings)
    return Run("chX", section, defaults, options=None, output_dir=tmp_path / "out", resume=resume,
               model_settings=model_settings or {"edition": defaults["edition"]}, argv=[])


def tiny_model(seed=0, learning_rate=0.01):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def tiny_data(n=64, flip=False):
    """Inputs and labels (x0 > 0); `flip` gives the opposite labels (a validation set the training makes worse)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    return x, (1 - y if flip else y)


def tiny_dataset(x, y, batch_size=16):
    """A fixed-order tf.data pipeline: the same batches every epoch, so runs are comparable step by step."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)


# --- synthetic data in the real formats ---------------------------------------------------------

def ragged(rng, count, vocabulary, max_length):
    sequences = np.empty(count, dtype=object)
    sequences[:] = [list(map(int, rng.integers(1, vocabulary, rng.integers(5, max_length)))) for _ in range(count)]
    return sequences

def write_word_sequence_data(root):
    """Small files with the Keras layout: enough reviews and newswires for the --quick splits."""
    rng = np.random.default_rng(0)
    (root / "imdb").mkdir(parents=True)
    np.savez(root / "imdb" / "imdb.npz", x_train=ragged(rng, 700, 12000, 60), y_train=rng.integers(0, 2, 700),
             x_test=ragged(rng, 300, 12000, 60), y_test=rng.integers(0, 2, 300))
    word_index = json.dumps({f"word{i}": i for i in range(1, 12000)})
    (root / "imdb" / "imdb_word_index.json").write_text(word_index)
    (root / "reuters").mkdir()
    np.savez(root / "reuters" / "reuters.npz", x=ragged(rng, 1000, 12000, 60), y=rng.integers(0, 46, 1000))
    (root / "reuters" / "reuters_word_index.json").write_text(word_index)
    (root / "boston_housing").mkdir()
    np.savez(root / "boston_housing" / "boston_housing.npz", x=rng.normal(size=(60, 13)), y=rng.uniform(5, 50, 60))
    return root

def encode_runs(bitmap):
    """A bitmap (0/255) as the .cdb run lengths: per row, background / ink alternating."""
    out = bytearray()
    for row in bitmap > 0:
        ink, run = False, 0
        for pixel in row:
            if pixel == ink:
                run += 1
            else:
                out.append(run)
                ink, run = not ink, 1
        out.append(run)
    return bytes(out)

def write_cdb(path, bitmaps, labels):
    """A variable-size Hoda .cdb file, laid out as documented in datasets/hoda.py."""
    class_counts = np.bincount(labels, minlength=128)
    header = struct.pack("<HBBBBI", 2005, 8, 4, 0, 0, len(labels)) + struct.pack("<128I", *class_counts)
    header += bytes([0]) + b"synthetic".ljust(256, b"\0") + bytes(245)
    assert len(header) == 1024
    records = bytearray()
    for bitmap, label in zip(bitmaps, labels):
        runs = encode_runs(bitmap)
        height, width = bitmap.shape
        records += bytes([0xFF, label, width, height]) + struct.pack("<H", len(runs)) + runs
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(header + bytes(records))

def synthetic_glyphs(n, seed=0):
    """Variable-size binary glyphs: digit k is a frame with k+1 ink rows, so the classes differ."""
    rng = np.random.default_rng(seed)
    bitmaps, labels = [], []
    for i in range(n):
        label = i % 10
        height, width = rng.integers(12, 40), rng.integers(6, 30)
        bitmap = np.zeros((height, width), np.uint8)
        for k in range(label + 1):
            bitmap[(k * height) // (label + 1), :] = 255
        bitmap[:, rng.integers(0, width)] = 255
        bitmaps.append(bitmap)
        labels.append(label)
    return bitmaps, np.array(labels, np.uint8)

def write_mat(path, bitmaps, labels, ink=255):
    cells = np.empty((len(bitmaps), 1), dtype=object)
    for i, bitmap in enumerate(bitmaps):
        cells[i, 0] = (bitmap > 0).astype(np.uint8) * ink
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"Data": cells, "labels": labels.reshape(-1, 1)})

def make_picture(color, size=(40, 32), seed=0):
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(0, 20, (size[1], size[0], 3)) + color, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)

def make_split_folder(root, per_class=None):
    """cats_and_dogs_small/ with reddish cats and bluish dogs, as small JPEGs."""
    per_class = per_class or {"train": 6, "validation": 3, "test": 3}
    for split, n in per_class.items():
        for label, color in (("cats", (200, 60, 60)), ("dogs", (60, 60, 200))):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            start = {"train": 0, "validation": 1000, "test": 1500}[split]
            for i in range(start, start + n):
                make_picture(color, seed=i).save(folder / f"{label[:-1]}.{i}.jpg", quality=90)
    return root

def add_bad_files(folder):
    """One of each kind of bad file, in `folder`; returns {name: 'skipped' | 'converted'}."""
    good = folder / "cat.0.jpg"
    data = good.read_bytes()
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(np.random.default_rng(0).integers(0, 256, 500,
                                                                                                       dtype=np.uint8)))
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("this is not a picture\n")
    (folder / "readme.txt").write_text("not an image either\n")
    picture = make_picture((200, 60, 60), seed=99)
    picture.convert("L").save(folder / "gray.jpg")
    picture.convert("CMYK").save(folder / "cmyk.jpg")
    picture.convert("RGBA").save(folder / "rgba.png")
    picture.save(folder / "png_named.jpg", format="PNG")
    return {"corrupt.jpg": "skipped", "truncated.jpg": "skipped", "empty.jpg": "skipped", "notes.jpg": "skipped",
            "readme.txt": "skipped", "gray.jpg": "converted", "cmyk.jpg": "converted", "rgba.png": "converted",
            "png_named.jpg": "converted"}

def fingerprint(root):
    """Every file under root with its bytes' hash and mtime: to show nothing was changed."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(Path(root).rglob("*")) if p.is_file()}

# --- chapter 6: text and sequences ------------------------------------------------------------

JENA_HEADER = ('"Date Time","p (mbar)","T (degC)","Tpot (K)","Tdew (degC)","rh (%)","VPmax (mbar)","VPact (mbar)",'
               '"VPdef (mbar)","sh (g/kg)","H2OC (mmol/mol)","rho (g/m**3)","wv (m/s)","max. wv (m/s)","wd (deg)"')


def jena_rows(rows, seed=0):
    """(rows, 14) float32 measurements: a daily temperature cycle (144 rows of 10 minutes) and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    values = rng.normal(0, 1, (rows, 14)).astype("float32") + np.arange(14, dtype="float32") * 10
    values[:, 1] = 8 + 6 * np.sin(2 * np.pi * t / 144) + rng.normal(0, 0.5, rows)  # T (degC)
    return np.round(values, 2).astype("float32")


def write_jena_csv(path, rows, seed=0):
    """A CSV in the real file's format: its header, then 'dd.mm.yyyy hh:mm:ss' and 14 numbers per line."""
    import datetime

    values = jena_rows(rows, seed)
    start = datetime.datetime(2009, 1, 1, 0, 10)
    lines = [JENA_HEADER]
    for i, row in enumerate(values):
        stamp = (start + datetime.timedelta(minutes=10 * i)).strftime("%d.%m.%Y %H:%M:%S")
        lines.append(stamp + "," + ",".join(f"{v:.2f}" for v in row))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    return values


def write_aclimdb(root, per_class=None, unsup=0):
    """aclImdb/ in the official layout: <split>/{neg,pos}/<id>_<rating>.txt, with words that tell the classes apart."""
    per_class = per_class or {"train": 20, "test": 10}
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(300)]
    for split, count in per_class.items():
        for label, (rating, cue) in {"neg": (2, "awful"), "pos": (9, "wonderful")}.items():
            folder = Path(root) / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                words = list(rng.choice(vocabulary, 30)) + [cue] * 3
                rng.shuffle(words)
                (folder / f"{i}_{rating}.txt").write_text("A film. " + " ".join(words) + "<br /><br />The end.")
    if unsup:
        folder = Path(root) / "train" / "unsup"
        folder.mkdir(parents=True)
        for i in range(unsup):
            (folder / f"{i}_0.txt").write_text("unlabelled " + " ".join(rng.choice(vocabulary, 20)))
    (Path(root) / "README").write_text("Large Movie Review Dataset v1.0 (synthetic)\n")
    return Path(root)


# --- mixed precision -----------------------------------------------------------------------------------

MIXED_BFLOAT16 = ["--mixed-precision", "bfloat16"]  # forced: the same on every CPU
# With --distribute mirrored on one logical CPU the strategy still makes every variable a tf.distribute value, so
# assert_trained_with_mirrored_variables shows that every model a section builds (after its run.clear_session
# calls) is built inside the strategy's scope; the sections compute as on one device.
MIXED_BFLOAT16_MIRRORED = [*MIXED_BFLOAT16, "--distribute", "mirrored"]


def assert_trained_in_mixed_bfloat16(output_dir, section=None):
    """Every model the run trained with run.fit computed its hidden layers in bfloat16 and its outputs in float32,
    as results.json records them and as the saved models (last.keras) hold them; returns how many.

    run.fit records compute_dtypes with each training; a section's own loop (7.1's GradientTape loop, 7.2's
    EarlyStopping model.fit) records its other facts without them, and is not counted."""
    import keras

    from chapters.performance import compute_dtypes

    fitted = {name: facts for name, facts in training_of(output_dir, section).items() if "compute_dtypes" in facts}
    assert fitted, "the run trained nothing with run.fit"
    for name, facts in fitted.items():
        assert facts["compute_dtypes"] == {"hidden": ["bfloat16"], "output": ["float32"]}, name
    pattern = f"{section}-*/*/last.keras" if section else "*/*/last.keras"
    saved = sorted(Path(output_dir).glob(pattern))
    for path in saved:
        assert compute_dtypes(keras.models.load_model(path)) == {"hidden": ["bfloat16"], "output": ["float32"]}, path
    return len(fitted)


def assert_trained_with_mirrored_variables(output_dir, section=None):
    """Every model the run trained with run.fit had its variables mirrored by the strategy."""
    training = training_of(output_dir, section)
    assert training and all(facts["variables_mirrored"] for facts in training.values()), training


# --- what a section hands its first training -----------------------------------------------------

class FitReached(Exception):
    """Raised by first_fit's stand-in for run.fit: the section stops where its training would begin."""


def first_fit(chapter, argv, cwd):
    """What a section's first run.fit receives, with no training: {"name", "model", "train", "validation",
    "steps"} (steps: steps_per_epoch as fit would use it, None for one pass over the data)."""
    import pytest

    from chapters import training

    calls = []

    def fit(run, model, data, *, name, validation_data=None, steps_per_epoch=None, **kwargs):
        calls.append({"name": name, "model": model, "train": data, "validation": validation_data,
                      "steps": run.steps_per_epoch(steps_per_epoch)})
        raise FitReached(name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "fit", fit)
        with pytest.raises(FitReached):
            run_in_process(chapter, argv, cwd=cwd)
    return calls[0]


def samples_per_epoch(data, steps=None, epochs=2):
    """`epochs` passes over a dataset of (inputs, labels) batches as fit() draws them, each the list of its samples
    as (bytes of the inputs, bytes of the label) in the order they came (steps: one iterator, `steps` a pass)."""
    def samples(batches):
        return [(np.asarray(x).tobytes(), np.asarray(y).tobytes()) for xs, ys in batches for x, y in zip(xs, ys)]

    if steps is None:
        return [samples(data) for _ in range(epochs)]
    batches = list(data.take(epochs * steps))
    return [samples(batches[i * steps:(i + 1) * steps]) for i in range(epochs)]


def assert_reshuffled_each_epoch(data, steps=None):
    """Two epochs hold the same (sample, label) pairs, in another order."""
    first, second = samples_per_epoch(data, steps)
    assert sorted(first) == sorted(second), "two epochs hold different (sample, label) pairs"
    assert first != second, "the training samples come in the same order every epoch"


def assert_same_order_each_pass(data):
    first, second = samples_per_epoch(data)
    assert first == second, "the evaluation samples change order from one pass to the next"
