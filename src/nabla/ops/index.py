"""Indexing: ``x[index]``, ``x[index] = v``, gather / scatter_add, index_select, one_hot.

Gradients of repeated indices accumulate (``x[[0, 0]]`` sends both gradients to ``x[0]``).
"""

from __future__ import annotations

from typing import Any

import numpy

from .. import backend
from ..autograd import Function, _mode, no_grad
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import check_same_device, normalize_dim, scalar_tensor, to_tensor, unbroadcast

_BASIC = (int, slice, type(None), type(Ellipsis))


def _index_arrays(index: Any, xp: Any) -> tuple[Any, bool]:
    """Normalise an index: Tensors and lists become arrays; returns (index, is_basic)."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    basic = True
    for it in items:
        if isinstance(it, bool) or isinstance(it, numpy.bool_):
            it = xp.asarray(it)
            basic = False
        elif isinstance(it, (int, numpy.integer)):
            it = int(it)
        elif isinstance(it, Tensor):
            it = it._data
            basic = False
        elif isinstance(it, list) or backend.is_array(it):
            it = xp.asarray(it)
            basic = False
        elif not isinstance(it, _BASIC):
            raise TypeError(
                f"index: unsupported index element {it!r} of type {type(it).__name__}; use ints, slices, "
                "None, Ellipsis, bool masks or integer tensors"
            )
        if not isinstance(it, _BASIC):
            if it.dtype.kind not in "iub":
                raise TypeError(f"index: index arrays must be integer or bool, got {it.dtype}")
            if it.dtype.kind == "u":
                it = it.astype("int64")
        out.append(it)
    return tuple(out), basic


class GetItem(Function):
    def forward(self, x, index):
        self.in_shape, self.index, self.dtype = x.shape, index, x.dtype
        return x[index]

    def backward(self, g):
        return IndexAdd.apply(g, index=self.index, shape=self.in_shape)


class GetItemView(GetItem):
    is_view = True


class IndexAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeats accumulate): the adjoint of x[index]."""

    def forward(self, g, index, shape):
        xp = _xp(g)
        self.index = index
        out = xp.zeros(shape, dtype=g.dtype)
        if _has_arrays(index):
            backend.add_at(out, index, g)
        else:
            out[index] = g
        return out

    def backward(self, gg):
        return getitem(gg, self.index)


def _has_arrays(index: tuple) -> bool:
    return any(not isinstance(i, _BASIC) for i in index)


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with NumPy semantics; basic indexing returns a view."""
    index, basic = _index_arrays(index, x._xp)
    if basic and not any(i is Ellipsis for i in index):
        index += (Ellipsis,)  # x[0, 1] as a 0-d view of x (NumPy would give a detached scalar copy)
    fn = GetItemView if basic else GetItem
    try:
        return fn.apply(x, index=index)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor shape {x.shape})") from None


class IndexPut(Function):
    """A copy of ``x`` with ``v`` written at ``index`` (what ``x[index] = v`` records)."""

    def forward(self, x, v, index):
        self.index, self.v_shape = index, v.shape
        out = x.copy()
        out[index] = v
        return out

    def backward(self, g):
        zero = Tensor._wrap(g._xp.zeros((), dtype=g.dtype))
        gx = IndexPut.apply(g, zero, index=self.index)
        gv = unbroadcast(getitem(g, self.index), self.v_shape)
        return gx, gv


def setitem(x: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``. While recording, it is differentiable with respect to both sides."""
    v = value if isinstance(value, Tensor) else scalar_tensor(value, x) if numpy.isscalar(value) else Tensor(
        value, device=x.device
    )
    if v.dtype != x.dtype:
        v = cast(v, x.dtype)
    idx, _ = _index_arrays(index, x._xp)
    if _mode.enabled and (x.requires_grad or v.requires_grad):
        check_inplace_allowed(x, "setitem")
        old = _history_copy(x, copy=False)
        try:
            out = IndexPut.apply(old, v, index=idx)
        except (IndexError, ValueError) as e:
            raise type(e)(f"setitem: {e} (tensor shape {x.shape}, value shape {v.shape})") from None
        _rebase(x, out)
        return
    try:
        x._data[idx] = v._data
    except (IndexError, ValueError) as e:
        raise type(e)(f"setitem: {e} (tensor shape {x.shape}, value shape {v.shape})") from None
    x._version[0] += 1


# --------------------------------------------------------------------------------- in-place rules


def check_inplace_allowed(x: Tensor, op: str) -> None:
    if x._ctx is None and x.requires_grad:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad is being changed in place while gradients are "
            "recorded. Wrap the update in `with nabla.no_grad():` (as optimizers do) or use an "
            "out-of-place op."
        )
    if x._base is not None:
        raise RuntimeError(
            f"{op}: in-place change of a view (made by indexing, reshape, transpose, ...) while gradients "
            "are recorded is not supported. Write through the base tensor (`x[idx] = x[idx] + v`) or "
            "`.clone()` the view first."
        )


def _history_copy(x: Tensor, copy: bool) -> Tensor:
    """A tensor standing for ``x``'s value before an in-place op: same graph node, own storage."""
    old = Tensor._wrap(x._data.copy() if copy else x._data, x.requires_grad)
    old._ctx = x._ctx
    return old


def _rebase(x: Tensor, out: Tensor) -> None:
    """Make ``x`` hold ``out``'s value (in its own storage) and ``out``'s place in the graph."""
    if out._data.shape != x._data.shape:
        raise RuntimeError(f"in-place result has shape {out.shape} but the tensor has shape {x.shape}")
    x._data[...] = out._data
    x._version[0] += 1
    x._ctx = out._ctx
    x.requires_grad = out.requires_grad


def inplace(x: Tensor, fn: Any, other: Any, op: str) -> Tensor:
    """Run ``fn(x, other)`` and store the result in ``x``'s storage (``x += y`` and friends).

    Under ``no_grad`` (or when nothing requires grad) this is a plain write. While recording it is
    differentiable: ``x`` takes the result's place in the graph, and any node that saved ``x``
    earlier will refuse to backward (version counter) instead of computing a wrong gradient.
    """
    recording = _mode.enabled and (x.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
    ufunc = _INPLACE_UFUNCS.get(op)
    if not recording and ufunc is not None and x._data.dtype.kind == "f":
        return _inplace_ufunc(x, ufunc, other, op)  # the optimizer-update fast path: no temporaries
    if recording:
        check_inplace_allowed(x, op)
        old = _history_copy(x, copy=True)
        out = fn(old, old if other is x else other)  # `x *= x` uses the old value on both sides
    else:
        with no_grad():
            out = fn(Tensor._wrap(x._data), other)
    if out._data.shape != x._data.shape:
        raise ValueError(
            f"{op}: the result has shape {out.shape}, which does not fit the tensor's shape {x.shape}; "
            "an in-place op cannot grow its tensor (use the out-of-place form)"
        )
    if out.dtype != x.dtype:
        if not numpy.can_cast(out.dtype, x.dtype, casting="same_kind"):
            raise TypeError(f"{op}: result type {out.dtype} cannot be stored in a tensor of type {x.dtype}")
        out = cast(out, x.dtype)
    if recording:
        _rebase(x, out)
    else:
        x._data[...] = out._data
        x._version[0] += 1
    return x


_INPLACE_UFUNCS = {"add_": "add", "sub_": "subtract", "mul_": "multiply", "div_": "true_divide"}


def _inplace_ufunc(x: Tensor, ufunc: str, other: Any, op: str) -> Tensor:
    xd = x._data
    if isinstance(other, Tensor):
        o = other._data
        if type(o) is not type(xd):
            check_same_device(op, x, other)
    elif isinstance(other, (int, float, numpy.number)) and not isinstance(other, bool):
        o = other
    else:
        return inplace(x, _UFUNC_OPS[ufunc], to_tensor(other, x, op), op)
    try:
        getattr(_xp(xd), ufunc)(xd, o, out=xd, casting="same_kind")
    except ValueError:
        raise ValueError(
            f"{op}: a value of shape {getattr(o, 'shape', ())} cannot be applied in place to a tensor of shape "
            f"{x.shape}; it must broadcast to the tensor's shape (an in-place op cannot grow its tensor)"
        ) from None
    except TypeError:
        raise TypeError(
            f"{op}: a {getattr(o, 'dtype', type(o).__name__)} value cannot be stored in a tensor of type {x.dtype}"
        ) from None
    x._version[0] += 1
    return x


def fill_(x: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``. Refused on a leaf that requires grad while recording."""
    if _mode.enabled and x.requires_grad:
        check_inplace_allowed(x, "fill_")
        x._ctx = None
        x.requires_grad = False
    x._data[...] = value._data if isinstance(value, Tensor) else value
    x._version[0] += 1
    return x


# ------------------------------------------------------------------------------ gather / scatter


def _coords(index: Any, dim: int) -> tuple:
    """Full coordinates for ``x[..., index, ...]`` along ``dim``, as in torch.gather/scatter."""
    xp = _xp(index)
    grids = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    def forward(self, x, index, dim):
        self.index, self.dim, self.in_shape = index, dim, x.shape
        return x[_coords(index, dim)]

    def backward(self, g):
        zeros = Tensor._wrap(g._xp.zeros(self.in_shape, dtype=g.dtype))
        return scatter_add(zeros, self.dim, Tensor._wrap(self.index), g)


class ScatterAdd(Function):
    def forward(self, x, src, index, dim):
        self.index, self.dim, self.src_shape = index, dim, src.shape
        out = x.copy()
        coords = _coords(index, dim)
        part = src[tuple(slice(0, n) for n in index.shape)]
        backend.add_at(out, coords, part)
        return out

    def backward(self, g):
        gsrc = gather(g, self.dim, Tensor._wrap(self.index))
        if gsrc.shape != self.src_shape:
            widths = []
            for n, m in reversed(list(zip(gsrc.shape, self.src_shape))):
                widths += [0, m - n]
            gsrc = pad(gsrc, widths)
        return g, gsrc


def _check_index(x: Tensor, dim: int, index: Tensor, op: str) -> int:
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer Tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    d = normalize_dim(dim, x.ndim, op)
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dimensions {index.shape} but the tensor has {x.ndim} {x.shape}")
    for i, (n, m) in enumerate(zip(index.shape, x.shape)):
        if i != d and n > m:
            raise ValueError(f"{op}: index shape {index.shape} is larger than the tensor's {x.shape} in dimension {i}")
    idx = index._data
    if idx.size and bool(((idx < 0) | (idx >= x.shape[d])).any()):  # one host sync on a GPU
        lo, hi = int(idx.min()), int(idx.max())
        raise IndexError(f"{op}: index values must lie in [0, {x.shape[d]}) for dimension {d}, got {lo}..{hi}")
    return d


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = x[index[i][j]][j]`` for ``dim=0`` (and likewise for other dims), as torch.gather."""
    d = _check_index(x, dim, index, "gather")
    return Gather.apply(x, index=index._data, dim=d)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
    d = _check_index(x, dim, index, "scatter_add")
    if src.ndim != index.ndim or any(n < m for n, m in zip(src.shape, index.shape)):
        raise ValueError(f"scatter_add: src shape {src.shape} must be at least the index shape {index.shape}")
    if src.dtype != x.dtype:
        src = cast(src, x.dtype)
    return ScatterAdd.apply(x, src, index=index._data, dim=d)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``x`` at positions ``index`` (1-D) along ``dim``."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        raise TypeError("index_select: index must be a 1-D integer Tensor")
    d = normalize_dim(dim, x.ndim, "index_select")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def one_hot(indices: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dimension of size ``num_classes``."""
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise TypeError("one_hot: indices must be an integer Tensor")
    data = indices._data
    if num_classes < 0:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and bool(((data < 0) | (data >= num_classes)).any()):  # one host sync on a GPU
        raise ValueError(
            f"one_hot: class values must lie in [0, {num_classes}), got {int(data.min())}..{int(data.max())}"
        )
    xp = _xp(data)
    out = (data[..., None] == xp.arange(num_classes)).astype(backend.int64)
    return Tensor._wrap(out)


from .arithmetic import add, div, mul, sub  # noqa: E402
from .convert import cast  # noqa: E402
from .shape import pad  # noqa: E402

_UFUNC_OPS = {"add": add, "subtract": sub, "multiply": mul, "true_divide": div}
