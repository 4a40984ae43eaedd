"""Shape ops: reshape, permute, expand, cat/stack, split/chunk/narrow, pad, flip, repeat, pixel (un)shuffle.

Reshape, permute and expand return views that share storage (and the version counter) with their
input, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from ..autograd import Function
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import (
    check_same_device,
    normalize_dim,
    normalize_dims,
    result_dtype,
    shape_arg,
    unbroadcast,
    unbroadcast_array,
)


class Reshape(Function):
    is_view = True
    compiled_forward = "{0}.reshape({shape})"

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return Reshape.apply(g, shape=self.in_shape)

    def compiled_backward(self, g, ins, out, needs):
        return (g.reshape(self.in_shape),)


class Permute(Function):
    is_view = True

    def forward(self, x, perm):
        inverse = [0] * len(perm)
        for i, p in enumerate(perm):
            inverse[p] = i
        self.inverse = tuple(inverse)
        return x.transpose(perm)

    def backward(self, g):
        return Permute.apply(g, perm=self.inverse)

    def compiled_backward(self, g, ins, out, needs):
        return (g.transpose(self.inverse),)


class Transpose(Function):
    """Swap two dimensions (its own inverse)."""

    is_view = True
    compiled_forward = "{0}.swapaxes({dim0}, {dim1})"

    def forward(self, x, dim0, dim1):
        self.dims = dim0, dim1
        return x.swapaxes(dim0, dim1)

    def backward(self, g):
        d0, d1 = self.dims
        return Transpose.apply(g, dim0=d0, dim1=d1)

    def compiled_backward(self, g, ins, out, needs):
        return (g.swapaxes(*self.dims),)


class Expand(Function):
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        if x.ndim == 0:  # e.g. the gradient of a full sum/mean: full() is much cheaper than broadcast_to()
            return _xp(x).full(shape, x, dtype=x.dtype)
        return _xp(x).broadcast_to(x, shape)

    def backward(self, g):
        return unbroadcast(g, self.in_shape)

    def compiled_backward(self, g, ins, out, needs):
        return (unbroadcast_array(g, self.in_shape),)


class Cat(Function):
    def forward(self, *arrays, dim):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return _xp(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, g):
        out, start = [], 0
        lead = (slice(None),) * self.dim
        for n in self.sizes:
            out.append(getitem(g, lead + (slice(start, start + n),)))
            start += n
        return tuple(out)


class Pad(Function):
    def forward(self, x, widths, value):
        self.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return _xp(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return getitem(g, self.crop)


class Flip(Function):
    def forward(self, x, dims):
        self.dims = dims
        return _xp(x).flip(x, axis=dims)

    def backward(self, g):
        return Flip.apply(g, dims=self.dims)


class Repeat(Function):
    def forward(self, x, reps):
        self.in_shape = x.shape
        self.reps = reps
        return _xp(x).tile(x, reps)

    def backward(self, g):
        # Lay the tiled gradient out as (r0, s0, r1, s1, ...) and sum over the repeat axes.
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + tuple(self.in_shape)
        split = []
        for r, s in zip(self.reps, shape):
            split += [r, s]
        g = reshape(g, tuple(split))
        g = g.sum(dim=tuple(range(0, len(split), 2)))
        return reshape(g, self.in_shape)


def reshape(x: Tensor, shape: Any) -> Tensor:
    """Same data, new shape (one entry may be -1); a view when the layout allows."""
    shape = shape_arg(shape, "reshape")
    if shape == x._data.shape:
        return x
    n = x._data.size
    known = 1
    unknown = [i for i, s in enumerate(shape) if s == -1]
    for s in shape:
        if s != -1:
            if s < 0:
                raise ValueError(f"reshape: invalid size {s} in shape {shape}")
            known *= s
    if len(unknown) > 1 or (unknown and (known == 0 or n % known)) or (not unknown and known != n):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({n} elements) into {shape}; "
            "the number of elements must stay the same (at most one dimension may be -1)"
        )
    return Reshape.apply(x, shape=shape)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape
    return reshape(x, shape[:s] + (-1 if 0 not in shape[s : e + 1] else 0,) + shape[e + 1 :])


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    """Reorder the dimensions: output dimension ``i`` is input dimension ``dims[i]``."""
    dims = tuple(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim} dimensions {x.shape}")
    perm = tuple(normalize_dim(d, x.ndim, "permute") for d in dims)
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the dimensions 0..{x.ndim - 1}")
    if perm == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, perm=perm)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    nd = x._data.ndim
    a = normalize_dim(dim0, nd, "transpose")
    b = normalize_dim(dim1, nd, "transpose")
    if a == b or nd < 2:
        return x
    return Transpose.apply(x, dim0=a, dim1=b)


swapaxes = transpose


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dimensions (all of them, or those in ``dim`` that have size 1)."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_dims(dim, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dimension at ``dim`` (``-1`` appends)."""
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    shape = x.shape
    return reshape(x, shape[:d] + (1,) + shape[d:])


def expand(x: Tensor, shape: Any) -> Tensor:
    """Broadcast size-1 dimensions to ``shape`` without copying (-1 keeps a size)."""
    shape = shape_arg(shape, "expand")
    if len(shape) < x.ndim:
        raise ValueError(f"expand: the target shape {shape} has fewer dimensions than the tensor {x.shape}")
    lead = len(shape) - x.ndim
    target = list(shape)
    for i, n in enumerate(x.shape):
        t = shape[lead + i]
        if t == -1:
            target[lead + i] = n
        elif n != 1 and n != t:
            raise ValueError(
                f"expand: cannot expand shape {x.shape} to {shape}: dimension {lead + i} has size {n}, "
                f"which is not 1 and not {t}"
            )
    target = tuple(target)
    if target == x._data.shape:
        return x
    return Expand.apply(x, shape=target)


def broadcast_to(x: Tensor, shape: Any) -> Tensor:
    return expand(x, shape)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: expected Tensors, got {type(t).__name__}")
    ref = next((t for t in tensors if t.shape != (0,)), tensors[0])
    tensors = [t for t in tensors if t.shape != (0,) or t is ref]  # legacy empty tensors are skipped
    d = normalize_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != d):
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {ref.shape}; all sizes must "
                f"match except in dimension {d}"
            )
    check_same_device("cat", *tensors)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = result_dtype(dtype, t.dtype)
    tensors = [cast(t, dtype) for t in tensors]
    return Cat.apply(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join equal-shaped tensors along a new dimension."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape = tensors[0].shape
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack: expected Tensors, got {type(t).__name__}")
        if t.shape != shape:
            raise ValueError(f"stack: all tensors must have one shape; tensor 0 is {shape}, tensor {i} is {t.shape}")
    d = normalize_dim(dim, len(shape) + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(x: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of size ``split_size`` (the last may be smaller), or of the listed ``sections`` sizes."""
    d = normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sections {sizes} sum to {sum(sizes)} but dimension {d} has size {n}")
    out, start = [], 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),)))
        start += s
    return tuple(out)


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``dim``, that dimension removed (views): ``a, b = pair.unbind()``."""
    d = normalize_dim(dim, x.ndim, "unbind")
    lead = (slice(None),) * d
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[d]))


def narrow(x: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """``length`` entries of ``x`` along ``dim`` from ``start`` (negative counts from the end): a view."""
    d = normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start = int(start)  # a 0-d integer Tensor is accepted too, as in PyTorch
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dimension {dim} of size {n} (valid: {-n}..{n})")
    start %= n if n else 1
    if length < 0 or start + length > n:
        raise ValueError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension {dim} of size {n} (shape {x.shape})"
        )
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller), as ``torch.chunk``."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    d = normalize_dim(dim, x.ndim, "chunk")
    n = x.shape[d]
    if n == 0:  # as PyTorch: ``chunks`` empty pieces
        return split(x, [0] * chunks, d)
    step = -(-n // chunks)
    return split(x, step, d)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with PyTorch's argument order: ``(last_lo, last_hi, prev_lo, prev_hi, ...)``.

    ``mode``: ``"constant"`` (``value``), ``"reflect"`` (mirror without repeating the edge:
    ``[1, 2, 3]`` padded by 2 on the left gives ``3, 2, 1, 2, 3``), ``"replicate"`` (repeat the edge)
    or ``"circular"`` (wrap around). The last three gather existing entries with an index per padded
    dimension, so their gradient adds up at the entries that were copied.
    """
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(
            f"pad: expected an even number of sizes, at most 2 per dimension ({2 * x.ndim} for shape {x.shape}), "
            f"got {len(pad)}"
        )
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {pad} is not supported; slice the tensor instead")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return Pad.apply(x, widths=tuple(widths), value=value)
    out = x
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:
            out = index_select(out, d, Tensor._wrap(x._xp.asarray(_pad_index(x.shape[d], lo, hi, mode, d, x.shape))))
    return out


def _pad_index(n: int, lo: int, hi: int, mode: str, dim: int, shape: tuple) -> Any:
    """Positions ``-lo .. n + hi - 1`` mapped into ``0 .. n-1`` by ``mode`` (an int64 NumPy array)."""
    limit = {"reflect": n - 1, "circular": n, "replicate": None}[mode]
    if n == 0 or (limit is not None and max(lo, hi) > limit):
        need = "smaller than" if mode == "reflect" else "at most"
        raise ValueError(
            f"pad: {mode} padding of ({lo}, {hi}) on dimension {dim} of size {n} (shape {shape}): each side must be "
            f"{need} the dimension's size"
        )
    pos = numpy.arange(-lo, n + hi)
    if mode == "replicate":
        idx = numpy.clip(pos, 0, n - 1)
    elif mode == "circular":
        idx = pos % n
    else:  # reflect: period 2(n-1), mirrored about both edges
        period = 2 * (n - 1) if n > 1 else 1
        idx = numpy.abs(pos) % period
        idx = numpy.where(idx > n - 1, period - idx, idx)
    return idx.astype(numpy.int64)


def pixel_shuffle(x: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): the sub-pixel convolution's rearrangement (Shi et al., 2016),
    a reshape and a permute (so its gradient is the inverse rearrangement)."""
    r = _factor(upscale_factor, "pixel_shuffle", "upscale_factor")
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: expected input (*, C * {r}^2, H, W) with at least 3 dimensions and channels divisible "
            f"by upscale_factor^2 = {r * r}, got shape {x.shape}"
        )
    *lead, c, h, w = x.shape
    nl = len(lead)
    y = reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = permute(y, (*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2))
    return reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(x: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of :func:`pixel_shuffle`."""
    r = _factor(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(
            f"pixel_unshuffle: expected input (*, C, H, W) with H and W divisible by downscale_factor {r}, "
            f"got shape {x.shape}"
        )
    *lead, c, h, w = x.shape
    nl = len(lead)
    y = reshape(x, (*lead, c, h // r, r, w // r, r))
    y = permute(y, (*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3))
    return reshape(y, (*lead, c * r * r, h // r, w // r))


def _factor(value: Any, op: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return value


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (views): with ``indexing="ij"`` output ``k`` varies along
    dimension ``k``; ``"xy"`` swaps the first two dimensions (NumPy's and MATLAB's convention)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D Tensors, got {getattr(t, 'shape', type(t).__name__)}")
    ts = [reshape(t, (-1,)) for t in tensors]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    grids = []
    for k, t in enumerate(ts):
        view = [1] * len(ts)
        view[k] = shape[k]
        grids.append(expand(reshape(t, tuple(view)), shape))
    if indexing == "xy" and len(ts) >= 2:  # the grids of the swapped inputs, handed back in input order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def flip(x: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    d = normalize_dims(dims, x.ndim, "flip")
    return Flip.apply(x, dims=d)


def repeat(x: Tensor, sizes: Any) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dimension (as ``torch.Tensor.repeat``)."""
    reps = shape_arg(sizes, "repeat")
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: got {len(reps)} sizes for a tensor with {x.ndim} dimensions {x.shape}")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: sizes must be non-negative, got {reps}")
    return Repeat.apply(x, reps=reps)


from .convert import cast  # noqa: E402
from .index import getitem, index_select  # noqa: E402
