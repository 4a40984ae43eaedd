"""Padding layers: ZeroPad2d, ConstantPad2d, ReflectionPad1d/2d, ReplicationPad1d/2d, CircularPad1d/2d
(``F.pad`` with mode "constant", "reflect", "replicate", "circular")."""

from __future__ import annotations

from typing import Any

from ...ops.shape import pad
from ...tensor import Tensor
from ..module import Module


def _quadruple(padding: Any, name: str, n: int = 4) -> tuple:
    if isinstance(padding, int) and not isinstance(padding, bool):
        padding = (padding,) * n
    try:
        padding = tuple(padding)
    except TypeError:
        padding = ()
    if len(padding) != n or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in padding):
        sides = "(left, right, top, bottom)" if n == 4 else "(left, right)"
        raise ValueError(f"{name}: padding must be a non-negative int or a {n}-tuple {sides}, got {padding!r}")
    return padding


class ConstantPad2d(Module):
    """Pad the last two dimensions with ``value``: ``padding`` = int or (left, right, top, bottom)."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (3, 4):
            raise ValueError(f"expected input (N, C, H, W) or (C, H, W), got {input.shape}")
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dimensions with zeros: ``padding`` = int or (left, right, top, bottom)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePad(Module):
    """Pad the last ``_dims`` dimensions with ``F.pad`` mode ``_mode``."""

    _mode = "reflect"
    _dims = 2

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _quadruple(padding, type(self).__name__, 2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        d = self._dims
        if input.ndim not in (d + 1, d + 2):
            want = "(N, C, H, W) or (C, H, W)" if d == 2 else "(N, C, L) or (C, L)"
            raise ValueError(f"{type(self).__name__}: expected input {want}, got {input.shape}")
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePad):
    """Mirror the last dimension at its edges (the edge itself not repeated): ``padding`` = int or (left, right)."""

    _dims = 1


class ReflectionPad2d(_ModePad):
    """Mirror the last two dimensions at their edges: ``padding`` = int or (left, right, top, bottom)."""


class ReplicationPad1d(_ModePad):
    """Repeat the edge values of the last dimension."""

    _mode, _dims = "replicate", 1


class ReplicationPad2d(_ModePad):
    """Repeat the edge values of the last two dimensions."""

    _mode = "replicate"


class CircularPad1d(_ModePad):
    """Wrap the last dimension around (periodic boundary)."""

    _mode, _dims = "circular", 1


class CircularPad2d(_ModePad):
    """Wrap the last two dimensions around (periodic boundary)."""

    _mode = "circular"
