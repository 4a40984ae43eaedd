"""Real data sets read from their standard file formats: MNIST, Fashion-MNIST, CIFAR-10 (binary),
scikit-learn's 8x8 digits and character-level text corpora."""

from ._common import ImageDataset
from .cifar import cifar10
from .digits import digits
from .mnist import fashion_mnist, mnist
from .text import CharBlocks, CharCorpus, text_corpus

__all__ = ["CharBlocks", "CharCorpus", "ImageDataset", "cifar10", "digits", "fashion_mnist", "mnist", "text_corpus"]
