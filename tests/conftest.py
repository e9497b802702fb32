"""Every test runs in its own folder, with no data directory, no Keras cache and no downloads."""

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dirs(tmp_path, monkeypatch):
    """No data directory, no Keras cache and no downloads unless a test sets them up."""
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("DLWP_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # so ./data and ./outputs are the test's own
    yield
