"""Chapter 17 (3rd edition): Image generation.

    python -m chapters.ch17_diffusion 17.2                   # a diffusion model on MNIST digits (runs offline)
    python -m chapters.ch17_diffusion 17.2 --images flowers  # the book's: Oxford Flowers at 128x128
    python -m chapters.ch17_diffusion 17.2 --quick

17.2 trains a U-Net to find the noise in noisy pictures, given how noisy they
are, then generates new pictures by removing noise step by step from pure
noise. The book trains on the 8,189 Oxford Flowers photographs; without them,
the same recipe runs on MNIST digits at 32x32, and a trained digit classifier
(the 5.1 convnet) says what the generated digits look like. Only the 3rd
edition has this chapter (its VAE is 8.4's, 2nd edition).
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch17_diffusion", "Chapter 17 (3rd edition): Image generation",
                  __doc__.split("\n\n", 2)[2].strip(), editions=(3,))

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch17_diffusion import diffusion_model  # noqa: E402,F401,I001
