"""Every test runs in its own folder, with no data directory, no Keras cache and no downloads."""

import gc

import pytest


@pytest.fixture(autouse=True)
def isolated_data_dirs(tmp_path, monkeypatch):
    """No data directory, no Keras cache and no downloads unless a test sets them up."""
    monkeypatch.delenv("DLWP_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("DLWP_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # so ./data and ./outputs are the test's own
    yield


# Why the suite freezes the garbage collector's view: every section's ModelSession calls
# keras.backend.clear_session(), which runs gc.collect(); in one long pytest process that walks every object
# all earlier tests left alive (about 0.7 s a call late in the suite, a tenth of the suite's time). Collected once
# and frozen before each test, the objects alive then are skipped by later collections; unfrozen after each
# module, so that what the module's fixtures held is collected with the next module's first test.

@pytest.fixture(autouse=True, scope="module")
def earlier_modules_collectable():
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def earlier_tests_frozen(earlier_modules_collectable):
    gc.collect()
    gc.freeze()
    yield
