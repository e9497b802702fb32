"""The models of Chapter 7's functional API (1st edition 7.1) and of "Working with Keras" (2nd edition 7.2-7.4).

Builders only: no data, no training. Beside each builder, the parameter
count for every entry of `model.layers` (0 for inputs, pooling, concatenation,
dropout), for the book check. The 1st edition prints summaries only for the
twin models (3,466); the other counts are computed from the listings, as the
comments show. Output layers are float32, so that probabilities stay exact
under --mixed-precision.
"""

import keras
from keras import layers

# ---------------------------------------------------------------------------
# 1st edition 7.1.1: a Sequential model and its functional twin
# ---------------------------------------------------------------------------

# Dense(32) on 64 inputs: 64 * 32 + 32 = 2,080; Dense(32): 32 * 32 + 32 = 1,056; Dense(10): 330. Total 3,466.
TWIN_SEQUENTIAL_BOOK_PARAMS = [2_080, 1_056, 330]
TWIN_FUNCTIONAL_BOOK_PARAMS = [0, 2_080, 1_056, 330]  # the functional summary lists the input layer
TWIN_INPUT_FEATURES, TWIN_CLASSES = 64, 10


def twin_sequential():
    """Dense(32, relu) -> Dense(32, relu) -> Dense(10, softmax) on 64 features, as a Sequential model."""
    return keras.Sequential([
        keras.Input(shape=(TWIN_INPUT_FEATURES,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(TWIN_CLASSES, activation="softmax", dtype="float32"),
    ], name="twin_sequential")


def twin_functional():
    """The same layers, each called on the tensor the previous one returned."""
    input_tensor = keras.Input(shape=(TWIN_INPUT_FEATURES,))
    x = layers.Dense(32, activation="relu")(input_tensor)
    x = layers.Dense(32, activation="relu")(x)
    output_tensor = layers.Dense(TWIN_CLASSES, activation="softmax", dtype="float32")(x)
    return keras.Model(input_tensor, output_tensor, name="twin_functional")


# ---------------------------------------------------------------------------
# 1st edition 7.1.2: a two-input question-answering model (listing 7.1)
# ---------------------------------------------------------------------------

TEXT_VOCABULARY_SIZE, QUESTION_VOCABULARY_SIZE, ANSWER_VOCABULARY_SIZE = 10_000, 10_000, 500
# Embedding(10000, 64): 640,000; Embedding(10000, 32): 320,000; LSTM(32) on 64: 4 * (64 * 32 + 32 * 32 + 32) =
# 12,416; LSTM(16) on 32: 4 * (32 * 16 + 16 * 16 + 16) = 3,136; Dense(500) on 48: 24,500. Total 1,000,052.
QUESTION_ANSWERING_BOOK_PARAMS = [0, 0, 640_000, 320_000, 12_416, 3_136, 0, 24_500]
# As printed, Embedding(64, 10000) and Embedding(32, 10000): a 64- and a 32-word vocabulary of 10,000-long
# vectors, so the LSTMs see 10,000 features: 4 * (10000 * 32 + 32 * 32 + 32) = 1,284,224 and
# 4 * (10000 * 16 + 16 * 16 + 16) = 641,088. Total 2,909,812.
QUESTION_ANSWERING_AS_PRINTED_BOOK_PARAMS = [0, 0, 640_000, 320_000, 1_284_224, 641_088, 0, 24_500]


def question_answering_model():
    """What listing 7.1 means: a text and a question (word indices) -> LSTMs -> a softmax over 500 answers."""
    return _question_answering_model(layers.Embedding(TEXT_VOCABULARY_SIZE, 64),
                                     layers.Embedding(QUESTION_VOCABULARY_SIZE, 32), "question_answering")


def question_answering_model_as_printed():
    """Listing 7.1 as printed: Embedding(64, 10000), the arguments swapped (it fails on word indices >= 64)."""
    return _question_answering_model(layers.Embedding(64, TEXT_VOCABULARY_SIZE),
                                     layers.Embedding(32, QUESTION_VOCABULARY_SIZE), "question_answering_as_printed")


def _question_answering_model(text_embedding, question_embedding, name):
    text_input = keras.Input(shape=(None,), dtype="int32", name="text")
    encoded_text = layers.LSTM(32)(text_embedding(text_input))
    question_input = keras.Input(shape=(None,), dtype="int32", name="question")
    encoded_question = layers.LSTM(16)(question_embedding(question_input))
    concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
    answer = layers.Dense(ANSWER_VOCABULARY_SIZE, activation="softmax", dtype="float32")(concatenated)
    return keras.Model([text_input, question_input], answer, name=name)


# ---------------------------------------------------------------------------
# 1st edition 7.1.3: a three-output model (listing 7.3)
# ---------------------------------------------------------------------------

POSTS_VOCABULARY_SIZE, NUM_INCOME_GROUPS = 50_000, 10
# Embedding(50000, 256): 12,800,000; Conv1D(128, 5) on 256: 5 * 256 * 128 + 128 = 163,968; Conv1D(256, 5) on 128:
# 164,096; on 256: 327,936 (three of them); Dense(128) on 256: 32,896; heads: age 129, income 1,290, gender 129.
# Total 14,146,316.
SOCIAL_MEDIA_BOOK_PARAMS = [0, 12_800_000, 163_968, 0, 164_096, 327_936, 0, 327_936, 327_936, 0, 32_896, 129,
                            1_290, 129]
# As printed, Embedding(256, 50000): 256 words of 50,000-long vectors, so the first Conv1D sees 50,000 channels:
# 5 * 50000 * 128 + 128 = 32,000,128. Total 45,982,476.
SOCIAL_MEDIA_AS_PRINTED_BOOK_PARAMS = [0, 12_800_000, 32_000_128, 0, 164_096, 327_936, 0, 327_936, 327_936, 0,
                                       32_896, 129, 1_290, 129]
SOCIAL_MEDIA_OUTPUTS = ("age", "income", "gender")


def social_media_model():
    """What listing 7.3 means: a post's words -> a 1D convnet -> age (regression), income group (10 classes),
    gender (binary)."""
    return _social_media_model(layers.Embedding(POSTS_VOCABULARY_SIZE, 256), "social_media")


def social_media_model_as_printed():
    """Listing 7.3 as printed: Embedding(256, 50000), the arguments swapped."""
    return _social_media_model(layers.Embedding(256, POSTS_VOCABULARY_SIZE), "social_media_as_printed")


def _social_media_model(embedding, name):
    posts_input = keras.Input(shape=(None,), dtype="int32", name="posts")
    x = embedding(posts_input)
    x = layers.Conv1D(128, 5, activation="relu")(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation="relu")(x)
    x = layers.Conv1D(256, 5, activation="relu")(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation="relu")(x)
    x = layers.Conv1D(256, 5, activation="relu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation="relu")(x)
    age = layers.Dense(1, name="age", dtype="float32")(x)
    income = layers.Dense(NUM_INCOME_GROUPS, activation="softmax", name="income", dtype="float32")(x)
    gender = layers.Dense(1, activation="sigmoid", name="gender", dtype="float32")(x)
    return keras.Model(posts_input, [age, income, gender], name=name)


# Two Conv1D(5) and a MaxPooling1D(5), twice, then two more Conv1D(5): a post needs 269 words or more
# for the last convolution to have one position left.
SOCIAL_MEDIA_MIN_POST_LENGTH = 269


# ---------------------------------------------------------------------------
# 1st edition 7.1.4: directed acyclic graphs of layers (Inception module, residual connections)
# ---------------------------------------------------------------------------

# The book applies both to "a 4D tensor" x; ours is a 16x16 feature map with 128 channels, and a small
# classifier (global average pooling, Dense(10)) on top makes each a model that can be trained.
FEATURE_MAP_SHAPE, GRAPH_CLASSES = (16, 16, 128), 10
# Conv2D 1x1 on 128 channels: 128 * 128 + 128 = 16,512; 3x3 on 128: 9 * 128 * 128 + 128 = 147,584.
# Four branches concatenated: 4 * 128 = 512 channels; Dense(10) on 512: 5,130.
# Total 645,002, listed in the order Keras sorts the graph's layers.
INCEPTION_MODULE_BOOK_PARAMS = [0, 16_512, 16_512, 0, 147_584, 16_512, 147_584, 147_584, 147_584, 0, 0, 5_130]
# Identity block: three 3x3 Conv2D(128) and an add; then a block that halves the size: two 3x3 Conv2D(128),
# MaxPooling2D(2) and a strided 1x1 Conv2D(128) on the residual path, added; Dense(10) on 128: 1,290.
# Total 755,722.
RESIDUAL_BOOK_PARAMS = [0, 147_584, 147_584, 147_584, 0, 147_584, 147_584, 0, 16_512, 0, 0, 1_290]


def inception_module_model():
    """Listing 7.1.4's Inception module: four branches of 1x1, 3x3 and pooled convolutions, concatenated.

    Every branch ends with a stride of 2, so their outputs have the same 8x8 size. `padding="same"` (not in
    the book's listing) keeps them equal whatever the input size.
    """
    x = keras.Input(shape=FEATURE_MAP_SHAPE)
    branch_a = layers.Conv2D(128, 1, activation="relu", strides=2)(x)
    branch_b = layers.Conv2D(128, 1, activation="relu")(x)
    branch_b = layers.Conv2D(128, 3, activation="relu", strides=2, padding="same")(branch_b)
    branch_c = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    branch_c = layers.Conv2D(128, 3, activation="relu", padding="same")(branch_c)
    branch_d = layers.Conv2D(128, 1, activation="relu")(x)
    branch_d = layers.Conv2D(128, 3, activation="relu", padding="same")(branch_d)
    branch_d = layers.Conv2D(128, 3, activation="relu", strides=2, padding="same")(branch_d)
    output = layers.concatenate([branch_a, branch_b, branch_c, branch_d], axis=-1)
    return keras.Model(x, _small_classifier(output), name="inception_module")


def residual_model():
    """Listing 7.1.4's two residual connections: the identity (same shapes), then a linear 1x1 projection
    when the block halves the feature map."""
    x = keras.Input(shape=FEATURE_MAP_SHAPE)
    y = layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    y = layers.Conv2D(128, 3, activation="relu", padding="same")(y)
    y = layers.Conv2D(128, 3, activation="relu", padding="same")(y)
    y = layers.add([y, x])  # the original features are added back to the output
    z = layers.Conv2D(128, 3, activation="relu", padding="same")(y)
    z = layers.Conv2D(128, 3, activation="relu", padding="same")(z)
    z = layers.MaxPooling2D(2, strides=2)(z)
    residual = layers.Conv2D(128, 1, strides=2, padding="same")(y)  # the residual reshaped to z's shape
    z = layers.add([z, residual])
    return keras.Model(x, _small_classifier(z), name="residual_connections")


def _small_classifier(feature_map):
    pooled = layers.GlobalAveragePooling2D()(feature_map)
    return layers.Dense(GRAPH_CLASSES, activation="softmax", dtype="float32")(pooled)


# ---------------------------------------------------------------------------
# 1st edition 7.1.5: layer weight sharing (a Siamese LSTM)
# ---------------------------------------------------------------------------

SENTENCE_FEATURES = 128
# One LSTM(32) on 128 features, counted once: 4 * (128 * 32 + 32 * 32 + 32) = 20,608; Dense(1) on 64: 65.
SIAMESE_LSTM_BOOK_PARAMS = [0, 0, 20_608, 0, 65]


def siamese_lstm_model():
    """Two sentences through the same LSTM (one set of weights), concatenated -> Dense(1, sigmoid)."""
    lstm = layers.LSTM(32)
    left_input = keras.Input(shape=(None, SENTENCE_FEATURES), name="left")
    right_input = keras.Input(shape=(None, SENTENCE_FEATURES), name="right")
    merged = layers.concatenate([lstm(left_input), lstm(right_input)], axis=-1)
    predictions = layers.Dense(1, activation="sigmoid", dtype="float32")(merged)
    return keras.Model([left_input, right_input], predictions, name="siamese_lstm")


# ---------------------------------------------------------------------------
# 1st edition 7.1.6: models as layers (a dual-camera model around one Xception base)
# ---------------------------------------------------------------------------

CAMERA_IMAGE_SIZE = 250
XCEPTION_NO_TOP_PARAMS = 20_861_480  # keras.applications.Xception(include_top=False): one layer of our model
# The two cameras share one Xception (counted once); its 8x8x2048 maps, concatenated to 4,096 channels and
# averaged, feed our Dense(1): 4,097.
DUAL_CAMERA_BOOK_PARAMS = [0, 0, XCEPTION_NO_TOP_PARAMS, 0, 0, 4_097]


def dual_camera_model(image_size=CAMERA_IMAGE_SIZE):
    """Listing 7.1.6: one Xception base (untrained, weights=None) called on a left and a right camera image.

    The book stops at the concatenated features; a pooled Dense(1, sigmoid) on top (ours) makes it trainable.
    The parameter counts do not depend on `image_size` (at least 71, Xception's smallest).
    """
    xception_base = keras.applications.Xception(weights=None, include_top=False,
                                                input_shape=(image_size, image_size, 3))
    left_input = keras.Input(shape=(image_size, image_size, 3), name="left_camera")
    right_input = keras.Input(shape=(image_size, image_size, 3), name="right_camera")
    merged_features = layers.concatenate([xception_base(left_input), xception_base(right_input)], axis=-1)
    pooled = layers.GlobalAveragePooling2D()(merged_features)
    same_object = layers.Dense(1, activation="sigmoid", dtype="float32")(pooled)
    return keras.Model([left_input, right_input], same_object, name="dual_camera")


# ---------------------------------------------------------------------------
# 2nd edition 7.2: three ways to build the same small model
# ---------------------------------------------------------------------------

# Dense(64) on 3 features: 3 * 64 + 64 = 256; Dense(10): 650. Total 906.
SMALL_SEQUENTIAL_BOOK_PARAMS = [256, 650]
SMALL_FUNCTIONAL_BOOK_PARAMS = [0, 256, 650]


def small_sequential_model():
    """keras.Sequential([Dense(64, relu), Dense(10, softmax)]), named, built for 3 features."""
    model = keras.Sequential(name="my_example_model")
    model.add(layers.Dense(64, activation="relu", name="my_first_layer"))
    model.add(layers.Dense(10, activation="softmax", name="my_last_layer", dtype="float32"))
    model.build((None, 3))  # weights exist only once the input size is known
    return model


def small_functional_model():
    """The same with the functional API, from a named Input."""
    inputs = keras.Input(shape=(3,), name="my_input")
    features = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(features)
    return keras.Model(inputs=inputs, outputs=outputs, name="small_functional_model")


# ---------------------------------------------------------------------------
# 2nd edition 7.2.2: the customer-ticket model, functional and subclassed
# ---------------------------------------------------------------------------

TICKET_VOCABULARY_SIZE, NUM_TAGS, NUM_DEPARTMENTS = 10_000, 100, 4
# Three inputs concatenated: 10,000 + 10,000 + 100 = 20,100 features; Dense(64): 20,100 * 64 + 64 = 1,286,464;
# priority Dense(1): 65; department Dense(4): 260. Total 1,286,789.
CUSTOMER_TICKET_BOOK_PARAMS = [0, 0, 0, 0, 1_286_464, 65, 260]
# With a third output, difficulty Dense(3) on the same 64 features: 195. Total 1,286,984.
CUSTOMER_TICKET_WITH_DIFFICULTY_BOOK_PARAMS = [0, 0, 0, 0, 1_286_464, 65, 260, 195]
# The subclassed model lists its layers as its constructor created them (no inputs). Total 1,286,789.
CUSTOMER_TICKET_SUBCLASSED_BOOK_PARAMS = [0, 1_286_464, 65, 260]


def customer_ticket_model():
    """Title, text body (multi-hot words) and tags -> Dense(64) -> priority (sigmoid) and department (softmax)."""
    title = keras.Input(shape=(TICKET_VOCABULARY_SIZE,), name="title")
    text_body = keras.Input(shape=(TICKET_VOCABULARY_SIZE,), name="text_body")
    tags = keras.Input(shape=(NUM_TAGS,), name="tags")
    features = layers.Concatenate()([title, text_body, tags])
    features = layers.Dense(64, activation="relu")(features)
    priority = layers.Dense(1, activation="sigmoid", name="priority", dtype="float32")(features)
    department = layers.Dense(NUM_DEPARTMENTS, activation="softmax", name="department", dtype="float32")(features)
    return keras.Model(inputs=[title, text_body, tags], outputs=[priority, department], name="customer_ticket")


def customer_ticket_model_with_difficulty(model):
    """A new model that reuses `model`'s layers (and weights) and adds a third output, the ticket's difficulty."""
    features = model.layers[4].output  # the Dense(64) layer's output
    difficulty = layers.Dense(3, activation="softmax", name="difficulty", dtype="float32")(features)
    return keras.Model(inputs=model.inputs, outputs=[*model.outputs, difficulty],
                       name="customer_ticket_with_difficulty")


class CustomerTicketModel(keras.Model):
    """The same model, subclassed: layers made in __init__, the forward pass written in call()."""

    def __init__(self, num_departments=NUM_DEPARTMENTS, **kwargs):
        super().__init__(**kwargs)
        self.concat_layer = layers.Concatenate()
        self.mixing_layer = layers.Dense(64, activation="relu")
        self.priority_scorer = layers.Dense(1, activation="sigmoid", dtype="float32")
        self.department_classifier = layers.Dense(num_departments, activation="softmax", dtype="float32")

    def call(self, inputs):
        features = self.concat_layer([inputs["title"], inputs["text_body"], inputs["tags"]])
        features = self.mixing_layer(features)
        return self.priority_scorer(features), self.department_classifier(features)


def customer_ticket_subclassed_model():
    """CustomerTicketModel, called once on an empty batch so that its weights exist and can be counted."""
    model = CustomerTicketModel(num_departments=NUM_DEPARTMENTS, name="customer_ticket_subclassed")
    model({"title": keras.ops.zeros((1, TICKET_VOCABULARY_SIZE)),
           "text_body": keras.ops.zeros((1, TICKET_VOCABULARY_SIZE)), "tags": keras.ops.zeros((1, NUM_TAGS))})
    return model


# ---------------------------------------------------------------------------
# 2nd edition 7.3-7.4: get_mnist_model(), for built-in and custom training loops
# ---------------------------------------------------------------------------

# Dense(512) on 784 pixels: 401,920; Dense(10): 5,130. Total 407,050 (chapter 2's network with dropout).
MNIST_DROPOUT_NETWORK_BOOK_PARAMS = [0, 401_920, 0, 5_130]


def mnist_dropout_network(model_class=keras.Model):
    """get_mnist_model(): 784 pixels -> Dense(512, relu) -> Dropout(0.5) -> Dense(10, softmax).

    `model_class` lets 7.4 build the same graph as a keras.Model subclass with its own train_step.
    """
    inputs = keras.Input(shape=(28 * 28,))
    features = layers.Dense(512, activation="relu")(inputs)
    features = layers.Dropout(0.5)(features)
    outputs = layers.Dense(10, activation="softmax", dtype="float32")(features)
    return model_class(inputs, outputs, name="mnist_dropout_network")
