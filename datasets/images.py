"""Content and style images for neural style transfer (DLwP 8.3).

`load_image(spec, role, data_dir)` accepts a file path, or the name of an image
in `<data dir>/style_images/` ("starry_night" finds starry_night.jpg), or one
of the images that ship with scikit-image (`DEFAULT_CONTENT`, `DEFAULT_STYLE`),
so the chapter runs on any machine with the requirements installed.

It returns an RGB uint8 array and a list of notes about what it converted
(grayscale, alpha, CMYK, 16-bit, very large). Files it cannot use raise
`datasets.DataError` (missing: `DataNotFoundError`) with a one-line message.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datasets.paths import DataError, DataNotFoundError, find_data_file, searched_locations

# VGG19 halves the image five times: below 32 pixels the deepest layers have nothing left.
MIN_SIDE = 32
# Larger images are shrunk on load (the network only needs --height pixels anyway).
MAX_SIDE = 4096

# Defaults on every machine: images inside the scikit-image package.
DEFAULT_CONTENT = "skimage:astronaut"  # NASA portrait of Eileen Collins, public domain
DEFAULT_STYLE = "skimage:hubble_deep_field"  # Hubble Deep Field, NASA, public domain
SKIMAGE_FILES = {"astronaut": "astronaut.png", "chelsea": "chelsea.png", "coffee": "coffee.png",
                 "hubble_deep_field": "hubble_deep_field.jpg", "rocket": "rocket.jpg"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@dataclass
class LoadedImage:
    pixels: np.ndarray  # (height, width, 3) uint8 RGB
    source: str
    notes: list = field(default_factory=list)

    @property
    def height(self):
        return self.pixels.shape[0]

    @property
    def width(self):
        return self.pixels.shape[1]


def resolve_image_path(spec, data_dir=None):
    """A path, a name in <data dir>/style_images/, or skimage:<name> -> an existing file."""
    if spec.startswith("skimage:"):
        import skimage.data

        name = spec.split(":", 1)[1]
        if name not in SKIMAGE_FILES:
            raise DataError(f"{spec}: unknown scikit-image picture; choose one of "
                            + ", ".join(f"skimage:{n}" for n in SKIMAGE_FILES))
        path = Path(skimage.data.__file__).parent / SKIMAGE_FILES[name]
        if not path.is_file():
            raise DataNotFoundError(f"{spec}: {path} is missing; reinstall scikit-image "
                                    f"(pip install scikit-image==0.26.0)")
        return path
    path = Path(spec).expanduser()
    if path.exists():
        if path.is_dir():
            raise DataError(f"{spec} is a folder, not an image file")
        return path
    # Not a path: try it as the name of a painting or photo in <data dir>/style_images/.
    if "/" not in spec and "\\" not in spec:
        names = [f"style_images/{spec}"] + [f"style_images/{spec}{suffix}" for suffix in IMAGE_SUFFIXES]
        found = find_data_file(names, data_dir)
        if found is not None:
            return found
        where = searched_locations([f"style_images/{spec}[.jpg|.png|...]"], data_dir).replace("\n", ";")
        raise DataNotFoundError(f"image {spec!r} not found: no such file, nor in{where}")
    raise DataNotFoundError(f"image {spec!r} not found: no such file")


def load_image(spec, role="content", data_dir=None, min_side=MIN_SIDE, rule=None):
    """Read an image as RGB uint8, converting what we can and refusing what we cannot.

    A picture with a side under `min_side` is refused with `rule` (default: VGG19's 32 pixels, for 8.3).
    """
    from PIL import Image, UnidentifiedImageError

    path = resolve_image_path(spec, data_dir)
    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                pixels, notes = _to_rgb(image, notes)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        kind = "too large to decode safely" if "ecompression" in type(e).__name__ else "not an image Pillow can read"
        raise DataError(f"{role} image {path}: {kind}") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt files
        detail = str(e).splitlines()[0][:100] if str(e) else type(e).__name__
        raise DataError(f"{role} image {path}: unreadable ({detail})") from None
    height, width = pixels.shape[:2]
    if min(height, width) < min_side:
        raise DataError(f"{role} image {path} is {width}x{height} pixels; "
                        + (rule or f"VGG19 needs at least {MIN_SIDE} pixels on each side"))
    if max(height, width) > MAX_SIDE:
        scale = MAX_SIDE / max(height, width)
        new_size = (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))
        pixels = resize(pixels, new_size[1], new_size[0])
        notes.append(f"very large ({width}x{height}): shrunk to {new_size[0]}x{new_size[1]} on load")
    return LoadedImage(pixels=pixels, source=str(path), notes=notes)


def _to_rgb(image, notes):
    """Pillow image of any common mode -> (RGB uint8 array, notes)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        if mode.startswith("I;16"):
            low, high = 0.0, 65535.0
        scaled = np.zeros_like(array) if high <= low else (array - low) / (high - low) * 255.0
        gray = np.clip(np.round(scaled), 0, 255).astype(np.uint8)
        notes.append(f"{mode} (16/32-bit) grayscale: scaled to 8 bits and copied to 3 channels")
        return np.repeat(gray[:, :, None], 3, axis=2), notes
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        # Transparent pixels have no colour of their own: put them on white.
        rgba = image.convert("RGBA")
        background = _white_canvas(rgba.size)
        background.paste(rgba, mask=rgba.getchannel("A"))
        notes.append(f"{mode} with transparency: composited on white")
        return np.asarray(background.convert("RGB"), dtype=np.uint8), notes
    if mode == "RGB":
        array = np.asarray(image)
        if array.dtype != np.uint8:  # 48-bit RGB, when Pillow gives it
            array = (array.astype(np.float64) / 257).round().astype(np.uint8)
            notes.append("16-bit RGB: scaled to 8 bits")
        return array, notes
    if mode in ("L", "1", "P"):
        notes.append({"L": "grayscale", "1": "black and white", "P": "palette"}[mode]
                     + ": converted to RGB")
    elif mode == "CMYK":
        notes.append("CMYK: converted to RGB")
    else:
        notes.append(f"{mode}: converted to RGB")
    return np.asarray(image.convert("RGB"), dtype=np.uint8), notes


def _white_canvas(size):
    from PIL import Image

    return Image.new("RGBA", size, (255, 255, 255, 255))


def resize(pixels, height, width):
    """Bicubic resize of an RGB uint8 array to (height, width)."""
    from PIL import Image

    return np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BICUBIC), dtype=np.uint8)


def target_size(image, height):
    """The book's generated-image size: `height` pixels high, width by the content's aspect ratio."""
    return height, max(MIN_SIDE, int(round(image.width * height / image.height)))
