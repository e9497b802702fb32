"""5.1, the workshop's demo: a convolution is an image filter, and a trained convnet's filters."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets.mnist_convnet import RECIPES, prepare_digits
from chapters.figures import save_figure
from datasets.mnist import QUICK_SUBSET, load_mnist


@CHAPTER.section("5.1f", "Convolution as a filter",
                 "Prewitt, Sobel and Laplacian on a photo; a Sobel Conv2D; a trained convnet's filters and maps")
def convolution_as_a_filter(run):
    from scipy import ndimage
    from skimage import data as skimage_data

    if run.summary_only:
        layer = sobel_conv2d_layer()
        print(f"A Conv2D layer with its kernel set to Sobel x and y: kernel shape {layer.kernel.shape}, "
              f"{layer.count_params()} parameters (no bias); nothing to train in this section")
        return
    photo = skimage_data.camera().astype(np.float32) / 255  # 512x512 grayscale, ships with scikit-image
    if run.quick:
        photo = photo[::4, ::4]
    maps = edge_maps(photo)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for ax, (title, picture) in zip(axes, [("scikit-image camera()", photo), *maps.items()]):
        ax.imshow(picture, cmap="gray", vmin=0, vmax=np.percentile(picture, 99.5))  # a few strong edges set the scale
        ax.set_title(title)
        ax.axis("off")
    print(f"Saved the edge maps to {save_figure(fig, run.path('edge_filters.png'))}")

    # The same Sobel filtering by a Conv2D layer, and by SciPy as an independent reference.
    by_layer = keras.ops.convert_to_numpy(sobel_conv2d_layer()(photo[None, :, :, None]))[0]
    by_conv2d = convolve(photo, np.stack([EDGE_KERNELS["Sobel"], EDGE_KERNELS["Sobel"].T], axis=-1))
    by_scipy = ndimage.correlate(photo, EDGE_KERNELS["Sobel"], mode="constant")
    for key, name, difference in (
            ("sobel_layer_minus_conv2d", "Sobel: max |Conv2D layer - tf.nn.conv2d|", by_layer - by_conv2d),
            ("sobel_conv2d_minus_scipy", "Sobel x: max |tf.nn.conv2d - scipy.ndimage.correlate|",
             by_conv2d[..., 0] - by_scipy)):
        largest = float(np.abs(difference).max())
        run.record(key, largest, label=name,
                   note=f"{largest:.1e} on values up to {np.abs(by_conv2d).max():.1f}: the same")

    # What a trained convnet learned: its first-layer filters, and the feature maps of one digit.
    checkpoint = find_trained_mnist_convnet(run)
    mnist = load_mnist(run.data_dir)
    if checkpoint is not None:
        print(f"Using the MNIST convnet trained by an earlier 5.1 run: {checkpoint}")
        model = keras.models.load_model(checkpoint)
    else:
        print("No earlier 5.1 run in this output folder: training the convnet for 1 epoch first "
              "(run `python -m chapters.ch5_convnets 5.1` for the book's 5 epochs)")
        model = RECIPES[run.edition].build_model()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **run.compile_settings("conv"))
        subset = mnist.head(*QUICK_SUBSET) if run.quick else mnist
        model.fit(prepare_digits(subset.train_images), subset.train_labels.astype("int64"), epochs=1,
                  batch_size=64, verbose=2)
    plot_first_layer_filters(model, run.path("first_layer_filters.png"))
    digit = prepare_digits(mnist.test_images[:1])
    plot_feature_maps(model, digit, int(mnist.test_labels[0]), run.path("feature_maps.png"))


def find_trained_mnist_convnet(run):
    """The best model of the newest 5.1 run in this output folder, if there is one."""
    runs = sorted(run.output_base.glob("5.1-*/mnist_convnet/best.keras"))
    return runs[-1] if runs else None


EDGE_KERNELS = {
    "Prewitt": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32),
    "Sobel": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32),
}
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)


def convolve(image, kernels):
    """tf.nn.conv2d of one grayscale image (H, W) with kernels (3, 3, n): the n filtered maps (H, W, n).

    What deep learning calls convolution is a cross-correlation: the kernel
    slides over the image unflipped. "SAME" padding keeps the image's size.
    """
    x = tf.constant(image[None, :, :, None], tf.float32)
    w = tf.constant(kernels[:, :, None, :], tf.float32)  # (height, width, in channels, out channels)
    return tf.nn.conv2d(x, w, strides=1, padding="SAME")[0].numpy()


def edge_maps(image):
    """Gradient magnitude for Prewitt and Sobel (x and y kernels), and the Laplacian."""
    maps = {}
    for name, kx in EDGE_KERNELS.items():
        gradients = convolve(image, np.stack([kx, kx.T], axis=-1))  # d/dx and d/dy
        maps[name] = np.sqrt((gradients ** 2).sum(axis=-1))
    maps["Laplacian"] = np.abs(convolve(image, LAPLACIAN[:, :, None])[:, :, 0])
    return maps


def sobel_conv2d_layer():
    """A Keras Conv2D layer whose two kernels are set by hand to Sobel x and y."""
    layer = keras.layers.Conv2D(2, (3, 3), padding="same", use_bias=False)
    layer.build((None, None, None, 1))
    kx = EDGE_KERNELS["Sobel"]
    layer.set_weights([np.stack([kx, kx.T], axis=-1)[:, :, None, :]])
    return layer


def plot_first_layer_filters(model, path):
    kernels = model.layers[0].get_weights()[0]  # (3, 3, 1, 32)
    count = kernels.shape[-1]
    fig, axes = plt.subplots(4, count // 4, figsize=(count // 4 * 1.2, 5))
    for i, ax in enumerate(axes.ravel()):
        ax.imshow(kernels[:, :, 0, i], cmap="gray")
        ax.set_title(str(i), fontsize=8)
        ax.axis("off")
    fig.suptitle("The 32 learned 3x3 filters of the first Conv2D layer")
    print(f"Saved the first-layer filters to {save_figure(fig, path)}")


def plot_feature_maps(model, digit, label, path):
    """The output of each Conv2D and MaxPooling2D layer for one digit (the first 16 channels of each)."""
    feature_layers = [layer for layer in model.layers
                      if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))]
    extractor = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in feature_layers])
    activations = extractor.predict(digit, verbose=0)
    channels = 16
    fig, axes = plt.subplots(len(feature_layers), channels + 1, figsize=(channels + 1, len(feature_layers) * 1.2))
    for row, (layer, activation) in enumerate(zip(feature_layers, activations)):
        axes[row][0].imshow(digit[0, :, :, 0], cmap=plt.cm.binary)
        axes[row][0].set_title(layer.name, fontsize=7)
        for channel in range(channels):
            axes[row][channel + 1].imshow(activation[0, :, :, channel], cmap="viridis")
        for ax in axes[row]:
            ax.axis("off")
    fig.suptitle(f"Feature maps of a test digit (label {label}), first {channels} channels per layer")
    print(f"Saved the feature maps to {save_figure(fig, path)}")
