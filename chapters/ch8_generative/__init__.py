"""Chapter 8: Generative deep learning.

    python -m chapters.ch8_generative 8.3                 # neural style transfer with VGG19
    python -m chapters.ch8_generative 8.3 --weights random --quick

8.3 repaints a photo in the style of a painting by optimising the image
itself against VGG19's activations.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch8_generative", "Chapter 8: Generative deep learning", __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch8_generative import style_transfer  # noqa: E402,F401,I001
