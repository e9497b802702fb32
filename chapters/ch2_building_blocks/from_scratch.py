"""2.5 (2nd edition) Looking back at the first example: the first network from scratch.

The same network as 2.1, written with nothing but tensors: Dense layers as a
matrix product and a bias, a training step as a GradientTape and a plain
gradient-descent update.
"""

import sys

import keras
import numpy as np
import tensorflow as tf

from chapters.ch2_building_blocks import CHAPTER
from chapters.ch2_building_blocks.first_network import prepare_images
from datasets.mnist import QUICK_SUBSET, load_mnist

BOOK_FROM_SCRATCH_ACCURACY = 0.81  # after 10 epochs
EPOCHS, BATCH_SIZE = 10, 128
LEARNING_RATE = 1e-3  # the book's update_weights: weight -= gradient * 1e-3
INITIAL_WEIGHTS_MAX = 1e-1  # NaiveDense draws W uniformly in [0, 0.1], b = 0


@CHAPTER.section("2.5", "The first network from scratch",
                 "NaiveDense, NaiveSequential and a GradientTape step: ~0.81 after 10 epochs")
def from_scratch(run):
    # The model: two NaiveDense layers in a NaiveSequential, 4 weight tensors.
    model = naive_model()
    parameters = sum(int(np.prod(w.shape)) for w in model.weights)
    print(f"NaiveSequential: {len(model.weights)} weight tensors, {parameters:,} parameters (book: 4, 407,050)")
    run.record("naive_model_weight_tensors", len(model.weights), book=4)
    run.record("naive_model_parameters", parameters, book=407_050)
    if run.summary_only:
        return

    # The data, prepared as in 2.1; then our own training loop and evaluation.
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    train_images, test_images = prepare_images(mnist.train_images), prepare_images(mnist.test_images)
    losses = fit_naive(model, train_images, mnist.train_labels.astype("int64"),
                       epochs=run.epochs(EPOCHS), batch_size=run.batch_size(BATCH_SIZE))
    predictions = model(test_images).numpy().argmax(axis=1)
    accuracy = float(np.mean(predictions == mnist.test_labels))
    run.record("test_accuracy", accuracy, book=BOOK_FROM_SCRATCH_ACCURACY, note=mnist.book_note,
               label="from-scratch test accuracy")
    run.record("loss_per_epoch", [round(x, 4) for x in losses], label="from-scratch loss per epoch")


def naive_model():
    return NaiveSequential([
        NaiveDense(input_size=28 * 28, output_size=512, activation=tf.nn.relu),
        NaiveDense(input_size=512, output_size=10, activation=tf.nn.softmax),
    ])


class NaiveDense:
    """A Dense layer by hand: activation(W . input + b)."""

    def __init__(self, input_size, output_size, activation):
        self.activation = activation
        self.W = tf.Variable(tf.random.uniform((input_size, output_size), minval=0, maxval=INITIAL_WEIGHTS_MAX))
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


def update_weights(gradients, weights, learning_rate=LEARNING_RATE):
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
