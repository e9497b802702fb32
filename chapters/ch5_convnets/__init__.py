"""Chapter 5: Deep learning for computer vision (convnets).

    python -m chapters.ch5_convnets               # 5.1, the convnet on MNIST
    python -m chapters.ch5_convnets 5.1h          # the same convnet on Persian digits (Hoda)
    python -m chapters.ch5_convnets 5.1f          # convolution as an image filter; a convnet's filters
    python -m chapters.ch5_convnets 5.2           # dogs vs cats from 2,000 pictures, with and without augmentation
    python -m chapters.ch5_convnets all --quick

5.1 trains the slides' small convnet on MNIST (99% where the dense network
of chapter 2 reached 97.8%), then on the Persian handwritten digits of the
Hoda dataset, and shows what a convolution computes: edge filters on a photo,
then the filters and feature maps a trained convnet learned. 5.2 trains a
convnet from scratch on 2,000 pictures of dogs and cats: it overfits, and data
augmentation with dropout brings the validation accuracy from ~0.72 to ~0.83.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch5_convnets", "Chapter 5: Deep learning for computer vision", __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch5_convnets import mnist_convnet, persian_digits, convolution_filters, dogs_vs_cats  # noqa: E402,F401,I001
