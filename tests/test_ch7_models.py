"""Chapter 7's models: every layer's parameters (both editions, and the 1st edition's two printed Embedding swaps),
the shapes the book prints, what is shared, and the 2nd edition's subclassed models and custom metric."""

import keras
import numpy as np
import pytest

from chapters.ch7_best_practices import working_with_keras as s7_1_2nd
from models import best_practices, functional_api
from tests.helpers import layer_params


def output_shapes(model):
    return [tuple(layer.output.shape[1:]) for layer in model.layers]


def activations(model):
    return [layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")]


# --- 1st edition 7.1 ------------------------------------------------------------------------------------

def test_the_sequential_model_and_its_functional_twin_have_3466_parameters_each():
    sequential, functional = functional_api.twin_sequential(), functional_api.twin_functional()
    assert layer_params(sequential) == functional_api.TWIN_SEQUENTIAL_BOOK_PARAMS == [2_080, 1_056, 330]
    assert layer_params(functional) == functional_api.TWIN_FUNCTIONAL_BOOK_PARAMS == [0, 2_080, 1_056, 330]
    assert sequential.input_shape == functional.input_shape == (None, 64)
    assert activations(sequential) == activations(functional) == ["relu", "relu", "softmax"]


def test_the_question_answering_model_as_meant_has_1000052_parameters():
    model = functional_api.question_answering_model()
    assert layer_params(model) == functional_api.QUESTION_ANSWERING_BOOK_PARAMS == [
        0, 0, 640_000, 320_000, 12_416, 3_136, 0, 24_500]
    assert [i.name for i in model.inputs] == ["text", "question"]
    assert [(layer.input_dim, layer.output_dim) for layer in model.layers[2:4]] == [(10_000, 64), (10_000, 32)]
    assert [layer.units for layer in model.layers[4:6]] == [32, 16]
    assert model.output_shape == (None, 500) and activations(model)[-1] == "softmax"


def test_the_question_answering_model_as_printed_swaps_embeddings_arguments_2909812_parameters():
    model = functional_api.question_answering_model_as_printed()
    assert layer_params(model) == functional_api.QUESTION_ANSWERING_AS_PRINTED_BOOK_PARAMS == [
        0, 0, 640_000, 320_000, 1_284_224, 641_088, 0, 24_500]
    assert [(layer.input_dim, layer.output_dim) for layer in model.layers[2:4]] == [(64, 10_000), (32, 10_000)]


def test_the_three_output_model_as_meant_has_14146316_parameters_and_named_heads():
    model = functional_api.social_media_model()
    assert layer_params(model) == functional_api.SOCIAL_MEDIA_BOOK_PARAMS == [
        0, 12_800_000, 163_968, 0, 164_096, 327_936, 0, 327_936, 327_936, 0, 32_896, 129, 1_290, 129]
    assert model.output_names == ["age", "income", "gender"]
    assert [layer.activation.__name__ for layer in model.layers[-3:]] == ["linear", "softmax", "sigmoid"]
    assert (model.layers[1].input_dim, model.layers[1].output_dim) == (50_000, 256)
    assert [(layer.filters, layer.kernel_size) for layer in model.layers if isinstance(layer, keras.layers.Conv1D)] \
        == [(128, (5,)), (256, (5,)), (256, (5,)), (256, (5,)), (256, (5,))]
    assert [layer.pool_size for layer in model.layers if isinstance(layer, keras.layers.MaxPooling1D)] == [(5,), (5,)]


def test_the_three_output_model_as_printed_has_45982476_parameters():
    model = functional_api.social_media_model_as_printed()
    assert layer_params(model) == functional_api.SOCIAL_MEDIA_AS_PRINTED_BOOK_PARAMS
    assert sum(layer_params(model)) == 45_982_476 and layer_params(model)[2] == 32_000_128


def test_a_post_needs_269_words_for_the_three_output_model():
    model = functional_api.social_media_model()
    assert functional_api.SOCIAL_MEDIA_MIN_POST_LENGTH == 269
    outputs = model.predict(np.ones((1, 269), "int32"), verbose=0)
    assert [o.shape for o in outputs] == [(1, 1), (1, 10), (1, 1)]
    # The book's arithmetic, from Keras's shape inference (what TensorFlow's kernels do with a shorter input is
    # not defined, and differs between CPUs): 269 words leave the last convolution one position, 268 none.
    last_convolution = keras.Model(model.inputs, model.layers[8].output)
    assert last_convolution.compute_output_shape((1, 269))[1] == 1
    with pytest.raises(ValueError, match="zero or negative"):
        last_convolution.compute_output_shape((1, 268))


def test_the_inception_module_concatenates_four_branches_of_128_channels_at_half_size():
    model = functional_api.inception_module_model()
    assert layer_params(model) == functional_api.INCEPTION_MODULE_BOOK_PARAMS
    assert sum(layer_params(model)) == 645_002 and model.input_shape == (None, 16, 16, 128)
    concatenate = next(layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate))
    assert [tuple(t.shape[1:]) for t in concatenate.input] == [(8, 8, 128)] * 4
    strides = sorted(layer.strides for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert strides.count((2, 2)) == 3  # branches a, b and d end strided; c pools with stride 2
    pooling = next(layer for layer in model.layers if isinstance(layer, keras.layers.AveragePooling2D))
    assert (pooling.pool_size, pooling.strides) == ((3, 3), (2, 2))


def test_the_residual_connections_add_the_input_then_a_strided_1x1_projection():
    model = functional_api.residual_model()
    assert layer_params(model) == functional_api.RESIDUAL_BOOK_PARAMS
    assert sum(layer_params(model)) == 755_722
    first_add, second_add = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert [tuple(t.shape[1:]) for t in first_add.input] == [(16, 16, 128)] * 2
    assert [tuple(t.shape[1:]) for t in second_add.input] == [(8, 8, 128)] * 2
    projection = model.layers[8]
    assert (projection.kernel_size, projection.strides, projection.activation.__name__) == ((1, 1), (2, 2), "linear")


def test_the_siamese_lstm_counts_its_shared_lstm_once():
    model = functional_api.siamese_lstm_model()
    assert layer_params(model) == functional_api.SIAMESE_LSTM_BOOK_PARAMS == [0, 0, 20_608, 0, 65]
    lstm = model.layers[2]
    assert lstm.units == 32 and len(lstm._inbound_nodes) == 2  # called on both sentences
    left, right = np.random.default_rng(0).random((2, 1, 7, 128), dtype="float32")
    assert np.allclose(model.predict([left, right], verbose=0), model.predict([left, right], verbose=0))


def test_the_dual_camera_model_uses_one_xception_as_a_layer_for_both_cameras():
    model = functional_api.dual_camera_model(image_size=71)
    assert layer_params(model) == functional_api.DUAL_CAMERA_BOOK_PARAMS == [0, 0, 20_861_480, 0, 0, 4_097]
    xception = model.get_layer("xception")
    assert isinstance(xception, keras.Model) and len(xception._inbound_nodes) == 2
    assert functional_api.CAMERA_IMAGE_SIZE == 250


# --- 2nd edition 7.2-7.4 --------------------------------------------------------------------------------

def test_the_small_model_has_906_parameters_three_ways():
    sequential = functional_api.small_sequential_model()
    assert layer_params(sequential) == functional_api.SMALL_SEQUENTIAL_BOOK_PARAMS == [256, 650]
    assert sequential.name == "my_example_model"
    assert [layer.name for layer in sequential.layers] == ["my_first_layer", "my_last_layer"]
    assert [tuple(w.shape) for w in sequential.weights] == [(3, 64), (64,), (64, 10), (10,)]
    functional = functional_api.small_functional_model()
    assert layer_params(functional) == functional_api.SMALL_FUNCTIONAL_BOOK_PARAMS == [0, 256, 650]
    assert functional.inputs[0].name == "my_input" and functional.inputs[0].dtype == "float32"


def test_the_customer_ticket_model_has_1286789_parameters_and_the_books_layer_list():
    model = functional_api.customer_ticket_model()
    assert layer_params(model) == functional_api.CUSTOMER_TICKET_BOOK_PARAMS == [0, 0, 0, 0, 1_286_464, 65, 260]
    assert [layer.name for layer in model.layers][:3] == ["title", "text_body", "tags"]
    assert [layer.name for layer in model.layers][5:] == ["priority", "department"]
    assert [tuple(t.shape) for t in model.layers[3].input] == [(None, 10_000), (None, 10_000), (None, 100)]
    assert tuple(model.layers[3].output.shape) == (None, 20_100)
    assert activations(model) == ["relu", "sigmoid", "softmax"]


def test_the_ticket_model_with_difficulty_reuses_the_layers_and_adds_195_parameters():
    model = functional_api.customer_ticket_model()
    extended = functional_api.customer_ticket_model_with_difficulty(model)
    assert layer_params(extended) == functional_api.CUSTOMER_TICKET_WITH_DIFFICULTY_BOOK_PARAMS
    assert sum(layer_params(extended)) == 1_286_984
    assert extended.get_layer("priority") is model.get_layer("priority")
    assert extended.output_names == ["priority", "department", "difficulty"]


def test_the_subclassed_ticket_model_has_the_same_1286789_parameters():
    model = functional_api.customer_ticket_subclassed_model()
    assert layer_params(model) == functional_api.CUSTOMER_TICKET_SUBCLASSED_BOOK_PARAMS == [0, 1_286_464, 65, 260]
    assert (functional_api.TICKET_VOCABULARY_SIZE, functional_api.NUM_TAGS, functional_api.NUM_DEPARTMENTS) == (
        10_000, 100, 4)


def test_get_mnist_model_has_407050_parameters_and_drops_half():
    model = functional_api.mnist_dropout_network()
    assert layer_params(model) == functional_api.MNIST_DROPOUT_NETWORK_BOOK_PARAMS == [0, 401_920, 0, 5_130]
    assert model.layers[2].rate == 0.5 and activations(model) == ["relu", "softmax"]


def test_the_custom_rmse_metric_is_the_root_of_the_summed_squared_error_per_sample():
    metric = s7_1_2nd.RootMeanSquaredError()
    y_pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]], "float32")
    metric.update_state(np.array([0, 2]), y_pred[:2])
    metric.update_state(np.array([1]), y_pred[2:])
    one_hot = np.eye(3)[[0, 2, 1]]
    assert float(metric.result()) == pytest.approx(np.sqrt(((one_hot - y_pred) ** 2).sum() / 3), rel=1e-6)
    metric.reset_state()
    metric.update_state(np.array([1]), np.array([[0.0, 1.0, 0.0]], "float32"))
    assert float(metric.result()) == 0.0


def test_the_train_step_override_learns_and_reports_loss_accuracy_and_rmse():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 256)
    images = rng.random((256, 784), dtype="float32") * 0.1
    images[np.arange(256), labels * 70] = 1.0  # one bright pixel per class
    model = functional_api.mnist_dropout_network(model_class=s7_1_2nd.MnistModelWithTrainStep)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    history = model.fit(images, labels, epochs=4, batch_size=32, validation_data=(images, labels), verbose=0).history
    assert {"loss", "accuracy", "rmse", "val_loss", "val_accuracy", "val_rmse"} <= set(history)
    assert history["loss"][-1] < history["loss"][0] and history["val_accuracy"][-1] > 0.9
    predictions = model.predict(images, verbose=0)
    expected_rmse = np.sqrt(((np.eye(10)[labels] - predictions) ** 2).sum() / len(labels))
    assert history["val_rmse"][-1] == pytest.approx(expected_rmse, rel=1e-4)


# --- 7.2 and 7.3 ---------------------------------------------------------------------------------------

def test_the_tensorboard_imdb_convnet_has_291937_parameters_and_the_books_shapes():
    model = best_practices.imdb_convnet_for_tensorboard()
    assert layer_params(model) == best_practices.IMDB_CONVNET_BOOK_PARAMS == [256_000, 28_704, 0, 7_200, 0, 33]
    assert output_shapes(model) == best_practices.IMDB_CONVNET_OUTPUT_SHAPES == [
        (500, 128), (494, 32), (98, 32), (92, 32), (32,), (1,)]
    assert model.layers[0].name == "embed"
    assert (best_practices.IMDB_CONVNET_MAX_FEATURES, best_practices.IMDB_CONVNET_MAX_LEN) == (2000, 500)
    assert activations(model) == ["relu", "relu", "sigmoid"]  # the book forgot the sigmoid


def test_the_batch_normalized_convnet_adds_4_numbers_per_channel_to_chapter_5s_convnet():
    model = best_practices.mnist_convnet_batch_normalized()
    assert layer_params(model) == best_practices.MNIST_CONVNET_BATCH_NORMALIZED_BOOK_PARAMS == [
        320, 128, 0, 18_496, 256, 0, 36_928, 256, 0, 36_928, 256, 650]
    kinds = [type(layer).__name__ for layer in model.layers]
    assert [kinds[i - 1] for i, kind in enumerate(kinds) if kind == "BatchNormalization"] == [
        "Conv2D", "Conv2D", "Conv2D", "Dense"]
    assert sum(int(np.prod(w.shape)) for w in model.non_trainable_weights) == 448


def test_the_separable_convnet_has_38949_parameters_and_its_regular_twin_282282():
    model = best_practices.separable_convnet()
    assert layer_params(model) == best_practices.SEPARABLE_CONVNET_BOOK_PARAMS == [
        155, 2_400, 0, 4_736, 8_896, 0, 9_408, 8_896, 0, 4_128, 330]
    assert output_shapes(model) == best_practices.SEPARABLE_CONVNET_OUTPUT_SHAPES
    assert model.input_shape == (None, 64, 64, 3) and activations(model)[-1] == "softmax"
    regular = best_practices.separable_convnet("regular")
    assert layer_params(regular) == best_practices.REGULAR_CONVNET_PARAMS and regular.count_params() == 282_282


@pytest.mark.parametrize("units, params", [(16, [12_560, 170]), (64, [50_240, 650])])
def test_the_tuners_network_counts_784_times_units_plus_units(units, params):
    model = best_practices.tunable_mnist_network(units)
    assert layer_params(model) == best_practices.tunable_mnist_network_book_params(units) == params
