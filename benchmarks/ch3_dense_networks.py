"""Chapter 3's recipes, timed: the book's plain code path against this project's, in the same run.

    python -m benchmarks.ch3_dense_networks            # 3.5, 3.6 and 3.7 (about 15 minutes on 2 cores)
    python -m benchmarks.ch3_dense_networks --quick    # a smoke run: tiny subsets, numbers meaningless

For each section both paths run the book's full recipe (validation run, then the
final model and its test score):
- plain: the book's code: multi-hot vectors built with a Python double loop into
  float64 NumPy arrays, `model.fit` on those arrays with default compile settings;
- ours: the chapter's code: vectorised loading, multi-hot batches built from
  each text's word indices inside tf.data, `ctx.compile_settings("dense")`; for 3.7 one compiled graph call per
  epoch (`train_in_graph`).
3.7 runs the 2nd edition's K-fold (100 epochs per fold, batch 16) in full; the
1st edition's batches of 1 are timed on 10 epochs per path (the full plain run
takes most of an hour here), reported per epoch.
Writes outputs/benchmarks/ch3_dense_networks.json.
"""

import time

import keras
import numpy as np

from benchmarks.common import benchmark_parser, write_report
from chapters.ch3_getting_started.boston_housing import k_fold_splits, normalize_features, train_in_graph
from chapters.performance import PERFORMANCE_DEFAULTS, setup_device
from datasets.boston_housing import load_boston_housing
from datasets.imdb import load_imdb, multi_hot_dataset
from datasets.reuters import load_reuters
from models.dense_networks import boston_network, imdb_network, reuters_network


def book_vectorize_sequences(sequences, dimension=10000):
    """The book's version: a Python loop per review, float64."""
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        results[i, sequence] = 1.0  # the book's exact line
    return results


def timed(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def classification_recipe(path, data, build, loss, labels_for, val_size, final_epochs, seed):
    """Validation run (20 epochs, batch 512), then the final model on all training data and its test accuracy."""
    keras.utils.set_random_seed(seed)
    compile_kwargs = {} if path == "plain" else dict(PERFORMANCE_DEFAULTS[(DEVICE, "dense")])
    y_train, y_test = labels_for(data.train_labels), labels_for(data.test_labels)
    start = time.perf_counter()
    if path == "plain":
        x_train, x_test = book_vectorize_sequences(data.train_data), book_vectorize_sequences(data.test_data)
        validation = (x_train[:val_size], y_train[:val_size])
        train = dict(x=x_train[val_size:], y=y_train[val_size:], batch_size=512)
        final = dict(x=x_train, y=y_train, batch_size=512)
        test = dict(x=x_test, y=y_test)
    else:
        validation = multi_hot_dataset(data.train_data[:val_size], y_train[:val_size], 2048)
        # shuffle=False tells fit() that the datasets shuffle themselves
        train = dict(x=multi_hot_dataset(data.train_data[val_size:], y_train[val_size:], 512, shuffle=True, seed=seed),
                     shuffle=False)
        final = dict(x=multi_hot_dataset(data.train_data, y_train, 512, shuffle=True, seed=seed), shuffle=False)
        test = dict(x=multi_hot_dataset(data.test_data, y_test, 2048))
    vectorize_seconds = time.perf_counter() - start
    model = build()
    model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"], **compile_kwargs)
    history = model.fit(validation_data=validation, epochs=EPOCHS(20), verbose=0, **train).history
    model = build()
    model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"], **compile_kwargs)
    model.fit(epochs=EPOCHS(final_epochs), verbose=0, **final)
    test_accuracy = model.evaluate(verbose=0, **test)[1]
    return dict(seconds=round(time.perf_counter() - start, 2), vectorize_seconds=round(vectorize_seconds, 2),
                best_val_accuracy=round(max(history["val_accuracy"]), 4), test_accuracy=round(float(test_accuracy), 4))


def boston_recipe(path, data, kfold_epochs, batch_size, final_epochs, seed):
    """K-fold validation (k = 4) then the final model's test MAE."""
    keras.utils.set_random_seed(seed)
    settings = {} if path == "plain" else dict(PERFORMANCE_DEFAULTS[(DEVICE, "dense")])

    def compiled_boston_network():
        model = boston_network()
        model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"], **settings)
        return model

    train_data, test_data = normalize_features(data.train_data, data.test_data)
    start = time.perf_counter()
    fold_mae = []
    for validation, training in k_fold_splits(len(train_data), 4):
        model = compiled_boston_network()
        val = (train_data[validation], data.train_targets[validation])
        if path == "plain":
            history = model.fit(train_data[training], data.train_targets[training], epochs=kfold_epochs,
                                batch_size=batch_size, validation_data=val, verbose=0).history["val_mae"]
        else:
            history = train_in_graph(model, train_data[training], data.train_targets[training], kfold_epochs,
                                     batch_size, val)
        fold_mae.append(history[-1])
    kfold_seconds = time.perf_counter() - start
    result = dict(kfold_seconds=round(kfold_seconds, 2),
                  kfold_seconds_per_epoch=round(kfold_seconds / (4 * kfold_epochs), 4),
                  mean_val_mae=round(float(np.mean(fold_mae)), 3))
    if final_epochs:
        model = compiled_boston_network()
        if path == "plain":
            model.fit(train_data, data.train_targets, epochs=final_epochs, batch_size=16, verbose=0)
        else:
            train_in_graph(model, train_data, data.train_targets, final_epochs, 16)
        result["test_mae"] = round(float(model.evaluate(test_data, data.test_targets, verbose=0)[1]), 3)
        result["seconds"] = round(time.perf_counter() - start, 2)
    return result


def compare(name, run, book):
    """Both paths in turn, the ratio of their wall times, and the book's number."""
    print(f"\n{name}")
    results = {}
    for path in ("plain", "ours"):
        results[path] = run(path)
        print(f"  {path}: {results[path]}")
    key = "seconds" if "seconds" in results["plain"] else "kfold_seconds"
    results["speedup"] = round(results["plain"][key] / results["ours"][key], 2)
    results["book"] = book
    print(f"  speed-up {results['speedup']}x")
    return results


def main():
    global DEVICE, EPOCHS
    parser = benchmark_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="+", default=["3.5", "3.6", "3.7"], choices=["3.5", "3.6", "3.7"])
    args = parser.parse_args()
    DEVICE = setup_device().kind
    EPOCHS = (lambda n: 1) if args.quick else (lambda n: n)
    report = {"quick": args.quick, "sections": {}}
    if "3.5" in args.sections:
        imdb = load_imdb(data_dir=args.data_dir)
        if args.quick:
            imdb = imdb.head(2000, 1000)
        report["sections"]["3.5"] = compare("3.5 IMDB: validation run (20 epochs) + final model (4 epochs)",
                                            lambda path: classification_recipe(
                                                path, imdb, imdb_network, "binary_crossentropy",
                                                lambda y: y.astype("float32"), 500 if args.quick else 10000, 4, 0),
                                            {"test_accuracy": 0.885})
    if "3.6" in args.sections:
        reuters = load_reuters(data_dir=args.data_dir)
        if args.quick:
            reuters = reuters.head(2000, 500)
        report["sections"]["3.6"] = compare("3.6 Reuters: validation run (20 epochs) + final model (8 epochs), 1st ed",
                                            lambda path: classification_recipe(
                                                path, reuters, reuters_network, "categorical_crossentropy",
                                                lambda y: keras.utils.to_categorical(y, 46),
                                                300 if args.quick else 1000, 8, 0),
                                            {"test_accuracy": 0.777})
    if "3.7" in args.sections:
        boston = load_boston_housing(args.data_dir)
        kfold_epochs, final_epochs = (2, 2) if args.quick else (100, 130)
        report["sections"]["3.7 2nd ed"] = compare(
            f"3.7 Boston, 2nd ed: 4-fold x {kfold_epochs} epochs (batch 16) + final model ({final_epochs} epochs)",
            lambda path: boston_recipe(path, boston, kfold_epochs, 16, final_epochs, 0),
            {"mean_val_mae": "~2.4-2.6", "test_mae": 2.46})
        sample_epochs = 2 if args.quick else 10
        report["sections"]["3.7 1st ed, batch 1 (sample)"] = compare(
            f"3.7 Boston, 1st ed: 4-fold x {sample_epochs} epochs with batch 1 (timing sample)",
            lambda path: boston_recipe(path, boston, sample_epochs, 1, 0, 0), {})
    write_report("ch3_dense_networks", report, args.output)


DEVICE, EPOCHS = "CPU", None

if __name__ == "__main__":
    main()
