"""``torch.nn.modules.sparse``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.embedding import Embedding

__all__ = [
    "Embedding",
]
