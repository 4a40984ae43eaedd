"""``torch.nn.modules.batchnorm``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.norm import BatchNorm1d, BatchNorm2d

__all__ = [
    "BatchNorm1d", "BatchNorm2d",
]
