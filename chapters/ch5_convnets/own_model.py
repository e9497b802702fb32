"""5.4's "your own model": the reader's 5.2 dogs-vs-cats convnet, found, loaded and checked before it is used."""

from pathlib import Path

import keras

from chapters.runs import read_run_state
from datasets import DataError, DataNotFoundError
from models.convnets import DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE, DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE

OWN_MODEL_CHECKPOINT = "augmentation_dropout/best.keras"
OWN_MODEL_INPUT_SHAPES = {1: (*DOGS_VS_CATS_1ST_EDITION_IMAGE_SIZE, 3), 2: (*DOGS_VS_CATS_2ND_EDITION_IMAGE_SIZE, 3)}


def find_own_model(run):
    """--model, else the newest 5.2 run of this edition with a model trained with augmentation + dropout."""
    if run.options.model:
        path = Path(run.options.model).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"--model {run.options.model}: no such file; 5.2 saves it as "
                                    f"<output dir>/5.2-<date>-<time>/{OWN_MODEL_CHECKPOINT}")
        return path
    for folder in sorted(run.output_base.glob("5.2-*"), reverse=True):
        path = folder / OWN_MODEL_CHECKPOINT
        if path.is_file() and read_run_state(folder).get("model_settings", {}).get("edition") == run.edition:
            return path
    return None


def load_own_model(run):
    """The reader's 5.2 model, or None with one line saying how to make it."""
    path = find_own_model(run)
    if path is None:
        edition = " --edition 2" if run.edition == 2 else ""
        print(f"No 5.2 model trained with augmentation and dropout in {run.output_base}: the parts that look into "
              f"your own model are skipped. Make it with `python -m chapters.ch5_convnets 5.2 --augmentation on"
              f"{edition}` (or give one with --model PATH)")
        return None
    try:
        model = keras.models.load_model(path)
    except Exception as e:  # a truncated file, not a Keras model, ...
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a Keras model that can be loaded ({type(e).__name__}: {detail})") from None
    check_own_model(model, path, run)
    print(f"Your 5.2 model: {path}")
    return model


def load_picture(path, size):
    """A picture as (size, size, 3) pixels in [0, 255] (float32), resized as Keras's load_img does."""
    return keras.utils.img_to_array(keras.utils.load_img(path, target_size=size))


def pixel_scale(model):
    """What the model's input is in pixels: 1 with a Rescaling layer inside (2nd edition), else 1/255."""
    return 1.0 if any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers) else 1.0 / 255


def check_own_model(model, path, run):
    """One line, before any work, for a model 5.4 cannot look into: other inputs than colour pictures, no Conv2D."""
    name = f"--model {run.options.model}" if run.options.model else str(path)
    needed = OWN_MODEL_INPUT_SHAPES[run.edition]
    inputs = model.input_shape if len(model.inputs) == 1 else None
    if inputs is None or len(inputs) != 4 or inputs[-1] != 3 or None in inputs[1:3]:
        shape = "several" if inputs is None else tuple(inputs[1:])
        edition = " --edition 2" if run.edition == 2 else ""
        raise DataError(f"{name} takes {shape} inputs; 5.4 needs 5.2's dogs-vs-cats convnet ({needed}, made by "
                        f"python -m chapters.ch5_convnets 5.2 --augmentation on{edition})")
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in model.layers):
        raise DataError(f"{name} has no convolution layers to visualise")
