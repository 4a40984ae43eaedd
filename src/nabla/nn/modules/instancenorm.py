"""``torch.nn.modules.instancenorm``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.norm import InstanceNorm1d, InstanceNorm2d

__all__ = [
    "InstanceNorm1d", "InstanceNorm2d",
]
