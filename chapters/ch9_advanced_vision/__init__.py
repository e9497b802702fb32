"""Chapter 9 (2nd edition only): Advanced deep learning for computer vision.

    python -m chapters.ch9_advanced_vision 9.2            # image segmentation of the Oxford-IIIT pets
    python -m chapters.ch9_advanced_vision 9.3            # residual blocks, batch normalisation, a mini Xception
    python -m chapters.ch9_advanced_vision all --quick    # both, on a few pictures, one epoch each

This chapter exists in the book's 2nd edition only (the 1st edition has
neither segmentation nor these architecture patterns). 9.2 trains an encoder-decoder that
labels every pixel of a picture of a pet as the animal, the background or
the contour between them. 9.3 builds the patterns of modern convnets
(residual connections, batch normalisation before the activation, depthwise
separable convolutions) and puts them together in a small Xception-like
model that reaches ~0.91 on dogs vs cats from scratch, where chapter 5's
convnet reached ~0.83.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch9_advanced_vision", "Chapter 9: Advanced deep learning for computer vision (2nd edition)",
                  __doc__.split("\n\n", 2)[2].strip(), editions=(2,))

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch9_advanced_vision import image_segmentation, modern_convnet_patterns  # noqa: E402,F401,I001
