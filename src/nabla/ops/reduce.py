"""Reductions over ``dim`` (an int, a tuple of ints, or None for all) with ``keepdim``; norms; cumsum."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import normalize_dim, normalize_dims

values_indices = namedtuple("values_indices", ["values", "indices"])


def _kept_shape(shape: tuple, dims: tuple[int, ...] | None) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def _grad_to_input(g: Tensor, in_shape: tuple, dims: tuple[int, ...] | None, keepdim: bool) -> Tensor:
    """Broadcast a reduction's gradient back over the reduced dimensions."""
    if not keepdim and g._data.ndim:  # a 0-d gradient broadcasts as it is
        kept = _kept_shape(in_shape, dims)
        if g._data.shape != kept:
            g = Reshape.apply(g, shape=kept)
    if g._data.shape == in_shape:
        return g
    return Expand.apply(g, shape=in_shape)


def _grad_to_input_array(g: Any, in_shape: tuple, dims: tuple[int, ...] | None, keepdim: bool) -> Any:
    """:func:`_grad_to_input` on an array (graph mode's kernels)."""
    if not keepdim and g.ndim:
        kept = _kept_shape(in_shape, dims)
        if g.shape != kept:
            g = g.reshape(kept)
    if g.shape == in_shape:
        return g
    if g.ndim == 0:
        return _xp(g).full(in_shape, g, dtype=g.dtype)
    return _xp(g).broadcast_to(g, in_shape)


class Sum(Function):
    def forward(self, x, dims, keepdim):
        self.in_shape, self.dims, self.keepdim = x.shape, dims, keepdim
        out = x.sum(axis=dims, keepdims=keepdim)
        if x.dtype.kind in "biu":
            out = out.astype("int64", copy=False)
        return out if type(out) is type(x) else _xp(x).asarray(out)  # full sums give a scalar

    def backward(self, g):
        return _grad_to_input(g, self.in_shape, self.dims, self.keepdim)

    def compiled_backward(self, g, ins, out, needs):
        return (_grad_to_input_array(g, self.in_shape, self.dims, self.keepdim),)


class Mean(Function):
    def forward(self, x, dims, keepdim):
        xp = _xp(x)
        self.in_shape, self.dims, self.keepdim = x.shape, dims, keepdim
        kept = _kept_shape(x.shape, dims)
        count = x.size // (_prod(kept) or 1) if x.size else 0
        self.scale = 1.0 / count if count else 0.0
        if x.size == 0:
            return xp.full(kept if keepdim else _squeezed(x.shape, dims), xp.nan, dtype=x.dtype)
        # sum / count, as numpy.mean computes it, without numpy.mean's Python-level overhead
        return xp.asarray(xp.true_divide(x.sum(axis=dims, keepdims=keepdim), count), dtype=x.dtype)

    def backward(self, g):
        return _grad_to_input(g * self.scale, self.in_shape, self.dims, self.keepdim)

    def compiled_backward(self, g, ins, out, needs):
        return (_grad_to_input_array(g * g.dtype.type(self.scale), self.in_shape, self.dims, self.keepdim),)


def _prod(shape: tuple) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _squeezed(shape: tuple, dims: tuple[int, ...] | None) -> tuple:
    return () if dims is None else tuple(n for i, n in enumerate(shape) if i not in dims)


class Prod(Function):
    """Product; the gradient is exact with zeros present (products of all the other elements).

    Bool and int tensors multiply to int64, as in PyTorch.
    """

    save_inputs = True
    save_output = True

    def forward(self, x, dims, keepdim):
        self.dims, self.keepdim = dims, keepdim
        dtype = x.dtype if x.dtype.kind == "f" else "int64"
        return _xp(x).asarray(x.prod(axis=dims, keepdims=keepdim, dtype=dtype))

    def backward(self, g):
        x = self.inputs[0]
        dims, keepdim = self.dims, self.keepdim
        g = _grad_to_input(g, x.shape, dims, keepdim)
        xd = x._data
        if not (xd == 0).any():
            out = _grad_to_input(self.saved_output(), x.shape, dims, keepdim)
            return g * out / x
        # With zeros, out / x fails: use the product of the other elements, with the reduced
        # dimensions moved last and flattened into one axis.
        red = tuple(range(xd.ndim)) if dims is None else dims
        keep = tuple(i for i in range(xd.ndim) if i not in red)
        perm = keep + red
        inv = [0] * len(perm)
        for i, p in enumerate(perm):
            inv[p] = i
        if is_grad_enabled():  # recording a higher derivative: build the products from ops
            return g * _others_product(x, perm, tuple(inv), len(keep))
        # First order: exclusive cumprods from both sides, on arrays.
        xp = _xp(xd)
        moved = xd.transpose(perm)
        lead = moved.shape[: len(keep)]
        flat = moved.reshape(lead + (-1,))
        ones = xp.ones(lead + (1,), dtype=xd.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (left * right).reshape(moved.shape)
        return g * Tensor._wrap(xp.ascontiguousarray(others.transpose(inv)))


def _others_product(x: Tensor, perm: tuple, inv: tuple, n_keep: int) -> Tensor:
    """Per element, the product of the other elements of its group, as a differentiable graph.

    The group is the trailing axes of ``x.permute(perm)`` after the first ``n_keep``; each of its n
    elements gets the group's product with itself replaced by 1 (an n x n intermediate).
    """
    moved = permute(x, perm)
    lead = moved.shape[:n_keep]
    flat = reshape(moved, lead + (-1,))
    eye = Tensor._wrap(x._xp.eye(flat.shape[-1], dtype=bool))
    others = where(eye, 1.0, unsqueeze(flat, -2)).prod(-1)
    return permute(reshape(others, moved.shape), inv)


class MaxAll(Function):
    """max/min/amax/amin over dims; ties share the gradient equally (as ``torch.amax``)."""

    save_inputs = True
    save_output = True

    def forward(self, x, dims, keepdim, take_max):
        self.dims, self.keepdim = dims, keepdim
        if x.size == 0:
            raise ValueError(
                f"{'max' if take_max else 'min'}: cannot reduce an empty tensor (shape {x.shape}) "
                "over a dimension of size 0"
            )
        out = x.max(axis=dims, keepdims=keepdim) if take_max else x.min(axis=dims, keepdims=keepdim)
        return _xp(x).asarray(out)  # a full reduction gives a NumPy scalar: keep it an array

    def backward(self, g):
        x = self.inputs[0]
        out = self.out[0]
        xd = x._data
        if not self.keepdim:
            out = out.reshape(_kept_shape(xd.shape, self.dims))
        mask = xd == out
        nan = _xp(xd).isnan(out)
        if nan.any():  # a NaN result comes from the NaNs, which share its gradient (as torch.max)
            mask |= _xp(xd).isnan(xd) & nan
        count = mask.sum(axis=self.dims, keepdims=True)
        weight = Tensor._wrap((mask / count).astype(xd.dtype))
        return _grad_to_input(g, xd.shape, self.dims, self.keepdim) * weight


class MaxDim(Function):
    """``max(x, dim)`` / ``min(x, dim)``: values and indices; the gradient goes to the index chosen."""

    def forward(self, x, dim, keepdim, take_max):
        xp = _xp(x)
        if x.shape[dim] == 0:
            raise ValueError(f"{'max' if take_max else 'min'}: dimension {dim} of shape {x.shape} is empty")
        idx = xp.expand_dims(x.argmax(axis=dim) if take_max else x.argmin(axis=dim), dim)
        self.idx, self.dim, self.keepdim, self.in_shape = idx, dim, keepdim, x.shape
        vals = xp.take_along_axis(x, idx, axis=dim)
        return vals if keepdim else vals.squeeze(dim)

    def backward(self, g):
        if not self.keepdim:
            g = unsqueeze(g, self.dim)
        zeros = Tensor._wrap(g._xp.zeros(self.in_shape, dtype=g.dtype))
        return scatter_add(zeros, self.dim, Tensor._wrap(self.idx), g)


class LogSumExp(Function):
    save_inputs = True
    save_output = True

    def forward(self, x, dims, keepdim):
        xp = _xp(x)
        self.dims, self.keepdim = dims, keepdim
        m = x.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(x - m).sum(axis=dims, keepdims=True)) + m
        return out if keepdim else out.reshape(_squeezed(x.shape, dims))

    def backward(self, g):
        x = self.inputs[0]
        out = self.saved_output()
        shape = x.shape
        return _grad_to_input(g, shape, self.dims, self.keepdim) * exp(
            x - _grad_to_input(out, shape, self.dims, self.keepdim)
        )


def _dims(x: Tensor, dim: Any, op: str) -> tuple[int, ...] | None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return normalize_dims(dim, x._data.ndim, op)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` (all dims when None). Bool and int tensors sum to int64."""
    return Sum.apply(x, dims=_dims(x, dim, "sum"), keepdim=keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    if x.dtype.kind != "f":
        raise TypeError(f"mean: needs a floating tensor, got {x.dtype}; call .float() first")
    return Mean.apply(x, dims=_dims(x, dim, "mean"), keepdim=keepdim)


def prod(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Prod.apply(x, dims=_dims(x, dim, "prod"), keepdim=keepdim)


def _max_min(x: Tensor, dim: Any, keepdim: bool, take_max: bool) -> Any:
    op = "max" if take_max else "min"
    if dim is None:
        return MaxAll.apply(x, dims=_dims(x, None, op), keepdim=keepdim, take_max=take_max)
    if isinstance(dim, Tensor):  # torch.max(a, b) spelling of maximum
        from .math import maximum, minimum

        return maximum(x, dim) if take_max else minimum(x, dim)
    d = normalize_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return values_indices(x, Tensor._wrap(x._xp.zeros((), dtype="int64")))
    values = MaxDim.apply(x, dim=d, keepdim=keepdim, take_max=take_max)
    idx = x._data.argmax(axis=d) if take_max else x._data.argmin(axis=d)
    if keepdim:
        idx = x._xp.expand_dims(idx, d)
    return values_indices(values, Tensor._wrap(idx.astype("int64", copy=False)))


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """Largest value; with ``dim`` returns ``(values, indices)`` as ``torch.max`` does."""
    return _max_min(x, dim, keepdim, True)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """Smallest value; with ``dim`` returns ``(values, indices)`` as ``torch.min`` does."""
    return _max_min(x, dim, keepdim, False)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim`` (int or tuple); ties share the gradient equally."""
    return MaxAll.apply(x, dims=_dims(x, dim, "amax"), keepdim=keepdim, take_max=True)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return MaxAll.apply(x, dims=_dims(x, dim, "amin"), keepdim=keepdim, take_max=False)


def _correction(correction: int, unbiased: bool | None) -> int:
    return correction if unbiased is None else int(bool(unbiased))


def var(
    x: Tensor, dim: Any = None, keepdim: bool = False, *, correction: int = 1, unbiased: bool | None = None
) -> Tensor:
    """Variance with Bessel's ``correction`` (1 = unbiased, the PyTorch default; 0 = population)."""
    dims = _dims(x, dim, "var")
    n = x.numel() // _prod(_kept_shape(x.shape, dims)) if x.numel() else 0
    centered = x - mean(x, dims, keepdim=True)
    return sum(centered * centered, dims, keepdim) / (n - _correction(correction, unbiased))


class StdFromVar(Function):
    """``sqrt(var)``; the gradient is 0 where the std is 0 (as in PyTorch), not ``0 * inf``."""

    save_output = True

    def forward(self, v):
        return _xp(v).sqrt(v)

    def backward(self, g):
        out = self.saved_output()
        zero = out == 0
        return where(zero, 0.0, g / where(zero, 1.0, out * 2))


def std(
    x: Tensor, dim: Any = None, keepdim: bool = False, *, correction: int = 1, unbiased: bool | None = None
) -> Tensor:
    return StdFromVar.apply(var(x, dim, keepdim, correction=correction, unbiased=unbiased))


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed without overflow."""
    dims = _dims(x, dim, "logsumexp")
    if dims is None:
        dims = tuple(range(x.ndim))
    return LogSumExp.apply(x, dims=dims, keepdim=keepdim)


class CumSum(Function):
    """Running sum along ``dim``; the gradient is the running sum of ``g`` from the other end."""

    def forward(self, x, dim):
        self.dim = dim
        out = _xp(x).cumsum(x, axis=dim)
        return out.astype("int64", copy=False) if x.dtype.kind in "biu" else out

    def backward(self, g):
        return flip(CumSum.apply(flip(g, self.dim), dim=self.dim), self.dim)


def cumsum(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``out[i] = x[0] + ... + x[i]`` along ``dim`` (ints and bools sum to int64, as in PyTorch)."""
    d = normalize_dim(dim, x.ndim, "cumsum")
    if dtype is not None:
        x = x.to(dtype)
    if x.ndim == 0:
        return x.clone()
    return CumSum.apply(x, dim=d)


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (all elements by default; ``"fro"`` is 2): ``(sum |x|^p)^(1/p)``,
    ``inf``/``-inf`` the largest/smallest ``|x|``, 0 the count of non-zeros. The 2-norm's gradient is 0
    at a zero vector (as PyTorch's), not NaN."""
    if x.dtype.kind != "f":
        raise TypeError(f"norm: needs a floating tensor, got {x.dtype}; call .float() first")
    if dtype is not None:
        x = x.to(dtype)
    dims = _dims(x, dim, "norm")
    if p == "fro" or p == 2:
        return StdFromVar.apply(sum(x * x, dims, keepdim))
    if p == "nuc" or isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported; use a number, inf, -inf or 'fro'")
    a = x.abs()
    if p == float("inf"):
        return amax(a, dims, keepdim)
    if p == float("-inf"):
        return amin(a, dims, keepdim)
    if p == 0:
        return sum((a != 0).to(x.dtype), dims, keepdim)
    if p == 1:
        return sum(a, dims, keepdim)
    return sum(a ** p, dims, keepdim) ** (1.0 / p)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (over the flattened tensor when ``dim`` is None)."""
    if dim is None:
        return Tensor._wrap(x._xp.asarray(x._data.argmax(), dtype="int64"))
    d = normalize_dim(dim, x.ndim, "argmax")
    return Tensor._wrap(x._data.argmax(axis=d, keepdims=keepdim).astype("int64", copy=False))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return Tensor._wrap(x._xp.asarray(x._data.argmin(), dtype="int64"))
    d = normalize_dim(dim, x.ndim, "argmin")
    return Tensor._wrap(x._data.argmin(axis=d, keepdims=keepdim).astype("int64", copy=False))


def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Tensor._wrap(x._xp.asarray(x._data.all(axis=_dims(x, dim, "all"), keepdims=keepdim)))


def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Tensor._wrap(x._xp.asarray(x._data.any(axis=_dims(x, dim, "any"), keepdims=keepdim)))


from .comparison import where  # noqa: E402
from .index import scatter_add  # noqa: E402
from .math import exp  # noqa: E402
from .shape import Expand, Reshape, flip, permute, reshape, unsqueeze  # noqa: E402
