"""5.4, part 1: intermediate activations, what each layer of the reader's 5.2 model makes of a test picture.

A model whose outputs are the first eight Conv2D / MaxPooling2D layers'
outputs; the first layer's shape and a few of its channels on their own, then
every channel of each layer, in grids of 16 per row, as the book draws them.
"""

import keras
import matplotlib.pyplot as plt
import numpy as np

from chapters.ch5_convnets.own_model import load_picture, pixel_scale
from chapters.figures import save_figure

LAYERS_SHOWN = 8  # the book draws every channel of the first eight Conv2D / MaxPooling2D layers
IMAGES_PER_ROW = 16
# The first layer's activation of the test picture, by the model's picture size (1st / 2nd edition).
BOOK_FIRST_ACTIVATION_SHAPES = {(150, 150): [1, 148, 148, 32], (180, 180): [1, 178, 178, 32]}


def plot_intermediate_activations(run, model, picture_path, single_channels, single_channels_source):
    """The first layer's shape and `single_channels` on their own (as `single_channels_source` shows them), then
    every channel of the first eight layers, one grid per layer."""
    size = tuple(model.input_shape[1:3])
    picture = load_picture(picture_path, size)
    feature_layers = [layer for layer in model.layers
                      if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))][:LAYERS_SHOWN]
    activation_model = keras.Model(model.inputs[0], [layer.output for layer in feature_layers])
    activations = [np.asarray(a) for a in activation_model.predict(picture[None] * pixel_scale(model), verbose=0)]
    run.record("first_layer_activation_shape", list(activations[0].shape), book=BOOK_FIRST_ACTIVATION_SHAPES.get(size),
               label=f"activation of {feature_layers[0].name} for {picture_path.name}")

    run.record("first_layer_single_channels", list(single_channels), note=single_channels_source,
               label=f"{feature_layers[0].name}: channels shown on their own")
    panels = 1 + len(single_channels)
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 4.5))
    fig.suptitle(f"channels {' and '.join(map(str, single_channels))}: {single_channels_source}",
                 fontsize=9)
    axes[0].imshow(picture.astype("uint8"))
    axes[0].set_title(picture_path.name)
    for ax, channel in zip(axes[1:], single_channels):
        ax.matshow(activations[0][0, :, :, channel], cmap="viridis")
        ax.set_title(f"{feature_layers[0].name}, channel {channel}")
    for ax in axes:
        ax.axis("off")
    print(f"Saved the test picture and single channels to {save_figure(fig, run.path('activation_channels.png'))}")

    for index, (layer, activation) in enumerate(zip(feature_layers, activations), start=1):
        grid = channel_grid(activation[0])
        scale = 1.0 / activation.shape[1]
        fig = plt.figure(figsize=(max(scale * grid.shape[1], 2), max(scale * grid.shape[0], 1)))
        plt.title(f"{layer.name}: {activation.shape[-1]} channels")
        plt.grid(False)
        plt.imshow(grid, aspect="auto", cmap="viridis")
        plt.axis("off")
        save_figure(fig, run.path(f"activations/{index}_{layer.name}.png"))
    print(f"Saved every channel of the first {len(feature_layers)} layers to {run.path('activations')}")


def channel_grid(activation, images_per_row=IMAGES_PER_ROW):
    """(h, w, channels) -> one picture: the channels in rows of 16, each scaled for display as the book does."""
    height, width, channels = activation.shape
    rows = -(-channels // images_per_row)
    grid = np.zeros((rows * height, images_per_row * width), "uint8")
    for channel in range(channels):
        image = activation[:, :, channel].astype("float64")
        spread = image.std()
        image = (image - image.mean()) / spread * 64 + 128 if spread > 0 else np.full_like(image, 128)
        row, column = divmod(channel, images_per_row)
        grid[row * height:(row + 1) * height, column * width:(column + 1) * width] = np.clip(image, 0, 255)
    return grid
