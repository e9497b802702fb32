"""2.2 Data representations for neural networks: tensors, seen on MNIST."""

import matplotlib.pyplot as plt
import numpy as np

from chapters.ch2_building_blocks import CHAPTER
from chapters.figures import save_figure
from datasets.mnist import QUICK_SUBSET, load_mnist


@CHAPTER.section("2.2", "Data representations: tensors",
                 "ndim, shape, dtype, slices and batches of MNIST; saves one digit as a PNG")
def tensors(run):
    mnist = load_mnist(run.data_dir, subset=QUICK_SUBSET if run.quick else None)
    train_images, train_labels = mnist.train_images, mnist.train_labels

    print("\nScalars, vectors, matrices and higher-rank tensors:")
    for example in (np.array(12), np.array([12, 3, 6, 14, 7]), np.array([[5, 78, 2], [6, 79, 3]]),
                    np.zeros((3, 3, 5))):
        print(f"  shape {str(example.shape):<12} ndim {example.ndim}")

    print("\nThe MNIST training images as one tensor:")
    print(f"  train_images.ndim  = {train_images.ndim}")
    print(f"  train_images.shape = {train_images.shape}")
    print(f"  train_images.dtype = {train_images.dtype}")
    run.record("train_images_ndim", train_images.ndim, book=3, label="train_images.ndim")
    run.record("train_images_shape", str(train_images.shape), book="(60000, 28, 28)", note=mnist.book_note,
               label="train_images.shape")

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
    print(f"Saved the digit to {save_figure(fig, run.path('digit.png'))}")
