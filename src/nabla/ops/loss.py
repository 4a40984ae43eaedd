"""The fused cross-entropy: log-softmax + negative log-likelihood in one graph node.

Integer class targets ("sparse categorical") or class-probability targets ("categorical"), with class
weights, ``ignore_index`` and label smoothing, as ``torch.nn.functional.cross_entropy``. The row
maximum is subtracted first (``softmax._log_softmax_array``), so logits of +-1e4 give finite values
and gradients. The other losses compose primitives in ``nabla.functional.loss``.
"""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..mixed_precision import FP32, autocast_inputs, state as _amp
from ..tensor import Tensor
from .common import float_tensor
from .convert import cast
from .softmax import _log_softmax_array, log_softmax, softmax


class CrossEntropy(Function):
    """Mean/sum/none over samples of ``-sum_c q[c] * log_softmax(x)[c]``; class dimension 1.

    ``q`` is the target distribution of one sample, with smoothing ``ls`` over ``C`` classes:
    * class index ``t``:  ``q = (1 - ls) * w[t] * onehot(t) + ls / C * w``   (0 where ``t`` is ignored)
    * probabilities ``p``: ``q = w * ((1 - ls) * p + ls / C)``

    "mean" divides by ``sum(w[t])`` over kept samples (class indices) or by the number of samples
    (probabilities), as PyTorch does. The gradients, with ``g`` the upstream gradient over that
    normaliser, are ``(softmax(x) * sum_c q - q) * g`` for ``x`` and ``-(1 - ls) * w * log_softmax(x) * g``
    for ``p``; the probabilities come from the log-softmax kept from the forward pass (recomputed as
    a graph when a second derivative is recorded).
    """

    save_inputs = True

    def forward(self, x, probs=None, *, target=None, weight, ignore_index, label_smoothing, reduction):
        xp = _xp(x)
        lsm = _log_softmax_array(x, 1)
        c = x.shape[1]
        ls = label_smoothing
        wb = None if weight is None else weight.reshape((c,) + (1,) * (x.ndim - 2))  # broadcast on dim 1
        if probs is None:
            valid = target != ignore_index
            safe_t = xp.where(valid, target, 0)
            if lsm.ndim == 2:
                picked = lsm[xp.arange(lsm.shape[0]), safe_t]
            else:
                picked = xp.take_along_axis(lsm, safe_t[:, None], axis=1)[:, 0]
            wt = valid.astype(x.dtype) if weight is None else weight[safe_t] * valid  # w[t], 0 if ignored
            losses = -picked * wt
            if ls:
                total = (lsm if wb is None else lsm * wb).sum(axis=1)
                losses = (1 - ls) * losses - (ls / c) * total * valid
            self.valid, self.safe_t, self.wt = valid, safe_t, wt
            denom = wt.sum()
        else:
            q = probs if not ls else probs * (1 - ls) + ls / c
            if wb is not None:
                q = q * wb
            losses = -(q * lsm).sum(axis=1)
            self.q = q
            denom = losses.size  # samples: N * d1 * ...
        self.lsm, self.wb, self.ls, self.reduction = lsm, wb, ls, reduction
        if reduction == "none":
            return losses.astype(x.dtype, copy=False)
        if reduction == "sum":
            return xp.asarray(losses.sum(), dtype=x.dtype)
        self.denom = denom
        return xp.asarray(losses.sum() / denom, dtype=x.dtype)

    def _scale(self, g):
        """The upstream gradient per sample, broadcastable over the class dimension."""
        if self.reduction == "mean":  # all targets ignored: the loss is NaN, its gradient 0 (as PyTorch)
            d = self.denom
            if isinstance(d, int):  # the number of samples
                g = g * (1.0 / d) if d != 0 else g * 0
            else:  # sum of w[t], still on the device: scale there instead of syncing to test it
                xp = _xp(d)
                g = g * Tensor._wrap(xp.where(d != 0, 1 / xp.where(d != 0, d, 1), 0).astype(g.dtype))
        return g.unsqueeze(1) if self.reduction == "none" else g

    def backward(self, g):
        lsm, ls, wb = self.lsm, self.ls, self.wb
        xp = _xp(lsm)
        c = lsm.shape[1]
        g = self._scale(g)
        soft = len(self.inputs) == 2
        want_p = soft and self.parents[1] is not None
        if is_grad_enabled():  # recording a second derivative: keep the probabilities in the graph
            x = self.inputs[0]
            if soft:
                p = self.inputs[1]
                q = p * (1 - ls) + ls / c if ls else p
                q = q if wb is None else q * Tensor._wrap(wb)
                gx = (softmax(x, 1) * q.sum(dim=1, keepdim=True) - q) * g
                if not want_p:
                    return gx, None
                gp = log_softmax(x, 1) * (-(1 - ls))
                gp = gp if wb is None else gp * Tensor._wrap(wb)
                return gx, gp * g
            q = self._index_q(xp)
            return (softmax(x, 1) * Tensor._wrap(q.sum(axis=1, keepdims=True)) - Tensor._wrap(q)) * g
        d = xp.exp(lsm)  # softmax(x)
        if soft:
            q = self.q
            d *= q.sum(axis=1, keepdims=True)
            d -= q
        else:
            valid, t, wt = self.valid, self.safe_t, self.wt
            if ls:  # sum_c q = (1 - ls) * w[t] + ls / C * sum(w), for kept samples
                wsum = float(c) if wb is None else wb.sum()  # a 0-d device array: no host sync
                s = ((1 - ls) * wt + (ls / c) * wsum * valid).astype(lsm.dtype, copy=False)
                d *= s[:, None]
                d -= (ls / c) * (valid[:, None] if wb is None else wb * valid[:, None])
                pick = ((1 - ls) * wt).astype(lsm.dtype, copy=False)
            else:
                d *= wt[:, None].astype(lsm.dtype, copy=False)
                pick = wt.astype(lsm.dtype, copy=False)
            if d.ndim == 2:  # subtract (1 - ls) * w[t] at the targets, in place
                d[xp.arange(d.shape[0]), t] -= pick
            else:
                idx = t[:, None]
                xp.put_along_axis(d, idx, xp.take_along_axis(d, idx, axis=1) - pick[:, None], axis=1)
        gx = Tensor._wrap(d) * g
        if not soft:
            return gx
        if not want_p:
            return gx, None
        gp = lsm * (-(1 - ls)) if wb is None else lsm * (wb * -(1 - ls))
        return gx, Tensor._wrap(gp.astype(lsm.dtype, copy=False)) * g

    def _index_q(self, xp):
        """The dense target distribution of class-index targets (for the recorded second derivative)."""
        lsm, ls, wb, valid, t, wt = self.lsm, self.ls, self.wb, self.valid, self.safe_t, self.wt
        c = lsm.shape[1]
        q = xp.zeros(lsm.shape, dtype=lsm.dtype)
        xp.put_along_axis(q, t[:, None], ((1 - ls) * wt)[:, None].astype(lsm.dtype, copy=False), axis=1)
        if ls:
            q += (ls / c) * (valid[:, None] if wb is None else wb * valid[:, None])
        return q


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` (C), (N, C) or (N, C, d1, ...) against ``target``.

    ``target`` is either integer class indices of shape (), (N) or (N, d1, ...) ("sparse
    categorical"), or floating class probabilities / one-hot rows of the input's own shape
    ("categorical"). Fused log-softmax + negative log-likelihood: stable for any logits.

    With ``q`` the target distribution of a sample (``w`` = ``weight``, ``ls`` = ``label_smoothing``,
    ``C`` classes), the loss of the sample is ``-sum_c q[c] * log_softmax(input)[c]``, where

    * class index ``t``: ``q = (1 - ls) * w[t] * onehot(t) + ls / C * w``; samples whose target is
      ``ignore_index`` contribute nothing, and "mean" divides by ``sum(w[t])`` over the others;
    * probabilities ``p``: ``q = w * ((1 - ls) * p + ls / C)``; "mean" divides by the number of
      samples (``ignore_index`` must stay negative: it does not apply to probabilities).

    ``reduction``: "mean", "sum" or "none" (one loss per sample).
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "cross_entropy", input, target)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError("cross_entropy: input and target must be Tensors")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    x = float_tensor(input, "cross_entropy")
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must hold logits of shape (C), (N, C) or (N, C, d1, ...), got 0-d")
    soft = target.dtype.kind == "f"
    index_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    if soft and target.shape != x.shape:
        if target.shape == index_shape:
            raise TypeError(
                f"cross_entropy: target must hold integer class indices (int64), got {target.dtype}; "
                "use .long() on class labels (a float target means class probabilities, of the input's shape "
                f"{x.shape})"
            )
        raise ValueError(
            f"cross_entropy: logits of shape {x.shape} need integer class indices of shape {index_shape} or "
            f"class probabilities of shape {x.shape}, got a float target of shape {target.shape}"
        )
    if not soft and target.dtype.kind not in "iu":
        raise TypeError(
            f"cross_entropy: target must hold integer class indices (int64) or float class probabilities, "
            f"got {target.dtype}"
        )
    if x.ndim == 1:
        if not soft and target.ndim != 0:
            raise ValueError(f"cross_entropy: for logits of shape {x.shape} the target must be 0-d, got {target.shape}")
        out = cross_entropy(x.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction, label_smoothing)
        return out.reshape(()) if reduction == "none" else out
    c = x.shape[1]
    w = None
    if weight is not None:
        if weight.shape != (c,):
            raise ValueError(f"cross_entropy: weight must have shape ({c},), got {weight.shape}")
        w = weight._data.astype(x.dtype, copy=False)
    kw = dict(weight=w, ignore_index=ignore_index, label_smoothing=float(label_smoothing), reduction=reduction)
    if soft:
        if ignore_index >= 0:
            raise ValueError(
                f"cross_entropy: ignore_index={ignore_index} does not apply to class-probability targets; "
                "leave it negative (the default -100)"
            )
        return CrossEntropy.apply(x, cast(target, x.dtype), **kw)
    if target.shape != index_shape:
        raise ValueError(
            f"cross_entropy: logits of shape {x.shape} (N, C, ...) need a target of shape {index_shape}, "
            f"got {target.shape}"
        )
    t = target._data
    valid = t != ignore_index
    if bool((((t < 0) | (t >= c)) & valid).any()):  # one host sync (PyTorch asserts on the device)
        raise IndexError(
            f"cross_entropy: target classes must lie in [0, {c}) for {c} logits, got values "
            f"{int(t[valid].min())}..{int(t[valid].max())}"
        )
    return CrossEntropy.apply(x, target=t, **kw)
