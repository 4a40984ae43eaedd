"""``torch.nn.modules.pixelshuffle``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.pixelshuffle import PixelShuffle, PixelUnshuffle

__all__ = [
    "PixelShuffle", "PixelUnshuffle",
]
