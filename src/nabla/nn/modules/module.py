"""``torch.nn.modules.module``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..module import Module

__all__ = [
    "Module",
]
