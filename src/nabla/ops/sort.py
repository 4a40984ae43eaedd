"""Ordering: sort, argsort, msort, topk, with PyTorch's results ``(values, indices)``.

The order is found on the array (no gradient flows through a choice of positions); the values are then
taken with :func:`gather`, whose backward scatters each gradient back to the position it came from.
So these ops need no backward of their own, and second derivatives come for free.

NaN counts as the largest value, as in PyTorch. Ties keep their original order (a stable sort).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import normalize_dim, tensor_arg
from .index import gather

sort_result = namedtuple("sort_result", ["values", "indices"])
topk_result = namedtuple("topk_result", ["values", "indices"])


def _order(data: Any, dim: int, descending: bool) -> Any:
    """Stable argsort of ``data`` along ``dim``; descending order keeps ties in their original order."""
    xp = _xp(data)
    if not descending:
        return xp.argsort(data, axis=dim, kind="stable")
    # Sort the reversed array ascending (stable), reverse the result: equal runs come out in original
    # order, and NaN (sorted last by NumPy) comes first, i.e. it is the largest, as in PyTorch.
    n = data.shape[dim]
    rev = xp.flip(data, axis=dim)
    idx = xp.flip(xp.argsort(rev, axis=dim, kind="stable"), axis=dim)
    return (n - 1) - idx


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices (int64) that sort ``x`` along ``dim``. The sort is always stable."""
    x = tensor_arg(x, "argsort")
    if x.ndim == 0:
        return Tensor._wrap(x._xp.zeros((), dtype="int64"))
    d = normalize_dim(dim, x.ndim, "argsort")
    return Tensor._wrap(_order(x._data, d, descending).astype("int64", copy=False))


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> sort_result:
    """``(values, indices)`` of ``x`` sorted along ``dim``; the values are differentiable."""
    x = tensor_arg(x, "sort")
    idx = argsort(x, dim, descending)
    if x.ndim == 0:
        return sort_result(x, idx)
    return sort_result(gather(x, dim, idx), idx)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> topk_result:
    """The ``k`` largest (or smallest with ``largest=False``) entries along ``dim``: ``(values, indices)``.

    The results are always in sorted order (``sorted=False`` allows any order; this one is sorted too).
    """
    x = tensor_arg(x, "topk")
    if not isinstance(k, int) or isinstance(k, bool):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    if x.ndim == 0:
        if k not in (0, 1):
            raise IndexError(f"topk: k ({k}) is out of range for a 0-d tensor (valid: 0 or 1)")
        idx = Tensor._wrap(x._xp.zeros((), dtype="int64"))
        return topk_result(x, idx) if k == 1 else topk_result(x.reshape(0), idx.reshape(0))
    d = normalize_dim(dim, x.ndim, "topk")
    n = x.shape[d]
    if not 0 <= k <= n:
        raise IndexError(
            f"topk: k ({k}) is out of range for dimension {dim} of size {n} (shape {x.shape}); valid: 0..{n}"
        )
    order = _order(x._data, d, largest)
    sl = [slice(None)] * x.ndim
    sl[d] = slice(0, k)
    idx = Tensor._wrap(order[tuple(sl)].astype("int64", copy=False))
    return topk_result(gather(x, d, idx), idx)


def msort(x: Tensor) -> Tensor:
    """``sort(x, dim=0).values``."""
    return sort(x, 0).values
