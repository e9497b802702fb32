"""The Jena climate CSV: read in its real format (also from the zip), and the book's samples and targets, exactly
aligned, for the 1st edition's generators and the 2nd edition's timeseries datasets."""

import zipfile

import numpy as np
import pytest

from datasets import DataError, DataNotFoundError, jena
from tests.helpers import write_jena_csv


def indexed_rows(rows):
    """(rows, 14) float32: column 0 holds the row's index, column 1 (the temperature) 1000 + the index."""
    data = np.zeros((rows, 14), "float32")
    data[:, 0] = np.arange(rows)
    data[:, 1] = 1000 + np.arange(rows)
    return data


def batches(dataset):
    return [(np.asarray(x), np.asarray(y)) for x, y in dataset]


def test_the_csv_is_read_as_the_books_float_data(tmp_path):
    values = write_jena_csv(tmp_path / "jena_climate" / "jena_climate_2009_2016.csv", 30)
    climate = jena.load_jena(tmp_path)
    assert climate.float_data.shape == (30, 14) and climate.float_data.dtype == np.float32
    np.testing.assert_allclose(climate.float_data, values, atol=1e-4)
    assert climate.header[:2] == ["p (mbar)", "T (degC)"] and climate.temperature_column == 1


def test_the_csv_is_read_from_inside_the_keras_zip(tmp_path):
    values = write_jena_csv(tmp_path / "made" / "jena_climate_2009_2016.csv", 12)
    with zipfile.ZipFile(tmp_path / "jena_climate_2009_2016.csv.zip", "w") as archive:
        archive.write(tmp_path / "made" / "jena_climate_2009_2016.csv", "jena_climate_2009_2016.csv")
    np.testing.assert_allclose(jena.load_jena(tmp_path).float_data, values, atol=1e-4)


def test_another_csv_is_one_clear_error(tmp_path):
    (tmp_path / "jena_climate_2009_2016.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="is not the Jena climate CSV's"):
        jena.load_jena(tmp_path)


def test_offline_without_the_csv_the_message_names_the_file_its_size_and_where_to_put_it():
    with pytest.raises(DataNotFoundError) as error:
        jena.load_jena()
    message = str(error.value)
    assert "\n" not in message
    for part in ("jena_climate_2009_2016.csv.zip", "13.6 MB", jena.URL, "<data dir>/jena_climate/"):
        assert part in message


def test_normalisation_uses_the_first_rows_only():
    data = np.array([[0.0], [2.0], [100.0]])
    normalised, mean, std = jena.normalize(data, 2)
    assert (mean.tolist(), std.tolist()) == ([1.0], [1.0]) and normalised[:, 0].tolist() == [-1.0, 1.0, 99.0]


def test_sequential_samples_end_one_step_before_their_row_and_target_the_temperature_delay_rows_later():
    data = indexed_rows(100)
    lookback, step, delay, batch_size = 12, 3, 5, 4
    found = batches(jena.generator(data, lookback, delay, min_index=10, max_index=70, batch_size=batch_size, step=step))
    assert len(found) == jena.full_batches(10, 70, lookback, batch_size) == (70 - 10 - 12 - 1) // 4 == 11
    rows = np.concatenate([samples[:, -1, 0] + step for samples, _ in found])
    assert rows.tolist() == list(range(10 + lookback, 10 + lookback + 44))  # the book's rows, one after the other
    for samples, targets in found:
        for sample, target in zip(samples, targets):
            row = int(sample[-1, 0]) + step
            assert sample[:, 0].tolist() == list(range(row - lookback, row, step))  # data[row - lookback: row: step]
            assert target == data[row + delay, 1]


def test_the_last_sample_never_reaches_the_last_row_as_in_the_book():
    data = indexed_rows(60)
    found = batches(jena.generator(data, 12, 5, min_index=0, max_index=60, batch_size=4, step=3))
    assert max(int(s[-1, 0]) + 3 for samples, _ in found for s in samples) <= 58


def test_without_max_index_the_rows_stop_delay_plus_one_before_the_end():
    data = indexed_rows(80)
    found = batches(jena.generator(data, 6, 10, min_index=40, max_index=None, batch_size=2, step=2))
    last_row = max(int(s[-1, 0]) + 2 for samples, _ in found for s in samples)
    assert last_row + 10 <= 80 - 2 and last_row == (80 - 10 - 1) - 2


def test_random_samples_come_from_the_training_rows_with_the_same_alignment_and_repeat_with_the_seed():
    data = indexed_rows(300)
    dataset = jena.generator(data, 24, 6, min_index=0, max_index=200, shuffle=True, batch_size=16, step=6, seed=3)
    first = batches(dataset.take(5))
    assert all(samples.shape == (16, 4, 14) for samples, _ in first)
    for samples, targets in first:
        rows = samples[:, -1, 0] + 6
        assert rows.min() >= 24 and rows.max() < 200
        np.testing.assert_array_equal(samples[:, 0, 0], rows - 24)
        np.testing.assert_array_equal(targets, data[rows.astype(int) + 6, 1])
    again = batches(jena.generator(data, 24, 6, 0, 200, shuffle=True, batch_size=16, step=6, seed=3).take(5))
    np.testing.assert_array_equal(first[4][0], again[4][0])
    assert not np.array_equal(first[0][0], first[1][0])


def test_reversed_samples_run_backwards_in_time_with_the_same_targets():
    data = indexed_rows(100)
    forwards = batches(jena.generator(data, 12, 5, 10, 70, batch_size=4, step=3))[0]
    backwards = batches(jena.generator(data, 12, 5, 10, 70, batch_size=4, step=3, reverse=True))[0]
    np.testing.assert_array_equal(backwards[0], forwards[0][:, ::-1])
    np.testing.assert_array_equal(backwards[1], forwards[1])


def test_the_second_editions_split_is_the_books_printed_one():
    sizes = jena.split_sizes(420_451)
    assert (sizes.train, sizes.val, sizes.test) == (210_225, 105_112, 105_114)


def test_second_edition_samples_target_the_temperature_delay_rows_after_and_all_three_sets_are_shuffled():
    data = indexed_rows(200)
    temperature = data[:, 1]
    sizes = jena.split_sizes(200)
    train, val, test = jena.datasets_2nd_edition(data, temperature, sizes, sampling_rate=2, sequence_length=3,
                                                 delay=2 * (3 + 1 - 1), batch_size=8, seed=0)
    for samples, targets in batches(val) + batches(train) + batches(test):
        np.testing.assert_array_equal(samples[:, :, 0] - samples[:, :1, 0], np.tile([0, 2, 4], (len(samples), 1)))
        np.testing.assert_array_equal(targets, temperature[samples[:, 0, 0].astype(int) + 6])
    # every window once; all three datasets shuffled, as the book's timeseries_dataset_from_array(shuffle=True)
    for part, dataset, starts in (("train", train, range(0, 100 - 4)), ("val", val, range(100, 150 - 4)),
                                  ("test", test, range(150, 200 - 6 - 4))):
        found = np.concatenate([s[:, 0, 0] for s, _ in batches(dataset)])
        assert sorted(found.tolist()) == list(starts), part
        assert not np.array_equal(found, np.sort(found)), f"{part} is not shuffled"


def test_a_zip_cut_short_is_not_read_as_text(tmp_path):
    write_jena_csv(tmp_path / "made" / "jena_climate_2009_2016.csv", 400)
    with zipfile.ZipFile(tmp_path / "whole.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(tmp_path / "made" / "jena_climate_2009_2016.csv", "jena_climate_2009_2016.csv")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "jena_climate_2009_2016.csv.zip").write_bytes((tmp_path / "whole.zip").read_bytes()[:8_000])
    with pytest.raises(DataError, match=r"csv.zip: not a complete zip archive \(a download cut short\?\)"):
        jena.load_jena(tmp_path / "data")


def test_a_byte_that_is_not_utf8_names_the_file_and_its_line(tmp_path):
    path = tmp_path / "jena_climate_2009_2016.csv"
    write_jena_csv(path, 400)
    lines = path.read_bytes().split(b"\n")
    lines[300] = lines[300] + b"\xe9"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(DataError, match=r"2016.csv, line 301: not UTF-8 text"):
        jena.load_jena(tmp_path)


def test_a_nan_in_the_csv_names_the_file_line_and_column_instead_of_training_on_it(tmp_path):
    path = tmp_path / "jena_climate_2009_2016.csv"
    write_jena_csv(path, 200)
    lines = path.read_text().split("\n")
    fields = lines[99].split(",")
    fields[2] = "NaN"  # T (degC), after the date and p (mbar)
    lines[99] = ",".join(fields)
    path.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"2016.csv, line 100: T \(degC\) is NaN"):
        jena.load_jena(tmp_path)


def test_a_file_too_short_for_the_second_editions_window_is_one_line_with_its_need():
    data = indexed_rows(300)
    sampling_rate, sequence_length, delay = 6, 120, 6 * (120 + 24 - 1)  # the 2nd edition's
    with pytest.raises(DataError, match=r"rows 0-149 \(training\): too few for one sample of the 2nd edition, "
                                        r"a 120-hour window and its target 24 hours after it") as error:
        jena.datasets_2nd_edition(data, data[:, 1], jena.split_sizes(300), sampling_rate, sequence_length, delay,
                                  batch_size=8)
    needed = int(str(error.value).split("a file of at least ")[1].split(" rows")[0].replace(",", ""))
    counts = jena.samples_2nd_edition(needed, jena.split_sizes(needed), sampling_rate, sequence_length, delay)
    assert all(count > 0 for *_, count in counts.values())
    smaller = jena.samples_2nd_edition(needed - 1, jena.split_sizes(needed - 1), sampling_rate, sequence_length, delay)
    assert min(count for *_, count in smaller.values()) <= 0
    train, val, test = jena.datasets_2nd_edition(indexed_rows(needed), indexed_rows(needed)[:, 1],
                                                 jena.split_sizes(needed), sampling_rate, sequence_length, delay, 8)
    assert all(len(next(iter(dataset))[0]) >= 1 for dataset in (train, val, test))
