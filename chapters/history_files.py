"""history.csv (Keras's CSVLogger writes it, a row per epoch) read back, and made to agree with the backup on --resume.

On `--resume` the backup is the truth: the history keeps the epochs it holds (a kill after CSVLogger
wrote a row and before the backup committed that epoch leaves a row too many). A history.csv that is
missing, damaged or short of the backup's epochs is rebuilt from history.json (written whenever training
ends or stops); where that cannot be done, one line says which epochs' history is lost, a damaged file is
set aside as history.damaged.csv, and the new epochs' rows carry their own epoch numbers.
"""

import csv
import io
import os
from pathlib import Path

from chapters.storage import DamagedFile, atomic_write, read_json, reading


def read_history_rows(path):
    """{epoch (0-based, CSVLogger's column): {metric: value}} of history.csv; DamagedFile if it is not CSVLogger's."""
    return read_history_file(path)[1]


def read_history_file(path):
    """(its metrics' names, as in its header; {epoch: {metric: value}}); DamagedFile if it is not CSVLogger's.

    A row of the wrong length (cut by a kill while it was written) is left out; "NA" (no validation data) is no value.
    """
    if not Path(path).exists():
        return [], {}
    with reading(path):
        with open(path, newline="") as f:
            lines = list(csv.reader(f))
        if not lines:
            return [], {}
        header = lines[0]
        if header[:1] != ["epoch"] or len(header) < 2 or "" in header:
            raise ValueError("its first line is not CSVLogger's header: epoch, then the metrics")
        rows = {}
        for number, line in enumerate(lines[1:], start=2):
            if len(line) != len(header):
                continue
            try:
                rows[int(line[0])] = {key: float(text) for key, text in zip(header[1:], line[1:]) if text != "NA"}
            except ValueError:
                raise ValueError(f"line {number} is not an epoch number and metrics: {','.join(line)[:60]}") from None
        return header[1:], rows


def as_history(rows):
    """{metric: [one value per epoch, in epoch order]}, as Keras's History holds it."""
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            history.setdefault(key, []).append(value)
    return history


def read_history(path):
    """history.csv as {metric: [one float per epoch]}, without its epoch column."""
    return as_history(read_history_rows(path))


def write_history_csv(path, rows, keys=None):
    """{epoch: {metric: value}} in CSVLogger's layout, so that it appends to it: empty without rows.

    `keys`: the header's metrics; by default those of `rows` in CSVLogger's order (sorted, then val_ columns
    of "NA" when there is no validation data).
    """
    if keys is None:
        keys = sorted({key for values in rows.values() for key in values})
        if not any(key.startswith("val_") for key in keys):
            keys += [f"val_{key}" for key in keys]
    buffer = io.StringIO()
    if rows:
        writer = csv.writer(buffer)
        writer.writerow(["epoch", *keys])
        for epoch in sorted(rows):
            writer.writerow([epoch, *(rows[epoch].get(key, "NA") for key in keys)])
    atomic_write(path, buffer.getvalue())


def epoch_span(epochs):
    """0-based epochs as the 1-based ranges a user reads: [0, 1, 2, 5] -> '1-3, 6'."""
    spans, epochs = [], sorted(epochs)
    for epoch in epochs:
        if spans and epoch == spans[-1][1] + 1:
            spans[-1][1] = epoch
        else:
            spans.append([epoch, epoch])
    return ", ".join(f"{a + 1}-{b + 1}" if b > a else f"{a + 1}" for a, b in spans)


def history_from_json(path, done):
    """The first `done` epochs of history.json ({metric: [values]}), or None if it does not hold them."""
    if done == 0 or not Path(path).exists():
        return None
    try:
        saved = read_json(path)
        rows = {epoch: {key: float(values[epoch]) for key, values in saved.items()} for epoch in range(done)}
    except (DamagedFile, TypeError, ValueError, IndexError):
        return None
    return rows if saved else None


def history_for_resume(folder, done, epochs, best_before=None):
    """The rows of the `done` epochs the backup holds, with history.csv cut or rebuilt to hold exactly those.

    `best_before`: best.json's {"epoch": ..., monitor: ...} when it holds one of the `done` epochs.
    Returns ({epoch: {metric: value}}, [0-based epochs whose history is lost]).
    """
    path = Path(folder) / "history.csv"
    try:
        (keys, rows), problem = read_history_file(path), None
    except DamagedFile as damage:
        keys, rows, problem = None, {}, f"is damaged ({damage.reason})"
        if done:
            os.replace(path, path.with_name("history.damaged.csv"))
            problem += ", set aside as history.damaged.csv"
    rows = {epoch: values for epoch, values in rows.items() if epoch < done}
    lost = [epoch for epoch in range(done) if epoch not in rows]
    if lost:
        problem = problem or ("is missing" if not path.exists() else f"lacks epochs {epoch_span(lost)}")
        rebuilt = history_from_json(Path(folder) / "history.json", done)
        if rebuilt is not None:
            keys, rows, lost = None, rebuilt, []
            print(f"--resume: {path} {problem}: epochs 1-{done} rebuilt from history.json")
        else:
            best = (f"the best epoch is still chosen among all {epochs} (best.json keeps epoch {best_before['epoch']})"
                    if best_before else f"the best epoch will be chosen among epochs {done + 1}-{epochs} only")
            print(f"--resume: {path} {problem}: the history of epochs {epoch_span(lost)} is lost (history.json does "
                  f"not hold them); the curves will lack them, and {best}")
    if rows or path.exists():
        write_history_csv(path, rows, keys or None)
    return rows, lost
