"""Helpers shared by the op families: argument checks, scalar conversion, type promotion, unbroadcast,
the broadcasting binary-op wrapper, and ``Mask`` (the gradient through a fixed mask)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _ScalarTypes

_promote_cache: dict[tuple, numpy.dtype] = {}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # PyTorch's promotion categories: bool < integer < float


def result_dtype(a: numpy.dtype, b: numpy.dtype) -> numpy.dtype:
    """PyTorch's promotion for two tensors: a float beats an int, otherwise the wider one wins."""
    if a == b:
        return a
    key = (a, b)
    d = _promote_cache.get(key)
    if d is None:
        if a.kind == "b":
            d = b
        elif b.kind == "b":
            d = a
        elif a.kind == "f" and b.kind != "f":
            d = a
        elif b.kind == "f" and a.kind != "f":
            d = b
        else:
            d = numpy.result_type(a, b)
        _promote_cache[key] = d
    return d


def scalar_tensor(value: Any, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor on ``like``'s device, with the dtype PyTorch would give it."""
    dt = like._data.dtype
    if isinstance(value, (bool, numpy.bool_)):
        pass
    elif isinstance(value, (int, numpy.integer)):
        if dt.kind == "b":
            dt = backend.int64
    elif isinstance(value, (float, numpy.floating)):
        if dt.kind != "f":
            dt = backend.get_default_dtype()
    else:
        raise TypeError(f"expected a Tensor or a number, got {type(value).__name__}")
    if type(like._data) is numpy.ndarray:
        # Cached 0-d arrays: the cheapest operand for NumPy arithmetic. Internal and never mutated.
        key = (value, type(value), dt)
        t = _scalar_cache.get(key)
        if t is None:
            if len(_scalar_cache) > 4096:
                _scalar_cache.clear()
            t = _scalar_cache[key] = Tensor._wrap(_scalar_array(numpy, value, dt))
        return t
    return Tensor._wrap(_scalar_array(like._xp, value, dt))


def _scalar_array(xp: Any, value: Any, dt: numpy.dtype) -> Any:
    try:
        return xp.asarray(value, dtype=dt)
    except OverflowError:  # an int outside the dtype's range wraps around (a C cast), as in PyTorch
        return xp.asarray(numpy.asarray(value).astype(dt))


_scalar_cache: dict = {}


def to_tensor(value: Any, like: Tensor | None, op: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, _ScalarTypes):
        if like is None:
            return Tensor(value)
        return scalar_tensor(value, like)
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__") or backend.is_array(value):
        dev = like.device if like is not None else None
        return Tensor(value, device=dev)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(value).__name__}")


def operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Make both operands Tensors of one dtype on one device (casting is recorded in the graph)."""
    if type(a) is not Tensor:
        a = to_tensor(a, b if isinstance(b, Tensor) else None, op)
    if type(b) is not Tensor:
        b = to_tensor(b, a, op)
    da, db = a._data.dtype, b._data.dtype
    if da != db:
        if (a._data.ndim == 0) != (b._data.ndim == 0) and _CATEGORY[da.kind] == _CATEGORY[db.kind]:
            # As in PyTorch, a 0-d tensor next to an n-d one only matters when of a higher category
            # (float32 + 0-d float64 stays float32; int64 + 0-d float64 is float64).
            d = db if a._data.ndim == 0 else da
        else:
            d = result_dtype(da, db)
        if da != d:
            a = cast(a, d)
        if db != d:
            b = cast(b, d)
    ta = type(a._data)
    if ta is not type(b._data) or (ta is not numpy.ndarray and a._data.device != b._data.device):
        check_same_device(op, a, b)
    return a, b


def check_same_device(op: str, *tensors: Tensor) -> None:
    devs = {str(t.device) for t in tensors}
    if len(devs) > 1:
        raise RuntimeError(
            f"{op}: tensors are on different devices ({', '.join(sorted(devs))}); "
            "move them to one device with .to(device) first"
        )


def broadcast_error(op: str, *shapes: Sequence[int]) -> ValueError | None:
    """A readable error when ``shapes`` do not broadcast, else None."""
    try:
        numpy.broadcast_shapes(*shapes)
        return None
    except ValueError:
        pass
    nd = max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + tuple(s) for s in shapes]
    for i in range(nd):
        sizes = {p[i] for p in padded if p[i] != 1}
        if len(sizes) > 1:
            dims = " vs ".join(str(p[i]) for p in padded)
            return ValueError(
                f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together: "
                f"dimension {i - nd} has sizes {dims} (sizes must be equal or 1). Reshape or unsqueeze one "
                "operand so the dimensions line up."
            )
    return ValueError(f"{op}: shapes {shapes} cannot be broadcast together")


def unbroadcast(g: Tensor, shape: tuple) -> Tensor:
    """Sum ``g`` over the dimensions that broadcasting added or stretched, giving ``shape``."""
    gshape = g._data.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if dims:
        g = Sum.apply(g, dims=dims, keepdim=False)
    if g._data.shape != shape:
        g = Reshape.apply(g, shape=shape)
    return g


def unbroadcast_array(g: Any, shape: tuple) -> Any:
    """:func:`unbroadcast` on an array (the ``compiled_backward`` kernels of graph mode, nabla.compile)."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
    if dims:
        g = g.sum(axis=dims)
    return g if g.shape == shape else g.reshape(shape)


def normalize_dim(dim: Any, ndim: int, op: str) -> int:
    if not isinstance(dim, (int, numpy.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    lo = -max(ndim, 1)
    hi = max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions (expected {lo}..{hi})")
    return int(dim) % max(ndim, 1)


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """``None`` for "all dimensions", else a sorted tuple of non-negative dims (no repeats)."""
    if dim is None:
        return None
    dims = (dim,) if not isinstance(dim, (tuple, list)) else tuple(dim)
    out = tuple(sorted({normalize_dim(d, ndim, op) for d in dims}))
    if len(out) != len(dims):
        raise ValueError(f"{op}: dim {dim} repeats a dimension")
    if ndim == 0:
        return ()
    return out


def shape_arg(shape: Any, op: str) -> tuple[int, ...]:
    if isinstance(shape, (int, numpy.integer)):
        return (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: expected a shape (ints), got {shape!r}") from None
    return out


def tensor_arg(x: Any, op: str) -> Tensor:
    """``x`` as a Tensor (Python numbers and arrays converted; anything else a TypeError naming ``op``)."""
    if type(x) is Tensor:
        return x
    return to_tensor(x, None, op)


def float_tensor(x: Any, op: str) -> Tensor:
    """Ops like exp and tanh need floats: ints are promoted to the default float dtype."""
    x = tensor_arg(x, op)
    if x._data.dtype.kind != "f":
        x = cast(x, backend.get_default_dtype())
    return x


def binary(fn: type, a: Any, b: Any, op: str, **kw: Any) -> Tensor:
    """Apply the two-input Function ``fn`` to ``a`` and ``b`` (promoted to one dtype and device); a
    shape mismatch becomes an error that names ``op`` and both shapes."""
    a, b = operands(a, b, op)
    try:
        return fn.apply(a, b, **kw) if kw else fn.apply(a, b)
    except ValueError as e:
        err = broadcast_error(op, a.shape, b.shape)
        if err is not None:
            raise err from None
        raise e


class Mask(Function):
    """``x * mask`` for a fixed array ``mask``; its backward is the same op on ``g``.

    The backward of ReLU and clamp (a boolean mask) and of dropout (the scaled keep-mask).
    """

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return Mask.apply(g, mask=self.mask)

    def compiled_backward(self, g, ins, out, needs):
        return (g * self.mask,)


class DropoutMask(Mask):
    """Inverted dropout's ``x * mask``, the mask drawn inside ``forward`` from nabla's generator: each entry
    of ``mask_shape`` (the input's shape, or (N, C, 1, ...) for channel dropout) is kept with probability
    ``1 - p`` and scaled by ``1/(1 - p)``. Drawing here, not in the caller, means a replayed program
    (``nabla.compile``) draws a fresh mask on every call; ``u_dtype`` is the dtype of the uniform draw."""

    def forward(self, x, p, mask_shape, u_dtype, device):
        if p == 1.0:
            mask = backend.array_module(x).zeros(mask_shape, dtype=x.dtype)
        else:
            gen = backend.default_generator.for_device(device)
            if device.type == "cpu":
                u = gen.random(mask_shape, dtype=u_dtype) if u_dtype is not None else gen.random(mask_shape)
            else:  # pragma: no cover - GPU only
                u = gen.random_sample(mask_shape, dtype=u_dtype) if u_dtype is not None else \
                    gen.random_sample(mask_shape)
            mask = (u >= p).astype(x.dtype)
            mask *= x.dtype.type(1.0 / (1.0 - p))
        self.mask = mask
        return x * mask


# Late imports: these ops are defined in sibling modules that import this one.
from .convert import cast  # noqa: E402
from .reduce import Sum  # noqa: E402
from .shape import Reshape  # noqa: E402
