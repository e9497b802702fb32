"""Chapter 8: Generative deep learning.

    python -m chapters.ch8_generative 8.1                 # text generation: a character-level LSTM on Nietzsche
    python -m chapters.ch8_generative 8.2 --weights random  # DeepDream with InceptionV3 (demo without ImageNet)
    python -m chapters.ch8_generative 8.3                 # neural style transfer with VGG19
    python -m chapters.ch8_generative 8.4                 # a variational autoencoder on MNIST
    python -m chapters.ch8_generative 8.5 --images mnist  # a DCGAN (the book's: CIFAR-10 frogs)
    python -m chapters.ch8_generative all --quick --weights random

8.1 trains an LSTM to predict the next character of Nietzsche's text and
writes new text with it at several temperatures (2nd edition: a Transformer
on IMDB reviews). 8.2 (DeepDream) and 8.3 (style transfer) optimise an image
against a pretrained convnet's activations. 8.4 learns a 2-D latent space of
MNIST digits with a variational autoencoder; 8.5 trains a generator against a
discriminator (a GAN) until it draws frogs, or digits.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch8_generative", "Chapter 8: Generative deep learning", __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch8_generative import text_generation, deep_dream, style_transfer  # noqa: E402,F401,I001
from chapters.ch8_generative import variational_autoencoder, generative_adversarial_network  # noqa: E402,F401,I001
