"""``torch.nn.modules.pooling``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
]
