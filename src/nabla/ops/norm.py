"""Fused batch norm (training mode) and layer norm: one graph node each.

Each op's ``forward`` runs on arrays and its ``backward`` is written with nabla ops on Tensors, so
higher-order gradients still work. Why fused rather than composed from primitives (numbers from
``benchmarks/bench_layers.py``, forward + backward, float32, 2-core CPU; they move with the machine's
load, the ratios much less): the composed graph (mean, subtract, square, mean, add eps, rsqrt,
multiply, affine) is ~10 nodes and keeps ~5 full-size temporaries alive for backward; the fused op
keeps one (the normalised input) and its backward is the closed form
``dx = w / sigma * (g - mean(g) - xhat * mean(g * xhat))``. When a second derivative is being
recorded (``create_graph=True``) the backward rebuilds the same closed form from nabla ops on the
saved inputs, so it is itself differentiable.
Measured (fused vs composed, us per forward+backward): batch norm (64, 128) 150 vs 374,
(256, 512) 2.7k vs 6.8k, (32, 64, 16, 16) 17k vs 28k; layer norm (64, 128) 223 vs 476,
(256, 512) 1.1k vs 1.2k, (32, 64, 256) 17k vs 41k.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor, updating


def channel_shape(ndim: int, c: int) -> tuple:
    return (1, c) + (1,) * (ndim - 2)


def blend_running(running: Tensor, batch: Any, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, in place (version bumped)."""
    with updating(running) as r:
        r *= 1.0 - momentum
        r += (momentum * batch).astype(r.dtype, copy=False)


class BatchNormTrain(Function):
    """Batch norm with batch statistics over every axis but 1 (the channels): one node.

    ``forward(x, weight, bias, eps, running_mean, running_var, momentum)`` computes the batch mean and
    (biased) variance and, when running-statistics tensors are given, blends them in place:
    ``running = (1 - momentum) * running + momentum * batch``, with the unbiased variance. Both happen
    inside ``forward`` so that a replayed program (``nabla.compile``) does them on every call. Fused
    because it measured faster than the composed graph (see the module docstring and
    ``benchmarks/bench_layers.py``) and keeps one saved temporary instead of five.
    """

    save_inputs = True

    def forward(self, x, w, b, eps, running_mean=None, running_var=None, momentum=0.1):
        xp = _xp(x)
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes)
        shape = channel_shape(x.ndim, x.shape[1])
        xc = x - mean.reshape(shape)
        var = (xc * xc).mean(axis=axes)
        del xc
        count = x.size // x.shape[1]
        if running_mean is not None:
            blend_running(running_mean, mean, momentum)
        if running_var is not None:
            blend_running(running_var, var * (count / (count - 1)), momentum)
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
