"""Comparisons, logical ops and selection by a condition: eq, ne, lt, le, gt, ge, logical_*, isnan,
isfinite (no gradient: they return bool tensors), and where / masked_fill (the gradient goes to the
branch that was picked).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import broadcast_error, operands, tensor_arg, unbroadcast


class Where(Function):
    def forward(self, a, b, cond):
        self.cond = cond
        self.shapes = a.shape, b.shape
        return _xp(a).where(cond, a, b)

    def backward(self, g):
        sa, sb = self.shapes
        zero = Tensor._wrap(g._xp.zeros((), dtype=g.dtype))
        return (
            unbroadcast(Where.apply(g, zero, cond=self.cond), sa),
            unbroadcast(Where.apply(zero, g, cond=self.cond), sb),
        )


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        a = Tensor(a, dtype=backend.get_default_dtype() if isinstance(a, float) else None)
    a, b = operands(a, b, "where")
    xp = _xp(a._data)
    cond = xp.asarray(cond)
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}; compare first (e.g. x > 0)")
    err = broadcast_error("where", cond.shape, a.shape, b.shape)
    if err is not None:
        raise err
    return Where.apply(a, b, cond=cond)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` where ``mask`` is true (gradient 0 there)."""
    return where(mask, value, x)


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """Whether ``|a - b| <= atol + rtol * |b|`` everywhere (shapes broadcast), as ``torch.allclose``."""
    a, b = operands(a, b, "allclose")
    err = broadcast_error("allclose", a.shape, b.shape)
    if err is not None:
        raise err
    return bool(_xp(a._data).allclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both have the same shape and the same values (``torch.equal``)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"equal: expected two Tensors, got {type(a).__name__} and {type(b).__name__}")
    return a.shape == b.shape and bool((a._data == b._data).all())


def _compare(a: Any, b: Any, op: str, fn: Any) -> Tensor:
    a, b = operands(a, b, op)
    try:
        return Tensor._wrap(fn(a._data, b._data))
    except ValueError:
        err = broadcast_error(op, a.shape, b.shape)
        if err is not None:
            raise err from None
        raise


def eq(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "eq", lambda x, y: x == y)


def ne(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "ne", lambda x, y: x != y)


def lt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "lt", lambda x, y: x < y)


def le(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "le", lambda x, y: x <= y)


def gt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "gt", lambda x, y: x > y)


def ge(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "ge", lambda x, y: x >= y)


def logical_not(x: Tensor) -> Tensor:
    x = tensor_arg(x, "logical_not")
    return Tensor._wrap(_xp(x._data).logical_not(x._data))


def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "logical_and", lambda x, y: _xp(x).logical_and(x, y))


def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "logical_or", lambda x, y: _xp(x).logical_or(x, y))


def isnan(x: Tensor) -> Tensor:
    return Tensor._wrap(_xp(x._data).isnan(x._data))


def isfinite(x: Tensor) -> Tensor:
    return Tensor._wrap(_xp(x._data).isfinite(x._data))


def isinf(x: Tensor) -> Tensor:
    return Tensor._wrap(_xp(x._data).isinf(x._data))
