"""``torch.nn.modules.distance``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.distance import CosineSimilarity, PairwiseDistance

__all__ = [
    "PairwiseDistance", "CosineSimilarity",
]
