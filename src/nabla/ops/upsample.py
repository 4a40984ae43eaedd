"""Separable resampling of NCHW maps: ``interpolate`` (nearest, bilinear) and adaptive average pooling.

Each of these maps is linear and acts on the rows and the columns independently, so it is
``y = Mh @ x @ Mw.T`` for two small matrices: ``Mh`` (Ho, H) and ``Mw`` (Wo, W) hold the weights each
output row/column takes from the input rows/columns (nearest: a single 1; bilinear: ``1 - l`` and
``l``; adaptive average: ``1/len`` over the bin). One op, :class:`Resample2d`, does all three, and its
backward is the transpose, ``Mh.T @ g @ Mw`` (itself a Resample2d, so second derivatives work).

Cost: two GEMMs, ``N*C*H*W*Wo + N*C*Ho*H*Wo`` multiply-adds, i.e. O(H) per output value instead of
the O(1) of a gather; for the feature-map sizes of the models here (up to 56x56) this is still a
fraction of the convolutions around it. Peak extra memory: the intermediate (N, C, H, Wo).

The source positions follow PyTorch exactly (``area_pixel_compute_source_index`` and
``nearest_idx`` in ATen), computed in the input's precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from ..autograd import Function
from ..backend import array_module as _xp
from ..tensor import Tensor


class Resample2d(Function):
    """``Mh @ x @ Mw.T`` over the last two axes of ``x`` (*, H, W) -> (*, Ho, Wo)."""

    def forward(self, x, mh, mw):
        self.mh, self.mw = mh, mw
        lead = x.shape[:-2]
        h, w = x.shape[-2:]
        t = (x.reshape(-1, w) @ mw.T).reshape(lead + (h, mw.shape[0]))
        return _xp(x).matmul(mh, t)

    def backward(self, g):
        return Resample2d.apply(g, mh=self.mh.T, mw=self.mw.T)


def adaptive_matrix(n_in: int, n_out: int, xp, dtype):
    """(n_out, n_in) averaging matrix over PyTorch's adaptive bins [floor(i*n/m), ceil((i+1)*n/m))."""
    m = numpy.zeros((n_out, n_in))
    for i in range(n_out):
        a = (i * n_in) // n_out
        b = -((-(i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return xp.asarray(m.astype(dtype))


def _nearest_matrix(n_in: int, n_out: int, scale: float | None, xp, dtype):
    """PyTorch's nearest_idx: src = min(floor(dst * s), n_in - 1), s = 1/scale_factor or n_in/n_out (float32)."""
    dst = numpy.arange(n_out)
    if n_out == n_in:
        src = dst
    elif n_out == 2 * n_in:
        src = dst >> 1
    else:
        given = scale is not None and scale > 0
        s = numpy.float32(1.0 / scale) if given else numpy.float32(n_in) / numpy.float32(n_out)
        src = numpy.minimum(numpy.floor(dst.astype(numpy.float32) * s).astype(numpy.int64), n_in - 1)
    m = numpy.zeros((n_out, n_in))
    m[dst, src] = 1.0
    return xp.asarray(m.astype(dtype))


def _linear_matrix(n_in: int, n_out: int, scale: float | None, align_corners: bool, xp, dtype):
    """PyTorch's bilinear weights along one axis (area_pixel_compute_source_index, non-cubic)."""
    ft = numpy.dtype(dtype).type
    dst = numpy.arange(n_out).astype(dtype)
    if align_corners:
        s = ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
        src = s * dst
    else:
        s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(n_in) / ft(n_out)
        src = s * (dst + ft(0.5)) - ft(0.5)
        src = numpy.where(src < 0, ft(0), src)
    i0 = src.astype(numpy.int64)
    i1 = numpy.minimum(i0 + 1, n_in - 1)
    lam = (src - i0).astype(dtype)
    m = numpy.zeros((n_out, n_in), dtype=dtype)
    rows = numpy.arange(n_out)
    m[rows, i0] = 1 - lam
    m[rows, i1] += lam  # rows are distinct, so this adds onto i0's weight when i1 == i0 (the last row)
    return xp.asarray(m)


_MODES = ("nearest", "bilinear")


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resize (N, C, H, W) maps to ``size`` or by ``scale_factor``: ``mode`` "nearest" or "bilinear".

    Output size ``floor(H * scale_factor)`` when a factor is given. As in PyTorch, a given factor
    (unless ``recompute_scale_factor=True``) also sets the source-position step, ``1/scale_factor``;
    ``align_corners`` (bilinear only) maps the corner pixels' centres onto each other. Peak extra
    memory: the intermediate (N, C, H, Wo) and the (Ho, H), (Wo, W) weight matrices.
    """
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise ValueError(f"{op}: mode {mode!r} is not supported; use one of {', '.join(_MODES)}")
    if input.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W) for mode {mode!r}, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got {input.dtype}; convert it with .float()")
    if align_corners is not None and mode == "nearest":
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes (bilinear)")
    if (size is None) == (scale_factor is None):
        raise ValueError(
            f"{op}: give exactly one of size and scale_factor (got size={size!r}, scale_factor={scale_factor!r})"
        )
    h, w = input.shape[2], input.shape[3]
    scales: tuple[float | None, float | None] = (None, None)
    if size is not None:
        out = (size, size) if isinstance(size, int) else tuple(size)
        if len(out) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in out):
            raise ValueError(f"{op}: size must be a positive int or a pair of them, got {size!r}")
    else:
        sf = (scale_factor, scale_factor) if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(sf) != 2 or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and s > 0 for s in sf):
            raise ValueError(f"{op}: scale_factor must be a positive number or a pair of them, got {scale_factor!r}")
        out = (math.floor(h * float(sf[0])), math.floor(w * float(sf[1])))
        if min(out) < 1:
            raise ValueError(f"{op}: scale_factor {scale_factor!r} makes input {input.shape} empty ({out})")
        if not recompute_scale_factor:
            scales = (float(sf[0]), float(sf[1]))
    xp, dt = input._xp, input.dtype
    if mode == "nearest":
        mh = _nearest_matrix(h, out[0], scales[0], xp, dt)
        mw = _nearest_matrix(w, out[1], scales[1], xp, dt)
    else:
        ac = bool(align_corners)
        mh = _linear_matrix(h, out[0], scales[0], ac, xp, dt)
        mw = _linear_matrix(w, out[1], scales[1], ac, xp, dt)
    return Resample2d.apply(input, mh=mh, mw=mw)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """The same as :func:`interpolate` (PyTorch keeps this older name too)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
