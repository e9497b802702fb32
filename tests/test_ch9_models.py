"""Chapter 9's models: every layer's parameters worked out from its shape, and the float32 outputs."""

import keras
import pytest

from models import modern_convnets, segmentation
from tests.helpers import layer_params


def conv(kernel, channels_in, filters, bias=True):
    return kernel * kernel * channels_in * filters + (filters if bias else 0)


def separable(kernel, channels_in, filters):
    """Depthwise (one kernel per input channel) then pointwise (1x1), without bias as in the book."""
    return kernel * kernel * channels_in + channels_in * filters


def batch_norm(channels):
    return 4 * channels  # gamma, beta, moving mean, moving variance


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_the_residual_listings_have_the_parameters_their_layer_shapes_give():
    assert layer_params(modern_convnets.residual_filters_change_summary()) == [
        0, conv(3, 3, 32), conv(3, 32, 64), conv(1, 32, 64), 0] == modern_convnets.RESIDUAL_FILTERS_CHANGE_BOOK_PARAMS
    pooled = modern_convnets.residual_with_pooling_summary()
    assert layer_params(pooled) == [0, conv(3, 3, 32), conv(3, 32, 64), 0, conv(1, 32, 64), 0] == \
        modern_convnets.RESIDUAL_WITH_POOLING_BOOK_PARAMS
    assert tuple(pooled.output.shape[1:]) == (15, 15, 64)  # the strided projection halves 30x30 as the pooling does
    blocks = []
    for channels_in, filters, pooling in ((3, 32, True), (32, 64, True), (64, 128, False)):
        blocks += [conv(3, channels_in, filters), conv(3, filters, filters), *([0] if pooling else []),
                   conv(1, channels_in, filters), 0]
    model = modern_convnets.residual_blocks_model()
    assert layer_params(model) == [0, 0, *blocks, 0, 128 + 1] == modern_convnets.RESIDUAL_BLOCKS_MODEL_BOOK_PARAMS
    assert model.count_params() == 297_697


def test_batch_normalisation_before_the_relu_drops_the_convolutions_bias():
    after = modern_convnets.batchnorm_after_activation_summary()
    before = modern_convnets.batchnorm_before_activation_summary()
    assert layer_params(after) == [0, conv(3, 3, 32), batch_norm(32)] == \
        modern_convnets.BATCHNORM_AFTER_ACTIVATION_BOOK_PARAMS
    assert layer_params(before) == [0, conv(3, 3, 32, bias=False), batch_norm(32), 0] == \
        modern_convnets.BATCHNORM_BEFORE_ACTIVATION_BOOK_PARAMS
    assert [type(layer).__name__ for layer in before.layers[1:]] == ["Conv2D", "BatchNormalization", "Activation"]
    assert before.layers[1].activation.__name__ == "linear"


def test_the_mini_xception_has_the_parameters_its_layer_shapes_give_721_857_in_all():
    expected, channels = [0, 0, 0, conv(5, 3, 32, bias=False)], 32
    for size in (32, 64, 128, 256, 512):
        expected += [batch_norm(channels), 0, separable(3, channels, size), batch_norm(size), 0,
                     separable(3, size, size), 0, conv(1, channels, size, bias=False), 0]
        channels = size
    expected += [0, 0, 512 + 1]
    model = modern_convnets.mini_xception()
    assert layer_params(model) == expected == modern_convnets.MINI_XCEPTION_BOOK_PARAMS
    assert model.count_params() == 721_857
    moving_statistics = sum(2 * n for n in (32, 32, 32, 64, 64, 128, 128, 256, 256, 512))
    assert sum(int(keras.ops.size(w)) for w in model.trainable_weights) == 721_857 - moving_statistics == 718_849


def test_the_mini_xception_follows_the_books_block_order_and_ends_at_6x6x512():
    model = modern_convnets.mini_xception()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:4] == ["InputLayer", "Sequential", "Rescaling", "Conv2D"]
    assert kinds[4:13] == ["BatchNormalization", "Activation", "SeparableConv2D", "BatchNormalization", "Activation",
                           "SeparableConv2D", "MaxPooling2D", "Conv2D", "Add"]
    augmentation = [type(layer).__name__ for layer in model.layers[1].layers]
    assert augmentation == ["RandomFlip", "RandomRotation", "RandomZoom"]
    assert kinds[-3] == "GlobalAveragePooling2D" and tuple(model.layers[-3].input.shape[1:]) == (6, 6, 512)
    convolutions = [layer for layer in model.layers if "Conv" in type(layer).__name__]
    assert len(convolutions) == 1 + 5 * 3 and not any(layer.use_bias for layer in convolutions)


def test_the_segmentation_model_has_the_books_summary_and_gives_200x200x3_probabilities():
    model = segmentation.segmentation_model()
    down = [conv(3, 3, 64), conv(3, 64, 64), conv(3, 64, 128), conv(3, 128, 128), conv(3, 128, 256),
            conv(3, 256, 256)]
    up = [conv(3, 256, 256), conv(3, 256, 256), conv(3, 256, 128), conv(3, 128, 128), conv(3, 128, 64),
          conv(3, 64, 64)]
    assert layer_params(model) == [0, 0, *down, *up, conv(3, 64, 3)] == segmentation.SEGMENTATION_BOOK_PARAMS
    assert model.count_params() == 2_880_643
    assert [tuple(layer.output.shape[1:3]) for layer in model.layers[2:8]] == [(100, 100), (100, 100), (50, 50),
                                                                               (50, 50), (25, 25), (25, 25)]
    assert tuple(model.output.shape[1:]) == (200, 200, 3) and model.layers[-1].activation.__name__ == "softmax"


def test_both_trained_models_keep_a_float32_output_under_mixed_precision(mixed_precision):
    for model in (modern_convnets.mini_xception(), segmentation.segmentation_model()):
        assert model.layers[3].compute_dtype == "float16"
        assert model.output.dtype == "float32"
