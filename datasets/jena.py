"""The Jena climate record (Max Planck Institute for Biogeochemistry): 14 quantities every 10 minutes, 2009-2016.

`jena_climate_2009_2016.csv` has a header line and one line per 10 minutes:

    "Date Time","p (mbar)","T (degC)","Tpot (K)",...,"wd (deg)"
    01.01.2009 00:10:00,996.52,-8.02,265.40,...,152.30

`load_jena()` looks, in order, for:
1. the CSV in a data directory (also under `jena_climate/`);
2. the zip `jena_climate_2009_2016.csv.zip` there, read without extracting it;
3. online (unless DLWP_OFFLINE=1), the Keras download of that zip into the Keras cache;
and otherwise stops with one line naming the file, its size, where to get it and where to put it.

The 1st edition feeds its models with a Python generator (`generator` below, the
same samples and targets as a `tf.data` pipeline); the 2nd edition with
`keras.utils.timeseries_dataset_from_array` (`datasets_2nd_edition`).
"""

import zipfile
from dataclasses import dataclass

import numpy as np

from datasets.arrays import without_autotuning
from datasets.paths import DataError, check_not_a_cut_zip, find_or_download, keras_cache_dir, utf8_lines

CSV = "jena_climate_2009_2016.csv"
ARCHIVE = "jena_climate_2009_2016.csv.zip"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/jena_climate_2009_2016.csv.zip"
SIZES = "13.6 MB zipped, 43 MB as CSV"
TEMPERATURE = "T (degC)"
COLUMNS = 14  # after "Date Time"


def how_to_get():
    return (f"download {ARCHIVE} ({SIZES}) from {URL} and put it (or the {CSV} it holds) in <data dir>/jena_climate/, "
            f"where <data dir> is --data-dir, $DLWP_DATA_DIR or ./data (or in {keras_cache_dir()}/)")


@dataclass
class JenaClimate:
    header: list  # the 14 column names after "Date Time"
    float_data: np.ndarray  # (rows, 14) float32, as the book's float_data
    source: str

    @property
    def temperature_column(self):
        return self.header.index(TEMPERATURE)  # 1, as the book's data[:, 1]


def find_jena(data_dir=None):
    """The CSV or the zip that holds it: found, or downloaded into the Keras cache."""
    return find_or_download((CSV, ARCHIVE), "jena_climate", ARCHIVE, URL, data_dir, "the Jena climate CSV",
                            how_to_get())


def load_jena(data_dir=None):
    path = find_jena(data_dir)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            inner = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == CSV]
            if not inner:
                raise DataError(f"{path}: no {CSV} inside; {how_to_get()}")
            with archive.open(inner[0]) as raw:
                climate = read_csv(utf8_lines(raw, f"{path}:{inner[0]}"), f"{path}:{inner[0]}")
    else:
        check_not_a_cut_zip(path, how_to_get())
        with open(path, "rb") as raw:
            climate = read_csv(utf8_lines(raw, path), str(path))
    print(f"Jena climate: {len(climate.float_data):,} rows of {COLUMNS} values from {climate.source}")
    return climate


def read_csv(lines, source):
    """The book's parsing: the header's names, then every line's 14 numbers after its date (float32)."""
    header = [name.strip().strip('"') for name in next(lines, "").rstrip("\n").split(",")]
    if len(header) != COLUMNS + 1 or header[0] != "Date Time" or TEMPERATURE not in header:
        raise DataError(f"{source}: header {header[:4]}... is not the Jena climate CSV's "
                        f'("Date Time", then {COLUMNS} columns with "{TEMPERATURE}"); {how_to_get()}')
    try:
        float_data = np.loadtxt(lines, delimiter=",", usecols=range(1, COLUMNS + 1), dtype="float32", ndmin=2)
    except ValueError as e:
        raise DataError(f"{source}: a line is not a date and {COLUMNS} numbers ({e})") from None
    if not len(float_data):
        raise DataError(f"{source}: no data lines after the header")
    bad_rows, bad_columns = np.nonzero(~np.isfinite(float_data))
    if len(bad_rows):  # np.loadtxt reads "NaN" and "inf" as numbers; normalising would spread them over a column
        row, column = bad_rows[0], bad_columns[0]
        what = "NaN" if np.isnan(float_data[row, column]) else "infinite"
        raise DataError(f"{source}, line {row + 2}: {header[column + 1]} is {what} ({len(bad_rows)} such value"
                        f"{'s' if len(bad_rows) > 1 else ''} in all); the file is damaged")
    return JenaClimate(header[1:], float_data, source)


def normalize(float_data, train_rows):
    """(x - mean) / std with the mean and std of the first `train_rows` rows; returns (data, mean, std)."""
    mean = float_data[:train_rows].mean(axis=0)
    std = float_data[:train_rows].std(axis=0)
    return (float_data - mean) / std, mean, std


# ---------------------------------------------------------------------------
# The 1st edition's generator, as tf.data
# ---------------------------------------------------------------------------

def generator(data, lookback, delay, min_index, max_index, shuffle=False, batch_size=128, step=6, seed=None,
              reverse=False, target_column=1):
    """The book's `generator(data, lookback, delay, min_index, max_index, shuffle, batch_size, step)` as tf.data.

    A sample ending at row r holds rows r - lookback, r - lookback + step, ...,
    r - step (lookback // step timesteps); its target is
    data[r + delay][target_column]. Rows r run from min_index + lookback to
    max_index - 1 (max_index None: len(data) - delay - 1). With `shuffle`,
    every batch draws its rows at random (with replacement, as the book's
    np.random.randint) for ever: fit() takes steps_per_epoch of them. Without,
    the rows follow each other from the first, in the batches the book's
    generator yields before it starts again: `validation_steps(...)` of them,
    made by keras.utils.timeseries_dataset_from_array. `reverse` flips each
    sample in time (6.3's reversed-order experiment).
    """
    import keras
    import tensorflow as tf

    if max_index is None:
        max_index = len(data) - delay - 1
    first_row = min_index + lookback
    if max_index <= first_row:
        raise DataError(f"rows {min_index}-{max_index}: too few for a lookback of {lookback} (need more than "
                        f"{lookback} rows)")
    timesteps = lookback // step
    if shuffle:
        data_tensor = tf.constant(data, tf.float32)
        offsets = tf.range(-lookback, -lookback + timesteps * step, step, dtype=tf.int64)
        seed = 0 if seed is None else seed

        def random_batch(index):
            rows = tf.random.stateless_uniform([batch_size], seed=[seed, index], minval=first_row, maxval=max_index,
                                               dtype=tf.int64)
            samples = tf.gather(data_tensor, rows[:, None] + offsets[None, :])
            return samples, tf.gather(data_tensor[:, target_column], rows + delay)

        dataset = tf.data.Dataset.counter().map(random_batch)
    else:
        # The window starting at s = r - lookback has the target data[s + lookback + delay].
        targets = np.asarray(data[lookback + delay:, target_column])
        dataset = keras.utils.timeseries_dataset_from_array(
            data, targets, sequence_length=timesteps, sampling_rate=step, batch_size=batch_size,
            start_index=min_index, end_index=max_index - lookback + (timesteps - 1) * step)
        dataset = dataset.take(full_batches(min_index, max_index, lookback, batch_size))
    if reverse:
        dataset = dataset.map(lambda samples, targets: (tf.reverse(samples, axis=[1]), targets))
    return without_autotuning(dataset.prefetch(2))


BOOK_ROWS = 420_551  # the 1st edition's file
QUICK_VALIDATION_STEPS = 2  # --quick: batches of a validation pass


@dataclass
class NormalizedJena:
    """The normalised measurements and where the 1st edition's three parts of them end."""
    float_data: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    train_end: int  # rows 0 - train_end for training
    val_end: int  # train_end + 1 - val_end for validation, val_end + 1 - the end for test
    temperature_column: int
    note: str  # "" for the book's file; what changed for a shorter one


def load_jena_1st_edition(data_dir, train_rows, val_rows):
    """The CSV as float_data, normalised with the mean and std of its first `train_rows` rows (the book's 200,000).

    A file shorter than the book's (a sample of it) keeps the book's
    proportions: its parts end at the same fractions of its rows, and the
    note says so.
    """
    climate = load_jena(data_dir)
    rows, note = len(climate.float_data), ""
    if rows < BOOK_ROWS:
        train_rows, val_rows = int(rows * train_rows / BOOK_ROWS), int(rows * val_rows / BOOK_ROWS)
        note = f"a file of {rows:,} rows, fewer than the book's {BOOK_ROWS:,}: its parts end at rows {train_rows:,} " \
               f"and {val_rows:,}"
        print(f"Note: {note}")
    float_data, mean, std = normalize(climate.float_data, train_rows)
    return NormalizedJena(float_data, mean, std, train_rows, val_rows, climate.temperature_column, note)


def generators_1st_edition(data, lookback, step, delay, batch_size, seed=None, reverse=False, quick=False):
    """(train, validation, validation steps): the book's generators over rows 0-200,000 (random batches, for
    ever) and 200,001-300,000 (in order). `quick`: QUICK_VALIDATION_STEPS validation batches."""
    common = dict(lookback=lookback, delay=delay, step=step, batch_size=batch_size, reverse=reverse,
                  target_column=data.temperature_column)
    train = generator(data.float_data, min_index=0, max_index=data.train_end, shuffle=True, seed=seed, **common)
    validation = generator(data.float_data, min_index=data.train_end + 1, max_index=data.val_end, **common)
    val_steps = full_batches(data.train_end + 1, data.val_end, lookback, batch_size)
    if quick:
        val_steps = min(val_steps, QUICK_VALIDATION_STEPS)
        validation = validation.take(val_steps)
    return train, validation, val_steps


def evaluate_naive_method(validation, temperature_column=1):
    """The common-sense baseline: the temperature 24 hours from now is the last one in the sample (mean abs error)."""
    errors = [np.abs(np.asarray(samples)[:, -1, temperature_column] - np.asarray(targets))
              for samples, targets in validation]
    return float(np.mean(np.concatenate(errors)))


def full_batches(min_index, max_index, lookback, batch_size):
    """The batches the book's sequential generator yields before it starts again.

    It starts again as soon as a whole next batch would reach max_index, so
    the last row is never a sample's end. On the book's rows this is its
    val_steps and test_steps, (max_index - min_index - lookback) // batch_size.
    """
    return (max_index - min_index - lookback - 1) // batch_size


# ---------------------------------------------------------------------------
# The 2nd edition's datasets (chapter 10)
# ---------------------------------------------------------------------------

@dataclass
class SplitSizes:
    train: int
    val: int
    test: int


def split_sizes(rows, train_fraction=0.5, val_fraction=0.25):
    """The 2nd edition's split: int(0.5 * rows) for training, int(0.25 * rows) for validation, the rest for test."""
    train, val = int(train_fraction * rows), int(val_fraction * rows)
    return SplitSizes(train, val, rows - train - val)


def datasets_2nd_edition(data, temperature, sizes, sampling_rate, sequence_length, delay, batch_size, seed=None):
    """(train, val, test) as the 2nd edition builds them with keras.utils.timeseries_dataset_from_array.

    A sample is sequence_length rows, one every sampling_rate; its target is
    the temperature `delay` rows after the sample's first row. All three are
    shuffled, as the book builds them (shuffle=True each): the order changes
    no validation or test MAE, only which samples share a batch.
    """
    import keras

    check_2nd_edition_splits(len(data), sizes, sampling_rate, sequence_length, delay)

    def dataset(start, end, shuffle):
        return without_autotuning(keras.utils.timeseries_dataset_from_array(
            data[:-delay], targets=temperature[delay:], sampling_rate=sampling_rate, sequence_length=sequence_length,
            shuffle=shuffle, seed=seed, batch_size=batch_size, start_index=start, end_index=end))

    return (dataset(0, sizes.train, True), dataset(sizes.train, sizes.train + sizes.val, True),
            dataset(sizes.train + sizes.val, None, True))


ROWS_PER_HOUR = 6  # a reading every 10 minutes


def samples_2nd_edition(rows, sizes, sampling_rate, sequence_length, delay):
    """{split: (first row, end row, samples)}: a sample starts in its split, spans (sequence_length - 1) *
    sampling_rate rows more, and its target is `delay` rows after its start (so no start in the last `delay` rows)."""
    span = (sequence_length - 1) * sampling_rate
    bounds = {"training": (0, sizes.train), "validation": (sizes.train, sizes.train + sizes.val),
              "test": (sizes.train + sizes.val, rows)}
    return {name: (start, end, min(end, rows - delay) - start - span) for name, (start, end) in bounds.items()}


def check_2nd_edition_splits(rows, sizes, sampling_rate, sequence_length, delay):
    """One line when a split of the file has no room for one sample (the 1st edition's generator says the same)."""
    samples = samples_2nd_edition(rows, sizes, sampling_rate, sequence_length, delay)
    empty = [(name, start, end) for name, (start, end, count) in samples.items() if count <= 0]
    if not empty:
        return

    def enough(n):
        return all(count > 0 for *_, count in samples_2nd_edition(n, split_sizes(n), sampling_rate, sequence_length,
                                                                   delay).values())
    needed = next(n for n in range(rows, rows + 100 * (delay + sequence_length * sampling_rate) + 100) if enough(n))
    name, start, end = empty[0]
    window_hours = sequence_length * sampling_rate / ROWS_PER_HOUR
    after_hours = (delay - (sequence_length - 1) * sampling_rate) / ROWS_PER_HOUR
    raise DataError(f"rows {start}-{end - 1} ({name}): too few for one sample of the 2nd edition, a "
                    f"{window_hours:g}-hour window and its target {after_hours:g} hours after it (need more than "
                    f"{(sequence_length - 1) * sampling_rate} rows in each split, {delay} rows from a sample's start "
                    f"to its target: a file of at least {needed:,} rows, this one has {rows:,})")
