"""Real data sets read from their standard file formats: MNIST, Fashion-MNIST, CIFAR-10 (binary),
scikit-learn's 8x8 digits and character-level text corpora; the 2-D toy sets; all of them by name
through :func:`load_dataset`."""

from ..toy import circle, gauss, moons, multi_gauss, plane, spiral, xor
from ._common import ImageDataset
from .cifar import cifar10
from .digits import digits
from .mnist import fashion_mnist, mnist
from .registry import DATASETS, DatasetSpec, list_datasets, load_dataset
from .text import CharBlocks, CharCorpus, text_corpus, tinyshakespeare

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "list_datasets",
    "load_dataset",
    "xor",
    "circle",
    "gauss",
    "spiral",
    "moons",
    "plane",
    "multi_gauss",
    "CharBlocks",
    "CharCorpus",
    "ImageDataset",
    "cifar10",
    "digits",
    "fashion_mnist",
    "mnist",
    "text_corpus",
    "tinyshakespeare",
]
