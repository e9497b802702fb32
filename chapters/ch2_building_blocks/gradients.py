"""2.4 The engine of neural networks: gradient-based optimisation, with tf.GradientTape."""

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from chapters.ch2_building_blocks import CHAPTER
from chapters.figures import save_figure


@CHAPTER.section("2.4", "Gradients with GradientTape",
                 "6 / 108 / 18, 40 / 3, second order 9.8, linear regression and a linear classifier")
def gradients(run):
    print("\nOne persistent tape, three gradients (x = 3, y = x^2, z = y^2):")
    for name, value in persistent_tape_gradients().items():
        print(f"  {name} = {value}")
    run.record("persistent_tape", persistent_tape_gradients(), book={"dy/dx": 6.0, "dz/dx": 108.0, "dz/dy": 18.0},
               label="persistent tape")
    run.record("workshop_gradients", workshop_gradients(), book={"df/dx": 40.0, "df/dy": 3.0},
               label="f = 5x^2 + 3 sin(y) at (4, 0)")
    run.record("simple_gradients", simple_gradients(),
               book={"d(2x+3)/dx": 2.0, "d(x^2)/dx at 3 (Variable)": 6.0, "d(x^2)/dx at 3 (watched constant)": 6.0})
    run.record("second_order", second_order_gradients(), book={"speed at t=0": 0.0, "acceleration": 9.8})

    # Linear regression by gradient descent: the tape gives d(loss)/dw and d(loss)/db.
    x, y, w, b, losses = linear_regression(steps=50 if run.quick else 200, seed=run.seed)
    run.record("linear_regression",  {"w": round(w, 3), "b": round(b, 3)}, book={"w": 3.0, "b": 2.0},
               note="the true line is y = 2 + 3x")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y, s=6, alpha=0.5, label="samples")
    line = np.linspace(-1, 1, 10)
    ax.plot(line, b + w * line, "r", label=f"fit: y = {b:.2f} + {w:.2f} x")
    ax.legend()
    ax.set_title("Linear regression by gradient descent")
    save_figure(fig, run.path("linear_regression.png"))

    # A linear classifier from scratch: 40 full-batch steps of gradient descent.
    inputs, targets = make_two_classes(seed=run.seed)
    classifier = LinearClassifier(seed=run.seed)
    losses = [classifier.training_step(inputs, targets) for _ in range(40)]
    print("Linear classifier, loss per step:", " ".join(f"{loss:.4f}" for loss in losses[::5]), "...")
    predictions = classifier(inputs).numpy()
    accuracy = float(np.mean((predictions > 0.5) == (targets > 0.5)))
    run.record("linear_classifier_loss", losses[-1], book=0.025, label="linear classifier loss after 40 steps")
    run.record("linear_classifier_accuracy", accuracy)

    # The decision line: w1 * x + w2 * y + b = 0.5, i.e. y = -w1 / w2 * x + (0.5 - b) / w2
    W, b = classifier.W.numpy().ravel(), float(classifier.b.numpy()[0])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(inputs[:, 0], inputs[:, 1], c=predictions[:, 0] > 0.5, s=4, cmap="coolwarm")
    line_x = np.linspace(-3, 6, 100)
    ax.plot(line_x, -W[0] / W[1] * line_x + (0.5 - b) / W[1], "-k", label="decision line")
    ax.set_ylim(-4, 7)
    ax.legend()
    ax.set_title(f"Linear classifier after 40 steps (loss {losses[-1]:.4f})")
    save_figure(fig, run.path("linear_classifier.png"))
    print(f"Saved the regression fit and the decision line as PNGs in {run.folder}")


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
