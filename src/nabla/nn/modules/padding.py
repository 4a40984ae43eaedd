"""``torch.nn.modules.padding``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad2d,
)

__all__ = [
    "CircularPad1d", "CircularPad2d", "ConstantPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
    "ReplicationPad2d", "ZeroPad2d",
]
