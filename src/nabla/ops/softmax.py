"""Softmax and log-softmax along one dimension.

Both subtract the maximum along the dimension first, so logits of +-1e4 give finite values and
gradients; the loss that fuses log-softmax with the negative log-likelihood is in ``loss.py``.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module as _xp
from ..mixed_precision import FP32, autocast_inputs, state as _amp
from ..tensor import Tensor
from .common import float_tensor, normalize_dim


def _log_softmax_array(x, dim):
    xp = _xp(x)
    if x.size == 0:  # nothing to normalise (max() of an empty axis would raise)
        return x.copy()
    m = x.max(axis=dim, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    shifted = x - m
    return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))


class Softmax(Function):
    save_output = True

    def forward(self, x, dim):
        xp = _xp(x)
        self.dim = dim
        if x.size == 0:
            return x.copy()
        m = x.max(axis=dim, keepdims=True)
        e = xp.exp(x - xp.where(xp.isfinite(m), m, 0))
        return e / e.sum(axis=dim, keepdims=True)

    def backward(self, g):
        y = self.saved_output()
        return y * (g - (g * y).sum(dim=self.dim, keepdim=True))

    def compiled_backward(self, g, ins, out, needs):
        return (out * (g - (g * out).sum(axis=self.dim, keepdims=True)),)


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    if _amp.enabled:
        (x,) = autocast_inputs(FP32, "softmax", x)
    return Softmax.apply(float_tensor(x, "softmax"), dim=normalize_dim(dim, x.ndim, "softmax"))


class LogSoftmax(Function):
    save_output = True

    def forward(self, x, dim):
        self.dim = dim
        return _log_softmax_array(x, dim)

    def backward(self, g):
        y = self.saved_output()
        return g - y.exp() * g.sum(dim=self.dim, keepdim=True)

    def compiled_backward(self, g, ins, out, needs):
        return (g - _xp(out).exp(out) * g.sum(axis=self.dim, keepdims=True),)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the stable way to get log-probabilities."""
    if _amp.enabled:
        (x,) = autocast_inputs(FP32, "log_softmax", x)
    return LogSoftmax.apply(float_tensor(x, "log_softmax"), dim=normalize_dim(dim, x.ndim, "log_softmax"))
