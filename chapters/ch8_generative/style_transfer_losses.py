"""8.3's losses, as the book defines them, and the loss of a generated image with its gradient.

Content loss (block5_conv2's features), style loss (Gram matrices of
block1_conv1 ... block5_conv1) and total variation. `make_loss_function` is
ours: the content features and the style Gram matrices never change, so they
are computed once (`compute_targets`) and only the generated image goes
through VGG19; `make_book_loss_function` is the book's, which pushes all three
images through it at every call.
"""

import tensorflow as tf

from models.vgg_style import CONTENT_LAYER, STYLE_LAYERS


def gram_matrix(x):
    """(height, width, channels) features -> (channels, channels) inner products of the channel maps."""
    x = tf.cast(x, "float32")  # float16 (mixed precision) sums overflow
    features = tf.reshape(tf.transpose(x, (2, 0, 1)), (tf.shape(x)[2], -1))
    return tf.matmul(features, features, transpose_b=True)


def content_loss(base, combination):
    return tf.reduce_sum(tf.square(tf.cast(combination, "float32") - tf.cast(base, "float32")))


def style_loss_from_gram(style_gram, combination, size):
    """The book's style loss with the style image's Gram matrix already computed.

    The book normalises by 4 * channels^2 * size^2 with channels = 3 and size =
    the image's height * width (not the layer's): we keep its numbers.
    """
    channels = 3
    difference = style_gram - gram_matrix(combination)
    return tf.reduce_sum(tf.square(difference)) / (4.0 * (channels ** 2) * (size ** 2))


def style_loss(style, combination, size):
    return style_loss_from_gram(gram_matrix(style), combination, size)


def total_variation_loss(x):
    """Penalise differences between neighbouring pixels: keeps the image locally coherent."""
    height, width = x.shape[1], x.shape[2]
    a = tf.square(x[:, : height - 1, : width - 1, :] - x[:, 1:, : width - 1, :])
    b = tf.square(x[:, : height - 1, : width - 1, :] - x[:, : height - 1, 1:, :])
    return tf.reduce_sum(tf.pow(a + b, 1.25))


def compute_targets(extractor, content_image, style_image):
    """What never changes during the optimisation: the content features and the style Gram matrices."""
    content_features = extractor(content_image)[CONTENT_LAYER][0]
    style_features = extractor(style_image)
    style_grams = {name: gram_matrix(style_features[name][0]) for name in STYLE_LAYERS}
    return {"content": tf.cast(content_features, "float32"), "style_grams": style_grams}


def make_loss_function(extractor, targets, recipe, size):
    """loss(combination): only the generated image goes through VGG19."""
    content_target, style_grams = targets["content"], targets["style_grams"]

    def compute_loss(combination_image):
        features = extractor(combination_image)
        loss = recipe.content_weight * content_loss(content_target, features[CONTENT_LAYER][0])
        for name in STYLE_LAYERS:
            layer_loss = style_loss_from_gram(style_grams[name], features[name][0], size)
            loss += (recipe.style_weight / len(STYLE_LAYERS)) * layer_loss
        loss += recipe.total_variation_weight * total_variation_loss(combination_image)
        return loss

    return compute_loss


def make_book_loss_function(extractor, content_image, style_image, recipe, size):
    """The book's loss: content, style and generated images through VGG19 together, every call."""

    def compute_loss(combination_image):
        batch = tf.concat([content_image, style_image, combination_image], axis=0)
        features = extractor(batch)
        layer = features[CONTENT_LAYER]
        loss = recipe.content_weight * content_loss(layer[0], layer[2])
        for name in STYLE_LAYERS:
            layer = features[name]
            loss += (recipe.style_weight / len(STYLE_LAYERS)) * style_loss(layer[1], layer[2], size)
        loss += recipe.total_variation_weight * total_variation_loss(combination_image)
        return loss

    return compute_loss


def make_loss_and_grads(compute_loss, jit_compile=False):
    """A compiled function: image -> (loss, gradient of the loss with respect to the image)."""

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def loss_and_grads(combination_image):
        with tf.GradientTape() as tape:
            tape.watch(combination_image)
            loss = compute_loss(combination_image)
        return loss, tape.gradient(loss, combination_image)

    return loss_and_grads
