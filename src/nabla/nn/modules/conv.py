"""``torch.nn.modules.conv``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.conv import Conv1d, Conv2d, ConvTranspose2d

__all__ = [
    "Conv1d", "Conv2d", "ConvTranspose2d",
]
