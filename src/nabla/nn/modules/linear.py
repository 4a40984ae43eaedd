"""``torch.nn.modules.linear``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.linear import Identity, Linear

__all__ = [
    "Identity", "Linear",
]
