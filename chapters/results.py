"""python -m chapters.results: the newest run of every section, our numbers beside the book's, as Markdown.

    python -m chapters.results                               # outputs/, printed
    python -m chapters.results --write RESULTS.md            # written atomically
    python -m chapters.results --output-dir my_runs

Every `results.json` under the output folder (`<output dir>/<chapter>/<section>-<date>-<time>/`) is read;
for each chapter, section and edition the newest run is kept. A table per chapter has a row per recorded
result; under it, a line per run says when it ran, from which commit, on which machine (CPU, its avx2 /
avx512 / bfloat16 instructions, GPUs) and with which options. A --quick run is marked on each of its rows:
its numbers come from a small subset and one epoch, not from the book's experiment. A full run whose training
ended before the book's epochs (--epochs, or stopped) is marked "(stopped short)" and its run line says how far
each model got. Runs written before results.json recorded the machine, the commit or the options show "?" there.

After the chapters, a Benchmarks part shows every report the scripts in benchmarks/ wrote
(`<output dir>/benchmarks/*.json`): its summary rows (what was measured, our number, what it is compared
with, whether the target is met), then when it ran, from which commit, on which machine and with which command.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

from chapters.storage import atomic_write

UNKNOWN = "?"
FOLDER_STAMP = re.compile(r"-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)(?:-(\d+))?$")


def find_runs(output_dir):
    """The newest results.json of each (chapter, section, edition) under `output_dir`, as dicts with `folder`."""
    newest = {}
    for path in sorted(Path(output_dir).rglob("results.json")):
        if any(re.fullmatch(r"worker-\d+", part) for part in path.parts):
            continue  # --distribute multiworker: the chief's folder holds the run's results
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            print(f"warning: {path} skipped: {e}", file=sys.stderr)
            continue
        if not isinstance(run, dict) or not isinstance(run.get("results"), dict):
            print(f"warning: {path} skipped: not a section's results.json", file=sys.stderr)
            continue
        folder = path.parent
        run["folder"] = folder
        run.setdefault("chapter", folder.parent.name)
        run.setdefault("section", FOLDER_STAMP.sub("", folder.name))
        run["when"] = run.get("started") or folder_time(folder.name)
        key = (run["chapter"], run["section"], run.get("edition"))
        if key not in newest or order(run) > order(newest[key]):
            newest[key] = run
    return sorted(newest.values(), key=lambda r: (natural(r["chapter"]), natural(r["section"]),
                                                  str(r.get("edition"))))


def folder_time(name):
    """'2026-12-05 09:21:33' from a run folder's name `<section>-20261205-092133[-N]`, or '?'."""
    match = FOLDER_STAMP.search(name)
    if not match:
        return UNKNOWN
    y, mo, d, h, mi, s, _ = match.groups()
    return f"{y}-{mo}-{d} {h}:{mi}:{s}"


def order(run):
    """Newer runs sort later: the start time, then the folder's -N suffix (two runs started in one second)."""
    match = FOLDER_STAMP.search(run["folder"].name)
    suffix = int(match.group(7) or 1) if match else 0
    return (run["when"] if run["when"] != UNKNOWN else "", suffix, run["folder"].name)


def natural(text):
    """'ch10' after 'ch9', '5.10' after '5.9': numbers compared as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", str(text))]


def shown(value, as_written=False):
    """A value as a table cell: ours to 4 decimals, the book's as written; thousands separated, lists cut short."""
    if isinstance(value, bool) or value is None or (as_written and isinstance(value, float)):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, (list, tuple)):
        items = [shown(item, as_written) for item in value[:6]]
        text = "[" + ", ".join(items) + (", ...]" if len(value) > 6 else "]")
    elif isinstance(value, dict):
        text = ", ".join(f"{k}: {shown(v)}" for k, v in list(value.items())[:6])
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def result_cells(key, entry):
    """(ours, book) for one recorded result; a book check shows the total parameters beside MATCH."""
    if not isinstance(entry, dict):
        return shown(entry), ""
    ours, book = entry.get("value", UNKNOWN), entry.get("book")
    if key.startswith("book_check.") and isinstance(book, list):
        params = entry.get("params")
        total = f" ({sum(params):,} params)" if isinstance(params, list) else ""
        return f"{shown(ours)}{total}", f"{sum(book):,} params"
    return shown(ours), "" if book is None else shown(book, as_written=True)


def machine_text(machine):
    if not isinstance(machine, dict):
        return UNKNOWN
    flags = machine.get("cpu_flags")
    flags = UNKNOWN if flags is None else (", ".join(flags) or "no avx2")
    cores = machine.get("cores") or machine.get("cpu_count")  # benchmark reports before 2026-12 had cpu_count
    gpus = machine.get("gpus")
    gpus = UNKNOWN if gpus is None else (", ".join(gpus) or "no GPU")
    versions = ", ".join(f"{name} {machine[name]}" for name in ("tensorflow", "keras") if machine.get(name))
    return (f"{machine.get('cpu', UNKNOWN)} ({flags}; {cores if cores else UNKNOWN} cores), {gpus}"
            + (f"; {versions}" if versions else ""))


def stopped_short(run):
    """'mini_xception: 30 of the book's 100 epochs' for each training of a full run that ended before the book's
    schedule (--epochs, or stopped and not resumed); a --quick run is short by design and says so instead."""
    trainings = run.get("training") if isinstance(run.get("training"), dict) else {}
    if run.get("quick") is not False:
        return []
    return [f"{name}: {training['epochs_done']} of the book's {training['book_epochs']} epochs"
            for name, training in trainings.items()
            if isinstance(training, dict) and isinstance(training.get("epochs_done"), int)
            and isinstance(training.get("book_epochs"), int) and training["epochs_done"] < training["book_epochs"]]


def options_text(run):
    """Edition, --quick, precision and distribution, and the command line's own flags."""
    device = run.get("device") if isinstance(run.get("device"), dict) else {}
    short = stopped_short(run)
    quick = {True: "--quick (a small subset, 1 epoch: not the book's experiment)",
             False: f"full data, stopped short ({'; '.join(short)})" if short else "full run"}
    parts = [f"edition {run.get('edition', UNKNOWN)}", quick.get(run.get("quick"), "--quick " + UNKNOWN),
             f"precision {device.get('precision', UNKNOWN)}"]
    if device.get("distribute") not in (None, "none"):
        parts.append(f"--distribute {device['distribute']} ({device.get('replicas', UNKNOWN)} replicas)")
    if isinstance(run.get("argv"), list):
        command = " ".join([f"python -m chapters.{run['chapter']}", *map(str, run["argv"])]).replace("`", "'")
        parts.append(f"`{command}`")
    return ", ".join(parts)


def chapter_table(runs):
    lines = ["| section | result | ours | book | note | run |", "| --- | --- | --- | --- | --- | --- |"]
    notes = []
    for number, run in enumerate(runs, 1):
        label = f"r{number}"
        mark = " (quick)" if run.get("quick") else " (stopped short)" if stopped_short(run) else ""
        for key, entry in run["results"].items():
            ours, book = result_cells(key, entry)
            note = shown(entry.get("note", "")) if isinstance(entry, dict) else ""
            marked = "" if key.startswith("book_check.") and not run.get("quick") else mark  # a check trains nothing
            lines.append(f"| {run['section']} | {shown(key)} | {ours}{marked} | {book} | {note} | {label} |")
        if not run["results"]:
            lines.append(f"| {run['section']} | (nothing recorded yet) | | | | {label} |")
        notes.append(f"- **{label}** ({run['section']}): {run['when']}, commit {run.get('commit') or UNKNOWN}, "
                     f"{machine_text(run.get('machine'))}; {options_text(run)}. Folder `{run['folder']}`")
    return lines + [""] + notes


def find_reports(output_dir):
    """Every benchmark report `<output_dir>/benchmarks/*.json`, sorted by file name, as dicts with `path`."""
    reports = []
    for path in sorted((Path(output_dir) / "benchmarks").glob("*.json")):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            print(f"warning: {path} skipped: {e}", file=sys.stderr)
            continue
        if not isinstance(report, dict) or "benchmark" not in report:
            print(f"warning: {path} skipped: not a benchmark report", file=sys.stderr)
            continue
        reports.append({**report, "path": path})
    return reports


def summary_table(rows):
    """A report's summary rows (benchmarks.common.summary_row) as a Markdown table."""
    verdicts = {True: "yes", False: "no", None: ""}
    lines = ["| what | ours | compared with | target met | note |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        row = row if isinstance(row, dict) else {"what": row}
        cells = [row.get("what", UNKNOWN), row.get("measured", UNKNOWN), row.get("compared_with") or "",
                 verdicts.get(row.get("target_met"), row.get("target_met")), row.get("note") or ""]
        lines.append("| " + " | ".join(shown(cell) for cell in cells) + " |")
    return lines


def benchmarks_part(reports):
    lines = ["## Benchmarks", "",
             "Written by the scripts in benchmarks/ (`python -m benchmarks.<name>`), one report each; a report "
             "without a summary predates it (run its command again to get one).", ""]
    for report in reports:
        path, machine = report["path"], report.get("machine")
        date = (machine.get("date") if isinstance(machine, dict) else None) or UNKNOWN
        command = str(report.get("command") or UNKNOWN).replace("`", "'")
        when = (f"{date}, commit {report.get('commit') or UNKNOWN}, {machine_text(machine)}; "
                f"{'`' + command + '`' if command != UNKNOWN else 'command ?'}. File `{path}`")
        lines += [f"### {shown(report['benchmark'])} (`{path.name}`)", ""]
        if isinstance(report.get("summary"), list) and report["summary"]:
            lines += summary_table(report["summary"]) + ["", f"- {when}", ""]
        else:
            lines += [f"- `{path.name}` has no summary: {when}", ""]
    return lines


def render(runs, output_dir, reports=()):
    lines = ["# Results: our numbers beside the book's", "",
             f"Made by `python -m chapters.results --output-dir {output_dir} --write RESULTS.md` from the newest "
             "run of each section (and edition) under that folder. Run a section yourself, then the same command, "
             "to see your numbers beside the book's.", "",
             "A number marked (quick) comes from a `--quick` run: a small subset of the data and one epoch, "
             "which checks that everything runs; its numbers are not the book's experiment. A number marked "
             "(stopped short) comes from a run that trained fewer epochs than the book; its run line says how many. "
             "\"?\" marks what a run's results.json did not record (runs made before it recorded it).", ""]
    chapters = {}
    for run in runs:
        chapters.setdefault(run["chapter"], []).append(run)
    for chapter, chapter_runs in chapters.items():
        lines += [f"## {chapter}", ""] + chapter_table(chapter_runs) + [""]
    if reports:
        lines += benchmarks_part(reports)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chapters.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="outputs", help="the folder the runs wrote into (default outputs)")
    parser.add_argument("--write", metavar="PATH", help="write the Markdown to PATH (atomically) instead of printing")
    args = parser.parse_args(argv)
    if not Path(args.output_dir).is_dir():
        print(f"error: --output-dir {args.output_dir}: no such folder (run a section first)", file=sys.stderr)
        sys.exit(2)
    runs, reports = find_runs(args.output_dir), find_reports(args.output_dir)
    if not runs and not reports:
        print(f"error: no results.json or benchmarks/*.json report under {args.output_dir} (run a section first)",
              file=sys.stderr)
        sys.exit(2)
    text = render(runs, args.output_dir, reports)
    if args.write:
        atomic_write(args.write, text)
        print(f"{args.write}: {len(runs)} runs in {len({r['chapter'] for r in runs})} chapters, "
              f"{len(reports)} benchmark reports")
    else:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)


if __name__ == "__main__":
    main()
