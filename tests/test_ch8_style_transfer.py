"""Chapter 8.3: losses against NumPy, the VGG19 extractor, both optimisers, weights and the CLI.

Small images (32-64 pixels) and an untrained VGG19: no network, no ../shared.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from chapters import ch8_style_transfer as ch8
from models import vgg_style
from models.vgg_style import VGG19_NOTOP_BOOK_PARAMS
from tests.conftest import results_of, run_cli

MODULE = "chapters.ch8_style_transfer"


@pytest.fixture(scope="module")
def extractor():
    keras.utils.set_random_seed(0)
    return vgg_style.build_feature_extractor(vgg_style.build_vgg19("random"))


def numpy_gram(x):
    features = x.transpose(2, 0, 1).reshape(x.shape[2], -1).astype(np.float64)
    return features @ features.T


# ---------------------------------------------------------------------------
# Losses against NumPy
# ---------------------------------------------------------------------------

def test_losses_match_numpy_references():
    rng = np.random.default_rng(0)
    style, combination = rng.normal(size=(2, 5, 4, 6)).astype("float32")
    np.testing.assert_allclose(ch8.gram_matrix(style).numpy(), numpy_gram(style), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(float(ch8.content_loss(style, combination)),
                               np.sum((combination.astype(np.float64) - style) ** 2), rtol=1e-5)
    size = 37 * 23
    expected = np.sum((numpy_gram(style) - numpy_gram(combination)) ** 2) / (4.0 * 9 * size ** 2)
    np.testing.assert_allclose(float(ch8.style_loss(style, combination, size)), expected, rtol=1e-5)
    image = rng.normal(size=(1, 6, 7, 3)).astype("float32")
    x = image.astype(np.float64)
    a = (x[:, :-1, :-1, :] - x[:, 1:, :-1, :]) ** 2
    b = (x[:, :-1, :-1, :] - x[:, :-1, 1:, :]) ** 2
    np.testing.assert_allclose(float(ch8.total_variation_loss(tf.constant(image))), np.sum((a + b) ** 1.25),
                               rtol=1e-5)


def test_preprocess_then_deprocess_returns_the_image():
    pixels = np.random.default_rng(1).integers(0, 256, size=(32, 40, 3), dtype=np.uint8)
    x = ch8.preprocess_image(pixels, 32, 40)
    assert x.shape == (1, 32, 40, 3)
    # BGR, mean-centred: the blue channel of pixel (0, 0) minus ImageNet's blue mean.
    np.testing.assert_allclose(x[0, 0, 0, 0], pixels[0, 0, 2] - 103.939, rtol=1e-5)
    np.testing.assert_array_equal(ch8.deprocess_image(x), pixels)


# ---------------------------------------------------------------------------
# The extractor and the two loss steps
# ---------------------------------------------------------------------------

def test_vgg19_has_the_books_parameters_and_the_extractor_six_layers(extractor):
    vgg = vgg_style.build_vgg19("random")
    assert [layer.count_params() for layer in vgg.layers] == VGG19_NOTOP_BOOK_PARAMS
    assert vgg.count_params() == vgg_style.VGG19_NOTOP_TOTAL == 20_024_384
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
    content_image = ch8.preprocess_image(content, height, width)
    style_image = ch8.preprocess_image(style, height, width)
    targets = ch8.compute_targets(extractor, content_image, style_image)
    ours = ch8.make_loss_and_grads(ch8.make_loss_function(extractor, targets, recipe, height * width))
    book = ch8.make_loss_and_grads(
        ch8.make_book_loss_function(extractor, content_image, style_image, recipe, height * width))
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
# Weights: the message a user without the ImageNet file gets
# ---------------------------------------------------------------------------

def test_failed_download_gives_the_missing_weights_message(monkeypatch):
    from datasets import DataNotFoundError

    monkeypatch.delenv("DLWP_OFFLINE")
    real_vgg19 = keras.applications.VGG19

    def offline_vgg19(*args, weights="imagenet", **kwargs):
        if weights == "imagenet":
            raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")
        return real_vgg19(*args, weights=weights, **kwargs)

    monkeypatch.setattr(keras.applications, "VGG19", offline_vgg19)
    with pytest.raises(DataNotFoundError) as error:
        vgg_style.build_vgg19("imagenet")
    message = str(error.value)
    assert "\n" not in message
    for part in (vgg_style.WEIGHTS_FILE, vgg_style.WEIGHTS_URL, "about 80 MB", "download failed",
                 str(vgg_style.keras_models_dir()), "--weights random"):
        assert part in message


def test_weights_from_the_cache_or_a_named_file(tmp_path, monkeypatch):
    from datasets import DataError, DataNotFoundError

    with pytest.raises(DataNotFoundError, match="DLWP_OFFLINE"):
        vgg_style.build_vgg19("imagenet")
    with pytest.raises(DataNotFoundError, match="no such file"):
        vgg_style.build_vgg19(str(tmp_path / "missing.h5"))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an HDF5 file")
    with pytest.raises(DataError, match="not VGG19 no-top weights"):
        vgg_style.build_vgg19(str(junk))
    # A real weights file in the Keras cache is used without any download.
    saved = vgg_style.build_vgg19("random")
    cache = vgg_style.keras_models_dir()
    cache.mkdir(parents=True)
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    # The ImageNet file is in the legacy layer-by-layer HDF5 format; write one like it.
    with h5py.File(cache / vgg_style.WEIGHTS_FILE, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, saved)
    loaded = vgg_style.build_vgg19("imagenet")
    np.testing.assert_array_equal(loaded.get_layer("block1_conv1").kernel.numpy(),
                                  saved.get_layer("block1_conv1").kernel.numpy())


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


def test_quick_run_with_random_weights_writes_its_images(tmp_path):
    from PIL import Image

    content, style = tmp_path / "content.png", tmp_path / "painting.jpg"
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(content)
    Image.fromarray(rng.integers(0, 256, (70, 50, 3), dtype=np.uint8)).save(style)
    result = run_cli(MODULE, "--quick", "--weights", "random", "--content", content, "--style", style,
                     "--height", "40", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = next((tmp_path / "out").glob("8.3-*"))
    for name in ("result_untrained-vgg19.png", "side_by_side_untrained-vgg19.png", "loss_untrained-vgg19.png",
                 "iterations/iteration_0001_untrained-vgg19.png", "iterations/iteration_0002_untrained-vgg19.png",
                 "loss_history.json", "loss_history.csv"):
        assert (run_dir / name).is_file(), name
    with Image.open(run_dir / "result_untrained-vgg19.png") as image:
        assert image.size == (53, 40)  # 40 high, width by the content's aspect ratio
        assert "UNTRAINED" in image.text["Description"]
    results = results_of(tmp_path / "out")
    assert "UNTRAINED" in results["weights"]["value"]
    assert results["loss after 2 iterations"]["value"] < results["loss at the start"]["value"]
    history = json.loads((run_dir / "loss_history.json").read_text())
    assert history["iteration"] == [1, 2] and "UNTRAINED" in history["weights"]


def run_in_process(capsys, *args):
    """CHAPTER.main() in this process (no second TensorFlow start-up): (exit code, stdout, stderr)."""
    code = 0
    try:
        ch8.CHAPTER.main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_only_matches_the_book(tmp_path, capsys):
    code, out, _ = run_in_process(capsys, "--summary-only", "--output-dir", tmp_path / "out")
    assert code == 0
    assert "MATCH: all 22 layers and the total (20,024,384 parameters)" in out


def test_missing_weights_stop_the_cli_in_one_line(tmp_path):
    # No ImageNet weights here (DLWP_OFFLINE=1): the default --weights imagenet stops with the message.
    result = run_cli(MODULE, "--quick", "--output-dir", tmp_path / "out", cwd=tmp_path)
    assert_one_line_error(result, vgg_style.WEIGHTS_FILE, "--weights random", "keras_home/models")


def test_cli_refuses_bad_input_in_one_line(tmp_path, capsys):
    (tmp_path / "notes.jpg").write_text("not an image")
    cases = [(["--height", "10"], "--height 10"),
             (["--content", tmp_path / "notes.jpg"], "not an image"),
             (["--style", "no_such_painting"], "style_images"),
             (["--content", tmp_path / "nothing.png"], "not found")]
    for args, words in cases:
        code, _, err = run_in_process(capsys, "--weights", "random", "--output-dir", tmp_path / "out", *args)
        assert code == 2 and "Traceback" not in err
        lines = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and words in lines[0], err


def test_interrupted_run_keeps_the_last_image_and_history(tmp_path, monkeypatch):
    calls = {"n": 0}
    real_iteration = ch8.LbfgsOptimizer.iteration

    def interrupted_iteration(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_iteration(self)

    monkeypatch.setattr(ch8.LbfgsOptimizer, "iteration", interrupted_iteration)
    with pytest.raises(SystemExit) as exit_info:
        ch8.CHAPTER.main(["--quick", "--weights", "random", "--height", "32", "--iterations", "5",
                          "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 130
    run_dir = next((tmp_path / "out").glob("8.3-*"))
    assert (run_dir / "result_untrained-vgg19.png").is_file()
    assert json.loads((run_dir / "loss_history.json").read_text())["iteration"] == [1, 2]
    # --resume continues from the saved image, in the same run folder.
    monkeypatch.setattr(ch8.LbfgsOptimizer, "iteration", real_iteration)
    ch8.CHAPTER.main(["--quick", "--weights", "random", "--height", "32", "--iterations", "5", "--resume",
                      "--output-dir", str(tmp_path / "out")])
    history = json.loads((run_dir / "loss_history.json").read_text())
    assert history["iteration"] == [1, 2, 3, 4, 5]
    assert history["loss"][-1] < history["loss"][1]
    assert (run_dir / "iterations" / "iteration_0005_untrained-vgg19.png").is_file()


def test_bfloat16_vgg19_gives_nearly_the_float32_loss():
    full = vgg_style.build_vgg19("random")
    extractor = vgg_style.build_feature_extractor(full)
    vgg = vgg_style.build_vgg19("random", dtype_policy="mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "float32"  # left as it was
    vgg.set_weights(full.get_weights())
    bf16_extractor = vgg_style.build_feature_extractor(vgg)
    content_image, ours, _ = small_problem(extractor)
    bf16_content, bf16_ours, _ = small_problem(bf16_extractor)
    combination = tf.constant(content_image + 5.0)
    loss, grads = ours(combination)
    bf16_loss, bf16_grads = bf16_ours(combination)
    assert bf16_loss.dtype == tf.float32 and bf16_grads.dtype == tf.float32
    assert float(bf16_loss) == pytest.approx(float(loss), rel=1e-2)
    assert float(tf.norm(bf16_grads - grads) / tf.norm(grads)) < 0.05
