"""python -m chapters.results: the newest run of each section, ours beside the book's, in Markdown."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common
from chapters import results

ROOT = Path(__file__).resolve().parent.parent

MACHINE = {"cpu": "Test CPU 9000", "cores": 2, "cpu_flags": ["avx2", "avx512_bf16"], "gpus": [],
           "tensorflow": "2.21.0", "keras": "3.15.1"}


def write_run(output_dir, folder, chapter="ch2_building_blocks", section="2.1", quick=False, accuracy=0.979,
              started="2026-12-05 09:00:00", **fields):
    """A results.json as chapters.runs writes it; `fields` replace or (with None) remove the newer fields."""
    run = {"chapter": chapter, "section": section, "edition": 1, "quick": quick,
           "device": {"kind": "CPU", "precision": "float32", "replicas": 1, "distribute": "none"},
           "machine": MACHINE, "commit": "abc1234", "started": started, "argv": [section],
           "results": {"test_accuracy": {"value": accuracy, "book": 0.978},
                       "book_check.first_network": {"value": "MATCH", "params": [401920, 5130],
                                                    "book": [401920, 5130]}},
           "training": {}}
    for name, value in fields.items():
        if value is None:
            run.pop(name)
        else:
            run[name] = value
    path = output_dir / chapter / folder / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(run))
    return path


def table_rows(markdown, chapter="ch2_building_blocks"):
    """The rows of a chapter's table as {result key: {column: cell}}."""
    section = markdown.split(f"## {chapter}\n", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]
    return {row["result"]: row for row in rows}


def run_notes(markdown):
    return [line for line in markdown.splitlines() if line.startswith("- **r")]


def test_the_newest_run_of_a_section_is_the_one_shown(tmp_path):
    write_run(tmp_path, "2.1-20261204-100000", accuracy=0.5, started="2026-12-04 10:00:00")
    write_run(tmp_path, "2.1-20261205-090000", accuracy=0.9797, started="2026-12-05 09:00:00")
    runs = results.find_runs(tmp_path)
    assert [run["folder"].name for run in runs] == ["2.1-20261205-090000"]
    assert table_rows(results.render(runs, tmp_path))["test_accuracy"]["ours"] == "0.9797"


def test_two_runs_started_in_the_same_second_take_the_later_folder(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", accuracy=0.5)
    write_run(tmp_path, "2.1-20261205-090000-2", accuracy=0.9797)
    assert [run["folder"].name for run in results.find_runs(tmp_path)] == ["2.1-20261205-090000-2"]


def test_each_section_and_edition_gets_its_own_newest_run(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000")
    write_run(tmp_path, "2.1-20261205-090100", edition=2, started="2026-12-05 09:01:00")
    write_run(tmp_path, "5.1-20261205-090200", chapter="ch5_convnets", section="5.1")
    runs = results.find_runs(tmp_path)
    assert [(run["chapter"], run["section"], run["edition"]) for run in runs] == [
        ("ch2_building_blocks", "2.1", 1), ("ch2_building_blocks", "2.1", 2), ("ch5_convnets", "5.1", 1)]


def test_the_book_number_sits_beside_ours(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", accuracy=0.9797)
    rows = table_rows(results.render(results.find_runs(tmp_path), tmp_path))
    assert (rows["test_accuracy"]["ours"], rows["test_accuracy"]["book"]) == ("0.9797", "0.978")
    assert rows["book_check.first_network"]["ours"] == "MATCH (407,050 params)"
    assert rows["book_check.first_network"]["book"] == "407,050 params"


def test_every_row_of_a_quick_run_is_marked_and_its_run_says_why(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", quick=True, accuracy=0.61)
    markdown = results.render(results.find_runs(tmp_path), tmp_path)
    assert all(row["ours"].endswith("(quick)") for row in table_rows(markdown).values())
    assert "not the book's experiment" in run_notes(markdown)[0]


def test_a_full_run_is_not_marked_quick(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", quick=False)
    markdown = results.render(results.find_runs(tmp_path), tmp_path)
    assert not any("quick" in row["ours"] for row in table_rows(markdown).values())


def test_a_full_run_that_trained_fewer_epochs_than_the_book_is_marked_and_says_how_many(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", training={"first_network": {"epochs_done": 3, "book_epochs": 5}})
    markdown = results.render(results.find_runs(tmp_path), tmp_path)
    rows = table_rows(markdown)
    assert rows["test_accuracy"]["ours"] == "0.9790 (stopped short)"
    assert not rows["book_check.first_network"]["ours"].endswith("(stopped short)")  # a check trains nothing
    assert "first_network: 3 of the book's 5 epochs" in run_notes(markdown)[0]
    assert "full run" not in run_notes(markdown)[0]


def test_a_run_that_trained_the_books_epochs_is_a_full_run_unmarked(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", training={"first_network": {"epochs_done": 5, "book_epochs": 5}})
    markdown = results.render(results.find_runs(tmp_path), tmp_path)
    assert not any("stopped short" in row["ours"] for row in table_rows(markdown).values())
    assert "full run" in run_notes(markdown)[0]


def test_each_run_names_its_date_commit_machine_and_options(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000", argv=["2.1", "--variant", "workshop"])
    note = run_notes(results.render(results.find_runs(tmp_path), tmp_path))[0]
    for fact in ("2026-12-05 09:00:00", "abc1234", "Test CPU 9000", "avx2, avx512_bf16", "no GPU", "edition 1",
                 "precision float32", "python -m chapters.ch2_building_blocks 2.1 --variant workshop"):
        assert fact in note


def test_an_older_results_json_without_the_new_fields_shows_question_marks(tmp_path):
    write_run(tmp_path, "2.1-20261201-080000", machine=None, commit=None, started=None, argv=None, device=None,
              quick=None, edition=None)
    markdown = results.render(results.find_runs(tmp_path), tmp_path)
    note = run_notes(markdown)[0]
    assert note.startswith("- **r1** (2.1): 2026-12-01 08:00:00, commit ?, ?;")  # the date from the folder's name
    assert "edition ?" in note and "--quick ?" in note and "precision ?" in note
    assert table_rows(markdown)["test_accuracy"]["ours"] == "0.9790"


def test_a_damaged_results_json_is_skipped_and_the_others_shown(tmp_path, capsys):
    write_run(tmp_path, "2.1-20261205-090000")
    damaged = tmp_path / "ch5_convnets" / "5.1-20261205-090000" / "results.json"
    damaged.parent.mkdir(parents=True)
    damaged.write_text('{"results": {')
    assert [run["section"] for run in results.find_runs(tmp_path)] == ["2.1"]
    assert str(damaged) in capsys.readouterr().err


def test_write_puts_the_markdown_in_the_file_and_leaves_no_temporary_file(tmp_path):
    write_run(tmp_path / "outputs", "2.1-20261205-090000")
    target = tmp_path / "RESULTS.md"
    results.main(["--output-dir", str(tmp_path / "outputs"), "--write", str(target)])
    assert "test_accuracy" in table_rows(target.read_text())
    assert [path.name for path in tmp_path.iterdir() if path.is_file()] == ["RESULTS.md"]


def test_an_output_folder_without_runs_is_one_line_and_exit_code_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        results.main(["--output-dir", str(tmp_path)])
    assert stop.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def write_report(output_dir, name="mixed_precision_sections.json", **fields):
    """A benchmark report as benchmarks.common.write_report writes it; `fields` replace or (None) remove keys."""
    report = {"benchmark": "mixed_precision_sections", "machine": {**MACHINE, "date": "2026-12-05 10:00:00"},
              "commit": "def5678", "command": "python -m benchmarks.mixed_precision_sections --epochs 100",
              "summary": [{"what": "5.2: epoch time, mixed_bfloat16 / float32", "measured": 0.472,
                           "compared_with": "target ≤ 0.6", "target_met": True, "note": "after the first epoch"}],
              "results": {}}
    for key, value in fields.items():
        if value is None:
            report.pop(key)
        else:
            report[key] = value
    path = output_dir / "benchmarks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report))
    return path


def benchmark_lines(markdown):
    return markdown.split("## Benchmarks\n", 1)[1].splitlines()


def test_a_benchmark_report_shows_its_summary_rows_with_date_commit_machine_and_command(tmp_path):
    write_report(tmp_path)
    lines = benchmark_lines(results.render([], tmp_path, results.find_reports(tmp_path)))
    rows = [line for line in lines if line.startswith("| 5.2")]
    assert [cell.strip() for cell in rows[0].strip("|").split("|")] == [
        "5.2: epoch time, mixed_bfloat16 / float32", "0.4720", "target ≤ 0.6", "yes", "after the first epoch"]
    note = next(line for line in lines if line.startswith("- "))
    for fact in ("2026-12-05 10:00:00", "def5678", "Test CPU 9000", "avx2, avx512_bf16",
                 "`python -m benchmarks.mixed_precision_sections --epochs 100`"):
        assert fact in note


def test_an_older_benchmark_report_without_summary_commit_or_cpu_flags_says_so(tmp_path):
    old_machine = {"tensorflow": "2.21.0", "keras": "3.15.1", "python": "3.11.7", "cpu_count": 2, "gpus": [],
                   "date": "2026-12-05 09:33"}
    write_report(tmp_path, machine=old_machine, summary=None, commit=None, command=None)
    lines = benchmark_lines(results.render([], tmp_path, results.find_reports(tmp_path)))
    assert not any(line.startswith("|") for line in lines)
    note = next(line for line in lines if line.startswith("- "))
    assert note.startswith("- `mixed_precision_sections.json` has no summary: "
                           "2026-12-05 09:33, commit ?, ? (?; 2 cores)")


def test_a_damaged_benchmark_report_is_skipped_with_a_warning(tmp_path, capsys):
    write_report(tmp_path, name="good.json")
    damaged = tmp_path / "benchmarks" / "damaged.json"
    damaged.write_text('{"benchmark": ')
    assert [report["path"].name for report in results.find_reports(tmp_path)] == ["good.json"]
    assert str(damaged) in capsys.readouterr().err


def test_an_output_folder_with_only_benchmark_reports_still_writes_results_md(tmp_path):
    write_report(tmp_path / "outputs")
    target = tmp_path / "RESULTS.md"
    results.main(["--output-dir", str(tmp_path / "outputs"), "--write", str(target)])
    assert any(line.startswith("| 5.2: epoch time") for line in benchmark_lines(target.read_text()))


def test_the_benchmarks_come_after_the_chapter_tables(tmp_path):
    write_run(tmp_path, "2.1-20261205-090000")
    write_report(tmp_path)
    markdown = results.render(results.find_runs(tmp_path), tmp_path, results.find_reports(tmp_path))
    assert markdown.index("## ch2_building_blocks") < markdown.index("## Benchmarks")
    assert "test_accuracy" in table_rows(markdown)


def written_report(tmp_path, monkeypatch, argv):
    """A report from benchmarks.common.write_report, as if `python -m benchmarks.mixed_precision_sections <argv>`."""
    monkeypatch.setattr(sys, "argv", [str(ROOT / "benchmarks" / "mixed_precision_sections.py"), *argv])
    path = common.write_report("mixed_precision_sections", {"results": {"5.2": {"epochs": 100}}},
                               tmp_path / "report.json", summary=[common.summary_row("5.2: epochs run", 100)])
    return json.loads(path.read_text())


def test_a_benchmark_report_records_its_commit_and_command_line(tmp_path, monkeypatch):
    report = written_report(tmp_path, monkeypatch, ["--workloads", "5.2", "--epochs", "100"])
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    assert report["commit"].removesuffix("+changes") == head.strip()
    assert report["command"] == "python -m benchmarks.mixed_precision_sections --workloads 5.2 --epochs 100"
    assert report["results"] == {"5.2": {"epochs": 100}}  # the script's own fields, unchanged
    assert report["summary"][0]["measured"] == 100


def test_a_benchmark_report_records_the_cpu_and_its_flags_and_keeps_the_older_machine_keys(tmp_path, monkeypatch):
    machine = written_report(tmp_path, monkeypatch, [])["machine"]
    cpuinfo = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    assert machine["cpu_flags"] == [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in cpuinfo]
    assert machine["cpu"] and machine["cores"] == machine["cpu_count"]
    assert {"tensorflow", "keras", "python", "gpus", "date"} <= set(machine)


def mixed_precision_verdicts(ratio=0.5, epochs=100, accuracy_float32=0.80, accuracy_mixed=0.795, native=True):
    """{row: target met} of benchmarks.mixed_precision_sections' summary for made-up 5.2 measurements."""
    from benchmarks.mixed_precision_sections import summary

    report = {"device": "CPU", "mixed_policy": "mixed_bfloat16", "cpu_native_bfloat16": native,
              "results": {"5.2": {"epochs": epochs, "book_epochs": 100, "epoch_time_ratio_mixed_over_float32": ratio,
                                  "accuracy_float32": accuracy_float32, "accuracy_mixed": accuracy_mixed,
                                  "accuracy_is": "validation accuracy"}}}
    rows = summary(report)
    return {row["what"].split(",")[0]: (row["measured"], row["target_met"]) for row in rows}


def test_the_mixed_precision_speed_target_is_met_at_0_55_and_missed_at_0_7():
    assert mixed_precision_verdicts(ratio=0.55)["5.2: epoch time"] == (0.55, True)
    assert mixed_precision_verdicts(ratio=0.7)["5.2: epoch time"] == (0.7, False)


def test_the_mixed_precision_accuracy_target_is_judged_only_after_the_books_epochs():
    assert mixed_precision_verdicts(epochs=100, accuracy_mixed=0.795)["5.2: validation accuracy"] == (0.795, True)
    assert mixed_precision_verdicts(epochs=100, accuracy_mixed=0.77)["5.2: validation accuracy"] == (0.77, False)
    assert mixed_precision_verdicts(epochs=10, accuracy_mixed=0.795)["5.2: validation accuracy"] == (0.795, None)
    assert mixed_precision_verdicts(epochs=10)["5.2: epochs run"] == (10, None)


def test_the_mixed_precision_targets_are_not_judged_where_bfloat16_was_forced():
    verdicts = mixed_precision_verdicts(ratio=0.55, native=False)
    assert verdicts["5.2: epoch time"] == (0.55, None)
    assert verdicts["5.2: validation accuracy"] == (0.795, None)


def test_the_mixed_precision_benchmark_writes_its_report_with_the_summary_of_its_own_measurements(tmp_path):
    """The whole script, --quick on 5.1 (the MNIST sample that ships with the requirements): its report holds the
    measured ratio and accuracies, and summary rows derived from them (a name clash once lost a 100-epoch report)."""
    report_path = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.mixed_precision_sections", "--quick", "--workloads", "5.1",
                           "--repeats", "1", "--data-dir", str(tmp_path), "--output", str(report_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(report_path.read_text())
    measured = report["results"]["5.1"]
    assert measured["epochs"] == 2 and measured["epoch_time_ratio_mixed_over_float32"] > 0
    rows = {row["what"]: row for row in report["summary"]}
    assert rows["5.1: epochs run"]["measured"] == 2
    assert rows["5.1: test accuracy, mixed_bfloat16"]["measured"] == measured["accuracy_mixed"]
