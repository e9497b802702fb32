"""Chapter 5: Deep learning for computer vision (convnets).

    python -m chapters.ch5_convnets               # 5.1, the convnet on MNIST
    python -m chapters.ch5_convnets 5.1h          # the same convnet on Persian digits (Hoda)
    python -m chapters.ch5_convnets 5.1f          # convolution as an image filter; a convnet's filters
    python -m chapters.ch5_convnets 5.1c          # the workshop's PyTorch convnet on CIFAR-10, in Keras
    python -m chapters.ch5_convnets 5.2           # dogs vs cats from 2,000 pictures, with and without augmentation
    python -m chapters.ch5_convnets 5.3           # a pretrained VGG16: feature extraction, fine-tuning
    python -m chapters.ch5_convnets 5.4           # what convnets learn: activations, filters, class activation maps
    python -m chapters.ch5_convnets all --quick --weights random

5.1 trains the slides' small convnet on MNIST (99% where the dense network
of chapter 2 reached 97.8%), then on the Persian handwritten digits of the
Hoda dataset, and shows what a convolution computes: edge filters on a photo,
then the filters and feature maps a trained convnet learned, and trains the
workshop's small CIFAR-10 convnet. 5.2 trains a convnet from scratch on 2,000
pictures of dogs and cats: it overfits, and data augmentation with dropout
brings the validation accuracy from ~0.72 to ~0.83. 5.3 reuses VGG16's
convolutional base trained on ImageNet (~0.90 with fast feature extraction,
~0.96 with augmentation, test ~0.97 after fine-tuning); `--weights random`
runs it untrained, as a demo, where the ImageNet weights cannot be fetched.
5.4 looks inside: the activations of the 5.2 model, the patterns VGG16's
filters respond to, and where a convnet looks to classify (Grad-CAM).
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch5_convnets", "Chapter 5: Deep learning for computer vision", __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch5_convnets import mnist_convnet, persian_digits, convolution_filters, cifar10_convnet  # noqa: E402,F401,I001
from chapters.ch5_convnets import dogs_vs_cats, pretrained_convnet, visualizing_convnets  # noqa: E402,F401,I001
