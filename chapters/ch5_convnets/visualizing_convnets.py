"""5.4 Visualizing what convnets learn: activations, filter patterns and class activation maps.

Three ways to look inside a convnet, as the book shows them:
1. intermediate activations: what each layer of the reader's own 5.2 model
   (augmentation + dropout) makes of a test picture of a cat;
2. filter patterns: pictures grown by gradient ascent in input space until a
   filter responds as strongly as it can (VGG16 block1_conv1 to block4_conv1;
   2nd edition: Xception block3_sepconv1), and the same for the 5.2 model;
3. class activation maps (Grad-CAM): which parts of a picture made VGG16 (2nd
   edition: Xception) choose its class, and where the 5.2 model looks to tell
   cats from dogs.
The ImageNet network comes with its classifier, from one weights file (the
filters are read from the same layers). Its parts need the ImageNet weights
(or `--weights random`, an untrained demo); the parts with the reader's own
model need no download.
"""

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets.own_model import OWN_MODEL_CHECKPOINT, find_own_model, load_own_model, pixel_scale  # noqa: F401
from chapters.ch5_convnets.pretrained_convnet import weights_for
from chapters.figures import save_figure
from chapters.runs import stop_cleanly
from datasets import DataNotFoundError, dogs_vs_cats
from datasets.images import load_image, resize
from models.convnets import (
    DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
    DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS,
)
from models.pretrained import is_untrained, keras_models_dir, weights_label
from models.pretrained_convnets import (
    VGG16_BOOK_PARAMS,
    VGG16_LAST_CONV_LAYER,
    XCEPTION_BOOK_TOTAL_PARAMS,
    XCEPTION_LAST_CONV_LAYER,
    vgg16_with_classifier,
    without_classifier,
    xception_with_classifier,
)

BOOK_TEST_PICTURE = "cat.1700"  # in the test split's cats
LAYERS_SHOWN = 8  # the book draws every channel of the first eight Conv2D / MaxPooling2D layers
IMAGES_PER_ROW = 16
# The first layer's activation of the test picture, by the model's picture size (1st / 2nd edition).
BOOK_FIRST_ACTIVATION_SHAPES = {(150, 150): [1, 148, 148, 32], (180, 180): [1, 178, 178, 32]}
# The reader's 5.2 model with augmentation and dropout, by the name 5.2 gives it.
OWN_MODEL_BOOK_PARAMS = {
    "dogs_vs_cats_1st_edition_dropout": DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
    "dogs_vs_cats_2nd_edition_augmentation_dropout": DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS}
OWN_MODEL_PICTURES_PER_CLASS = 4  # test pictures of each class for the model's class activation maps
DEFAULT_IMAGE = "skimage:chelsea"  # a cat photo that ships with scikit-image (the book's elephant does not)
GRADIENT_BATCH = 16  # filters grown together: one picture per filter, one batch
QUICK_FILTERS, QUICK_STEPS, QUICK_PICTURES_PER_CLASS = 4, 2, 2  # --quick


# ---------------------------------------------------------------------------
# The editions' recipes
# ---------------------------------------------------------------------------

def grey_noise_1st_edition(rng, count, size):
    """The 1st edition's start: grey pictures (128) with a little noise (0-20), in pixel values."""
    return (rng.random((count, size, size, 3)) * 20 + 128).astype("float32")


def grey_noise_2nd_edition(rng, count, size):
    """The 2nd edition's start: uniform noise between 0.4 and 0.6."""
    return rng.uniform(0.4, 0.6, (count, size, size, 3)).astype("float32")


def normalize_by_rms(gradients):
    """The 1st edition: each picture's gradient divided by its root mean square (+1e-5), a step of ~1 per pixel."""
    rms = tf.sqrt(tf.reduce_mean(tf.square(gradients), axis=(1, 2, 3), keepdims=True))
    return gradients / (rms + 1e-5)


def normalize_by_l2(gradients):
    """The 2nd edition: each picture's gradient scaled to an L2 norm of 1 (tf.math.l2_normalize)."""
    return tf.math.l2_normalize(gradients, axis=(1, 2, 3))


def deprocess_1st_edition(image):
    """Centre on 0.5 with a standard deviation of 0.1, clip to [0, 1], as 0-255 pixels."""
    x = (image - image.mean()) / (image.std() + 1e-5) * 0.1 + 0.5
    return (np.clip(x, 0, 1) * 255).astype("uint8")


def deprocess_2nd_edition(image):
    """Centre on 128 with a standard deviation of 64, clip, and crop 25 pixels of border."""
    x = (image - image.mean()) / (image.std() + 1e-5) * 64 + 128
    return np.clip(x, 0, 255).astype("uint8")[25:-25, 25:-25]


@dataclass(frozen=True)
class FilterPatterns:
    """Gradient ascent in input space: grow a picture that one filter responds to as strongly as it can."""
    layers: tuple
    image_size: int
    steps: int
    step_size: float
    start: Callable  # start(rng, count, size): the starting pictures
    normalize_gradients: Callable
    loss_border: int  # pixels of the activation map left out of the loss, on each side
    deprocess: Callable  # a grown picture -> a displayable uint8 one
    filters: int = 64  # per layer, in an 8 x 8 grid


@dataclass(frozen=True)
class ClassActivationMap:
    """Grad-CAM: the network's picture size and preprocessing, and its last convolutional layer."""
    network: str
    image_size: tuple
    preprocess: Callable
    last_conv_layer: str
    book_predictions: str


@dataclass(frozen=True)
class Edition:
    network: str  # the ImageNet network in models.pretrained
    build_network: Callable  # build(weights): the network with its classifier
    book_params: list | None  # per layer, where the book lists them
    book_total_params: int
    filter_patterns: FilterPatterns
    class_activation_map: ClassActivationMap
    single_channels: tuple  # the first layer's channels the book shows on their own
    single_channels_source: str  # where the book shows them (results.json and the figure say it)


FIRST_EDITION = Edition(
    network="vgg16", build_network=vgg16_with_classifier, book_params=VGG16_BOOK_PARAMS,
    book_total_params=sum(VGG16_BOOK_PARAMS),
    filter_patterns=FilterPatterns(
        layers=("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"), image_size=64, steps=40,
        step_size=1.0, start=grey_noise_1st_edition, normalize_gradients=normalize_by_rms, loss_border=0,
        deprocess=deprocess_1st_edition),
    class_activation_map=ClassActivationMap(
        network="vgg16", image_size=(224, 224), preprocess=keras.applications.vgg16.preprocess_input,
        last_conv_layer=VGG16_LAST_CONV_LAYER,
        book_predictions="African_elephant 0.925, tusker 0.070, Indian_elephant 0.004 (the book's elephant photo)"),
    # The book's text plots channels 4 and 7 (figures 5.25, 5.26), its notebook 3 and 30: ours are the text's, the
    # figures a reader holds beside ours (which channel learns what differs from one training to the next anyway).
    single_channels=(4, 7), single_channels_source="the book's text (figures 5.25-5.26); its notebook plots 3 and 30")

SECOND_EDITION = Edition(
    network="xception", build_network=xception_with_classifier, book_params=None,
    book_total_params=XCEPTION_BOOK_TOTAL_PARAMS,
    filter_patterns=FilterPatterns(
        layers=("block3_sepconv1",), image_size=200, steps=30, step_size=10.0, start=grey_noise_2nd_edition,
        normalize_gradients=normalize_by_l2, loss_border=2, deprocess=deprocess_2nd_edition),
    class_activation_map=ClassActivationMap(
        network="xception", image_size=(299, 299), preprocess=keras.applications.xception.preprocess_input,
        last_conv_layer=XCEPTION_LAST_CONV_LAYER,
        book_predictions="African_elephant 0.870, tusker 0.077, Indian_elephant 0.024 (the book's elephant photo)"),
    single_channels=(5,), single_channels_source="the book's text and notebook")

EDITIONS = {1: FIRST_EDITION, 2: SECOND_EDITION}
# The reader's model reads pixels (0-255, divided by 255 by the 1st edition's pipeline or by the 2nd
# edition's Rescaling layer): the 1st edition's pixel-space recipe suits it in both editions.
OWN_MODEL_FILTER_PATTERNS = FIRST_EDITION.filter_patterns

CHAPTER.option("--model", help="5.4: the 5.2 model to look into (default: augmentation_dropout/best.keras of the "
                               "newest 5.2 run of the same edition in the output folder)")
CHAPTER.option("--image", help=f"5.4: the photo for the ImageNet network's class activation map: a path or "
                               f"skimage:<name> (default {DEFAULT_IMAGE}, which ships with scikit-image)")


@CHAPTER.section("5.4", "Visualizing what convnets learn",
                 "activations of the 5.2 model, VGG16's filter patterns by gradient ascent, Grad-CAM heatmaps")
def visualizing_convnets(run):
    edition = EDITIONS[run.edition]
    limits = dict(filters=QUICK_FILTERS, steps=QUICK_STEPS) if run.quick else {}

    # The models first: the reader's 5.2 model, and the ImageNet network with its classifier.
    own_model = load_own_model(run)
    if own_model is not None:
        book_params = OWN_MODEL_BOOK_PARAMS.get(own_model.name)
        if book_params is not None:
            run.check_against_book(own_model, book_params, "DLwP 5.2, the model with augmentation and dropout")
        else:
            own_model.summary()
    weights = "random" if run.summary_only else weights_for(edition.network, run.options.weights)
    network, missing_weights = None, None
    try:
        network = edition.build_network(weights)
    except DataNotFoundError as e:  # the parts with the reader's model can still run; the error comes at the end
        missing_weights = e
        print(f"The {edition.network} parts are skipped: its ImageNet weights are not here (what to fetch is "
              "said at the end)")
    if network is not None:
        if edition.book_params is not None:
            run.check_against_book(network, edition.book_params, f"DLwP {run.edition}e 5.4, {network.name}")
        else:
            network.summary()
            run.record(f"{network.name}_params", network.count_params(), book=edition.book_total_params)
    if run.summary_only:
        return
    label = weights_label(edition.network, weights)
    tag = f"_untrained-{edition.network}" if is_untrained(weights) else ""

    # 1. Intermediate activations of the reader's model, for the book's test picture.
    pictures = find_test_pictures(run) if own_model is not None else None
    if pictures is not None:
        plot_intermediate_activations(run, own_model, pictures["cats"][0], edition)

    # 2. Filter patterns: the ImageNet network's, then the reader's model's.
    if network is not None:
        recipe = dataclasses.replace(edition.filter_patterns, **limits)
        conv_part = without_classifier(edition.network, network)
        for layer_name in recipe.layers:
            plot_filter_patterns(run, conv_part, layer_name, recipe, 1.0, f"{edition.network}_{layer_name}{tag}",
                                 f"{edition.network} {layer_name}; {label}", note=label if tag else "")
    if own_model is not None:
        size = own_model.input_shape[1]
        recipe = dataclasses.replace(OWN_MODEL_FILTER_PATTERNS, image_size=size, **limits)
        for layer in own_model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                plot_filter_patterns(run, own_model, layer.name, recipe, pixel_scale(own_model),
                                     f"own_model_{layer.name}", f"your 5.2 model, {layer.name}")

    # 3. Class activation maps: the ImageNet network on a photo, the reader's model on test pictures.
    if network is not None:
        photo = load_image(run.options.image or DEFAULT_IMAGE, "photo", run.data_dir)
        imagenet_class_activation_map(run, network, photo, edition.class_activation_map, weights, tag)
    if pictures is not None:
        own_model_class_activation_maps(run, own_model, pictures)

    if missing_weights is not None:
        print(f"Outputs of the parts that ran: {run.folder}")
        raise missing_weights


# ---------------------------------------------------------------------------
# The reader's 5.2 model and the test pictures
# ---------------------------------------------------------------------------

def find_test_pictures(run):
    """{class: [paths]} of test pictures, the book's cat.1700 first; None (with one line) without the data."""
    try:
        root = dogs_vs_cats.find_cats_and_dogs_small(run.data_dir, allow_download=False)
    except DataNotFoundError as e:
        print(f"The parts with your 5.2 model need the test pictures of 5.2, and they are not here: {e}")
        return None
    per_class = QUICK_PICTURES_PER_CLASS if run.quick else OWN_MODEL_PICTURES_PER_CLASS
    pictures = {}
    for label in dogs_vs_cats.CLASSES:
        files = sorted((root / "test" / label).glob("*.jpg"), key=dogs_vs_cats.natural_key)
        if not files:
            print(f"The parts with your 5.2 model need test pictures, and {root / 'test' / label} has none")
            return None
        pictures[label] = files[:per_class]
    book_picture = root / "test" / "cats" / f"{BOOK_TEST_PICTURE}.jpg"
    if book_picture.is_file():
        pictures["cats"] = [book_picture] + [p for p in pictures["cats"] if p != book_picture][:per_class - 1]
    else:
        print(f"{book_picture} is not here: the activations are those of {pictures['cats'][0].name}")
    return pictures


def load_picture(path, size):
    """A picture as (size, size, 3) pixels in [0, 255] (float32), resized as Keras's load_img does."""
    return keras.utils.img_to_array(keras.utils.load_img(path, target_size=size))


# ---------------------------------------------------------------------------
# 1. Intermediate activations
# ---------------------------------------------------------------------------

def plot_intermediate_activations(run, model, picture_path, edition):
    """The first layer's shape and channels, then every channel of the first eight layers, one grid per layer."""
    size = tuple(model.input_shape[1:3])
    picture = load_picture(picture_path, size)
    feature_layers = [layer for layer in model.layers
                      if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))][:LAYERS_SHOWN]
    activation_model = keras.Model(model.inputs[0], [layer.output for layer in feature_layers])
    activations = [np.asarray(a) for a in activation_model.predict(picture[None] * pixel_scale(model), verbose=0)]
    run.record("first_layer_activation_shape", list(activations[0].shape), book=BOOK_FIRST_ACTIVATION_SHAPES.get(size),
               label=f"activation of {feature_layers[0].name} for {picture_path.name}")

    run.record("first_layer_single_channels", list(edition.single_channels), note=edition.single_channels_source,
               label=f"{feature_layers[0].name}: channels shown on their own")
    panels = 1 + len(edition.single_channels)
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 4.5))
    fig.suptitle(f"channels {' and '.join(map(str, edition.single_channels))}: {edition.single_channels_source}",
                 fontsize=9)
    axes[0].imshow(picture.astype("uint8"))
    axes[0].set_title(picture_path.name)
    for ax, channel in zip(axes[1:], edition.single_channels):
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


# ---------------------------------------------------------------------------
# 2. Filter patterns by gradient ascent
# ---------------------------------------------------------------------------

def gradient_ascent(extractor, images, filter_indices, recipe, pixel_scale=1.0):
    """Climb each picture's gradient of its filter's mean activation; one picture per filter, all at once.

    The pictures are in the recipe's input space (pixels for the 1st edition);
    `pixel_scale` converts them to what the model takes. Returns the pictures
    and each filter's mean activation before and after.
    """
    return ascent_function(extractor, recipe, pixel_scale)(images, filter_indices)


def ascent_function(extractor, recipe, pixel_scale=1.0):
    """ascend(images, filter_indices) -> (grown pictures, mean activations before, after), compiled once."""
    channels = int(extractor.output.shape[-1])
    border = recipe.loss_border

    def filter_means(pictures, chosen):
        activation = extractor(pictures * pixel_scale, training=False)
        if border:
            activation = activation[:, border:-border, border:-border, :]
        return tf.reduce_mean(tf.reduce_sum(activation * chosen, axis=-1), axis=(1, 2))

    @tf.function(reduce_retracing=True)
    def step(pictures, chosen):
        with tf.GradientTape() as tape:
            tape.watch(pictures)
            loss = tf.reduce_sum(filter_means(pictures, chosen))  # each picture's gradient is its own filter's
        gradients = tape.gradient(loss, pictures)
        return pictures + recipe.step_size * recipe.normalize_gradients(gradients)

    def ascend(images, filter_indices):
        pictures = tf.convert_to_tensor(images)
        chosen = tf.one_hot(filter_indices, channels)[:, None, None, :]  # picture i -> filter filter_indices[i]
        before = np.asarray(filter_means(pictures, chosen))
        for _ in range(recipe.steps):
            pictures = step(pictures, chosen)
        return pictures.numpy(), before, np.asarray(filter_means(pictures, chosen))

    return ascend


def plot_filter_patterns(run, model, layer_name, recipe, pixel_scale, name, title, note=""):
    """The patterns of the layer's first filters, in an 8 x 8 grid with 5-pixel margins, as the book draws them."""
    path = run.path(f"filters/{name}.png")
    if run.resumed and path.exists():
        print(f"{path} is already there (resumed run)")
        return
    extractor = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    ascend = ascent_function(extractor, recipe, pixel_scale)
    count = min(recipe.filters, int(extractor.output.shape[-1]))
    rng = np.random.default_rng(run.seed)
    patterns, gains = [], []
    with stop_cleanly(f"filter patterns stopped in {layer_name}; the finished grids are in {run.path('filters')}; "
                      "run the same command with --resume to continue"):
        for start in range(0, count, GRADIENT_BATCH):
            indices = np.arange(start, min(start + GRADIENT_BATCH, count))
            images = recipe.start(rng, len(indices), recipe.image_size)
            grown, before, after = ascend(images, indices)
            patterns += [recipe.deprocess(image) for image in grown]
            gains += list(after - before)
            if not sys.stdout.isatty():
                print(f"  {name}: {start + len(indices)}/{count} filters", flush=True)
    grid = pattern_grid(patterns)
    fig = plt.figure(figsize=(grid.shape[1] / 60, grid.shape[0] / 60 + 0.4))
    plt.imshow(grid)
    plt.axis("off")
    plt.title(f"{title}: filters 0-{count - 1}, {recipe.steps} steps of {recipe.step_size:g}", fontsize=9)
    save_figure(fig, path)
    run.mark_progress()
    raised = int(np.sum(np.asarray(gains) > 0))
    run.record(f"filter_patterns.{name}.filters_raised", raised, note=note,
               label=f"{name}: filters whose mean activation the ascent raised (of {count})")
    print(f"Saved {count} filter patterns of {layer_name} to {path}")


def pattern_grid(patterns, columns=8, margin=5):
    """Pictures of one size -> one picture: rows of `columns`, separated by black margins."""
    size = patterns[0].shape[0]
    rows = -(-len(patterns) // columns)
    columns = min(columns, len(patterns))
    grid = np.zeros((rows * size + (rows - 1) * margin, columns * size + (columns - 1) * margin, 3), "uint8")
    for index, pattern in enumerate(patterns):
        row, column = divmod(index, columns)
        top, left = row * (size + margin), column * (size + margin)
        grid[top:top + size, left:left + size] = pattern
    return grid


# ---------------------------------------------------------------------------
# 3. Class activation maps (Grad-CAM)
# ---------------------------------------------------------------------------

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
