"""Shared test helpers. Tests never touch the network nor ../shared/data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_data_dirs(tmp_path, monkeypatch):
    """No data directory, no Keras cache and no downloads unless a test sets them up."""
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("DLWP_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # so ./data and ./outputs are the test's own
    yield


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


def results_of(output_dir):
    """The results.json of the single run folder under output_dir (for CLI tests)."""
    import json

    files = sorted(Path(output_dir).glob("*/results.json"))
    assert files, f"no results.json under {output_dir}"
    return json.loads(files[-1].read_text())["results"]
