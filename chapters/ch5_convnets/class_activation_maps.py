"""5.4, part 3: class activation maps (Grad-CAM), where a convnet looks to choose its class.

The last convolutional layer's channels, each weighted by how much the class
score grows with it, summed into a heatmap laid over the picture: for the
ImageNet network on a photo (the book's), and for the reader's 5.2 model on
test cats and dogs.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch5_convnets.own_model import load_picture, pixel_scale
from chapters.figures import save_figure
from datasets import dogs_vs_cats
from datasets.images import resize
from models.pretrained import is_untrained, keras_models_dir, weights_label


@dataclass(frozen=True)
class ClassActivationMap:
    """Grad-CAM: the network's picture size and preprocessing, and its last convolutional layer."""
    network: str
    image_size: tuple
    preprocess: Callable
    last_conv_layer: str
    book_predictions: str


def grad_cam(model, last_conv_layer, images, class_score):
    """Heatmaps (N, h, w) in [0, 1]: the last conv layer's channels, weighted by how much the class score
    grows with each (its gradient, averaged over the map), summed, kept where positive.

    `class_score(predictions)` gives one score per picture: the class to explain.
    The model is cut after `last_conv_layer`: the layers after it (the
    classifier) run one after the other on its output, as the 2nd edition does.
    """
    names = [layer.name for layer in model.layers]
    cut = names.index(last_conv_layer)
    conv_part = keras.Model(model.inputs[0], model.layers[cut].output)
    conv_output = conv_part(tf.convert_to_tensor(images), training=False)
    with tf.GradientTape() as tape:
        tape.watch(conv_output)
        predictions = conv_output
        for layer in model.layers[cut + 1:]:
            predictions = layer(predictions, training=False)
        score = class_score(predictions)
    gradients = tape.gradient(score, conv_output)
    channel_weights = tf.reduce_mean(gradients, axis=(1, 2))  # (N, channels)
    heatmaps = tf.nn.relu(tf.einsum("nhwc,nc->nhw", conv_output, channel_weights)).numpy()
    peaks = heatmaps.max(axis=(1, 2), keepdims=True)
    return heatmaps / np.where(peaks > 0, peaks, 1.0)


def overlay(picture, heatmap, strength=0.4):
    """The heatmap in the jet colours, resized to the picture and laid over it (the book's 0.4 * heatmap + picture)."""
    height, width = picture.shape[:2]
    heat = np.uint8(255 * heatmap)
    colours = (matplotlib.colormaps["jet"](np.arange(256))[:, :3] * 255).astype("uint8")
    coloured = resize(colours[heat], height, width).astype("float32")
    return np.clip(coloured * strength + picture.astype("float32"), 0, 255).astype("uint8")


def top_predictions(predictions, top=3):
    """The top classes as (name, probability); the names need Keras's imagenet_class_index.json."""
    index_file = keras_models_dir() / "imagenet_class_index.json"
    if index_file.is_file() or not os.environ.get("DLWP_OFFLINE"):
        try:
            decoded = keras.applications.imagenet_utils.decode_predictions(predictions, top=top)[0]
            return [(name, float(probability)) for _, name, probability in decoded]
        except Exception as e:  # offline: the class names are a download
            print(f"ImageNet class names unavailable ({str(e).splitlines()[0][:100]}): classes shown by number; "
                  f"Keras keeps imagenet_class_index.json in {keras_models_dir()}/")
    order = np.argsort(predictions[0])[::-1][:top]
    return [(f"class {index}", float(predictions[0][index])) for index in order]


def imagenet_class_activation_map(run, network, photo, recipe, weights, tag):
    """The book's heatmap: the top predictions for a photo, and where the top class was seen."""
    label = weights_label(recipe.network, weights)
    untrained = is_untrained(weights)
    height, width = recipe.image_size
    picture = resize(photo.pixels, height, width)
    inputs = recipe.preprocess(picture[None].astype("float32"))
    predictions = np.asarray(network.predict(inputs, verbose=0))
    top = top_predictions(predictions)
    run.record("grad_cam.top_predictions", [[name, round(p, 4)] for name, p in top],
               book=None if untrained else recipe.book_predictions,
               note=label if untrained else f"{photo.source}", label=("UNTRAINED " if untrained else "")
               + f"top 3 predictions for {Path(photo.source).name}")
    class_index = int(np.argmax(predictions[0]))
    heatmap = grad_cam(network, recipe.last_conv_layer, inputs, lambda p: p[:, class_index])[0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.3))
    for ax, image, title in zip(axes, (picture, heatmap, overlay(picture, heatmap)),
                                (Path(photo.source).name, f"Grad-CAM of {recipe.last_conv_layer}",
                                 f"overlay: {top[0][0]} {top[0][1]:.3f}")):
        ax.imshow(image, cmap="jet" if image.ndim == 2 else None)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"Class activation map; {label}")
    print(f"Saved the class activation map to {save_figure(fig, run.path(f'grad_cam_{network.name}{tag}.png'))}")


def own_model_class_activation_maps(run, model, pictures):
    """Where the 5.2 model looks: Grad-CAM of its predicted class on test cats and dogs, in one figure."""
    size = tuple(model.input_shape[1:3])
    last_conv = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    rows = [(label, path) for label in dogs_vs_cats.CLASSES for path in pictures[label]]
    images = np.stack([load_picture(path, size) for _, path in rows])
    probability_of_dog = np.asarray(model.predict(images * pixel_scale(model), verbose=0))[:, 0]
    # The predicted class's score: the dog probability for a dog, one minus it for a cat.
    heatmaps = grad_cam(model, last_conv, images * pixel_scale(model),
                        lambda p: tf.where(p[:, 0] > 0.5, p[:, 0], 1 - p[:, 0]))
    columns = len(rows) // 2
    fig, axes = plt.subplots(2, columns, figsize=(3.2 * columns, 7), squeeze=False)
    correct = 0
    for ax, (label, path), image, heatmap, dog in zip(axes.ravel(), rows, images, heatmaps, probability_of_dog):
        predicted = "dogs" if dog > 0.5 else "cats"
        correct += predicted == label
        ax.imshow(overlay(image.astype("uint8"), heatmap))
        ax.set_title(f"{path.name}: {predicted[:-1]} {max(dog, 1 - dog):.2f}", fontsize=9,
                     color="black" if predicted == label else "red")
        ax.axis("off")
    fig.suptitle(f"Where your 5.2 model looks ({last_conv}): Grad-CAM of its predicted class; red = wrong")
    print(f"Saved your model's class activation maps to {save_figure(fig, run.path('grad_cam_own_model.png'))}")
    run.record("grad_cam.own_model_correct", f"{correct}/{len(rows)}",
               label="your 5.2 model on the pictures of the Grad-CAM figure: correct")
