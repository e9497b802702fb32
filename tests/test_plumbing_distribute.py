"""--mixed-precision and --distribute: the policies chosen, output layers in float32, and data-parallel training
on this CPU (two logical CPUs for MirroredStrategy, two worker processes on localhost for MultiWorkerMirroredStrategy)
giving the single-device result."""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from chapters.cli import Chapter
from chapters.performance import Device, precision_policy
from tests.helpers import REPO, results_file, run_folders

# --- mixed precision ---------------------------------------------------------------------------------


def test_auto_precision_is_float16_on_a_gpu():
    assert precision_policy("auto", gpus=["GPU:0"], native_bfloat16=False)[0] == "mixed_float16"


def test_auto_precision_is_bfloat16_on_a_cpu_that_computes_it_natively():
    assert precision_policy("auto", gpus=[], native_bfloat16=True)[0] == "mixed_bfloat16"


def test_auto_precision_stays_float32_on_a_cpu_without_native_bfloat16_and_says_why():
    policy, why = precision_policy("auto", gpus=[], native_bfloat16=False)
    assert policy is None and "no native bfloat16" in why


def test_forced_bfloat16_on_such_a_cpu_warns_that_it_is_slower():
    policy, why = precision_policy("bfloat16", gpus=[], native_bfloat16=False)
    assert policy == "mixed_bfloat16" and "slower" in why


def test_off_is_the_books_float32():
    assert precision_policy("off", gpus=["GPU:0"], native_bfloat16=True)[0] is None


@pytest.fixture
def mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def model_builders():
    """Every builder in models/ that needs no argument, as "module:function" (a new one is walked by being written).

    Left out: summaries and listing fragments the book prints but never trains (`*_summary`) and augmentation
    pipelines (no prediction).
    """
    import importlib
    import inspect
    import pkgutil

    import models

    found = []
    for module_info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"models.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            required = [p for p in inspect.signature(function).parameters.values() if p.default is p.empty]
            if (function.__module__ == module.__name__ and not name.startswith("_") and not required
                    and not name.endswith("_summary") and not name.startswith("augmentation")):
                found.append(f"models.{module_info.name}:{name}")
    return found


BUILDERS = model_builders()


def test_the_walk_finds_the_builders_of_every_chapter():
    modules = {builder.split(":")[0] for builder in BUILDERS}
    assert {"models.first_network", "models.convnets", "models.text_networks", "models.timeseries_networks",
            "models.vae", "models.gan", "models.functional_api", "models.text_generation"} <= modules


@pytest.mark.parametrize("builder", BUILDERS)
def test_under_mixed_precision_the_output_layers_compute_in_float32(builder, mixed_bfloat16):
    import importlib

    from chapters.performance import compute_dtypes
    from datasets import DataError

    module, name = builder.split(":")
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = getattr(importlib.import_module(module), name)()
    except DataError:
        pytest.skip("needs ImageNet weights, which tests never download")
    if not isinstance(model, keras.Model):
        pytest.skip(f"{name} builds no model")
    dtypes = compute_dtypes(model)
    if not dtypes["output"]:
        pytest.skip("a subclassed model: its output layers cannot be told from the outside")
    assert dtypes == {"hidden": ["bfloat16"], "output": ["float32"]}


# --- which sections run distributed --------------------------------------------------------------------


def test_batch_sizes_are_per_replica_and_the_global_batch_is_scaled():
    class TwoReplicas:
        num_replicas_in_sync = 2

    run = make_run_with_device(Device("CPU", "float32", TwoReplicas(), "mirrored"), distributed=True)
    assert run.batch_size(64) == 128 and run.replicas == 2
    run.finish()


def make_run_with_device(device, distributed):
    from pathlib import Path

    from chapters.runs import Run
    settings = dict(edition=1, quick=False, seed=0, data_dir=None, summary_only=False, epochs=None, batch_size=None,
                    performance={"jit_compile": "auto", "steps_per_execution": None})
    return Run("chX", "9.1", settings, None, output_dir=Path("out"), device=device, distributed=distributed)


def test_sections_that_train_with_fit_run_in_the_strategys_scope_the_others_on_one_device(tmp_path, capsys):
    seen = {}
    chapter = Chapter("chx_test", "Test chapter", "")

    @chapter.section("1.1", "fit", "trains with model.fit", distributable=True)
    def with_fit(run):
        run.clear_session()  # as sections do, for the book's layer names: a new TensorFlow graph
        seen["1.1"] = (tf.distribute.has_strategy(), run.replicas)

    @chapter.section("1.2", "loop", "its own loop")
    def own_loop(run):
        seen["1.2"] = (tf.distribute.has_strategy(), run.replicas)

    chapter.main(["all", "--distribute", "mirrored", "--output-dir", str(tmp_path)])
    assert seen == {"1.1": (True, 1), "1.2": (False, 1)}  # one CPU here: a strategy of one replica
    assert not tf.distribute.has_strategy()
    assert "--distribute mirrored: 1.2 trains with its own loop" in capsys.readouterr().out


def test_a_sections_clear_session_keeps_the_precision_policy_and_the_strategys_scope(tmp_path):
    built = {}
    chapter = Chapter("chx_test", "Test chapter", "")

    @chapter.section("1.1", "fit", "trains with model.fit", distributable=True)
    def with_fit(run):
        for name in ("first", "after_clear_session"):
            run.clear_session()
            with_scope = tf.distribute.has_strategy()
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1, dtype="float32")])
            built[name] = (model.layers[0].name, model.layers[0].compute_dtype, model.layers[1].compute_dtype,
                           with_scope, type(model.layers[0].kernel.value).__name__)

    chapter.main(["--mixed-precision", "bfloat16", "--distribute", "mirrored", "--output-dir", str(tmp_path)])
    assert built["first"][:4] == built["after_clear_session"][:4] == ("dense", "bfloat16", "float32", True)
    assert "Mirrored" in built["after_clear_session"][4]  # the weights are the strategy's
    assert keras.mixed_precision.global_policy().name == "float32"  # put back when the section ends


def test_no_chapter_clears_the_keras_session_behind_the_runs_back():
    """keras.backend.clear_session() resets the dtype policy and drops the strategy's scope: sections call
    run.clear_session(), which sets both again."""
    from tests.helpers import REPO

    call = re.compile(r"^\s*keras\.backend\.clear_session\(", re.MULTILINE)
    callers = [str(path.relative_to(REPO)) for path in (REPO / "chapters").rglob("*.py")
               if call.search(path.read_text()) and path.name != "performance.py"]
    assert callers == []


def distributable_sections():
    from chapters import all_chapters

    return {number for chapter in all_chapters() for number, section in chapter.sections.items()
            if section.distributable}


def test_the_book_sections_that_train_with_fit_are_the_distributable_ones():
    distributable = distributable_sections()
    assert distributable == {"2.1", "3.5", "3.6", "4.4", "5.1", "5.1h", "5.1c", "5.2", "6.1", "6.2", "6.3", "6.4",
                             "8.1", "8.4", "8.5", "9.2", "9.3", "11.5"}
    # Their own loops (2.5, 3.7, 7.1's GradientTape, 8.2, 8.3), no training (2.2-2.4, 5.1f, 5.4), a KerasTuner
    # search (7.3), several fits with callbacks of their own (7.2), and 5.3 (its stored-features pipeline fails
    # under MirroredStrategy in TensorFlow 2.21): one device.


def test_multiworker_without_tf_config_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    chapter = Chapter("chx_test", "Test chapter", "")
    chapter.section("1.1", "fit", "trains", distributable=True)(lambda run: None)
    with pytest.raises(SystemExit) as stop:
        chapter.main(["--distribute", "multiworker", "--output-dir", str(tmp_path)])
    assert stop.value.code == 2 and "needs TF_CONFIG" in capsys.readouterr().err


@pytest.mark.parametrize("tf_config, message", [
    ('{"cluster": {"worker": ["localhost:1"', "TF_CONFIG is not valid JSON (Expecting ',' delimiter at column 38)"),
    ('{"cluster": {"worker": ["localhost:23456"]}, "task": {"type": "worker", "index": 3}}',
     "TF_CONFIG: task index 3, but the cluster has 1 worker"),
], ids=["not_json", "index_beyond_the_cluster"])
def test_a_malformed_tf_config_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, tf_config, message):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    chapter = Chapter("chx_test", "Test chapter", "")
    chapter.section("1.1", "fit", "trains", distributable=True)(lambda run: None)
    with pytest.raises(SystemExit) as stop:
        chapter.main(["--distribute", "multiworker", "--output-dir", str(tmp_path)])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert stop.value.code == 2 and len(errors) == 1 and message in errors[0]


# --- training on two replicas gives the single-device result ------------------------------------------

TRAINING = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {repo!r})
    import numpy as np, tensorflow as tf, keras
    from chapters.performance import make_strategy, setup_device
    from datasets.arrays import array_dataset
    kind = sys.argv[1]
    device = setup_device("off", kind)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 1).astype("float32")
    scope = device.strategy.scope() if device.strategy else tf.distribute.get_strategy().scope()
    with scope:
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(keras.optimizers.RMSprop(0.01), "binary_crossentropy")
    # A fixed order: the same global batches of 64 whatever the number of replicas.
    losses = model.fit(array_dataset(x, y, 64), epochs=3, verbose=0, shuffle=False).history["loss"]
    seen = []
    if device.strategy is not None:  # which examples this worker gets from a shuffled pipeline
        shuffled = array_dataset(np.arange(512, dtype="float32")[:, None], y, 64, shuffle=True, seed=1)
        for batch in device.strategy.experimental_distribute_dataset(shuffled):
            for local in device.strategy.experimental_local_results(batch[0]):
                seen += local.numpy()[:, 0].astype(int).tolist()
    print("RESULT", json.dumps({{"losses": losses, "kernel": float(np.sum(model.get_weights()[0])),
                                "replicas": device.replicas, "seen": seen}}))
""")


def run_training(tmp_path, kind, env):
    script = tmp_path / "train.py"
    script.write_text(TRAINING.format(repo=str(REPO)))
    return subprocess.Popen([sys.executable, str(script), kind], env={**os.environ, **env}, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result_of(process):
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT"))[len("RESULT "):])


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    return result_of(run_training(tmp_path_factory.mktemp("single"), "none", {}))


def test_mirrored_training_on_two_logical_cpus_gives_the_single_device_loss(tmp_path, single_device):
    mirrored = result_of(run_training(tmp_path, "mirrored", {"DLWP_LOGICAL_CPUS": "2"}))
    assert mirrored["replicas"] == 2
    np.testing.assert_allclose(mirrored["losses"], single_device["losses"], rtol=1e-4)
    assert mirrored["kernel"] == pytest.approx(single_device["kernel"], rel=1e-4)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("workers")
    ports = free_ports(2)
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                  "task": {"type": "worker", "index": index}}
        folder = tmp_path / f"worker{index}"
        folder.mkdir()
        processes.append(run_training(folder, "multiworker", {"TF_CONFIG": json.dumps(config)}))
    return [result_of(process) for process in processes]


def test_two_workers_on_localhost_give_the_single_device_loss(two_workers, single_device):
    for worker in two_workers:
        assert worker["replicas"] == 2
        np.testing.assert_allclose(worker["losses"], single_device["losses"], rtol=1e-4)
        assert worker["kernel"] == pytest.approx(single_device["kernel"], rel=1e-4)


def test_two_workers_split_each_shuffled_epoch_into_disjoint_halves(two_workers):
    first, second = (worker["seen"] for worker in two_workers)
    assert len(first) == len(second) == 256
    assert sorted(first + second) == list(range(512))


def test_the_chief_writes_the_run_and_the_other_worker_its_own_folder(tmp_path):
    ports = free_ports(2)
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": [f"localhost:{port}" for port in ports]},
                  "task": {"type": "worker", "index": index}}
        env = {**os.environ, "PYTHONPATH": str(REPO), "DLWP_OFFLINE": "1", "TF_CONFIG": json.dumps(config),
               "KERAS_HOME": str(tmp_path / "keras_home")}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "chapters.ch2_building_blocks", "2.1", "--quick", "--distribute", "multiworker",
             "--output-dir", "out"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
    chief = results_file(tmp_path / "out", "2.1")
    assert chief["device"] == {"kind": "CPU", "precision": "float32", "replicas": 2, "distribute": "multiworker"}
    assert chief["training"]["first_network_book"]["epochs_done"] == 1
    assert run_folders(tmp_path / "out" / "worker-1", "2.1")


# --- every section that trains with fit has a --quick run checked in mixed bfloat16 and mirrored -------------


def sections_checked_by(assertion):
    """The sections that the tests pass to the helper named `assertion` (assert_trained_in_mixed_bfloat16,
    assert_trained_with_mirrored_variables), read from their source: a number written in the call, or the numbers
    of the @pytest.mark.parametrize list of the argument the call names."""
    import ast

    found = set()
    for path in (REPO / "tests").glob("test_*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, ast.FunctionDef):
                continue
            parametrized = {decorator.args[0].value: decorator.args[1] for decorator in function.decorator_list
                            if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"}
            for call in ast.walk(function):
                if (isinstance(call, ast.Call) and getattr(call.func, "id", "") == assertion
                        and len(call.args) == 2):
                    section = call.args[1]
                    if isinstance(section, ast.Constant):
                        found.add(section.value)
                    elif isinstance(section, ast.Name) and section.id in parametrized:
                        found.update(ast.literal_eval(parametrized[section.id]))
    return found


def test_every_distributable_section_has_a_quick_run_checked_in_forced_bfloat16():
    """A section that trains with run.fit is added with a test of its --quick run under MIXED_BFLOAT16: the flag
    on one of its module's --quick runs, and assert_trained_in_mixed_bfloat16 on what that run wrote."""
    assert distributable_sections() - sections_checked_by("assert_trained_in_mixed_bfloat16") == set()


def test_every_distributable_section_has_a_quick_run_checked_with_mirrored_variables():
    """A section that trains with run.fit is added with a test of a --quick run under --distribute mirrored
    (MIXED_BFLOAT16_MIRRORED in the module's fixtures, on one device; or two logical CPUs in a subprocess below):
    assert_trained_with_mirrored_variables on what that run wrote shows every model it trained was built in the
    strategy's scope."""
    assert distributable_sections() - sections_checked_by("assert_trained_with_mirrored_variables") == set()


@pytest.mark.parametrize("assertion", ["assert_trained_in_mixed_bfloat16", "assert_trained_with_mirrored_variables"])
def test_the_sections_checked_in_forced_bfloat16_or_mirrored_are_the_chapters_sections(assertion):
    from chapters import all_chapters

    sections = {number for chapter in all_chapters() for number in chapter.sections}
    assert sections_checked_by(assertion) - sections == set()


# --- real sections with the flags, as a student runs them ------------------------------------------------------

@pytest.mark.parametrize("section", ["2.1", "5.1"])
def test_a_quick_section_under_mixed_bfloat16_and_mirrored_trains_every_model_so(tmp_path, section):
    """On the MNIST digits that ship with the project's requirements, on two logical CPUs."""
    from tests.helpers import MIXED_BFLOAT16, assert_trained_in_mixed_bfloat16, assert_trained_with_mirrored_variables

    chapter = {"2": "chapters.ch2_building_blocks", "5": "chapters.ch5_convnets"}[section[0]]
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", chapter, section, "--quick", *MIXED_BFLOAT16, "--distribute",
                           "mirrored", "--data-dir", str(tmp_path), "--output-dir", str(out)],
                          cwd=REPO, env={**os.environ, "DLWP_LOGICAL_CPUS": "2"}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert assert_trained_in_mixed_bfloat16(out, section) >= 1
    assert_trained_with_mirrored_variables(out, section)
