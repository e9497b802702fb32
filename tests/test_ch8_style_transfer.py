"""Chapter 8.3: losses against NumPy, the VGG19 extractor, both optimisers, weights and the CLI.

Small images (32-64 pixels) and an untrained VGG19: no network, no ../shared.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from chapters.ch8_generative import CHAPTER
from chapters.ch8_generative import style_transfer as ch8
from chapters.ch8_generative import style_transfer_images as ch8_images
from chapters.ch8_generative import style_transfer_losses as ch8_losses
from models import vgg_style
from models.vgg_style import VGG19_NOTOP_BOOK_PARAMS
from tests.helpers import layer_params, results_of, run_folders, run_in_process

MODULE = "chapters.ch8_style_transfer"  # the command from before chapter 8 grew: it runs 8.3


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)
    return vgg_style.feature_extractor(vgg_style.vgg19_without_top("random"))


def numpy_gram(x):
    features = x.transpose(2, 0, 1).reshape(x.shape[2], -1).astype(np.float64)
    return features @ features.T


# ---------------------------------------------------------------------------
# Losses against NumPy
# ---------------------------------------------------------------------------

def test_losses_match_numpy_references():
    rng = np.random.default_rng(0)
    style, combination = rng.normal(size=(2, 5, 4, 6)).astype("float32")
    np.testing.assert_allclose(ch8_losses.gram_matrix(style).numpy(), numpy_gram(style), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(float(ch8_losses.content_loss(style, combination)),
                               np.sum((combination.astype(np.float64) - style) ** 2), rtol=1e-5)
    size = 37 * 23
    expected = np.sum((numpy_gram(style) - numpy_gram(combination)) ** 2) / (4.0 * 9 * size ** 2)
    np.testing.assert_allclose(float(ch8_losses.style_loss(style, combination, size)), expected, rtol=1e-5)
    image = rng.normal(size=(1, 6, 7, 3)).astype("float32")
    x = image.astype(np.float64)
    a = (x[:, :-1, :-1, :] - x[:, 1:, :-1, :]) ** 2
    b = (x[:, :-1, :-1, :] - x[:, :-1, 1:, :]) ** 2
    np.testing.assert_allclose(float(ch8_losses.total_variation_loss(tf.constant(image))), np.sum((a + b) ** 1.25),
                               rtol=1e-5)


def test_preprocess_then_deprocess_returns_the_image():
    pixels = np.random.default_rng(1).integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    x = ch8_images.preprocess_image(pixels, 32, 40)
    assert x.shape == (1, 32, 40, 3)
    # BGR, mean-centred: the blue channel of pixel (0, 0) minus ImageNet's blue mean.
    np.testing.assert_allclose(x[0, 0, 0, 0], pixels[0, 0, 2] - 103.939, rtol=1e-5)
    np.testing.assert_array_equal(ch8_images.deprocess_image(x), pixels)


# ---------------------------------------------------------------------------
# The extractor and the two loss steps
# ---------------------------------------------------------------------------

def test_vgg19_has_the_books_parameters_and_the_extractor_six_layers(extractor):
    vgg = vgg_style.vgg19_without_top("random")
    assert layer_params(vgg) == VGG19_NOTOP_BOOK_PARAMS and vgg.count_params() == 20_024_384
    features = extractor(np.zeros((1, 64, 48, 3), "float32"))
    shapes = {name: tuple(value.shape) for name, value in features.items()}
    assert shapes == {"block1_conv1": (1, 64, 48, 64), "block2_conv1": (1, 32, 24, 128),
                      "block3_conv1": (1, 16, 12, 256), "block4_conv1": (1, 8, 6, 512),
                      "block5_conv1": (1, 4, 3, 512), "block5_conv2": (1, 4, 3, 512)}
    # Cut at block5_conv2: the last two convolutions and the last pooling never run.
    names = [layer.name for layer in extractor.layers]
    assert "block5_conv3" not in names and "block5_pool" not in names


def small_problem(extractor, height=32, width=40, recipe=ch8.RECIPES[1]):
    rng = np.random.default_rng(2)
    content = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    style = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    content_image = ch8_images.preprocess_image(content, height, width)
    style_image = ch8_images.preprocess_image(style, height, width)
    targets = ch8_losses.compute_targets(extractor, content_image, style_image)
    ours = ch8_losses.make_loss_and_grads(ch8_losses.make_loss_function(extractor, targets, recipe, height * width))
    book = ch8_losses.make_loss_and_grads(
        ch8_losses.make_book_loss_function(extractor, content_image, style_image, recipe, height * width))
    return content_image, ours, book


def test_precomputed_targets_give_the_books_loss_and_gradient(extractor):
    content_image, ours, book = small_problem(extractor)
    combination = tf.constant(content_image + np.random.default_rng(3).normal(0, 20, content_image.shape)
                              .astype("float32"))
    our_loss, our_grads = ours(combination)
    book_loss, book_grads = book(combination)
    assert float(our_loss) > 0
    np.testing.assert_allclose(float(our_loss), float(book_loss), rtol=1e-5)
    assert float(tf.norm(our_grads - book_grads) / tf.norm(book_grads)) < 1e-4


def test_a_few_lbfgs_and_sgd_steps_lower_the_loss(extractor):
    content_image, ours, _ = small_problem(extractor, recipe=ch8.RECIPES[1])
    start = float(ours(tf.constant(content_image))[0])
    lbfgs = ch8.LbfgsOptimizer(ours, content_image, evaluations=5)
    losses = [lbfgs.iteration() for _ in range(2)]
    assert losses[-1] < start * 0.9
    assert float(ours(tf.constant(lbfgs.image))[0]) == pytest.approx(losses[-1], rel=1e-4)

    content_image, ours, _ = small_problem(extractor, recipe=ch8.RECIPES[2])
    start = float(ours(tf.constant(content_image))[0])
    sgd = ch8.SgdOptimizer(ours, content_image, learning_rate=100.0)
    for _ in range(5):
        sgd.iteration()
    assert float(ours(tf.constant(sgd.image))[0]) < start
    assert int(sgd.optimizer.iterations) == 5


# ---------------------------------------------------------------------------
# The recipes
# ---------------------------------------------------------------------------

def test_the_first_edition_is_lbfgs_20_iterations_of_20_evaluations_with_weights_0_025_1_1e_4():
    assert ch8.RECIPES[1] == ch8.Recipe(content_weight=0.025, style_weight=1.0, total_variation_weight=1e-4,
                                        optimizer="lbfgs", iterations=20, save_every=1, learning_rate=100.0,
                                        lbfgs_evaluations=20, height=400)


def test_the_second_edition_is_sgd_4000_steps_saving_every_100_with_weights_2_5e_8_1e_6_1e_6():
    assert ch8.RECIPES[2] == ch8.Recipe(content_weight=2.5e-8, style_weight=1e-6, total_variation_weight=1e-6,
                                        optimizer="sgd", iterations=4000, save_every=100, learning_rate=100.0,
                                        lbfgs_evaluations=20, height=400)


def test_the_content_layer_is_block5_conv2_and_the_style_layers_each_blocks_first():
    assert vgg_style.CONTENT_LAYER == "block5_conv2"
    assert vgg_style.STYLE_LAYERS == ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


def test_quick_runs_are_64_pixels_2_iterations_of_5_evaluations():
    assert (ch8.QUICK_HEIGHT, ch8.QUICK_ITERATIONS, ch8.QUICK_LBFGS_EVALUATIONS) == (64, 2, 5)


def test_the_total_loss_weighs_content_style_over_five_layers_and_variation(extractor):
    height, width = 32, 40
    recipe = ch8.Recipe(content_weight=0.3, style_weight=2.0, total_variation_weight=0.01, optimizer="lbfgs",
                        iterations=1, save_every=1)
    rng = np.random.default_rng(5)
    content, style, combination = (ch8_images.preprocess_image(rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
                                                        height, width) for _ in range(3))
    targets = ch8_losses.compute_targets(extractor, content, style)
    loss = float(ch8_losses.make_loss_function(extractor, targets, recipe, height * width)(tf.constant(combination)))
    c, s, x = extractor(content), extractor(style), extractor(combination)
    expected = 0.3 * float(ch8_losses.content_loss(c["block5_conv2"][0], x["block5_conv2"][0]))
    expected += sum(2.0 / 5 * float(ch8_losses.style_loss(s[name][0], x[name][0], height * width))
                    for name in vgg_style.STYLE_LAYERS)
    expected += 0.01 * float(ch8_losses.total_variation_loss(tf.constant(combination)))
    assert loss == pytest.approx(expected, rel=1e-4)


def test_sgd_decays_the_learning_rate_by_0_96_every_100_steps(extractor):
    content_image, ours, _ = small_problem(extractor, recipe=ch8.RECIPES[2])
    sgd = ch8.SgdOptimizer(ours, content_image, learning_rate=100.0)
    schedule = sgd.optimizer._learning_rate
    assert [float(schedule(step)) for step in (0, 100, 200)] == pytest.approx([100.0, 96.0, 92.16])


def test_an_lbfgs_iteration_spends_at_most_its_20_evaluations(extractor):
    content_image, ours, _ = small_problem(extractor)
    calls = []

    def counted(image):
        calls.append(1)
        return ours(image)

    ch8.LbfgsOptimizer(counted, content_image, evaluations=ch8.RECIPES[1].lbfgs_evaluations).iteration()
    assert 15 <= len(calls) <= 21


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------

def assert_one_line_error(result, *words):
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-2000:]
    for word in words:
        assert word in lines[0]


def test_a_quick_run_with_random_weights_writes_its_images_marked_untrained(tmp_path):
    from PIL import Image

    content, style = tmp_path / "content.png", tmp_path / "painting.jpg"
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 256, (70, 50, 3), dtype=np.uint8)).save(style)
    code, _, err = run_8_3("--quick", "--weights", "random", "--content", content, "--style", style, "--height", "40",
                           "--output-dir", tmp_path / "out")
    assert code == 0, err[-3000:]
    run_dir = run_folders(tmp_path / "out", "8.3")[-1]
    for name in ("result_untrained-vgg19.png", "side_by_side_untrained-vgg19.png", "loss_untrained-vgg19.png",
                 "iterations/iteration_0001_untrained-vgg19.png", "iterations/iteration_0002_untrained-vgg19.png",
                 "loss_history.json", "loss_history.csv", "state.npz"):
        assert (run_dir / name).is_file(), name
    with Image.open(run_dir / "result_untrained-vgg19.png") as image:
        assert image.size == (53, 40)  # 40 high, width by the content's aspect ratio
        assert "UNTRAINED" in image.text["Description"]
    results = results_of(tmp_path / "out")
    assert "UNTRAINED" in results["weights"]["value"]
    assert results["final_loss"]["value"] < results["loss_at_start"]["value"]


def test_summary_only_matches_the_book_without_any_weights(tmp_path):
    code, _, err = run_8_3("--summary-only", "--output-dir", tmp_path / "out")
    assert code == 0, err
    assert results_of(tmp_path / "out")["book_check.vgg19"]["value"] == "MATCH"


def test_missing_weights_stop_the_cli_in_one_line(tmp_path):
    code, _, err = run_8_3("--quick", "--output-dir", tmp_path / "out")
    assert code == 2 and err.count("\n") == 1
    for word in ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "--weights random", "keras_home/models"):
        assert word in err


@pytest.mark.parametrize("args, words", [
    (["--height", "10"], "--height 10"),
    (["--style", "no_such_painting"], "style_images"),
    (["--content", "nothing.png"], "not found"),
])
def test_bad_input_is_refused_in_one_line(tmp_path, args, words):
    code, _, err = run_8_3("--weights", "random", "--output-dir", tmp_path / "out", *args)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(lines) == 1 and words in lines[0], err


def test_a_file_that_is_not_a_picture_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    code, _, err = run_8_3("--weights", "random", "--content", tmp_path / "notes.jpg",
                                  "--output-dir", tmp_path / "out")
    assert code == 2 and "not an image" in err and err.count("\n") == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_loss_weight_that_is_not_finite_is_refused(value):
    code, _, err = run_8_3(f"--style-weight={value}")
    assert code == 2 and f"argument --style-weight: must be a finite number, got {value}" in err


@pytest.mark.parametrize("flag, value, refusal", [
    ("--learning-rate", "-5", "must be positive, got -5.0"), ("--learning-rate", "0", "must be positive, got 0.0"),
    ("--content-weight", "-1", "must be 0 or more, got -1.0"), ("--style-weight", "-1", "must be 0 or more, got -1.0"),
    ("--total-variation-weight", "-1", "must be 0 or more, got -1.0"),
])
def test_a_negative_learning_rate_or_loss_weight_is_refused(flag, value, refusal):
    code, _, err = run_8_3(f"{flag}={value}")
    assert code == 2 and f"argument {flag}" in err and refusal in err


def test_a_loss_weight_of_0_is_allowed():
    from chapters.ch8_generative.arguments import non_negative_number

    assert non_negative_number("0") == 0.0


def test_a_loss_that_becomes_nan_stops_the_run_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(ch8.LbfgsOptimizer, "iteration", lambda self: float("nan"))
    code, _, err = run_8_3("--quick", "--weights", "random", "--height", "32",
                                  "--output-dir", tmp_path / "out")
    assert code == 1 and "error: the loss became nan at iteration 1" in err and err.count("\n") == 1


def run_8_3(*args):
    return run_in_process(CHAPTER, ["8.3", *args])


def interrupt_at_iteration(monkeypatch, n):
    calls = {"n": 0}
    real_iteration = ch8.LbfgsOptimizer.iteration

    def interrupted_iteration(self):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real_iteration(self)

    monkeypatch.setattr(ch8.LbfgsOptimizer, "iteration", interrupted_iteration)
    return real_iteration


QUICK_ARGS = ["--quick", "--weights", "random", "--height", "32", "--iterations", "5"]


def test_an_interrupted_run_resumes_from_its_saved_image_and_keeps_the_starting_loss(tmp_path, monkeypatch):
    real_iteration = interrupt_at_iteration(monkeypatch, 3)
    code, _, err = run_8_3(*QUICK_ARGS, "--output-dir", tmp_path / "out")
    assert code == 130 and "stopped after iteration 2" in err
    run_dir = run_folders(tmp_path / "out", "8.3")[-1]
    first_history = json.loads((run_dir / "loss_history.json").read_text())
    assert first_history["iteration"] == [1, 2]
    with np.load(run_dir / "state.npz") as state:
        saved_image, saved_iteration = state["image"], int(state["iteration"])
    assert saved_iteration == 2

    monkeypatch.setattr(ch8.LbfgsOptimizer, "iteration", real_iteration)
    starts = []
    real_make_optimizer = ch8.make_optimizer
    monkeypatch.setattr(ch8, "make_optimizer", lambda name, f, image, *rest: starts.append(image) or
                        real_make_optimizer(name, f, image, *rest))
    code, _, err = run_8_3(*QUICK_ARGS, "--resume", "--output-dir", tmp_path / "out")
    assert code == 0, err
    np.testing.assert_array_equal(starts[0], saved_image)  # not the content image
    history = json.loads((run_dir / "loss_history.json").read_text())
    assert history["iteration"] == [1, 2, 3, 4, 5] and history["loss"][:2] == first_history["loss"]
    results = results_of(tmp_path / "out")
    assert results["loss_at_start"]["value"] == first_history["initial_loss"]  # the run's start, not the resume's
    assert results["final_loss"]["value"] < first_history["loss"][-1]


def test_resume_with_another_height_is_refused_in_one_line(tmp_path, monkeypatch):
    interrupt_at_iteration(monkeypatch, 2)
    run_8_3(*QUICK_ARGS, "--output-dir", tmp_path / "out")
    code, _, err = run_8_3("--quick", "--weights", "random", "--height", "48", "--iterations", "5",
                                  "--resume", "--output-dir", tmp_path / "out")
    assert code == 2 and "was made with other options: --height 32 (now 48)" in err and err.count("\n") == 1


def test_bfloat16_vgg19_gives_nearly_the_float32_loss():
    full = vgg_style.vgg19_without_top("random")
    extractor = vgg_style.feature_extractor(full)
    vgg = vgg_style.vgg19_without_top("random", dtype_policy="mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"  # left as it was
    vgg.set_weights(full.get_weights())
    bf16_extractor = vgg_style.feature_extractor(vgg)
    content_image, ours, _ = small_problem(extractor)
    bf16_content, bf16_ours, _ = small_problem(bf16_extractor)
    combination = tf.constant(content_image + 5.0)
    loss, grads = ours(combination)
    bf16_loss, bf16_grads = bf16_ours(combination)
    assert bf16_loss.dtype == tf.float32 and bf16_grads.dtype == tf.float32
    assert float(bf16_loss) == pytest.approx(float(loss), rel=1e-2)
    assert float(tf.norm(bf16_grads - grads) / tf.norm(grads)) < 0.05
