"""Pooling over NCHW maps: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``.

Both window poolings loop over the ``kh * kw`` kernel offsets, never over pixels: offset ``(i, j)``
sees the strided slice ``x[:, :, i*dh :: sh, j*dw :: sw]`` (cut to the output size), so each step is
a whole-array NumPy/CuPy operation. Max pooling keeps a running maximum and the offset it came
from (one byte per output); its backward adds the gradient into each offset's slice where that
offset won (``kh * kw`` masked adds, no per-element scatter). Average pooling is linear: its
backward is the same loop run the other way (the adjoint). Both backwards are themselves ops, so
second derivatives work.

Peak extra memory: the padded input (only when there is padding or a ceil-mode overhang), the
output, and for max pooling the winning offset per output (1 byte each) and one boolean mask; the
backward pass holds one input-sized gradient (padded) and one output-sized temporary.

Sizes follow PyTorch: ``Ho = floor_or_ceil((H + 2*p - d*(k-1) - 1) / s) + 1``, and in ceil mode a
window that would start in the right padding is dropped.
"""

from __future__ import annotations

from typing import Any

import numpy

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor
from .conv import _int_tuple


class PoolGeometry:
    """Kernel, stride, padding, dilation, input and output sizes of one 2-D pooling."""

    __slots__ = ("H", "W", "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw", "Ho", "Wo", "Hp", "Wp")

    def __init__(self, H, W, kernel, stride, padding, dilation, ceil_mode):
        self.H, self.W = H, W
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        self.ph, self.pw = padding
        self.dh, self.dw = dilation
        self.Ho = _out_size(H, self.kh, self.sh, self.ph, self.dh, ceil_mode)
        self.Wo = _out_size(W, self.kw, self.sw, self.pw, self.dw, ceil_mode)
        # The padded extent every window fits in (ceil mode may reach past the right padding).
        self.Hp = max(H + 2 * self.ph, (self.Ho - 1) * self.sh + self.dh * (self.kh - 1) + 1)
        self.Wp = max(W + 2 * self.pw, (self.Wo - 1) * self.sw + self.dw * (self.kw - 1) + 1)

    def window(self, a, i: int, j: int):
        """The slice of the padded map ``a`` that kernel offset (i, j) sees: (N, C, Ho, Wo)."""
        y0, x0 = i * self.dh, j * self.dw
        return a[:, :, y0:y0 + self.sh * (self.Ho - 1) + 1:self.sh, x0:x0 + self.sw * (self.Wo - 1) + 1:self.sw]

    def pad(self, x, fill):
        if self.Hp == self.H and self.Wp == self.W:
            return x
        xp = _xp(x)
        out = xp.full(x.shape[:2] + (self.Hp, self.Wp), fill, dtype=x.dtype)
        out[:, :, self.ph:self.ph + self.H, self.pw:self.pw + self.W] = x
        return out

    def crop(self, a):
        if self.Hp == self.H and self.Wp == self.W:
            return a
        return _xp(a).ascontiguousarray(a[:, :, self.ph:self.ph + self.H, self.pw:self.pw + self.W])


def _out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


# ------------------------------------------------------------------------------------------ max pool


def _winners(a, out, geom: PoolGeometry, offsets, xp):
    """Per output, the index k of the kernel offset holding the window's maximum (uint8 when it fits)."""
    dt = xp.uint8 if len(offsets) < 256 else xp.int32
    arg = xp.zeros(out.shape, dtype=dt)
    hit = xp.empty(out.shape, dtype=bool)
    on_host = type(out) is numpy.ndarray  # testing for NaN costs a host sync on a GPU: not done there
    if on_host and out.size and bool(xp.isnan(out.max())):  # rare: NaN wins, among NaNs the last (PyTorch)
        best = geom.window(a, *offsets[0]).copy()
        for k, (i, j) in enumerate(offsets[1:], 1):
            s = geom.window(a, i, j)
            xp.greater(s, best, out=hit)
            hit |= xp.isnan(s)
            xp.copyto(best, s, where=hit)
            xp.copyto(arg, k, where=hit)
        return arg
    tmp = xp.empty(out.shape, dtype=dt)
    for k in range(len(offsets) - 1, -1, -1):  # last to first: the first maximum is written last
        xp.equal(geom.window(a, *offsets[k]), out, out=hit)
        xp.subtract(dt(k), arg, out=tmp)
        tmp *= hit
        arg += tmp
    if not on_host:  # the NaN rule without a sync: where a window holds NaN, its last NaN wins
        for k, (i, j) in enumerate(offsets):
            xp.isnan(geom.window(a, i, j), out=hit)
            xp.copyto(arg, k, where=hit)
    return arg


class MaxPool2d(Function):
    """Max over each window; remembers the winning kernel offset (first maximum, NaN wins, as PyTorch).

    ``need_arg`` (False for inference without indices) skips finding the winners. The maximum is a
    chain of ``maximum`` calls; the winners come from one equality test per offset, scanned from the
    last offset to the first so the first maximum wins, with ``arg += (k - arg) * hit`` in uint8
    arithmetic (measured 10x faster than ``copyto(..., where=)`` / ``putmask`` on LeNet's maps).
    """

    def forward(self, x, geom, need_arg=True):
        xp = _xp(x)
        self.geom, self.shape = geom, x.shape
        a = geom.pad(x, -xp.inf)
        kk = geom.kh * geom.kw
        offsets = [(i, j) for i in range(geom.kh) for j in range(geom.kw)]
        if kk == 1:
            out = geom.window(a, 0, 0).copy()
        else:
            out = xp.maximum(geom.window(a, *offsets[0]), geom.window(a, *offsets[1]))
        for i, j in offsets[2:]:
            xp.maximum(out, geom.window(a, i, j), out=out)  # NaN propagates, as in PyTorch
        if need_arg:
            self.arg = _winners(a, out, geom, offsets, xp)
        return out

    def backward(self, g):
        return MaxPoolScatter.apply(g, arg=self.arg, geom=self.geom, shape=self.shape)

    def indices(self):
        """PyTorch's ``return_indices``: the flat position ``h * W + w`` of each maximum in its input plane."""
        xp = _xp(self.arg)
        geom = self.geom
        arg = self.arg.astype(xp.int64)
        i, j = arg // geom.kw, arg % geom.kw
        rows = (xp.arange(geom.Ho) * geom.sh - geom.ph).reshape(-1, 1) + i * geom.dh
        cols = (xp.arange(geom.Wo) * geom.sw - geom.pw) + j * geom.dw
        return rows * geom.W + cols


class MaxPoolScatter(Function):
    """Max pooling's backward: each output gradient goes to the input position that won its window.

    When the windows cannot overlap (dilation 1, stride >= kernel) every input position belongs to at
    most one (offset, output) pair, so each offset's share is written straight into its slice;
    otherwise the shares are added.
    """

    def forward(self, g, arg, geom, shape):
        xp = _xp(g)
        self.arg, self.geom = arg, geom
        acc = xp.zeros(shape[:2] + (geom.Hp, geom.Wp), dtype=g.dtype)
        hit = xp.empty(g.shape, dtype=bool)
        disjoint = geom.dh == geom.dw == 1 and geom.sh >= geom.kh and geom.sw >= geom.kw
        tmp = None if disjoint else xp.empty_like(g)
        k = 0
        for i in range(geom.kh):
            for j in range(geom.kw):
                xp.equal(arg, k, out=hit)
                if disjoint:
                    xp.multiply(g, hit, out=geom.window(acc, i, j))
                else:
                    xp.multiply(g, hit, out=tmp)
                    geom.window(acc, i, j)[...] += tmp
                k += 1
        return geom.crop(acc)

    def backward(self, gg):
        return MaxPoolGather.apply(gg, arg=self.arg, geom=self.geom)


class MaxPoolGather(Function):
    """The adjoint of MaxPoolScatter: read each window's winning position."""

    def forward(self, a, arg, geom):
        xp = _xp(a)
        self.arg, self.geom, self.shape = arg, geom, a.shape
        a = geom.pad(a, 0)
        out = xp.zeros(arg.shape, dtype=a.dtype)
        k = 0
        for i in range(geom.kh):
            for j in range(geom.kw):
                out += geom.window(a, i, j) * (arg == k)
                k += 1
        return out

    def backward(self, g):
        return MaxPoolScatter.apply(g, arg=self.arg, geom=self.geom, shape=self.shape)


# ------------------------------------------------------------------------------------------ avg pool


def _divisor(geom: PoolGeometry, count_include_pad: bool, divisor_override: int | None, xp, dtype):
    """1 / (the number each window's sum is divided by), shape (Ho, Wo), by PyTorch's rules."""
    import numpy

    def axis(n_out, s, p, k, n_in):
        start = numpy.arange(n_out) * s - p
        end = numpy.minimum(start + k, n_in + p)
        full = end - start
        valid = numpy.minimum(end, n_in) - numpy.maximum(start, 0)
        return full, valid

    fh, vh = axis(geom.Ho, geom.sh, geom.ph, geom.kh, geom.H)
    fw, vw = axis(geom.Wo, geom.sw, geom.pw, geom.kw, geom.W)
    if divisor_override:
        div = numpy.full((geom.Ho, geom.Wo), float(divisor_override))
    elif count_include_pad:
        div = numpy.outer(fh, fw).astype(numpy.float64)
    else:
        div = numpy.outer(vh, vw).astype(numpy.float64)
    return xp.asarray((1.0 / div).astype(dtype))


class AvgPool2d(Function):
    """Window sums times 1/divisor (see :func:`_divisor`); linear, so backward is the adjoint."""

    def forward(self, x, geom, scale):
        self.geom, self.scale, self.shape = geom, scale, x.shape
        a = geom.pad(x, 0)
        out = geom.window(a, 0, 0).copy()
        for i in range(geom.kh):
            for j in range(geom.kw):
                if i or j:
                    out += geom.window(a, i, j)
        out *= scale
        return out

    def backward(self, g):
        return AvgPoolAdjoint.apply(g, geom=self.geom, scale=self.scale, shape=self.shape)


class AvgPoolAdjoint(Function):
    """Average pooling's backward: each output gradient, times 1/divisor, spread over its window."""

    def forward(self, g, geom, scale, shape):
        xp = _xp(g)
        self.geom, self.scale = geom, scale
        gs = g * scale
        acc = xp.zeros(shape[:2] + (geom.Hp, geom.Wp), dtype=g.dtype)
        for i in range(geom.kh):
            for j in range(geom.kw):
                geom.window(acc, i, j)[...] += gs
        return geom.crop(acc)

    def backward(self, gg):
        return AvgPool2d.apply(gg, geom=self.geom, scale=self.scale)


# ------------------------------------------------------------------------------------- public API


def _pool_input(op: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got {x.dtype}; convert it with .float()")
    return x


def _geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    k = _int_tuple(kernel_size, 2, "kernel_size", op, 1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    s = k if no_stride else _int_tuple(stride, 2, "stride", op, 1)
    p = _int_tuple(padding, 2, "padding", op, 0)
    d = _int_tuple(dilation, 2, "dilation", op, 1)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding {p} should be at most half the kernel size {k}")
    geom = PoolGeometry(x.shape[-2], x.shape[-1], k, s, p, d, bool(ceil_mode))
    if geom.Ho < 1 or geom.Wo < 1:
        raise ValueError(
            f"{op}: input {x.shape} is too small for kernel {k} (dilation {d}, padding {p}): the output would be "
            f"{geom.Ho}x{geom.Wo}; use a smaller kernel or more padding"
        )
    return geom


def _batched(x: Tensor) -> Tensor:
    return x.unsqueeze(0) if x.ndim == 3 else x


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over ``kernel_size`` windows (``stride`` defaults to the kernel size), padding with -inf.

    With ``return_indices`` also returns, per output, the flat index ``h * W + w`` of the maximum in
    its input plane (int64, as PyTorch). The gradient flows to that position only. Peak extra
    memory: a padded copy of the input when there is padding, one byte per output for the winners
    (only when a gradient or the indices are wanted) and a boolean mask of the output's size.
    """
    op = "max_pool2d"
    x = _pool_input(op, input)
    geom = _geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode)
    need_arg = return_indices or (x.requires_grad and is_grad_enabled())
    out = MaxPool2d.apply(_batched(x), geom=geom, need_arg=need_arg)
    if return_indices:
        node = out._ctx
        if node is None:  # not recorded: run the op object directly to get at its winners
            node = MaxPool2d.__new__(MaxPool2d)
            node.forward(_batched(x)._data, geom)
        idx = Tensor._wrap(node.indices())
        if x.ndim == 3:
            return out.squeeze(0), idx.squeeze(0)
        return out, idx
    return out.squeeze(0) if x.ndim == 3 else out


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over ``kernel_size`` windows (``stride`` defaults to the kernel size), zero padding.

    ``count_include_pad`` counts the padding zeros in the divisor (PyTorch's default);
    ``divisor_override`` replaces the divisor by a fixed number. Peak extra memory: a padded copy of
    the input when there is padding; nothing is kept for backward but the (Ho, Wo) divisors.
    """
    op = "avg_pool2d"
    x = _pool_input(op, input)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ValueError(f"{op}: divisor_override must be a non-zero int, got {divisor_override!r}")
    geom = _geometry(op, x, kernel_size, stride, padding, 1, ceil_mode)
    scale = _divisor(geom, count_include_pad, divisor_override, x._xp, x.dtype)
    out = AvgPool2d.apply(_batched(x), geom=geom, scale=scale)
    return out.squeeze(0) if x.ndim == 3 else out


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins: output cell ``i`` of ``n`` covers rows
    ``floor(i*H/n) .. ceil((i+1)*H/n)``. ``None`` in ``output_size`` keeps that size.

    Computed as ``Ph @ x @ Pw.T`` with the two small bin-averaging matrices (one batched GEMM each;
    see ``nabla/ops/upsample.py``); an output of (1, 1) is the plain mean over H and W. Peak extra
    memory: the intermediate (N, C, H, Wo) and the two small matrices.
    """
    op = "adaptive_avg_pool2d"
    x = _pool_input(op, input)
    h, w = x.shape[-2], x.shape[-1]
    size = (output_size, output_size) if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
    size = (h if size[0] is None else size[0], w if size[1] is None else size[1])
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in size):
        raise ValueError(f"{op}: output_size must be positive ints (or None), got {output_size!r}")
    if size == (1, 1):
        return x.mean((-2, -1), keepdim=True)
    if size == (h, w):
        return x
    from .upsample import Resample2d, adaptive_matrix

    mh = adaptive_matrix(h, size[0], x._xp, x.dtype)
    mw = adaptive_matrix(w, size[1], x._xp, x.dtype)
    return Resample2d.apply(x, mh=mh, mw=mw)
