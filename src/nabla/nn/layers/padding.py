"""Constant padding layers: ZeroPad2d and ConstantPad2d (``F.pad`` with mode "constant")."""

from __future__ import annotations

from typing import Any

from ...ops.shape import pad
from ...tensor import Tensor
from ..module import Module


def _quadruple(padding: Any, name: str) -> tuple:
    if isinstance(padding, int) and not isinstance(padding, bool):
        padding = (padding,) * 4
    try:
        padding = tuple(padding)
    except TypeError:
        padding = ()
    if len(padding) != 4 or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in padding):
        raise ValueError(
            f"{name}: padding must be a non-negative int or a 4-tuple (left, right, top, bottom), got {padding!r}"
        )
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
