"""Chapter 6's recurrent layers, timed: our recipe against the book's plain one in the same run, and the settings.

    python -m benchmarks.ch6_recurrent_networks                   # both parts (IMDB from DLWP_DATA_DIR)
    python -m benchmarks.ch6_recurrent_networks --part settings   # only the settings of a GRU on Jena-shaped samples
    python -m benchmarks.ch6_recurrent_networks --quick

Part "imdb_lstm" (6.2): Embedding(10000, 32) -> LSTM(32) -> Dense(1) on reviews
cut to 500 words, batches of 128, the last 20% of the training reviews for
validation. The book's recipe: NumPy arrays into fit(validation_split=0.2),
default compile settings. Ours: the chapter's tf.data pipeline and the compile
settings chosen for recurrent models (chapters.performance).
The two train in turns, one epoch each (benchmarks.common.compare_training_recipes);
both are evaluated on the first 5,000 test reviews.

Part "settings": seconds per training step of recurrent layers on samples of the
Jena shape (128 samples of 240 timesteps of 14 values, random numbers: the time
of a step does not depend on their values; the Jena CSV is not needed) and of
IMDB's (128 x 500 word indices), with XLA off and on; with --unroll, also with
`unroll=True` (building the unrolled graph of 240 steps takes minutes).
Writes outputs/benchmarks/ch6_recurrent_networks.json.
"""

import time

import keras
import numpy as np

from benchmarks.common import benchmark_parser, compare_training_recipes, write_report
from chapters.performance import PERFORMANCE_DEFAULTS, setup_device
from datasets.arrays import array_dataset
from datasets.imdb import VALIDATION_SPLIT, load_imdb
from models.text_networks import imdb_lstm

TEST_REVIEWS = 5_000


def imdb_lstm_part(args, device):
    """Our recipe against the book's, per epoch, for the 6.2 LSTM."""
    settings = PERFORMANCE_DEFAULTS[(device, "recurrent")]
    imdb = load_imdb(num_words=10_000, data_dir=args.data_dir)
    if args.quick:
        imdb = imdb.head(640, 256)
    x = keras.utils.pad_sequences(imdb.train_data, maxlen=500)
    y = imdb.train_labels.astype("float32")
    x_test = keras.utils.pad_sequences(imdb.test_data[:TEST_REVIEWS], maxlen=500)
    y_test = imdb.test_labels[:TEST_REVIEWS].astype("float32")
    split = int(len(x) * (1 - VALIDATION_SPLIT))

    def prepare(recipe, repeat):
        keras.utils.set_random_seed(repeat)
        model = imdb_lstm()
        if recipe == "book":
            model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
            return model, dict(x=x, y=y, batch_size=128, validation_split=VALIDATION_SPLIT)
        model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"], **settings)
        return model, dict(x=array_dataset(x[:split], y[:split], 128, shuffle=True, seed=repeat),
                           validation_data=array_dataset(x[split:], y[split:], 512), shuffle=False)

    def evaluate(model):
        return model.evaluate(x_test, y_test, batch_size=512, verbose=0)[1]

    runs, summary = compare_training_recipes(prepare, evaluate, split, 1 if args.quick else args.epochs,
                                             args.repeats)
    return {"data": imdb.source, "our_settings": settings,
            "book_settings": "compile defaults (jit_compile='auto': no XLA on a CPU-only machine), NumPy arrays, "
                             "validation_split=0.2", "runs": runs, **summary}


SETTINGS = {"plain": dict(jit_compile=False), "xla": dict(jit_compile=True),
            "unroll": dict(jit_compile=False, unroll=True), "xla_unroll": dict(jit_compile=True, unroll=True)}


def step_seconds(build, inputs, targets, jit_compile, steps):
    """Median seconds per training step after two warm-up calls (the compilation), and the first call's time."""
    model = build()
    model.compile(optimizer="rmsprop", loss="mae", jit_compile=jit_compile)
    start = time.perf_counter()
    model.train_on_batch(inputs, targets)
    first = time.perf_counter() - start
    model.train_on_batch(inputs, targets)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(inputs, targets)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), first


def settings_part(args):
    """Seconds per step of each layer under each setting: which to choose on this device."""
    rng = np.random.default_rng(0)
    jena = rng.normal(size=(128, 240, 14)).astype("float32")
    jena_targets = rng.normal(size=(128, 1)).astype("float32")
    words = rng.integers(1, 10_000, (128, 500)).astype("int32")
    labels = rng.integers(0, 2, (128, 1)).astype("float32")
    layers = keras.layers

    def jena_model(layer):
        return lambda: keras.Sequential([keras.Input((240, 14)), layer(), layers.Dense(1)])

    cases = {
        "jena_gru_book (GRU(32), reset_after=False)": (
            lambda unroll: jena_model(lambda: layers.GRU(32, reset_after=False, unroll=unroll)), jena, jena_targets),
        "jena_gru_keras3 (GRU(32), reset_after=True)": (
            lambda unroll: jena_model(lambda: layers.GRU(32, unroll=unroll)), jena, jena_targets),
        "jena_gru_dropout (GRU(32), dropout and recurrent dropout 0.2)": (
            lambda unroll: jena_model(lambda: layers.GRU(32, dropout=0.2, recurrent_dropout=0.2, reset_after=False,
                                                         unroll=unroll)), jena, jena_targets),
        "imdb_lstm (Embedding(10000, 32) -> LSTM(32), 500 words)": (
            lambda unroll: lambda: keras.Sequential([keras.Input((500,), dtype="int32"), layers.Embedding(10_000, 32),
                                                     layers.LSTM(32, unroll=unroll), layers.Dense(1)]),
            words, labels),
    }
    steps = 2 if args.quick else 10
    results = {}
    for case, (builder, inputs, targets) in cases.items():
        results[case] = {}
        for name, setting in SETTINGS.items():
            if setting.get("unroll") and (not args.unroll or "imdb" in case):
                continue  # an unrolled graph of 240 or 500 steps takes minutes to build
            seconds, first = step_seconds(builder(setting.get("unroll", False)), inputs, targets,
                                          setting["jit_compile"], steps)
            results[case][name] = {"seconds_per_step": round(seconds, 4), "first_call_seconds": round(first, 1)}
            print(f"{case}: {name}: {seconds * 1000:.0f} ms per step (first call {first:.1f} s)", flush=True)
        plain = results[case]["plain"]["seconds_per_step"]
        for name in results[case]:
            results[case][name]["speedup_over_plain"] = round(plain / results[case][name]["seconds_per_step"], 2)
    return results


def main():
    parser = benchmark_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["both", "imdb_lstm", "settings"], default="both")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per recipe in the imdb_lstm part (book: 10)")
    parser.add_argument("--unroll", action="store_true", help="also time the Jena GRUs with unroll=True")
    args = parser.parse_args()
    device = setup_device().kind
    report = {"quick": args.quick, "device": device}
    if args.part in ("both", "settings"):
        report["settings"] = settings_part(args)
    if args.part in ("both", "imdb_lstm"):
        report["imdb_lstm"] = imdb_lstm_part(args, device)
    write_report("ch6_recurrent_networks", report, args.output)


if __name__ == "__main__":
    main()
