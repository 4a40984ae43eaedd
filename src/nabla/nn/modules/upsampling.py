"""``torch.nn.modules.upsampling``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.pool import Upsample

__all__ = [
    "Upsample",
]
