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
from dataclasses import dataclass
from typing import Callable

import keras

from chapters.ch5_convnets import CHAPTER
from chapters.ch5_convnets.class_activation_maps import (
    ClassActivationMap,
    imagenet_class_activation_map,
    own_model_class_activation_maps,
)
from chapters.ch5_convnets.filter_patterns import (
    FilterPatterns,
    deprocess_1st_edition,
    deprocess_2nd_edition,
    grey_noise_1st_edition,
    grey_noise_2nd_edition,
    normalize_by_l2,
    normalize_by_rms,
    plot_filter_patterns,
)
from chapters.ch5_convnets.intermediate_activations import plot_intermediate_activations
from chapters.ch5_convnets.own_model import load_own_model, pixel_scale
from chapters.ch5_convnets.pretrained_convnet import weights_for
from datasets import DataNotFoundError, dogs_vs_cats
from datasets.images import load_image
from models.convnets import (
    DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
    DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS,
)
from models.pretrained import is_untrained, weights_label
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
# The reader's 5.2 model with augmentation and dropout, by the name 5.2 gives it.
OWN_MODEL_BOOK_PARAMS = {
    "dogs_vs_cats_1st_edition_dropout": DOGS_VS_CATS_1ST_EDITION_DROPOUT_BOOK_PARAMS,
    "dogs_vs_cats_2nd_edition_augmentation_dropout": DOGS_VS_CATS_2ND_EDITION_AUGMENTED_BOOK_PARAMS}
OWN_MODEL_PICTURES_PER_CLASS = 4  # test pictures of each class for the model's class activation maps
DEFAULT_IMAGE = "skimage:chelsea"  # a cat photo that ships with scikit-image (the book's elephant does not)
QUICK_FILTERS, QUICK_STEPS, QUICK_PICTURES_PER_CLASS = 4, 2, 2  # --quick


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
        # The text and the notebook print different numbers for the same photo and network: both, named.
        book_predictions="text: African_elephant 0.925, tusker 0.070, Indian_elephant 0.004; notebook: 0.9094, "
                         "0.0862, 0.0044 (the book's elephant photo)"),
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
        plot_intermediate_activations(run, own_model, pictures["cats"][0], edition.single_channels,
                                      edition.single_channels_source)

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
