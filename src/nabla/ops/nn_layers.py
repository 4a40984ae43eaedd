"""Fused ops behind the layers: linear, batch norm, layer norm, embedding lookup, step.

Each is one graph node whose ``forward`` runs on arrays and whose ``backward`` is written with nabla
ops on Tensors, so higher-order gradients still work. Why fused rather than composed from
primitives (numbers from ``benchmarks/bench_layers.py``, forward + backward, float32, 2-core CPU;
they move with the machine's load, the ratios much less):

* linear: ``x @ w.T + b`` as one node instead of three (transpose, matmul, add): 1.4-1.9x faster
  forward + backward for small layers, where per-node overhead dominates (see :class:`Linear`).
* batch norm / layer norm: the composed graph (mean, subtract, square, mean, add eps, rsqrt, multiply,
  affine) is ~10 nodes and keeps ~5 full-size temporaries alive for backward; the fused op keeps one
  (the normalised input) and its backward is the closed form
  ``dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat))``. When a second derivative is being
  recorded (``create_graph=True``) the backward rebuilds the same closed form from nabla ops on the
  saved inputs, so it is itself differentiable.
  Measured (fused vs composed, us per forward+backward): batch norm (64, 128) 150 vs 374,
  (256, 512) 2.7k vs 6.8k, (32, 64, 16, 16) 17k vs 28k; layer norm (64, 128) 223 vs 476,
  (256, 512) 1.1k vs 1.2k, (32, 64, 256) 17k vs 41k.
* embedding: the lookup's backward is a row scatter-add, done as a sparse-matrix product (SciPy),
  which measured 2-14x faster than ``numpy.add.at`` and than ``numpy.bincount`` (see
  :func:`_scatter_rows`); ``cupyx.scatter_add`` on the GPU.
"""

from __future__ import annotations

import numpy

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor

# ------------------------------------------------------------------------------------------ linear


class Linear(Function):
    """``x @ w.T (+ b)`` for x (*, in), w (out, in), b (out,): one node instead of three.

    Composed (transpose view, matmul, broadcast add whose backward sums the bias gradient) it costs
    three graph nodes; fused, forward + backward measured 88 -> 51 us for a (4, 2) -> 8 layer and
    151 -> 107 us for (64, 64) -> 128 (benchmarks/bench_layers.py, 2-core CPU, one BLAS thread);
    equal when BLAS dominates ((256, 512) -> 512: 6.6 ms both, over three runs).
    """

    save_inputs = True

    def forward(self, x, w, *bias):
        out = x @ w.T
        if bias:
            out += bias[0]
        return out

    def backward(self, g):
        parents = self.parents
        x, w = self.inputs[0], self.inputs[1]
        n_out, n_in = w.shape
        want_x, want_w = parents[0] is not None, parents[1] is not None
        want_b = len(parents) > 2 and parents[2] is not None
        if is_grad_enabled():  # recording a higher derivative: the same formulas with nabla ops
            g2 = g.reshape(-1, n_out)
            gx = g @ w if want_x else None
            gw = g2.T @ x.reshape(-1, n_in) if want_w else None
            gb = g2.sum(0) if want_b else None
        else:
            gd = g._data
            g2 = gd.reshape(-1, n_out)
            gx = Tensor._wrap(gd @ w._data) if want_x else None
            gw = Tensor._wrap(g2.T @ x._data.reshape(-1, n_in)) if want_w else None
            gb = Tensor._wrap(g2.sum(axis=0)) if want_b else None
        return (gx, gw, gb) if len(parents) > 2 else (gx, gw)


# ------------------------------------------------------------------------------------- batch norm


def _channel_shape(ndim: int, c: int) -> tuple:
    return (1, c) + (1,) * (ndim - 2)


class BatchNormTrain(Function):
    """Batch norm with batch statistics over every axis but 1 (the channels): one node.

    ``forward(x, weight, bias, mean, var, eps)``: ``mean``/``var`` (biased) are computed by the
    caller, which also needs them for the running statistics. Fused because it measured faster
    than the composed graph (see the module docstring and ``benchmarks/bench_layers.py``) and keeps
    one saved temporary instead of five.
    """

    save_inputs = True

    def forward(self, x, w, b, mean, var, eps):
        xp = _xp(x)
        shape = _channel_shape(x.ndim, x.shape[1])
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self.xhat, self.inv_std, self.eps, self.shape = xhat, inv_std, eps, shape
        self.axes = (0,) + tuple(range(2, x.ndim))
        return xhat * w.reshape(shape) + b.reshape(shape)

    def backward(self, g):
        px, pw, pb = self.parents
        axes, shape = self.axes, self.shape
        if is_grad_enabled():  # recording a higher derivative: the closed form from differentiable ops
            x, w, _ = self.inputs
            m = x.numel() // x.shape[1]
            xc = x - x.mean(axes, keepdim=True)
            inv = ((xc * xc).mean(axes, keepdim=True) + self.eps).rsqrt()
            xhat = xc * inv
            gb = g.sum(axes, keepdim=True)
            gw = (g * xhat).sum(axes, keepdim=True)
            gx = w.reshape(shape) * inv * (g - gb / m - xhat * gw / m) if px is not None else None
            return gx, (gw.reshape(-1) if pw is not None else None), (gb.reshape(-1) if pb is not None else None)
        gd = g._data
        xhat = self.xhat
        m = xhat.size // xhat.shape[1]
        gb = gd.sum(axis=axes)
        gw = (gd * xhat).sum(axis=axes)
        gx = None
        if px is not None:
            w = self.inputs[1]._data
            scale = (w * self.inv_std).reshape(shape)
            gx = Tensor._wrap(scale * (gd - (gb / m).reshape(shape) - xhat * (gw / m).reshape(shape)))
        return gx, (Tensor._wrap(gw) if pw is not None else None), (Tensor._wrap(gb) if pb is not None else None)


# ------------------------------------------------------------------------------------- layer norm


class LayerNorm(Function):
    """Layer norm over the last ``k`` axes, with optional elementwise affine: one node.

    Same reasoning and same closed-form backward as :class:`BatchNormTrain`, with the statistics
    taken per sample over the normalised axes and the affine gradients summed over the leading axes.
    """

    save_inputs = True

    def forward(self, x, w, b, k, eps):
        xp = _xp(x)
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = xc * inv_std
        self.xhat, self.inv_std, self.axes, self.k, self.eps = xhat, inv_std, axes, k, eps
        self.lead = tuple(range(x.ndim - k))
        return xhat * w + b

    def backward(self, g):
        px, pw, pb = self.parents
        axes, lead = self.axes, self.lead
        if is_grad_enabled():
            x, w, _ = self.inputs
            d = 1
            for a in axes:
                d *= x.shape[a]
            xc = x - x.mean(axes, keepdim=True)
            inv = ((xc * xc).mean(axes, keepdim=True) + self.eps).rsqrt()
            xhat = xc * inv
            gh = g * w
            gx = None
            if px is not None:
                gx = inv * (gh - gh.sum(axes, keepdim=True) / d - xhat * (gh * xhat).sum(axes, keepdim=True) / d)
            gw = (g * xhat).sum(lead) if pw is not None and lead else (g * xhat) if pw is not None else None
            gb = (g.sum(lead) if lead else g) if pb is not None else None
            return gx, gw, gb
        gd = g._data
        xhat = self.xhat
        gx = gw = gb = None
        if px is not None:
            gh = gd * self.inputs[1]._data
            d = 1
            for a in axes:
                d *= xhat.shape[a]
            gx = self.inv_std * (
                gh - gh.sum(axis=axes, keepdims=True) / d - xhat * ((gh * xhat).sum(axis=axes, keepdims=True) / d)
            )
            gx = Tensor._wrap(gx.astype(gd.dtype, copy=False))
        if pw is not None:
            gw = Tensor._wrap((gd * xhat).sum(axis=lead) if lead else gd * xhat)
        if pb is not None:
            gb = Tensor._wrap(gd.sum(axis=lead) if lead else gd.copy())
        return gx, gw, gb


# --------------------------------------------------------------------------------------- embedding


def _scatter_rows(g2, idx, num):
    """``out[idx[i]] += g2[i]`` for a (n, D) ``g2``, giving (num, D).

    CPU: a sparse (num, n) 0/1 matrix times ``g2`` (SciPy CSR, one C pass). Measured against
    ``numpy.add.at`` and ``numpy.bincount`` on flattened positions (benchmarks/bench_layers.py,
    2-core CPU, float32): n=4096 rows into 1000x64: add.at 4.9 ms, bincount 1.0 ms, sparse 0.36 ms;
    4096 into 10000x128: 6.8 / 13.0 / 0.69 ms (bincount pays for its float64 table);
    65536 into 5000x32: 47 / 17 / 5.7 ms. GPU: ``cupyx.scatter_add``.
    """
    xp = _xp(g2)
    n, d = g2.shape
    if xp is numpy:
        if n == 0 or d == 0:
            return numpy.zeros((num, d), dtype=g2.dtype)
        from scipy import sparse

        m = sparse.csr_matrix((numpy.ones(n, dtype=g2.dtype), (idx, numpy.arange(n))), shape=(num, n))
        return numpy.ascontiguousarray(m @ g2, dtype=g2.dtype)
    import cupyx  # type: ignore[import-not-found]  # pragma: no cover - GPU only

    out = xp.zeros((num, d), dtype=g2.dtype)
    cupyx.scatter_add(out, idx, g2)
    return out


class Embedding(Function):
    """``weight[indices]``; the gradient of the ``padding_idx`` row is zero."""

    def forward(self, w, idx, padding_idx):
        self.idx, self.num, self.pad = idx, w.shape[0], padding_idx
        return w[idx]

    def backward(self, g):
        return EmbeddingBackward.apply(g, idx=self.idx, num=self.num, pad=self.pad)


class EmbeddingBackward(Function):
    """Rows of ``g`` summed into a (num, D) table at ``idx`` (repeats accumulate); linear in ``g``."""

    def forward(self, g, idx, num, pad):
        self.idx, self.pad = idx, pad
        d = g.shape[-1]
        out = _scatter_rows(g.reshape(-1, d), idx.reshape(-1), num)
        if pad is not None:
            out[pad] = 0
        return out

    def backward(self, gg):
        return _Gather.apply(gg, idx=self.idx, pad=self.pad)


class _Gather(Function):
    """``table[idx]`` with the padding rows zeroed (the adjoint of EmbeddingBackward)."""

    def forward(self, table, idx, pad):
        self.idx, self.num, self.pad = idx, table.shape[0], pad
        out = table[idx]
        if pad is not None:
            out[idx == pad] = 0
        return out

    def backward(self, g):
        return EmbeddingBackward.apply(g, idx=self.idx, num=self.num, pad=self.pad)


# ------------------------------------------------------------------------------------ dropout, step


class Step(Function):
    """Heaviside step: 1 where ``x > 0``, 0 where ``x < 0``, ``value_at_zero`` at 0.

    Its derivative is zero almost everywhere, so the backward passes zeros (PyTorch's
    ``torch.heaviside`` refuses to differentiate; nabla gives the a.e. derivative so a step can sit
    inside a model, e.g. the classic perceptron).
    """

    def forward(self, x, value):
        xp = _xp(x)
        self.shape, self.dtype = x.shape, x.dtype
        return xp.where(x > 0, 1, xp.where(x == 0, value, 0)).astype(x.dtype, copy=False)

    def backward(self, g):
        return Tensor._wrap(g._xp.zeros(self.shape, dtype=self.dtype))


