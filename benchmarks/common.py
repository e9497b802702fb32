"""Small helpers shared by the benchmark scripts: argument parsing and the JSON report."""

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def benchmark_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (numbers are meaningless)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each recipe, alternating")
    parser.add_argument("--data-dir", help="folder with the datasets (else $DLWP_DATA_DIR, ./data, Keras cache)")
    parser.add_argument("--output", help="JSON file to write (default outputs/benchmarks/<name>.json)")
    return parser


def machine_info():
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "gpus": [g.name for g in gpus], "date": time.strftime("%Y-%m-%d %H:%M")}


def write_report(name, report, output=None):
    from chapters.common import save_json

    path = Path(output or Path("outputs") / "benchmarks" / f"{name}.json")
    report = {"benchmark": name, "machine": machine_info(), **report}
    save_json(path, report)
    print(json.dumps(report, indent=2))
    print(f"Wrote {path}")
    return path
