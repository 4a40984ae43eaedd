"""Conversions that stay in the graph: dtype casts, device moves, copies."""

from __future__ import annotations

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


class Cast(Function):
    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return Cast.apply(g, dtype=self.in_dtype) if g.dtype.kind == "f" and self.in_dtype.kind == "f" else None


class ToDevice(Function):
    def forward(self, x, device):
        self.in_device = backend.device_of(x)
        return backend.transfer(x, device)

    def backward(self, g):
        return ToDevice.apply(g, device=self.in_device)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


def cast(x: Tensor, dtype) -> Tensor:
    """``x`` as ``dtype`` (differentiable between float dtypes)."""
    dtype = backend.to_dtype(dtype)
    if x._data.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind != "f":
        return Tensor._wrap(x._data.astype(dtype))
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: backend.device) -> Tensor:
    if x.device == device:
        return x
    return ToDevice.apply(x, device=device)


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` with its own storage; gradients flow back to ``x``."""
    return Clone.apply(x)
