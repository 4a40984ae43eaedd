"""``torch.nn.modules.flatten``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.linear import Flatten

__all__ = [
    "Flatten",
]
