"""Chapter 2: the mathematical building blocks of neural networks.

    python -m chapters.ch2_building_blocks          # 2.1, the first network on MNIST
    python -m chapters.ch2_building_blocks 2.4      # gradients with GradientTape
    python -m chapters.ch2_building_blocks all --quick

2.1 trains the book's first network; 2.2 and 2.3 show what tensors are and how
the operations on them are computed (naive loops against NumPy); 2.4 computes
gradients with tf.GradientTape and uses them for gradient descent; 2.5 rebuilds
the first network from scratch with nothing but tensors and a GradientTape.
"""

import sys
import time

import keras
import matplotlib

matplotlib.use("Agg")  # write PNG files; no window needed
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.common import Chapter, Section, check_against_book, save_figure
from datasets.arrays import array_dataset
from datasets.mnist import load_mnist
from models.first_network import FIRST_NETWORK_BOOK_PARAMS, build_first_network

BOOK_TEST_ACCURACY = 0.978  # 2.1, both editions: "97.8%"
BOOK_FROM_SCRATCH_ACCURACY = 0.81  # 2.5 (2nd edition), after 10 epochs


def load_digits(ctx):
    """MNIST from the data directory, the Keras download or the offline sample."""
    mnist = load_mnist(ctx.data_dir)
    if ctx.quick:
        mnist = mnist.head(2000, 500)
    return mnist


def book_note(mnist):
    """The book's numbers are for the full MNIST; say so when we trained on less."""
    return "" if mnist.is_full else "not the full MNIST: the book's number does not apply"


# ---------------------------------------------------------------------------
# 2.1 A first look at a neural network
# ---------------------------------------------------------------------------

def prepare_images(images):
    """(N, 28, 28) uint8 -> (N, 784) float32 in [0, 1], as the network expects."""
    return images.reshape((len(images), 28 * 28)).astype("float32") / 255


def prepare_labels(labels, one_hot):
    """1st edition: one-hot vectors (categorical crossentropy); 2nd: the integers."""
    return keras.utils.to_categorical(labels, 10) if one_hot else labels.astype("int64")


def first_network(ctx):
    variant = ctx.args.variant
    if variant == "workshop":
        # The slides' workshop version: sigmoid everywhere, mean squared error
        # and plain SGD. It learns far more slowly: that is the lesson.
        model = build_first_network(activation="sigmoid", output_activation="sigmoid")
        optimizer, loss, one_hot = "sgd", "mean_squared_error", True
    else:
        model = build_first_network()
        one_hot = ctx.edition == 1
        optimizer = "rmsprop"
        loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    check_against_book(model, FIRST_NETWORK_BOOK_PARAMS, "DLwP 2.1 (407,050 parameters)")
    if ctx.summary_only:
        return

    mnist = load_digits(ctx)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    train_labels = prepare_labels(mnist.train_labels, one_hot)
    test_labels = prepare_labels(mnist.test_labels, one_hot)
    batch_size = ctx.batch_size(128)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], **ctx.compile_settings("dense"))
    print(f"Compiled with optimizer={optimizer}, loss={loss} ({'one-hot' if one_hot else 'integer'} labels)")

    ctx.fit(model, array_dataset(train_images, train_labels, batch_size, shuffle=True, seed=ctx.args.seed),
            name=f"first_network_{variant}", epochs=ctx.epochs(5))
    test_loss, test_accuracy = model.evaluate(array_dataset(test_images, test_labels, 1024), verbose=0)
    if variant == "workshop":
        ctx.record("workshop test accuracy", float(test_accuracy),
                   note="sigmoid + MSE + SGD; compare with the book's 0.978 for relu/softmax + crossentropy + rmsprop")
    else:
        ctx.record("test accuracy", float(test_accuracy), book=BOOK_TEST_ACCURACY, note=book_note(mnist))

    # The book's last step: predictions for the first test digits.
    predictions = model.predict(test_images[:10], verbose=0)
    print("First 10 test digits, predicted:", predictions.argmax(axis=1).tolist())
    print("                       labelled:", mnist.test_labels[:10].tolist())


# ---------------------------------------------------------------------------
# 2.2 Data representations: tensors
# ---------------------------------------------------------------------------

def tensors(ctx):
    mnist = load_digits(ctx)
    train_images, train_labels = mnist.train_images, mnist.train_labels

    print("\nScalars, vectors, matrices and higher-rank tensors:")
    for example in (np.array(12), np.array([12, 3, 6, 14, 7]), np.array([[5, 78, 2], [6, 79, 3]]),
                    np.zeros((3, 3, 5))):
        print(f"  shape {str(example.shape):<12} ndim {example.ndim}")

    print("\nThe MNIST training images as one tensor:")
    print(f"  train_images.ndim  = {train_images.ndim}")
    print(f"  train_images.shape = {train_images.shape}")
    print(f"  train_images.dtype = {train_images.dtype}")
    ctx.record("train_images.ndim", train_images.ndim, book=3)
    ctx.record("train_images.shape", str(train_images.shape), book="(60000, 28, 28)", note=book_note(mnist))

    print("\nSlicing along the first (sample) axis and inside the images:")
    print(f"  train_images[10:100].shape        = {train_images[10:100].shape}   (book: (90, 28, 28))")
    print(f"  train_images[:, 14:, 14:].shape   = {train_images[:, 14:, 14:].shape}   (bottom-right corners)")
    print(f"  train_images[:, 7:-7, 7:-7].shape = {train_images[:, 7:-7, 7:-7].shape}   (centre crops)")

    batch_size = 128
    n = 2  # the book's n-th batch: train_images[128 * n : 128 * (n + 1)]
    batch = train_images[batch_size * n: batch_size * (n + 1)]
    print(f"\nBatches along the first axis: batch {n} has shape {batch.shape}; "
          f"{int(np.ceil(len(train_images) / batch_size))} batches of {batch_size} per epoch")

    # The book shows the fifth training digit.
    digit = train_images[4]
    fig, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(digit, cmap=plt.cm.binary)
    ax.set_title(f"train_images[4], label {train_labels[4]}")
    ax.axis("off")
    print(f"Saved the digit to {save_figure(fig, ctx.path('digit.png'))}")


# ---------------------------------------------------------------------------
# 2.3 Tensor operations: what the vectorised NumPy calls compute
# ---------------------------------------------------------------------------

def naive_relu(x):
    """Element-wise max(x, 0), one element at a time (x: 2D)."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] = max(x[i, j], 0)
    return x


def naive_add(x, y):
    """Element-wise addition of two 2D tensors of the same shape."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] += y[i, j]
    return x


def naive_add_matrix_and_vector(x, y):
    """Broadcasting by hand: add the vector y to every row of the matrix x."""
    x = x.copy()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            x[i, j] += y[j]
    return x


def naive_vector_dot(x, y):
    z = 0.0
    for i in range(x.shape[0]):
        z += x[i] * y[i]
    return z


def naive_matrix_dot(x, y):
    """Each entry of the product is the dot product of a row of x and a column of y."""
    z = np.zeros((x.shape[0], y.shape[1]))
    for i in range(x.shape[0]):
        for j in range(y.shape[1]):
            z[i, j] = naive_vector_dot(x[i, :], y[:, j])
    return z


def time_call(function, *args, repeat=3):
    """Best of `repeat` wall-clock timings, in seconds."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def tensor_operations(ctx):
    rng = np.random.default_rng(ctx.args.seed)
    size = 100 if ctx.quick else 300
    x, y = rng.random((size, size)), rng.random((size, size))
    vector = rng.random((size,))
    a, b = rng.random((size // 3, size)), rng.random((size, size // 3))
    comparisons = [
        ("relu", naive_relu, lambda x: np.maximum(x, 0.0), (x - 0.5,)),
        ("add", naive_add, lambda x, y: x + y, (x, y)),
        ("add a vector to each row (broadcasting)", naive_add_matrix_and_vector, lambda x, y: x + y, (x, vector)),
        ("matrix dot", naive_matrix_dot, np.dot, (a, b)),
    ]
    print(f"\nNaive Python loops against NumPy's vectorised operations (on {size}x{size} arrays):")
    timings = {}
    for name, naive, vectorised, arguments in comparisons:
        naive_seconds, naive_result = time_call(naive, *arguments, repeat=1)
        fast_seconds, fast_result = time_call(vectorised, *arguments)
        assert np.allclose(naive_result, fast_result), name  # the same numbers, only faster
        timings[name] = round(naive_seconds / max(fast_seconds, 1e-9))
        print(f"  {name:<42} naive {naive_seconds * 1e3:9.2f} ms   numpy {fast_seconds * 1e3:8.3f} ms   "
              f"{timings[name]:,}x faster")
    ctx.record("NumPy speed-up over naive loops", timings)

    print("\nBroadcasting: the smaller tensor is repeated along the missing axes.")
    x, y = rng.random((32, 10)), rng.random((10,))
    print(f"  (32, 10) + (10,) -> {(x + y).shape}")
    x, y = rng.random((64, 3, 32, 10)), rng.random((32, 10))
    print(f"  np.maximum((64, 3, 32, 10), (32, 10)) -> {np.maximum(x, y).shape}")

    print("\nTensor dot (np.dot): shapes must agree on the inner axis.")
    for left, right in [((32,), (32,)), ((32, 10), (10,)), ((32, 10), (10, 16))]:
        print(f"  {str(left):<9} . {str(right):<9} -> {np.dot(rng.random(left), rng.random(right)).shape}")

    print("\nReshaping keeps the elements and changes the shape:")
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    print(f"  {x.shape} -> reshape((6, 1)) -> {x.reshape((6, 1)).shape}: {x.reshape((6, 1)).ravel().tolist()}")
    print(f"  {x.shape} -> reshape((2, 3)) -> {x.reshape((2, 3)).tolist()}")
    print(f"  (300, 20) -> transpose -> {np.zeros((300, 20)).T.shape}")


# ---------------------------------------------------------------------------
# 2.4 Gradient-based optimization: GradientTape
# ---------------------------------------------------------------------------

def persistent_tape_gradients():
    """The slides' demo: y = x^2 and z = y^2 at x = 3, several gradients from one tape."""
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:  # persistent: we ask for three gradients
        tape.watch(x)  # constants are not watched automatically
        y = x * x
        z = y * y
    gradients = {"dy/dx": tape.gradient(y, x), "dz/dx": tape.gradient(z, x), "dz/dy": tape.gradient(z, y)}
    del tape  # a persistent tape holds its resources until deleted
    return {name: float(value) for name, value in gradients.items()}


def workshop_gradients():
    """f(x, y) = 5x^2 + 3 sin(y) at x = 4, y = 0: df/dx = 10x = 40, df/dy = 3 cos(y) = 3."""
    x, y = tf.Variable(4.0), tf.Variable(0.0)
    with tf.GradientTape() as tape:
        f = 5 * x ** 2 + 3 * tf.sin(y)
    df_dx, df_dy = tape.gradient(f, [x, y])
    return {"df/dx": float(df_dx), "df/dy": float(df_dy)}


def simple_gradients():
    """The 2nd edition's first examples: a Variable, then a watched constant."""
    x = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        y = 2 * x + 3
    linear = tape.gradient(y, x)

    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x ** 2
    of_variable = tape.gradient(y, x)

    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x ** 2
    of_constant = tape.gradient(y, x)
    return {"d(2x+3)/dx": float(linear), "d(x^2)/dx at 3 (Variable)": float(of_variable),
            "d(x^2)/dx at 3 (watched constant)": float(of_constant)}


def second_order_gradients():
    """Position 4.9 t^2 (a falling apple): speed 9.8 t, acceleration 9.8."""
    time_ = tf.Variable(0.0)
    with tf.GradientTape() as outer_tape:
        with tf.GradientTape() as inner_tape:
            position = 4.9 * time_ ** 2
        speed = inner_tape.gradient(position, time_)
    acceleration = outer_tape.gradient(speed, time_)
    # float32 holds 9.8 as 9.80000019...: round for the printout.
    return {"speed at t=0": round(float(speed), 6), "acceleration": round(float(acceleration), 6)}


def linear_regression(steps=200, learning_rate=0.1, seed=0):
    """Fit y = b + w x by gradient descent on noisy samples of y = 2 + 3x."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(200,)).astype("float32")
    y = (2.0 + 3.0 * x + rng.normal(0, 0.1, size=x.shape)).astype("float32")
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - (b + w * x)))
        grad_w, grad_b = tape.gradient(loss, [w, b])
        w.assign_sub(learning_rate * grad_w)  # step against the gradient
        b.assign_sub(learning_rate * grad_b)
        losses.append(float(loss))
    return x, y, float(w), float(b), losses


def make_two_classes(samples_per_class=1000, seed=0):
    """Two Gaussian clouds with the same covariance, centred on (0, 3) and (3, 0)."""
    rng = np.random.default_rng(seed)
    covariance = [[1, 0.5], [0.5, 1]]
    negatives = rng.multivariate_normal(mean=[0, 3], cov=covariance, size=samples_per_class)
    positives = rng.multivariate_normal(mean=[3, 0], cov=covariance, size=samples_per_class)
    inputs = np.vstack((negatives, positives)).astype("float32")
    targets = np.vstack((np.zeros((samples_per_class, 1)), np.ones((samples_per_class, 1)))).astype("float32")
    return inputs, targets


class LinearClassifier:
    """prediction = W . input + b, trained with a mean squared error."""

    def __init__(self, seed=0):
        self.W = tf.Variable(tf.random.uniform(shape=(2, 1), seed=seed))
        self.b = tf.Variable(tf.zeros(shape=(1,)))

    def __call__(self, inputs):
        return tf.matmul(inputs, self.W) + self.b

    def training_step(self, inputs, targets, learning_rate=0.1):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(targets - self(inputs)))
        grad_W, grad_b = tape.gradient(loss, [self.W, self.b])
        self.W.assign_sub(grad_W * learning_rate)
        self.b.assign_sub(grad_b * learning_rate)
        return float(loss)


def gradients(ctx):
    print("\nOne persistent tape, three gradients (x = 3, y = x^2, z = y^2):")
    for name, value in persistent_tape_gradients().items():
        print(f"  {name} = {value}")
    ctx.record("persistent tape", persistent_tape_gradients(), book={"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0})
    ctx.record("f = 5x^2 + 3 sin(y) at (4, 0)", workshop_gradients(), book={"df/dx": 40.0, "df/dy": 3.0})
    ctx.record("simple gradients", simple_gradients(),
               book={"d(2x+3)/dx": 2.0, "d(x^2)/dx at 3 (Variable)": 6.0, "d(x^2)/dx at 3 (watched constant)": 6.0})
    ctx.record("second order", second_order_gradients(), book={"speed at t=0": 0.0, "acceleration": 9.8})

    # Linear regression by gradient descent: the tape gives d(loss)/dw and d(loss)/db.
    x, y, w, b, losses = linear_regression(steps=50 if ctx.quick else 200, seed=ctx.args.seed)
    ctx.record("linear regression w, b", {"w": round(w, 3), "b": round(b, 3)}, book={"w": 3.0, "b": 2.0},
               note="the true line is y = 2 + 3x")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=6, alpha=0.5, label="samples")
    line = np.linspace(-1, 1, 10)
    ax.plot(line, b + w * line, "r", label=f"fit: y = {b:.2f} + {w:.2f} x")
    ax.legend()
    ax.set_title("Linear regression by gradient descent")
    save_figure(fig, ctx.path("linear_regression.png"))

    # A linear classifier from scratch: 40 full-batch steps of gradient descent.
    inputs, targets = make_two_classes(seed=ctx.args.seed)
    classifier = LinearClassifier(seed=ctx.args.seed)
    losses = [classifier.training_step(inputs, targets) for _ in range(40)]
    print("Linear classifier, loss per step:", " ".join(f"{loss:.4f}" for loss in losses[::5]), "...")
    predictions = classifier(inputs).numpy()
    accuracy = float(np.mean((predictions > 0.5) == (targets > 0.5)))
    ctx.record("linear classifier loss after 40 steps", losses[-1], book=0.025)
    ctx.record("linear classifier accuracy", accuracy)

    # The decision line: w1 * x + w2 * y + b = 0.5, i.e. y = -w1 / w2 * x + (0.5 - b) / w2
    W, b = classifier.W.numpy().ravel(), float(classifier.b.numpy()[0])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(inputs[:, 0], inputs[:, 1], c=predictions[:, 0] > 0.5, s=4, cmap="coolwarm")
    line_x = np.linspace(-3, 6, 100)
    ax.plot(line_x, -W[0] / W[1] * line_x + (0.5 - b) / W[1], "-k", label="decision line")
    ax.set_ylim(-4, 7)
    ax.legend()
    ax.set_title(f"Linear classifier after 40 steps (loss {losses[-1]:.4f})")
    save_figure(fig, ctx.path("linear_classifier.png"))
    print(f"Saved the regression fit and the decision line as PNGs in {ctx.run_dir}")


# ---------------------------------------------------------------------------
# 2.5 The first network from scratch (2nd edition)
# ---------------------------------------------------------------------------

class NaiveDense:
    """A Dense layer by hand: activation(W . input + b)."""

    def __init__(self, input_size, output_size, activation):
        self.activation = activation
        self.W = tf.Variable(tf.random.uniform((input_size, output_size), minval=0, maxval=1e-1))
        self.b = tf.Variable(tf.zeros((output_size,)))

    def __call__(self, inputs):
        return self.activation(tf.matmul(inputs, self.W) + self.b)

    @property
    def weights(self):
        return [self.W, self.b]


class NaiveSequential:
    """Chains layers, and collects their weights."""

    def __init__(self, layers):
        self.layers = layers

    def __call__(self, inputs):
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def weights(self):
        return [weight for layer in self.layers for weight in layer.weights]


def build_naive_model():
    return NaiveSequential([
        NaiveDense(input_size=28 * 28, output_size=512, activation=tf.nn.relu),
        NaiveDense(input_size=512, output_size=10, activation=tf.nn.softmax),
    ])


class BatchGenerator:
    """Walks through the images and labels in batches, in order."""

    def __init__(self, images, labels, batch_size=128):
        assert len(images) == len(labels)
        self.index = 0
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.num_batches = int(np.ceil(len(images) / batch_size))

    def next(self):
        images = self.images[self.index: self.index + self.batch_size]
        labels = self.labels[self.index: self.index + self.batch_size]
        self.index += self.batch_size
        return images, labels


def update_weights(gradients, weights, learning_rate=1e-3):
    """Plain gradient descent: move each weight a small step against its gradient."""
    for gradient, weight in zip(gradients, weights):
        weight.assign_sub(gradient * learning_rate)


def one_training_step(model, images_batch, labels_batch):
    with tf.GradientTape() as tape:
        predictions = model(images_batch)
        per_sample_losses = keras.losses.sparse_categorical_crossentropy(labels_batch, predictions)
        average_loss = tf.reduce_mean(per_sample_losses)
    gradients = tape.gradient(average_loss, model.weights)
    update_weights(gradients, model.weights)
    return average_loss


# tf.function traces the step into a graph once; the Python above runs eagerly
# when called directly (as the tests do), and the numbers are the same.
fast_training_step = tf.function(one_training_step)


def fit_naive(model, images, labels, epochs, batch_size=128):
    losses = []
    for epoch in range(epochs):
        batch_generator = BatchGenerator(images, labels, batch_size)
        progress = keras.utils.Progbar(batch_generator.num_batches, stateful_metrics=["loss"],
                                       verbose=1 if sys.stdout.isatty() else 0)
        for batch_counter in range(batch_generator.num_batches):
            images_batch, labels_batch = batch_generator.next()
            loss = float(fast_training_step(model, images_batch, labels_batch))
            progress.update(batch_counter + 1, values=[("loss", loss)])
        print(f"Epoch {epoch + 1}/{epochs}: loss at last batch {loss:.4f}")
        losses.append(loss)
    return losses


def from_scratch(ctx):
    model = build_naive_model()
    parameters = sum(int(np.prod(w.shape)) for w in model.weights)
    print(f"NaiveSequential: {len(model.weights)} weight tensors, {parameters:,} parameters (book: 4, 407,050)")
    ctx.record("naive model weight tensors", len(model.weights), book=4)
    if ctx.summary_only:
        return
    mnist = load_digits(ctx)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    losses = fit_naive(model, train_images, mnist.train_labels.astype("int64"),
                       epochs=ctx.epochs(10), batch_size=ctx.batch_size(128))
    predictions = model(test_images).numpy().argmax(axis=1)
    accuracy = float(np.mean(predictions == mnist.test_labels))
    ctx.record("from-scratch test accuracy", accuracy, book=BOOK_FROM_SCRATCH_ACCURACY, note=book_note(mnist))
    ctx.record("from-scratch loss per epoch", [round(x, 4) for x in losses])


# ---------------------------------------------------------------------------

def add_arguments(parser):
    parser.add_argument("--variant", choices=["book", "workshop"], default="book",
                        help="2.1: the book's network (relu/softmax, crossentropy, rmsprop) or the slides' "
                             "workshop one (sigmoid, mean squared error, SGD)")


CHAPTER = Chapter(
    name="ch2_building_blocks",
    title="Chapter 2: The mathematical building blocks of neural networks",
    description=__doc__.split("\n\n", 2)[2].strip(),
    default_section="2.1",
    add_arguments=add_arguments,
    sections=[
        Section("2.1", "A first look at a neural network",
                "Dense(512) -> Dense(10) on MNIST, 5 epochs: 407,050 parameters, test accuracy ~0.978", first_network),
        Section("2.2", "Data representations: tensors",
                "ndim, shape, dtype, slices and batches of MNIST; saves one digit as a PNG", tensors),
        Section("2.3", "Tensor operations",
                "relu, addition, broadcasting, dot, reshape: naive loops timed against NumPy", tensor_operations),
        Section("2.4", "Gradients with GradientTape",
                "6 / 108 / 18, 40 / 3, second order 9.8, linear regression and a linear classifier", gradients),
        Section("2.5", "The first network from scratch",
                "NaiveDense, NaiveSequential and a GradientTape step: ~0.81 after 10 epochs", from_scratch),
    ],
)

if __name__ == "__main__":
    CHAPTER.main()
