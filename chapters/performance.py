"""The device report and the compile settings measured with the scripts in benchmarks/.

XLA compilation (jit_compile) pays off on GPUs. On a 2-core CPU it made the
convnets of chapter 5 slower, and the dense networks of chapters 2-4 did not
train long enough to repay the compilation (the README's Performance section
has the numbers). steps_per_execution runs several batches per call into
TensorFlow, which hides Python's overhead when the batches are small.
"""

import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import keras

from chapters.errors import UsageError

PERFORMANCE_DEFAULTS = {
    ("CPU", "dense"): dict(jit_compile=False, steps_per_execution=64),
    ("CPU", "conv"): dict(jit_compile=False, steps_per_execution=16),
    ("GPU", "dense"): dict(jit_compile=True, steps_per_execution=64),
    ("GPU", "conv"): dict(jit_compile=True, steps_per_execution=16),
    # Recurrent models (chapter 6), measured with benchmarks/ch6_recurrent_networks.py: on a CPU, XLA compiles
    # the recurrence's loop into fused steps. On a GPU, Keras runs the LSTM and GRU layers that cuDNN can compute
    # (no recurrent dropout, reset_after=True) on cuDNN's kernels, which XLA cannot compile: Keras's
    # jit_compile="auto" uses XLA only for models without such layers (the recurrent-dropout ones).
    ("CPU", "recurrent"): dict(jit_compile=True, steps_per_execution=1),
    ("GPU", "recurrent"): dict(jit_compile="auto", steps_per_execution=16),
}


def cpu_has_native_bfloat16():
    """True when the CPU computes bfloat16 in hardware (AVX512_BF16 or AMX); elsewhere it is emulated, and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: we cannot tell, so we do not assume it
        return False
    return any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))


def machine_description():
    """What a measured number depends on: the CPU, its vector and bfloat16 instructions, the cores and the GPUs."""
    import platform

    import tensorflow as tf

    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine())
    flags = set(cpuinfo.split())
    return {"cpu": model, "cores": os.cpu_count(),
            "cpu_flags": [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in flags],
            "gpus": [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                     for gpu in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__, "keras": keras.__version__}


def git_commit():
    """The project's commit (with '+changes' when the working tree differs from it), or None outside a git clone."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+changes" if changed else "")) or None


def precision_policy(setting, gpus, native_bfloat16):
    """(policy name or None, one line saying why) for --mixed-precision `setting` (off, auto, float16, bfloat16)."""
    if setting == "off":
        return None, "float32 (the book's)"
    if setting == "auto":
        if gpus:
            return "mixed_float16", "mixed_float16 on the GPU (output layers stay float32)"
        if native_bfloat16:
            return "mixed_bfloat16", "mixed_bfloat16: this CPU computes bfloat16 natively (output layers stay float32)"
        return None, ("float32: this CPU has no native bfloat16 (no AVX512_BF16 or AMX), where mixed precision "
                      "is emulated and slower (see the README); --mixed-precision bfloat16 forces it")
    policy = f"mixed_{setting}"
    if setting == "bfloat16" and not gpus and not native_bfloat16:
        return policy, f"{policy}, forced on a CPU without native bfloat16: expect it to be slower than float32"
    return policy, f"{policy} (output layers stay float32)"


def make_strategy(distribute, gpus):
    """tf.distribute strategy for --distribute (none, mirrored, multiworker), or None."""
    import tensorflow as tf

    if distribute == "none":
        return None
    if distribute == "mirrored":
        # Every GPU of this machine; on a CPU-only machine, the logical CPUs (DLWP_LOGICAL_CPUS splits the CPU
        # into several, which tests the path; it makes nothing faster).
        devices = [d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if "TF_CONFIG" not in os.environ:
        raise UsageError("--distribute multiworker needs TF_CONFIG, the cluster description, in each worker's "
                         "environment (see the README's Scaling up)")
    worker_index()  # a TF_CONFIG that is not JSON, or a task beyond its cluster: one line before TensorFlow reads it
    from chapters import multiworker
    multiworker.apply()  # Keras 3.15's fit needs two small fixes there (see chapters/multiworker.py)
    return tf.distribute.MultiWorkerMirroredStrategy()


class ModelSession:
    """Where a section builds its models: the run's dtype policy and, under --distribute, the strategy's scope.

    Sections call `run.clear_session()` before a new model so that layer names start again as in the book's
    summaries. keras.backend.clear_session() alone would undo both settings: it resets the global dtype policy
    to float32, and on TensorFlow it starts a new default graph, which drops the strategy's scope. `restart()`
    clears the session, then sets the policy and enters the scope again; `close()` leaves the scope.
    """

    def __init__(self, precision="float32", strategy=None):
        self.precision = precision  # a Keras dtype policy name: float32, mixed_bfloat16, mixed_float16
        self.strategy = strategy  # a tf.distribute strategy, or None
        self.scope = None
        self.policy_before = None

    def restart(self):
        if self.policy_before is None:
            self.policy_before = keras.mixed_precision.global_policy().name
        keras.backend.clear_session()
        keras.mixed_precision.set_global_policy(self.precision)
        if self.strategy is not None:
            # The scope entered before belongs to the graph clear_session dropped; the new graph gets its own.
            self.scope = self.strategy.scope()
            self.scope.__enter__()

    def close(self):
        """Leave the scope and put back the policy there was before (a user's script or a test goes on with it)."""
        if self.scope is not None:
            self.scope.__exit__(None, None, None)
            self.scope = None
        if self.policy_before is not None:
            keras.mixed_precision.set_global_policy(self.policy_before)


def compute_dtypes(model):
    """{"hidden": [...], "output": [...]}: the compute dtypes of the layers that make the model's outputs, and of
    its other layers that have weights. A model made of models (a GAN, a VAE) gives its models' together."""
    outputs = model_outputs(model)
    if outputs is None:
        parts = [compute_dtypes(layer) for layer in model.layers if isinstance(layer, keras.Model)]
        return {key: sorted(set().union(*(part[key] for part in parts))) for key in ("hidden", "output")}
    hidden = set()
    for layer in model.layers:
        if any(layer is output for output in outputs):
            continue
        if isinstance(layer, keras.Model):  # a model used as a layer (e.g. a conv base): all of it is hidden
            hidden.update(*compute_dtypes(layer).values())
        elif layer.weights:
            hidden.add(layer.dtype_policy.compute_dtype)
    return {"hidden": sorted(hidden), "output": sorted({layer.dtype_policy.compute_dtype for layer in outputs})}


def variables_mirrored(model):
    """True when every weight of the model is a tf.distribute value (built inside a strategy's scope)."""
    import tensorflow as tf

    return bool(model.weights) and all(isinstance(w.value, tf.distribute.DistributedValues) for w in model.weights)


def model_outputs(model):
    """The layers whose outputs are the model's (a Sequential's last layer; a functional model's output layers)."""
    if isinstance(model, keras.Sequential):
        return model.layers[-1:]
    names = getattr(model, "output_names", None)
    return [model.get_layer(name) for name in names] if names else None


def worker_index():
    """This process's index among the workers of TF_CONFIG (0 is the chief, which writes the run's outputs).

    A TF_CONFIG that is not a JSON object, or whose task is not in its cluster, is a UsageError (one line).
    """
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as e:
        raise UsageError(f"TF_CONFIG is not valid JSON ({e.msg} at column {e.colno}); see the README's "
                         "Scaling up") from None
    task = (config.get("task") or {}) if isinstance(config, dict) else None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(task, dict) or not isinstance(cluster, (dict, type(None))):
        raise UsageError('TF_CONFIG is not {"cluster": {...}, "task": {"type": ..., "index": ...}}; see the '
                         "README's Scaling up")
    try:
        index = int(task.get("index", 0))
    except (TypeError, ValueError):
        raise UsageError(f"TF_CONFIG: task index {task.get('index')!r} is not a whole number") from None
    if cluster is not None:
        kind = task.get("type", "worker")
        members = cluster.get(kind) or []
        if not 0 <= index < len(members):
            raise UsageError(f"TF_CONFIG: task index {index}, but the cluster has {len(members)} {kind}"
                             f"{'' if len(members) == 1 else 's'}")
    return index


def setup_device(mixed_precision="off", distribute="none"):
    """Report versions and devices, configure the GPU, precision and distribution; returns a Device."""
    import tensorflow as tf

    logical_cpus = int(os.environ.get("DLWP_LOGICAL_CPUS", "0") or 0)
    if logical_cpus > 1:  # must come before TensorFlow initialises its devices
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        # Take GPU memory as needed rather than all of it at start.
        tf.config.experimental.set_memory_growth(gpu, True)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, Python {sys.version.split()[0]}")
    if gpus:
        names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
        print(f"Devices: {len(gpus)} GPU(s): {', '.join(names)} (memory growth on)")
    else:
        print(f"Devices: CPU only, {os.cpu_count()} cores")
    policy, why = precision_policy(mixed_precision, gpus, cpu_has_native_bfloat16())
    print(f"Precision: {why}")  # each section's ModelSession sets it as the global policy
    strategy = make_strategy(distribute, gpus)
    if strategy is not None:
        print(f"Distribution: {type(strategy).__name__}, {strategy.num_replicas_in_sync} replicas in sync"
              + (f", worker {worker_index()}" if distribute == "multiworker" else ""))
    return Device("GPU" if gpus else "CPU", policy or "float32", strategy, distribute, machine_description(),
                  git_commit())


@dataclass
class Device:
    kind: str  # "GPU" or "CPU": which measured compile settings apply
    precision: str  # the global dtype policy
    strategy: object = None  # a tf.distribute strategy, or None
    distribute: str = "none"
    machine: dict = None  # machine_description(): recorded beside every result
    commit: str = None  # the project's git commit when the run started

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1


def compile_settings(device, workload, overrides, steps_per_epoch=None, distributed=False):
    """jit_compile and steps_per_execution for model.compile(): the measured default, or the user's.

    With a fixed `steps_per_epoch`, steps_per_execution becomes a divisor of it
    (Keras rounds an epoch up to whole groups: 100 steps in groups of 16 ran 112).
    """
    settings = dict(PERFORMANCE_DEFAULTS[(device, workload)])
    if overrides.get("jit_compile", "auto") != "auto":
        settings["jit_compile"] = overrides["jit_compile"] == "on"
    if overrides.get("steps_per_execution") is not None:
        settings["steps_per_execution"] = overrides["steps_per_execution"]
    if steps_per_epoch:
        settings["steps_per_execution"] = math.gcd(steps_per_epoch, settings["steps_per_execution"])
    if distributed and settings["steps_per_execution"] > 1:
        # Keras 3.15's multi-step training loop fails under tf.distribute ("You must feed a value for
        # placeholder tensor"): one step per call there.
        settings["steps_per_execution"] = 1
        print("steps_per_execution=1 under --distribute (Keras 3.15 cannot run several steps per call there)")
    print(f"Compile settings ({workload} model on {device}): " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return settings
