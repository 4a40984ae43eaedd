"""Convolution lowered to matrix multiplication: ``conv2d``, ``conv1d``, ``conv_transpose2d``.

How (im2col, "B layout"). The input is zero-padded once, then a strided *view* lists, for every
input channel ``c`` and kernel offset ``(i, j)``, the pixels that offset sees for every output
position of every sample. One copy turns the view into the matrix ``cols`` of shape
``(C * kh * kw, N * Q)`` (``Q`` output positions per sample), and the whole convolution is one GEMM
through the array library's BLAS: ``out = W.reshape(O, C*kh*kw) @ cols`` (a batched GEMM over groups).

* Stride 1 ("flat" rows): with the padded rows laid end to end, offset ``(i, j)`` is a constant
  shift ``i*dh*Wp + j*dw`` of the flattened plane, so each ``(c, i, j, n)`` row of ``cols`` is one
  contiguous run of ``Ho * Wp`` values (the ``Wp - Wo`` extra columns per output row are garbage
  that is cropped from the output; their gradient is zero). Long contiguous runs make the copy, and
  the col2im adds of the backward pass, several times faster than the short rows of the general
  layout (measured: LeNet's 6->16 5x5 layer, col2im 3.1 -> 0.85 ms), but the garbage columns cost
  GEMM work and copies everywhere else: flat only with at most 2 of them per row (3x3 kernels).
* Other strides, wider kernels, and small maps with many channels (where the garbage columns would
  add more GEMM work than the faster copies save): the general view ``(C, kh, kw, N, Ho, Wo)``.

Backward (no scatter loops): ``grad_W = grad_out @ cols.T`` (one GEMM; ``cols`` is rebuilt from the
saved input rather than kept, unless small, see ``KEEP_COLS_BYTES``) and ``dcols = W.T @ grad_out``
(one GEMM) followed by col2im: ``kh * kw`` strided adds, one per kernel offset, of a whole
``(C, N, ...)`` slab each. The transposed convolution is exactly this input gradient, and the
weight gradient is its own op, so the three ops' backwards are written with each other and second
derivatives work (``create_graph=True``).

Measured (forward + backward, float32, one BLAS thread, 2-core EPYC): 64->64 3x3 on 32x32, batch 32:
three GEMMs of ~35 ms each (~70 GFLOP/s, the machine's single-thread sgemm), im2col ~18 ms, col2im
~18 ms; against per-offset accumulation (9 smaller GEMMs with K = C) and per-sample GEMMs ("A
layout", (N, K, L)), the single GEMM over ``(K, N*Q)`` was as fast on 32x32 maps and up to 1.7x
faster on 4x4 maps (few columns per sample), so it is the im2col implementation.

Winograd (``winograd.py``). 3x3, stride-1, undilated, ungrouped float32/float64 layers with at least
``WINOGRAD_MIN_CHANNELS`` channels each way and ``WINOGRAD_MIN_TILES`` tiles in the batch (ResNet's
and VGG's bulk in training; batch-1 inference of small maps stays im2col) skip im2col: F(4x4, 3x3), or
F(2x2, 3x3) on maps of at most 4x4 (``winograd_tile``), does a quarter (F(2x2): 4/9) of the GEMM work
and replaces col2im by three border adds. Forward + backward against im2col (interleaved, thread CPU
time, shared 2-core Intel AVX-512, batch 32): 64->64 on 32x32 97 vs 151 ms (torch 65), 128@16x16 62
(im2col ~2x), 256@8x8 48, 512@4x4 61 (torch 55, 53, 59). Its float32 results round at ~1e-5 of the
largest output value (im2col: ~4e-7); ``WINOGRAD = False`` turns it off. The three array kernels
(``conv_forward``, ``conv_weight_grad``, ``conv_input_grad``) pick the path from the geometry, so
``conv_transpose2d`` and second derivatives take it too.

Peak extra memory (float32, 4 bytes): forward ``cols`` (4 * C*kh*kw * N*Ho*Wq bytes, ``Wq`` = Wp for
stride 1, Wo otherwise) + the padded input (N*C*(Hp+1)*Wp) + the GEMM result (O*N*Ho*Wq); backward
max(cols, dcols) (same size as cols) + the padded input gradient + the padded output gradient.
For 64->64 3x3 on 32x32 at batch 32: cols 80 MB. Kept for backward: the input and the weight (and
``cols`` only when it is at most ``KEEP_COLS_BYTES``). Winograd layers instead hold the tile matrix
and its transform (2.25x the input each for F(4x4)), the kernel transform (4x the weight) and the
transformed output (2.25x the output) in scratch buffers, and keep ``V`` (2.25x the input: 19 MB for
64 channels on 32x32 at batch 32) for backward when it is at most ``KEEP_V_BYTES``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..mixed_precision import LOWER, autocast_inputs, state as _amp
from ..tensor import Tensor
from . import winograd

# ``cols`` at most this size is kept from the forward pass for the weight gradient instead of being
# rebuilt (saves one im2col copy per step for small layers; large ones would cost too much memory).
KEEP_COLS_BYTES = 8 << 20
# Winograd's transformed input ``V`` (2.25x the input for F(4x4, 3x3)) at most this size is kept for
# the weight gradient instead of being rebuilt (64 channels on 32x32 at batch 32: 19 MB).
KEEP_V_BYTES = 32 << 20
# Whether 3x3 stride-1 layers may use Winograd F(4x4, 3x3) (see ``winograd_tile``); off: im2col for all.
WINOGRAD = True
WINOGRAD_MIN_CHANNELS = 16
# Fewer tiles than this over the whole batch: im2col. The kernel transform (O x C x (m+2)^2 values,
# every call) is paid back per tile, whatever the channel counts. Forward at batch 1, Winograd vs
# im2col (thread CPU time): 64@32x32 (64 tiles) 0.76x, 128@16x16 (16) 1.19x, 256@8x8 (4) 2.6x,
# 512@4x4 (4) 5.5x; 256@8x8 at batch 8 (32 tiles) 0.79x, 512@4x4 at batch 4 (16 tiles) 2.45x.
WINOGRAD_MIN_TILES = 32


def winograd_tile(g: Geometry, dtype, n: int) -> int:
    """The Winograd output tile size ``m`` for a layer run on a batch of ``n`` (0: im2col).

    3x3, stride 1, undilated, ungrouped float32/float64 layers with at least ``WINOGRAD_MIN_CHANNELS``
    input and output channels and at least ``WINOGRAD_MIN_TILES`` tiles in the batch: F(4x4, 3x3), or
    F(2x2, 3x3) on maps of at most 4x4, where one 4x4 tile per sample leaves the (36 x O x C) kernel
    transform the largest cost (512 -> 512 on 4x4 at batch 32: F(2x2) 1.10x torch, F(4x4) 1.24x; on
    8x8 F(4x4) 1.04x, F(2x2) 1.23x; interleaved, loaded machine).
    """
    if not (WINOGRAD and g.kh == 3 and g.kw == 3 and g.sh == 1 and g.sw == 1 and g.dh == 1 and g.dw == 1
            and g.groups == 1 and g.Ho == g.Hp - 2 and g.Wo == g.Wp - 2
            and min(g.C, g.O) >= WINOGRAD_MIN_CHANNELS and numpy.dtype(dtype).itemsize >= 4):
        return 0
    m = 2 if g.Ho <= 4 and g.Wo <= 4 else 4
    return m if n * -(-g.Ho // m) * -(-g.Wo // m) >= WINOGRAD_MIN_TILES else 0


class Geometry:
    """Everything about one 2-D convolution that does not depend on the batch size.

    ``C, H, W``: input channels and size; ``O``: output channels; ``kh, kw``, ``sh, sw``, ``dh, dw``:
    kernel, stride, dilation; ``pt, pb, pl, pr``: zero padding (top, bottom, left, right);
    ``Ho, Wo``: output size; ``Hp, Wp``: padded size; ``flat``: stride 1 (rows laid end to end, see
    the module docstring); ``Wq``: the width of one output row in ``cols`` (``Wp`` when flat).
    """

    __slots__ = ("C", "H", "W", "O", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pb", "pl", "pr",
                 "groups", "Ho", "Wo", "Hp", "Wp", "flat", "Wq", "extra", "wino")

    def __init__(self, C, H, W, O, kernel, stride, dilation, padding, groups, out_size=None):  # noqa: E741  (O: output channels, as in the maths)
        self.C, self.H, self.W, self.O, self.groups = C, H, W, O, groups
        self.kh, self.kw = kernel
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.pt, self.pb, self.pl, self.pr = padding
        self.Hp, self.Wp = H + self.pt + self.pb, W + self.pl + self.pr
        if out_size is None:
            out_size = ((self.Hp - self.dh * (self.kh - 1) - 1) // self.sh + 1,
                        (self.Wp - self.dw * (self.kw - 1) - 1) // self.sw + 1)
        self.Ho, self.Wo = out_size
        # Flat rows cost (Wp - Wo) / Wo extra GEMM columns; they pay off unless that waste is large
        # and the GEMM dominates (many output channels): 512 -> 512 on 4x4 maps ran 1.3-1.5x faster
        # in the general layout, 64 -> 64 on 32x32 1.1x faster flat (benchmarks in the module docstring).
        # With more than 2 garbage columns per row (5x5 kernels) the general layout won everywhere
        # measured (thread CPU time, interleaved): LeNet-5's step 13.6 -> 12.1 ms and 15.1 -> 13.1 ms,
        # 6->16 5x5 on 28x28 50.6 -> 45.6 ms; 3x3 kernels (2 columns) stay flat (0-20% faster that way).
        self.flat = (self.sh == 1 and self.sw == 1 and self.Wp - self.Wo <= 2
                     and (O < 128 or 4 * (self.Wp - self.Wo) <= self.Wo))
        self.Wq = self.Wp if self.flat else self.Wo
        # Flat windows of the last plane read (kw - 1) * dw values past its end: one spare zero row.
        self.extra = 1 if self.flat else 0
        # Winograd tile size (0: im2col); set by the ops once the dtype is known, see ``winograd_tile``.
        self.wino = 0

    @property
    def K(self) -> int:
        return self.C * self.kh * self.kw

    @property
    def Q(self) -> int:
        """Columns of ``cols`` per sample."""
        return self.Ho * self.Wq


# ------------------------------------------------------------------------------------ array kernels


class _Scratch(threading.local):
    """Per-thread reusable buffers for the large temporaries that die inside one op call (NumPy only).

    A fresh 80 MB array costs ~20 ms of page faults on first touch (measured: im2col 33 -> 16 ms,
    dcols GEMM 80 -> 57 ms with a reused buffer), which is as much as the copy itself. Each slot keeps
    the largest size asked for; :func:`release_scratch` gives the memory back. CuPy has its own pool.
    """

    def __init__(self) -> None:
        self.bufs: dict = {}


_scratch = _Scratch()


def _buffer(slot: str, shape: tuple, dtype, xp):
    """An uninitialised array of ``shape`` that stays valid until the next request of ``slot``."""
    if xp is not numpy:
        return xp.empty(shape, dtype=dtype)
    dtype = numpy.dtype(dtype)
    nbytes = dtype.itemsize
    for d in shape:
        nbytes *= d
    buf = _scratch.bufs.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = _scratch.bufs[slot] = numpy.empty(max(nbytes, 1), dtype=numpy.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_scratch() -> None:
    """Free this thread's convolution scratch buffers (they are rebuilt on the next convolution)."""
    _scratch.bufs.clear()


def _pad_input(x, g: Geometry):
    """``x`` (N, C, H, W) inside zeros of (N, C, Hp + extra, Wp) (a scratch buffer); ``x`` if nothing to add."""
    if not (g.pt or g.pb or g.pl or g.pr or g.extra):
        return x
    xp = _xp(x)
    out = _buffer("xpad", (x.shape[0], g.C, g.Hp + g.extra, g.Wp), x.dtype, xp)
    out.fill(0)
    out[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W] = x
    return out


def _im2col(xpad, g: Geometry, fresh: bool = False):
    """The (C*kh*kw, N*Q) matrix of input values each output position sees (one copy).

    In the "cols" scratch buffer unless ``fresh`` (when the caller keeps it beyond this op call).
    """
    xp = _xp(xpad)
    n = xpad.shape[0]
    sn, sc, sy, sx = xpad.strides
    if g.flat:
        shape = (g.C, g.kh, g.kw, n, g.Q)
        strides = (sc, g.dh * sy, g.dw * sx, sn, sx)
    else:
        shape = (g.C, g.kh, g.kw, n, g.Ho, g.Wo)
        strides = (sc, g.dh * sy, g.dw * sx, sn, g.sh * sy, g.sw * sx)
    view = xp.lib.stride_tricks.as_strided(xpad, shape, strides)
    cols = xp.empty(shape, dtype=xpad.dtype) if fresh else _buffer("cols", shape, xpad.dtype, xp)
    cols[...] = view
    return cols.reshape(g.K, n * g.Q)


def _col2im(dcols, g: Geometry, n: int):
    """The adjoint of ``_im2col`` + ``_pad_input``: sum each kernel offset's slab into the input gradient.

    ``dcols`` is (C*kh*kw, N*Q); returns a new (N, C, H, W). ``kh * kw`` strided adds, no per-element scatter.
    """
    xp = _xp(dcols)
    acc = _buffer("acc", (g.C, n, g.Hp + g.extra, g.Wp), dcols.dtype, xp)  # (C, N, ...): slabs line up
    acc.fill(0)
    if g.flat:
        d = dcols.reshape(g.C, g.kh, g.kw, n, g.Q)
        plane = acc.reshape(g.C, n, -1)
        q = g.Q
        for i in range(g.kh):
            for j in range(g.kw):
                off = i * g.dh * g.Wp + j * g.dw
                plane[:, :, off:off + q] += d[:, i, j]
    else:
        d = dcols.reshape(g.C, g.kh, g.kw, n, g.Ho, g.Wo)
        hspan, wspan = g.sh * (g.Ho - 1) + 1, g.sw * (g.Wo - 1) + 1
        for i in range(g.kh):
            for j in range(g.kw):
                y0, x0 = i * g.dh, j * g.dw
                acc[:, :, y0:y0 + hspan:g.sh, x0:x0 + wspan:g.sw] += d[:, i, j]
    inner = acc[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W]
    return inner.transpose(1, 0, 2, 3).copy()  # always a copy: ``acc`` is a scratch buffer


def _grad_out_matrix(gy, g: Geometry):
    """The output gradient (N, O, Ho, Wo) as the (groups, O/groups, N*Q) matrix the GEMMs use.

    In the flat layout the garbage columns get zeros, so they contribute nothing. A scratch buffer:
    valid until the next op call.
    """
    xp = _xp(gy)
    n = gy.shape[0]
    m = _buffer("gm", (g.O, n, g.Ho, g.Wq), gy.dtype, xp)
    if g.Wq != g.Wo:
        m[:, :, :, g.Wo:] = 0
    m[:, :, :, :g.Wo] = gy.transpose(1, 0, 2, 3)
    return m.reshape(g.groups, g.O // g.groups, n * g.Q)


def _gemm_out(w, cols, g: Geometry, n: int, bias=None):
    """``W @ cols`` per group, cropped and laid out as a new (N, O, Ho, Wo), with the bias added in the same pass."""
    xp = _xp(cols)
    G = g.groups
    res = _buffer("res", (G, g.O // G, n * g.Q), cols.dtype, xp)
    if G == 1:
        xp.matmul(w.reshape(g.O, g.K), cols, out=res[0])
    else:
        xp.matmul(w.reshape(G, g.O // G, g.K // G), cols.reshape(G, g.K // G, n * g.Q), out=res)
    res = res.reshape(g.O, n, g.Ho, g.Wq)[:, :, :, :g.Wo].transpose(1, 0, 2, 3)
    out = xp.empty((n, g.O, g.Ho, g.Wo), dtype=cols.dtype)
    if bias is None:
        out[...] = res
    else:
        xp.add(res, bias.reshape(1, g.O, 1, 1), out=out)
    return out


def conv_forward(x, w, g: Geometry, bias=None, want_cols: bool = False, keep_cols: bool = False):
    """y = conv(x, w) (+ bias) on arrays; with ``want_cols`` also returns ``cols`` for reuse
    (a scratch buffer, valid until the next convolution, unless ``keep_cols``)."""
    if g.wino:
        y, v = winograd.forward(x, w, g, _buffer, bias, keep=keep_cols)
        return (y, v) if want_cols else y
    n = x.shape[0]
    cols = _im2col(_pad_input(x, g), g, fresh=keep_cols)
    y = _gemm_out(w, cols, g, n, bias)
    return (y, cols) if want_cols else y


def conv_weight_grad(x, gy, g: Geometry, cols=None, gm=None):
    """d<conv(x, w), gy>/dw on arrays: ``grad_out @ cols.T`` per group, shape (O, C/groups, kh, kw).

    ``cols``: what ``conv_forward(want_cols=True)`` returned (Winograd layers: ``V``), or None to rebuild it.
    """
    if g.wino:
        return winograd.backward(gy, x, None, g, _buffer, cols, need_x=False)[1]
    xp = _xp(x)
    n = x.shape[0]
    if gm is None:
        gm = _grad_out_matrix(gy, g)
    if cols is None:
        cols = _im2col(_pad_input(x, g), g)
    G = g.groups
    cols = cols.reshape(G, g.K // G, n * g.Q)
    if g.O // G < 32:  # few output channels: cols @ gm.T, transposed after (a small copy)
        # OpenBLAS runs this orientation ~1.6x faster than gm @ cols.T with 6 or 16 rows (LeNet's
        # layers: 2.2 -> 1.35 and 1.9 -> 1.2 ms, interleaved); with 128 rows it was 1.16x slower.
        gw = xp.ascontiguousarray(xp.matmul(cols, gm.transpose(0, 2, 1)).transpose(0, 2, 1))
    else:
        gw = xp.matmul(gm, cols.transpose(0, 2, 1))
    return gw.reshape(g.O, g.C // G, g.kh, g.kw)


def conv_input_grad(gy, w, g: Geometry, gm=None):
    """d<conv(x, w), gy>/dx on arrays (= the transposed convolution of ``gy``): a new (N, C, H, W)."""
    if g.wino:
        return winograd.backward(gy, None, w, g, _buffer, need_w=False)[0]
    xp = _xp(gy)
    n = gy.shape[0]
    G = g.groups
    if gm is None:
        gm = _grad_out_matrix(gy, g)
    wt = w.reshape(G, g.O // G, g.K // G).transpose(0, 2, 1)
    dcols = _buffer("cols", (G, g.K // G, n * g.Q), gy.dtype, xp)  # cols is dead by now: share its slot
    if G == 1:
        xp.matmul(wt[0], gm[0], out=dcols[0])
    else:
        xp.matmul(wt, gm, out=dcols)
    return _col2im(dcols.reshape(g.K, n * g.Q), g, n)


# ---------------------------------------------------------------------------------------- the ops
#
# The three bilinear maps B(x, w, gy) = <conv(x, w), gy> defines, each one graph node:
#   Conv2d(x, w)          = conv(x, w)           backward: dx = ConvInputGrad(g, w), dw = ConvWeightGrad(x, g)
#   ConvInputGrad(gy, w)  = dB/dx (transposed)   backward: dgy = Conv2d(g, w),        dw = ConvWeightGrad(g, gy)
#   ConvWeightGrad(x, gy) = dB/dw                backward: dx = ConvInputGrad(gy, g), dgy = Conv2d(x, g)
# Without create_graph the backward runs the array kernels directly and shares work between the two
# gradients (the output-gradient matrix, ``cols``).


def _bias_grad(gy):
    return gy.sum(axis=(0, 2, 3))


class Conv2d(Function):
    """``conv(x, w) + bias`` (cross-correlation, as every framework), NCHW; see the module docstring."""

    save_inputs = True

    def forward(self, x, w, *bias, geom):
        self.geom = geom
        if geom.wino:  # keep V only when a backward may come (grad mode on) and it is small enough
            t = winograd.Tiles(geom, x.shape[0])
            keep = is_grad_enabled() and t.a * t.a * geom.C * t.T * x.itemsize <= KEEP_V_BYTES
        else:
            keep = geom.K * x.shape[0] * geom.Q * x.itemsize <= KEEP_COLS_BYTES
        y, cols = conv_forward(x, w, geom, bias[0] if bias else None, want_cols=True, keep_cols=keep)
        self.cols = cols if keep else None
        return y

    def backward(self, g):
        parents = self.parents
        x, w = self.inputs[0], self.inputs[1]
        geom = self.geom
        px, pw = parents[0] is not None, parents[1] is not None
        pb = len(parents) > 2 and parents[2] is not None
        if is_grad_enabled():
            gx = ConvInputGrad.apply(g, w, geom=geom) if px else None
            gw = ConvWeightGrad.apply(x, g, geom=geom) if pw else None
            gb = g.sum((0, 2, 3)) if pb else None
        elif geom.wino:  # one transformed output gradient serves both gradients
            gd = g._data
            gx, gw = winograd.backward(gd, x._data, w._data, geom, _buffer, self.cols, need_x=px, need_w=pw)
            self.cols = None
            gx = Tensor._wrap(gx) if px else None
            gw = Tensor._wrap(gw) if pw else None
            gb = Tensor._wrap(_bias_grad(gd)) if pb else None
        else:
            gd = g._data
            gm = _grad_out_matrix(gd, geom)
            gw = gx = gb = None
            if pw:
                gw = Tensor._wrap(conv_weight_grad(x._data, gd, geom, self.cols, gm))
            self.cols = None
            if px:
                gx = Tensor._wrap(conv_input_grad(gd, w._data, geom, gm))
            if pb:
                gb = Tensor._wrap(_bias_grad(gd))
        return (gx, gw, gb) if len(parents) > 2 else (gx, gw)


class ConvInputGrad(Function):
    """The transposed convolution: the gradient of ``conv(x, w)`` with respect to ``x``, given ``gy``.

    ``forward(gy, w, *bias, geom)`` returns (N, C, H, W) (+ ``bias`` per output channel C); this is
    ``conv_transpose2d``.
    """

    save_inputs = True

    def forward(self, gy, w, *bias, geom):
        self.geom = geom
        out = conv_input_grad(gy, w, geom)
        if bias:
            out += bias[0].reshape(1, -1, 1, 1)
        return out

    def backward(self, g):
        parents = self.parents
        gy, w = self.inputs[0], self.inputs[1]
        geom = self.geom
        pg, pw = parents[0] is not None, parents[1] is not None
        pb = len(parents) > 2 and parents[2] is not None
        if is_grad_enabled():
            dgy = Conv2d.apply(g, w, geom=geom) if pg else None
            dw = ConvWeightGrad.apply(g, gy, geom=geom) if pw else None
            db = g.sum((0, 2, 3)) if pb else None
        else:
            gd = g._data
            y, cols = conv_forward(gd, w._data, geom, want_cols=True)  # cols of g serve both gradients
            dgy = Tensor._wrap(y) if pg else None
            dw = Tensor._wrap(conv_weight_grad(gd, gy._data, geom, cols)) if pw else None
            db = Tensor._wrap(_bias_grad(gd)) if pb else None
        return (dgy, dw, db) if len(parents) > 2 else (dgy, dw)


class ConvWeightGrad(Function):
    """The gradient of ``conv(x, w)`` with respect to ``w``, given ``x`` and ``gy``: (O, C/groups, kh, kw)."""

    save_inputs = True

    def forward(self, x, gy, geom):
        self.geom = geom
        return conv_weight_grad(x, gy, geom)

    def backward(self, g):
        px, pg = self.parents
        x, gy = self.inputs
        geom = self.geom
        dx = ConvInputGrad.apply(gy, g, geom=geom) if px is not None else None
        dgy = Conv2d.apply(x, g, geom=geom) if pg is not None else None
        return dx, dgy


# ------------------------------------------------------------------------------- argument handling


def _int_tuple(v: Any, n: int, name: str, op: str, minimum: int) -> tuple:
    vals = (v,) * n if isinstance(v, int) and not isinstance(v, bool) else v
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if (vals is None or len(vals) != n or not all(isinstance(a, int) and not isinstance(a, bool) for a in vals)
            or not all(a >= minimum for a in vals)):
        raise ValueError(f"{op}: {name} must be an int >= {minimum} or a tuple of {n} such ints, got {v!r}")
    return vals


def _check_operands(op: str, x: Any, weight: Any, bias: Any, ndim: int) -> None:
    for name, t in (("input", x), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
    if x.dtype.kind != "f" or weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        got = f"input {x.dtype}, weight {weight.dtype}" + (f", bias {bias.dtype}" if bias is not None else "")
        raise TypeError(f"{op}: input, weight and bias must share one floating dtype, got {got}; convert with .float()")
    if x.device != weight.device:
        raise RuntimeError(f"{op}: input is on {x.device} but weight is on {weight.device}; move them with .to()")
    spatial = "(N, C, L) or unbatched (C, L)" if ndim == 1 else "(N, C, H, W) or unbatched (C, H, W)"
    if x.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(f"{op}: expected a {ndim + 2}-D input {spatial}, got shape {x.shape}")
    if weight.ndim != ndim + 2:
        raise ValueError(f"{op}: expected a {ndim + 2}-D weight, got shape {weight.shape}")


def _padding_arg(padding: Any, k: tuple, dilation: tuple, stride: tuple, op: str) -> tuple:
    """(top, bottom, left, right) from an int, a pair, "valid" or "same" (as PyTorch: extra on the end)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride}); "
                                 "use stride 1 or give the padding as numbers")
            out = []
            for kk, d in zip(k, dilation):
                total = d * (kk - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise ValueError(f"{op}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    ph, pw = _int_tuple(padding, 2, "padding", op, 0)
    return (ph, ph, pw, pw)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, kh, kw).

    ``padding``: an int, a pair, ``"valid"`` (none) or ``"same"`` (output size = input size, stride 1;
    an odd total puts the extra zero at the bottom/right, as PyTorch). ``groups`` splits the channels
    into independent convolutions (``groups == C`` with ``O == C * m`` is depthwise). Output
    (N, O, Ho, Wo), ``Ho = (H + 2*ph - dh*(kh-1) - 1) // sh + 1``. Lowered to one GEMM (see the
    module docstring). Peak extra memory: ``cols``, C*kh*kw x N*Ho*Wq values (Wq = Wp for stride 1,
    else Wo), in a reused scratch buffer, plus the padded input; backward the same again for
    ``dcols`` (sharing that buffer) and one padded input-gradient. Kept for backward: the input.
    """
    if _amp.enabled:
        input, weight, bias = autocast_inputs(LOWER, "conv2d", input, weight, bias)
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv2d", 2)


def _check_channels(op: str, input: Tensor, weight: Tensor, bias: Any, groups: Any) -> None:
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, o, cg = input.shape[1], weight.shape[0], weight.shape[1]
    if c != cg * groups:
        raise ValueError(
            f"{op}: weight {weight.shape} with groups={groups} expects {cg * groups} input channels, "
            f"but the input {input.shape} has {c}"
        )
    if o % groups:
        raise ValueError(f"{op}: out_channels {o} (weight {weight.shape}) must be divisible by groups={groups}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"{op}: bias must have shape ({o},) for weight {weight.shape}, got {bias.shape}")
    if any(k < 1 for k in weight.shape[2:]):
        raise ValueError(f"{op}: the kernel must be at least 1 wide, got weight {weight.shape}")


def _conv2d(input, weight, bias, stride, padding, dilation, groups, op, ndim):
    _check_operands(op, input, weight, bias, ndim)
    if input.ndim == ndim + 1:  # unbatched, as PyTorch: a batch of one
        return _conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups, op, ndim).squeeze(0)
    _check_channels(op, input, weight, bias, groups)
    if ndim == 1:  # (N, C, L) as (N, C, 1, L)
        stride = (1, _int_tuple(stride, 1, "stride", op, 1)[0])
        dilation = (1, _int_tuple(dilation, 1, "dilation", op, 1)[0])
        if not isinstance(padding, str):
            padding = (0, _int_tuple(padding, 1, "padding", op, 0)[0])
        x4 = input.reshape(input.shape[0], input.shape[1], 1, input.shape[2])
        w4 = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
        out = _conv2d(x4, w4, bias, stride, padding, dilation, groups, op, 2)
        return out.reshape(out.shape[0], out.shape[1], out.shape[3])
    stride = _int_tuple(stride, 2, "stride", op, 1)
    dilation = _int_tuple(dilation, 2, "dilation", op, 1)
    n, c, h, w = input.shape
    o, _, kh, kw = weight.shape
    pads = _padding_arg(padding, (kh, kw), dilation, stride, op)
    geom = Geometry(c, h, w, o, (kh, kw), stride, dilation, pads, groups)
    geom.wino = winograd_tile(geom, input.dtype, n)
    if geom.Ho < 1 or geom.Wo < 1 or geom.Hp < dilation[0] * (kh - 1) + 1 or geom.Wp < dilation[1] * (kw - 1) + 1:
        raise ValueError(
            f"{op}: the padded input is {geom.Hp}x{geom.Wp} (input {input.shape}, padding {padding!r}) but the "
            f"dilated kernel is {dilation[0] * (kh - 1) + 1}x{dilation[1] * (kw - 1) + 1}: the kernel can't be "
            "larger than the padded input; pad more or use a smaller kernel"
        )
    if n == 0:
        raise ValueError(f"{op}: the batch is empty (input {input.shape})")
    if bias is None:
        return Conv2d.apply(input, weight, geom=geom)
    return Conv2d.apply(input, weight, bias, geom=geom)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of ``input`` (N, C, L) with ``weight`` (O, C/groups, k): ``conv2d`` on (N, C, 1, L).

    Peak extra memory: ``cols`` of C*k x N*L_out(+padding) values (see :func:`conv2d`).
    """
    if _amp.enabled:
        input, weight, bias = autocast_inputs(LOWER, "conv1d", input, weight, bias)
    return _conv2d(input, weight, bias, stride, padding, dilation, groups, "conv1d", 1)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """Transposed convolution ("deconvolution") of ``input`` (N, Cin, H, W), ``weight`` (Cin, Cout/groups, kh, kw).

    The gradient of ``conv2d`` with respect to its input, run forward: output (N, Cout, Ho, Wo) with
    ``Ho = (H - 1)*sh - 2*ph + dh*(kh - 1) + output_padding + 1``. ``output_padding`` (smaller than the
    stride or the dilation) picks among the output sizes a strided conv2d maps onto the same input size.
    Cost: one GEMM and a col2im, as conv2d's backward. Peak extra memory: ``dcols``, Cout*kh*kw x
    N*H*Wq values (scratch buffer), the output gradient laid out as a matrix, and one padded output.
    """
    if _amp.enabled:
        input, weight, bias = autocast_inputs(LOWER, "conv_transpose2d", input, weight, bias)
    op = "conv_transpose2d"
    _check_operands(op, input, weight, bias, 2)
    if input.ndim == 3:  # unbatched (C, H, W)
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    stride = _int_tuple(stride, 2, "stride", op, 1)
    dilation = _int_tuple(dilation, 2, "dilation", op, 1)
    outpad = _int_tuple(output_padding, 2, "output_padding", op, 0)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of 2 ints, got {padding!r}")
    ph, pw = _int_tuple(padding, 2, "padding", op, 0)
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    for a, s, d in zip(outpad, stride, dilation):
        if a >= s and a >= d:
            raise ValueError(f"{op}: output_padding {outpad} must be smaller than either the stride {stride} "
                             f"or the dilation {dilation}")
    n, cin, h, w = input.shape
    cin_w, cog, kh, kw = weight.shape
    if cin != cin_w:
        raise ValueError(f"{op}: weight {weight.shape} expects {cin_w} input channels (dimension 0), "
                         f"but the input {input.shape} has {cin}")
    if cin % groups:
        raise ValueError(f"{op}: in_channels {cin} must be divisible by groups={groups}")
    cout = cog * groups
    if bias is not None and tuple(bias.shape) != (cout,):
        raise ValueError(
            f"{op}: bias must have shape ({cout},) for weight {weight.shape}, groups={groups}, got {bias.shape}"
        )
    ho = (h - 1) * stride[0] - 2 * ph + dilation[0] * (kh - 1) + outpad[0] + 1
    wo = (w - 1) * stride[1] - 2 * pw + dilation[1] * (kw - 1) + outpad[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{op}: input {input.shape} with padding {(ph, pw)} gives an empty output ({ho}x{wo}); "
                         "reduce the padding")
    if n == 0:
        raise ValueError(f"{op}: the batch is empty (input {input.shape})")
    # The conv2d this is the input-gradient of maps (N, cout, ho, wo) -> (N, cin, h, w).
    geom = Geometry(cout, ho, wo, cin, (kh, kw), stride, dilation, (ph, ph, pw, pw), groups, out_size=(h, w))
    geom.wino = winograd_tile(geom, input.dtype, n)
    if bias is None:
        return ConvInputGrad.apply(input, weight, geom=geom)
    return ConvInputGrad.apply(input, weight, bias, geom=geom)
