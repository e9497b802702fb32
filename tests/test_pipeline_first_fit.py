"""What each section hands its first training, stopped at run.fit before any step: the training data in a new order
every epoch, the same (sample, label) pairs each time, and the validation data in one order.

tests/test_pipeline_fidelity.py walks 3.7, 5.2, 6.3, 5.3 and 9.3 through whole trainings; these are the sections
whose pipelines only need looking at (a section's own code builds them inline, so the section runs up to its fit).
"""

import importlib

import numpy as np
import pytest

from tests.helpers import assert_reshuffled_each_epoch, assert_same_order_each_pass, first_fit, make_split_folder


def write_mnist(data, count=64):
    """mnist/mnist.npz: every digit a different noise picture, labelled i % 10."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
    labels = (np.arange(count) % 10).astype(np.uint8)
    (data / "mnist").mkdir(parents=True)
    np.savez(data / "mnist" / "mnist.npz", x_train=images, y_train=labels, x_test=images[:16], y_test=labels[:16])


def write_nietzsche(data):
    words = ["will", "to", "power", "truth", "is", "a", "woman", "what", "then?", "free", "spirit", "evil."]
    (data / "nietzsche").mkdir(parents=True)
    text = "PREFACE\n\n" + " ".join(np.random.default_rng(0).choice(words, 300))
    (data / "nietzsche" / "nietzsche.txt").write_text(text, encoding="utf-8")


def write_pets(data):
    from tests.test_ch9_advanced_vision import write_pets

    write_pets(data / "oxford_pets", count=30)  # 6 validation pairs: a shuffle would show


def write_dogs_vs_cats(data):
    make_split_folder(data / "cats_and_dogs_small")


# section, its chapter, its data, more arguments
SECTIONS = {
    "2.1": ("chapters.ch2_building_blocks", write_mnist, ["--batch-size", "8"]),
    "5.1": ("chapters.ch5_convnets", write_mnist, ["--batch-size", "8"]),
    "8.1": ("chapters.ch8_generative", write_nietzsche, ["--edition", "1", "--batch-size", "64"]),
    "9.2": ("chapters.ch9_advanced_vision", write_pets, ["--batch-size", "2"]),
    "9.3": ("chapters.ch9_advanced_vision", write_dogs_vs_cats, ["--batch-size", "4"]),
    "17.2": ("chapters.ch17_diffusion", write_mnist, ["--batch-size", "8"]),
}


@pytest.fixture
def fit_call(request, tmp_path):
    section = request.param
    chapter, write_data, extra = SECTIONS[section]
    write_data(tmp_path / "data")
    return first_fit(importlib.import_module(chapter).CHAPTER,
                     [section, "--quick", "--data-dir", tmp_path / "data", "--output-dir", tmp_path / "out", *extra],
                     cwd=tmp_path)


@pytest.mark.parametrize("fit_call", list(SECTIONS), indirect=True)
def test_training_data_comes_in_a_new_order_each_epoch_with_each_label_kept_by_its_sample(fit_call):
    assert_reshuffled_each_epoch(fit_call["train"], fit_call["steps"])


@pytest.mark.parametrize("fit_call", ["9.2", "9.3"], indirect=True)  # the others validate on nothing
def test_validation_data_comes_in_the_same_order_each_pass(fit_call):
    assert_same_order_each_pass(fit_call["validation"])
