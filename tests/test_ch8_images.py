"""datasets/images.py: content and style images in every mode a user may hand us."""

import numpy as np
import pytest
from PIL import Image

from datasets import DataError, DataNotFoundError
from datasets.images import DEFAULT_CONTENT, DEFAULT_STYLE, MAX_SIDE, load_image, target_size


def save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_rgb_loads_unchanged(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    loaded = load_image(str(save(tmp_path, "a.png", Image.fromarray(pixels))))
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert loaded.notes == []
    assert target_size(loaded, 400) == (400, 500)


@pytest.mark.parametrize("mode, note", [("L", "grayscale"), ("CMYK", "CMYK"), ("P", "palette")])
def test_other_modes_become_rgb_with_a_note(tmp_path, mode, note):
    image = Image.new("RGB", (40, 40), (200, 100, 50)).convert(mode)
    suffix = "jpg" if mode == "CMYK" else "png"
    loaded = load_image(str(save(tmp_path, f"a.{suffix}", image)))
    assert loaded.pixels.shape == (40, 40, 3) and loaded.pixels.dtype == np.uint8
    assert any(note in n for n in loaded.notes)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[:20, :, :] = (255, 0, 0, 255)  # opaque red on top, transparent below
    loaded = load_image(str(save(tmp_path, "a.png", Image.fromarray(rgba, "RGBA"))))
    assert tuple(loaded.pixels[0, 0]) == (255, 0, 0)
    assert tuple(loaded.pixels[39, 0]) == (255, 255, 255)
    assert any("transparency" in n for n in loaded.notes)


def test_16_bit_grayscale_is_scaled_to_8_bits(tmp_path):
    array = np.full((40, 40), 65535, dtype=np.uint16)
    array[:, :20] = 0
    loaded = load_image(str(save(tmp_path, "a.png", Image.fromarray(array))))
    assert tuple(loaded.pixels[0, 30]) == (255, 255, 255) and tuple(loaded.pixels[0, 0]) == (0, 0, 0)
    assert any("16" in n for n in loaded.notes)


def test_very_large_images_are_shrunk_with_a_note(tmp_path):
    loaded = load_image(str(save(tmp_path, "wide.png", Image.new("RGB", (MAX_SIDE + 1024, 50)))))
    assert loaded.width == MAX_SIDE and loaded.height == 40
    assert any("shrunk" in n for n in loaded.notes)


def test_unusable_files_are_refused_in_one_line(tmp_path):
    (tmp_path / "text.jpg").write_text("hello")
    cases = [(str(tmp_path / "missing.jpg"), DataNotFoundError, "not found"),
             (str(tmp_path / "text.jpg"), DataError, "not an image"),
             (str(save(tmp_path, "tiny.png", Image.new("RGB", (20, 100)))), DataError, "at least 32"),
             (str(tmp_path), DataError, "folder")]
    truncated = tmp_path / "truncated.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    cases.append((str(truncated), DataError, "unreadable"))
    for spec, error, words in cases:
        with pytest.raises(error) as info:
            load_image(spec)
        assert words in str(info.value) and "\n" not in str(info.value)


def test_names_are_found_in_the_data_dir_and_defaults_ship_with_scikit_image(tmp_path):
    folder = tmp_path / "data" / "style_images"
    folder.mkdir(parents=True)
    save(folder, "starry_night.jpg", Image.new("RGB", (64, 48), (10, 20, 200)))
    assert load_image("starry_night", "style", str(tmp_path / "data")).pixels.shape == (48, 64, 3)
    assert load_image("starry_night").source.endswith("starry_night.jpg")  # ./data is searched too
    assert load_image(DEFAULT_CONTENT).pixels.shape == (512, 512, 3)
    assert load_image(DEFAULT_STYLE).pixels.ndim == 3
    with pytest.raises(DataError, match="unknown scikit-image picture"):
        load_image("skimage:nothing")
