"""Winograd F(m x m, 3 x 3) convolution: the array kernels behind 3x3, stride-1 ``conv2d`` layers.

Maths (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). The 3x3
cross-correlation of one (m+2) x (m+2) input tile ``d`` with a kernel ``w`` is the m x m tile

    Y = A^T [ (G w G^T) * (B^T d B) ] A          (* elementwise)

with small constant matrices ``B`` ((m+2) x (m+2)), ``G`` ((m+2) x 3), ``A`` ((m+2) x m). For a
layer, the input is cut into tiles that overlap by 2 (stride m); ``U = G w G^T`` per (output,
input) channel pair and ``V = B^T d B`` per (channel, tile) are computed once, and for each of the
(m+2)^2 positions ``xi`` of the transformed tile the channel sum is one GEMM:
``M[xi] = U[xi] (O x C) @ V[xi] (C x T)`` over all ``T`` tiles of the batch. That is
(m+2)^2 / (9 m^2) of the multiplications of direct convolution: 1/4 for F(4x4, 3x3).

Each transform is itself a GEMM with a Kronecker-product matrix (row-major ``vec(P d Q) =
(P kron Q^T) vec(d)``), so every step is one BLAS call on the whole batch:
``V = (B^T kron B^T) @ D`` with ``D`` the (m+2)^2 x (C * T) matrix of tile values (one copy of a
strided view, 2.25x the input for m = 4 where im2col copies 9x), ``U = (G kron G) @ w``,
``Y = (A^T kron A^T) @ M``.

Backward is the adjoint of each linear step, sharing ``dM`` between the two gradients:
``dM = (A^T kron A^T)^T @ dY`` (the output gradient cut into m x m tiles),
``dU[xi] = dM[xi] @ V[xi]^T`` then ``dw = (G kron G)^T @ dU``, and
``dV[xi] = U[xi]^T @ dM[xi]`` then ``dD = (B^T kron B^T)^T @ dV``, whose tiles are added back
where they overlap: one copy of the m x m cores plus three adds of the 2-wide borders (no
``col2im`` over nine kernel offsets).

Rounding: the transforms multiply and add values of mixed sign, so in float32 F(4x4, 3x3) is off
by ~1e-5 of the output's largest value (direct im2col: ~4e-7); float64 stays at ~1e-14.
Measured speeds and the choice of layers are in ``conv.py``'s docstring; ``conv.Geometry`` decides
which layers take this path.
"""

from __future__ import annotations

import numpy

from ..backend import array_module as _xp

# Lavin & Gray's matrices (interpolation points 0, +-1, +-2 for m = 4; 0, +-1 for m = 2).
_MATRICES = {
    2: (
        [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    4: (
        [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    ),
}

_consts_cache: dict = {}

# Layers with at most this many tiles per sample order the tiles sample-fastest (see ``Tiles``).
# Measured fwd+bwd at batch 32 (thread CPU time, interleaved): 128@16x16 (16 tiles) 62 vs 67 ms,
# 256@8x8 48 vs 53, 512@4x4 61 vs 66 sample-fastest; 64@32x32 (64 tiles) 100 vs 97 ms the other way.
NFAST_MAX_TILES = 16


def _consts(m: int, dtype, xp):
    """(B^T kron B^T, G kron G, A^T kron A^T) for F(m x m, 3 x 3) in ``dtype`` on ``xp``'s device.

    NumPy's are cached; on other devices they are made per call (three tiny host-to-device copies).
    """
    key = (m, numpy.dtype(dtype).str)
    if xp is numpy and key in _consts_cache:
        return _consts_cache[key]
    bt, g, at = (numpy.asarray(a, dtype=numpy.float64) for a in _MATRICES[m])
    mats = tuple(xp.asarray(numpy.kron(p, p).astype(dtype)) for p in (bt, g, at))
    if xp is numpy:
        _consts_cache[key] = mats
    return mats


class Tiles:
    """How a layer is cut into tiles: ``m`` output values a side, ``th x tw`` tiles per sample, ``T`` in all."""

    __slots__ = ("m", "a", "th", "tw", "n", "T", "nfast", "tshape")

    def __init__(self, g, n: int) -> None:
        self.m = m = g.wino
        self.a = m + 2
        self.th, self.tw = -(-g.Ho // m), -(-g.Wo // m)
        self.n = n
        self.T = n * self.th * self.tw
        # Tile order: (sample, ty, tx) as the pixels of an NCHW array, so the copies between NCHW and
        # tiles move runs of tw values; with few tiles per sample those runs are 1-2 values long and
        # (ty, tx, sample), whose runs are N values long, is faster. See NFAST_MAX_TILES.
        self.nfast = self.th * self.tw <= NFAST_MAX_TILES
        self.tshape = (self.th, self.tw, n) if self.nfast else (n, self.th, self.tw)

    def block(self, arr, ys, xs):
        """``arr[..., ys, xs]`` over the tile-grid axes of a (..., *tshape)-shaped array (all samples)."""
        return arr[..., ys, xs, :] if self.nfast else arr[..., ys, xs]

    def to_nchw(self, arr):
        """(m, m, C, *tshape) as the transposed view (N, C, th, m, tw, m)."""
        return arr.transpose(5, 2, 3, 0, 4, 1) if self.nfast else arr.transpose(3, 2, 4, 0, 5, 1)


def _input_transform(x, g, t: Tiles, buffer, fresh: bool):
    """``V = (B^T kron B^T) @ D``, shape ((m+2)^2, C * T): ``D`` gathers the overlapping tiles of the padded input.

    The tile order is ``t.tshape`` (see ``Tiles``); sample-fastest pads the input into (C, Hb, Wb, N).
    """
    xp = _xp(x)
    m, a, th, tw, n = t.m, t.a, t.th, t.tw, t.n
    if t.nfast:  # padded as (C, Hb, Wb, N)
        xb = buffer("wxpad", (g.C, th * m + 2, tw * m + 2, n), x.dtype, xp)
        xb.fill(0)
        xb[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W, :] = x.transpose(1, 2, 3, 0)
        sc, sy, sx, sn = xb.strides
        strides = (sy, sx, sc, m * sy, m * sx, sn)
    else:
        xb = buffer("wxpad", (n, g.C, th * m + 2, tw * m + 2), x.dtype, xp)
        xb.fill(0)
        xb[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W] = x
        sn, sc, sy, sx = xb.strides
        strides = (sy, sx, sc, sn, m * sy, m * sx)
    view = xp.lib.stride_tricks.as_strided(xb, (a, a, g.C) + t.tshape, strides)
    d = buffer("wD", (a, a, g.C) + t.tshape, x.dtype, xp)
    d[...] = view
    bb = _consts(m, x.dtype, xp)[0]
    v = xp.empty((a * a, g.C * t.T), dtype=x.dtype) if fresh else buffer("wV", (a * a, g.C * t.T), x.dtype, xp)
    xp.matmul(bb, d.reshape(a * a, g.C * t.T), out=v)
    return v


def _kernel_transform(w, g, t: Tiles, buffer):
    """``U = (G kron G) @ w``: ((m+2)^2, O, C), in a scratch buffer."""
    xp = _xp(w)
    gg = _consts(t.m, w.dtype, xp)[1]
    u = buffer("wU", (t.a * t.a, g.O * g.C), w.dtype, xp)
    xp.matmul(gg, w.reshape(g.O * g.C, 9).T, out=u)
    return u.reshape(t.a * t.a, g.O, g.C)


def forward(x, w, g, buffer, bias=None, keep: bool = False):
    """``conv(x, w) + bias`` for a 3x3, stride-1 layer: a new (N, O, Ho, Wo) and ``V`` for the weight gradient.

    ``V`` is a fresh array when ``keep`` (the caller saves it for backward), else a scratch buffer.
    ``buffer(slot, shape, dtype, xp)`` hands out the reusable scratch arrays (``conv._buffer``).
    """
    xp = _xp(x)
    t = Tiles(g, x.shape[0])
    m, a, n, co = t.m, t.a, t.n, g.O
    v = _input_transform(x, g, t, buffer, keep)
    u = _kernel_transform(w, g, t, buffer)
    mm = buffer("wM", (a * a, co, t.T), x.dtype, xp)
    xp.matmul(u, v.reshape(a * a, g.C, t.T), out=mm)
    y = buffer("wY", (m * m, co * t.T), x.dtype, xp)
    xp.matmul(_consts(m, x.dtype, xp)[2], mm.reshape(a * a, co * t.T), out=y)
    tiles = t.to_nchw(y.reshape((m, m, co) + t.tshape))  # (N, O, th, m, tw, m)
    exact = t.th * m == g.Ho and t.tw * m == g.Wo
    out = xp.empty((n, co, t.th, m, t.tw, m), dtype=x.dtype) if exact else buffer("wout", (n, co, t.th, m, t.tw, m),
                                                                                   x.dtype, xp)
    if bias is None:
        out[...] = tiles
    else:
        xp.add(tiles, bias.reshape(1, co, 1, 1, 1, 1), out=out)
    out = out.reshape(n, co, t.th * m, t.tw * m)
    if not exact:
        out = xp.ascontiguousarray(out[:, :, :g.Ho, :g.Wo])
    return out, v


def _output_grad_transform(gy, g, t: Tiles, buffer):
    """``dM = (A^T kron A^T)^T @ dY``: the output gradient in m x m tiles, transformed; ((m+2)^2, O, T)."""
    xp = _xp(gy)
    m, a, n, co = t.m, t.a, t.n, g.O
    gt = buffer("wY", (m, m, co) + t.tshape, gy.dtype, xp)
    if t.th * m == g.Ho and t.tw * m == g.Wo:
        src = gy
    else:  # the partial last tiles read zeros
        src = buffer("wout", (n, co, t.th * m, t.tw * m), gy.dtype, xp)
        src.fill(0)
        src[:, :, :g.Ho, :g.Wo] = gy
    t.to_nchw(gt)[...] = src.reshape(n, co, t.th, m, t.tw, m)
    dm = buffer("wM", (a * a, co, t.T), gy.dtype, xp)
    xp.matmul(_consts(m, gy.dtype, xp)[2].T, gt.reshape(m * m, co * t.T), out=dm.reshape(a * a, co * t.T))
    return dm


def _weight_grad(x, dm, g, t: Tiles, buffer, v=None):
    xp = _xp(x)
    a = t.a
    if v is None:
        v = _input_transform(x, g, t, buffer, False)
    du = buffer("wU", (a * a, g.O, g.C), x.dtype, xp)  # U is dead here (the input gradient rebuilds it)
    xp.matmul(dm, v.reshape(a * a, g.C, t.T).transpose(0, 2, 1), out=du)
    gg = _consts(t.m, x.dtype, xp)[1]
    return xp.matmul(du.reshape(a * a, g.O * g.C).T, gg).reshape(g.O, g.C, 3, 3)


def _input_grad(w, dm, g, t: Tiles, buffer):
    xp = _xp(w)
    m, a, n, C, th, tw = t.m, t.a, t.n, g.C, t.th, t.tw
    u = _kernel_transform(w, g, t, buffer)
    dv = buffer("wD", (a * a, C, t.T), w.dtype, xp)
    xp.matmul(u.transpose(0, 2, 1), dm, out=dv)
    dd = buffer("wV", (a * a, C * t.T), w.dtype, xp)
    xp.matmul(_consts(m, w.dtype, xp)[0].T, dv.reshape(a * a, C * t.T), out=dd)
    # Tile (ty, tx) covers padded rows ty*m .. ty*m + m + 1: its rows m, m+1 are rows 0, 1 of block
    # ty + 1 (the same for columns). Sum the tiles into blocks of m x m, position-major like ``dd``
    # (whole slabs per tile position; adding in the NCHW order instead, 2-wide strided runs, was 3x slower).
    d6 = dd.reshape((a, a, C) + t.tshape)
    e = buffer("wacc", (m, m, C) + ((th + 1, tw + 1, n) if t.nfast else (n, th + 1, tw + 1)), w.dtype, xp)
    blk = t.block
    blk(e, slice(0, th), slice(0, tw))[...] = d6[:m, :m]
    blk(e, th, slice(None))[...] = 0
    blk(e, slice(0, th), tw)[...] = 0
    blk(e[:2], slice(1, None), slice(0, tw))[...] += d6[m:, :m]
    blk(e[:, :2], slice(0, th), slice(1, None))[...] += d6[:m, m:]
    blk(e[:2, :2], slice(1, None), slice(1, None))[...] += d6[m:, m:]
    full = buffer("wout", (n, C, th + 1, m, tw + 1, m), w.dtype, xp)
    full[...] = t.to_nchw(e)
    full = full.reshape(n, C, (th + 1) * m, (tw + 1) * m)
    return xp.ascontiguousarray(full[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W])


def backward(gy, x, w, g, buffer, v=None, need_x: bool = True, need_w: bool = True):
    """(d/dx, d/dw) of ``<conv(x, w), gy>`` (each ``None`` unless asked for), sharing the transformed ``gy``.

    ``v``: the forward's ``V`` if kept (else it is rebuilt from ``x`` for the weight gradient).
    """
    t = Tiles(g, gy.shape[0])
    dm = _output_grad_transform(gy, g, t, buffer)
    gw = _weight_grad(x, dm, g, t, buffer, v) if need_w else None
    gx = _input_grad(w, dm, g, t, buffer) if need_x else None
    return gx, gw
