"""Softmax, log-softmax and the fused cross-entropy over integer class targets.

All three subtract the row maximum first, so logits of +-1e4 give finite values and gradients.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import normalize_dim


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


class LogSoftmax(Function):
    save_output = True

    def forward(self, x, dim):
        self.dim = dim
        return _log_softmax_array(x, dim)

    def backward(self, g):
        y = self.saved_output()
        return g - y.exp() * g.sum(dim=self.dim, keepdim=True)


def softmax(x: Tensor, dim: int) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return Softmax.apply(_float(x, "softmax"), dim=normalize_dim(dim, x.ndim, "softmax"))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the stable way to get log-probabilities."""
    return LogSoftmax.apply(_float(x, "log_softmax"), dim=normalize_dim(dim, x.ndim, "log_softmax"))


class CrossEntropy(Function):
    """Mean/sum/none of ``-w[t] * log_softmax(x)[t]`` over samples; class dimension 1.

    The backward is ``(softmax(x) - onehot(t)) * w[t] * g / normaliser``, using the probabilities
    kept from the forward pass (recomputed as a graph when a second derivative is recorded).
    """

    save_inputs = True

    def forward(self, x, target, weight, ignore_index, reduction):
        xp = _xp(x)
        lsm = _log_softmax_array(x, 1)
        valid = target != ignore_index
        safe_t = xp.where(valid, target, 0)
        if lsm.ndim == 2:
            picked = lsm[xp.arange(lsm.shape[0]), safe_t]
        else:
            picked = xp.take_along_axis(lsm, safe_t[:, None], axis=1)[:, 0]
        w = valid.astype(x.dtype) if weight is None else weight[safe_t] * valid
        losses = -picked * w
        self.lsm, self.safe_t, self.w, self.reduction = lsm, safe_t, w, reduction
        if reduction == "none":
            return losses
        if reduction == "sum":
            return xp.asarray(losses.sum(), dtype=x.dtype)
        self.denom = w.sum()
        return xp.asarray(losses.sum() / self.denom, dtype=x.dtype)

    def backward(self, g):
        lsm, t = self.lsm, self.safe_t
        xp = _xp(lsm)
        coef = self.w
        if self.reduction == "mean":  # all targets ignored: the loss is NaN, its gradient 0 (as PyTorch)
            coef = coef / self.denom if self.denom != 0 else xp.zeros_like(coef)
        coef = coef[:, None].astype(lsm.dtype, copy=False)
        if self.reduction == "none":
            g = g.unsqueeze(1)
        if is_grad_enabled():  # recording a second derivative: keep the probabilities in the graph
            onehot = xp.zeros(lsm.shape, dtype=lsm.dtype)
            xp.put_along_axis(onehot, t[:, None], 1, axis=1)
            return (softmax(self.inputs[0], 1) - Tensor._wrap(onehot)) * Tensor._wrap(coef) * g
        d = xp.exp(lsm)  # softmax(x), then subtract 1 at the targets, in place
        if d.ndim == 2:
            d[xp.arange(d.shape[0]), t] -= 1
        else:
            idx = t[:, None]
            xp.put_along_axis(d, idx, xp.take_along_axis(d, idx, axis=1) - 1, axis=1)
        d *= coef
        return Tensor._wrap(d) * g


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: "Tensor | None" = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) against integer classes ``target``.

    Fused log-softmax + negative log-likelihood: stable for any logits. ``weight`` rescales classes;
    targets equal to ``ignore_index`` contribute nothing. ``reduction``: "mean", "sum" or "none".
    """
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("cross_entropy: input and target must be Tensors")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must hold integer class indices (int64), got {target.dtype}; "
            "use .long() on class labels"
        )
    x = _float(input, "cross_entropy")
    if x.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"cross_entropy: for logits of shape {x.shape} the target must be 0-d, got {target.shape}")
        out = cross_entropy(x.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
        return out.reshape(()) if reduction == "none" else out
    n, c = x.shape[0], x.shape[1]
    if target.shape != (n,) + x.shape[2:]:
        raise ValueError(
            f"cross_entropy: logits of shape {x.shape} (N, C, ...) need a target of shape {(n,) + x.shape[2:]}, "
            f"got {target.shape}"
        )
    t = target._data
    valid = t != ignore_index
    if valid.any() and (int(t[valid].min()) < 0 or int(t[valid].max()) >= c):
        raise IndexError(
            f"cross_entropy: target classes must lie in [0, {c}) for {c} logits, got values "
            f"{int(t[valid].min())}..{int(t[valid].max())}"
        )
    w = None
    if weight is not None:
        if weight.shape != (c,):
            raise ValueError(f"cross_entropy: weight must have shape ({c},), got {weight.shape}")
        w = weight._data.astype(x.dtype, copy=False)
    return CrossEntropy.apply(x, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)


def _float(x: Any, op: str) -> Tensor:
    from .elementwise import _float as f

    return f(x, op)
