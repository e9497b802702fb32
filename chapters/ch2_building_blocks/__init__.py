"""Chapter 2: the mathematical building blocks of neural networks.

    python -m chapters.ch2_building_blocks          # 2.1, the first network on MNIST
    python -m chapters.ch2_building_blocks 2.4      # gradients with GradientTape
    python -m chapters.ch2_building_blocks all --quick

2.1 trains the book's first network; 2.2 and 2.3 show what tensors are and how
the operations on them are computed (naive loops against NumPy); 2.4 computes
gradients with tf.GradientTape and uses them for gradient descent; 2.5 rebuilds
the first network from scratch with nothing but tensors and a GradientTape.
"""

from chapters.cli import Chapter

CHAPTER = Chapter("ch2_building_blocks", "Chapter 2: The mathematical building blocks of neural networks",
                  __doc__.split("\n\n", 2)[2].strip())

# The sections, in the book's order; each module registers itself with CHAPTER.
from chapters.ch2_building_blocks import first_network, tensors, tensor_operations, gradients, from_scratch  # noqa: E402,F401,I001
