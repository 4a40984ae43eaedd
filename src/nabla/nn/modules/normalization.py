"""``torch.nn.modules.normalization``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.norm import GroupNorm, LayerNorm

__all__ = [
    "LayerNorm", "GroupNorm",
]
