"""Loss functions in functional form, with PyTorch's names, arguments and numbers: the one home of
nabla's loss maths (the loss modules in ``nn/losses.py`` keep settings and call these).

``input`` is the prediction, ``target`` what it should have been; ``reduction`` is "mean", "sum" or
"none" (one loss per element / sample). Shapes must match exactly where PyTorch would broadcast
(``mse_loss`` of (N, 1) against (N,) is a ``ValueError``, not an (N, N) matrix).

* ``mse_loss``: ``(x - y)^2``;  ``l1_loss``: ``|x - y|``;
* ``huber_loss``: ``0.5 (x - y)^2`` where ``|x - y| < delta``, else ``delta (|x - y| - delta / 2)``;
* ``smooth_l1_loss``: ``huber_loss(delta=beta) / beta`` (``l1_loss`` at ``beta = 0``);
* ``binary_cross_entropy``: ``-w [y log(x) + (1 - y) log(1 - x)]``, logs clamped at -100;
* ``binary_cross_entropy_with_logits``: ``-w [pw y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x))]``;
* ``cross_entropy``: ``-sum_c q_c log_softmax(x)_c`` (the fused op of ``nabla/ops/loss.py``);
* ``nll_loss``: ``-w[y] x[y]`` for log-probabilities ``x``;
* ``kl_div``: ``y (log y - x)`` for log-probabilities ``x``.

Extreme logits (+-1e4) give finite values and gradients: ``cross_entropy`` is the fused log-softmax op
and ``binary_cross_entropy_with_logits`` uses a log-sum-exp softplus. ``binary_cross_entropy`` is one
small op with PyTorch's gradient (finite at probabilities 0 and 1); the rest compose nabla's primitives.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function
from ..backend import array_module as _xp
from ..mixed_precision import FP32, autocast_inputs, state as _amp
from ..ops.activation import softplus
from ..ops.comparison import where
from ..ops.convert import cast
from ..ops.index import gather
from ..ops.loss import cross_entropy
from ..tensor import Tensor

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------------- validation


def _check_reduction(reduction: Any, op: str, allowed: tuple = _REDUCTIONS) -> None:
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{op}: reduction must be one of {choices}, got {reduction!r}")


def _pair(input: Any, target: Any, op: str) -> tuple[Tensor, Tensor]:
    """Validated (input, target): Tensors of one shape, float input, target in the input's dtype."""
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(
            f"{op}: input and target must be Tensors, got {type(input).__name__} and {type(target).__name__}"
        )
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: input of shape {input.shape} and target of shape {target.shape} differ; they must have "
            "the same shape (nabla does not broadcast a loss's target: reshape one of them)"
        )
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating-point Tensor, got {input.dtype}; use .float()")
    if target.dtype != input.dtype:  # int/bool labels, or another float width: compare in the input's dtype
        target = cast(target, input.dtype)
    return input, target


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weight_array(weight: Any, shape: tuple, dtype: Any, op: str, name: str = "weight") -> Any:
    """``weight``'s array in ``dtype``, checked to broadcast to ``shape`` without growing it."""
    if weight is None:
        return None
    if not isinstance(weight, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(weight).__name__}")
    ok = weight.ndim <= len(shape) and all(
        a in (1, b) for a, b in zip(weight.shape[::-1], shape[::-1])
    )
    if not ok:
        raise ValueError(f"{op}: {name} of shape {weight.shape} does not broadcast to the input's shape {shape}")
    return weight._data.astype(dtype, copy=False)


# ---------------------------------------------------------------------------------- regression


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: ``(input - target)^2``, then ``reduction``."""
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "mse_loss", input, target)
    _check_reduction(reduction, "mse_loss")
    x, y = _pair(input, target, "mse_loss")
    d = x - y
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error: ``|input - target|``, then ``reduction``."""
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "l1_loss", input, target)
    _check_reduction(reduction, "l1_loss")
    x, y = _pair(input, target, "l1_loss")
    return _reduce((x - y).abs(), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic for small errors, linear for large ones (less sensitive to outliers).

    ``0.5 d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``, with ``d = input - target``.
    """
    _check_reduction(reduction, "huber_loss")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, y = _pair(input, target, "huber_loss")
    d = x - y
    a = d.abs()
    return _reduce(where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 (Fast R-CNN's box loss): ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    It is ``huber_loss(delta=beta) / beta``: L1 far from the target with a quadratic core of width
    ``beta``; ``beta = 0`` is exactly ``l1_loss``.
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "smooth_l1_loss", input, target)
    _check_reduction(reduction, "smooth_l1_loss")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
        raise ValueError(f"smooth_l1_loss does not support negative values for beta (got {beta!r}); use beta >= 0")
    x, y = _pair(input, target, "smooth_l1_loss")
    d = x - y
    a = d.abs()
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction)


# ---------------------------------------------------------------------------- binary cross-entropy


class BinaryCrossEntropy(Function):
    """``-w * (y * max(log x, -100) + (1 - y) * max(log(1 - x), -100))`` elementwise.

    Gradients as PyTorch's: ``w (x - y) / max(x (1 - x), 1e-12)`` for ``x`` (finite at 0 and 1) and
    ``w (max(log(1 - x), -100) - max(log x, -100))`` for ``y``.
    """

    save_inputs = True

    def forward(self, x, y, weight):
        xp = _xp(x)
        self.weight = weight
        with xp.errstate(divide="ignore"):
            lx = xp.maximum(xp.log(x), -100)
            l1x = xp.maximum(xp.log1p(-x), -100)
        out = -(y * lx + (1 - y) * l1x)
        if weight is not None:
            out = out * weight
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        x, y = self.inputs
        w = None if self.weight is None else Tensor._wrap(self.weight)
        if w is not None:
            g = g * w
        gx = g * (x - y) / ((1 - x) * x).clamp(min=1e-12) if self.parents[0] is not None else None
        gy = None
        if self.parents[1] is not None:
            gy = g * ((-x).log1p().clamp(min=-100) - x.log().clamp(min=-100))
        return gx, gy


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets ``target``.

    ``-weight * (target * log(input) + (1 - target) * log(1 - input))``, each log clamped at -100 as
    PyTorch does, so a probability of exactly 0 or 1 gives a finite loss. For raw scores (logits)
    use ``binary_cross_entropy_with_logits``: it is more stable.
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "binary_cross_entropy", input, target)
    _check_reduction(reduction, "binary_cross_entropy")
    x, y = _pair(input, target, "binary_cross_entropy")
    xd = x._data
    xp = _xp(xd)
    if xd.size and not bool(xp.all((xd >= 0) & (xd <= 1))):
        bad = xd[~((xd >= 0) & (xd <= 1))]
        raise ValueError(
            f"binary_cross_entropy: input must hold probabilities in [0, 1], got {bad.size} value(s) outside "
            f"(e.g. {float(bad.reshape(-1)[0])}); apply sigmoid first, or use binary_cross_entropy_with_logits "
            "(BCEWithLogitsLoss) on raw scores"
        )
    yd = y._data
    if yd.size and not bool(xp.all((yd >= 0) & (yd <= 1))):
        bad = yd[~((yd >= 0) & (yd <= 1))]
        raise ValueError(
            f"binary_cross_entropy: all elements of target should be between 0 and 1 (as PyTorch requires), got "
            f"{bad.size} value(s) outside (e.g. {float(bad.reshape(-1)[0])}); rescale the targets to [0, 1]"
        )
    w = _weight_array(weight, x.shape, x.dtype, "binary_cross_entropy")
    return _reduce(BinaryCrossEntropy.apply(x, y, weight=w), reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression, for logits ``input``.

    ``w * [(1 - y) x + (1 + (pw - 1) y) softplus(-x)]``, which equals
    ``-w [pw y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x))]``; ``softplus(-x) = log(1 + e^-x)`` is
    computed as a log-sum-exp, so logits of +-1e4 give finite values and gradients. ``pos_weight``
    (one per class, broadcast along the last dimension) scales the positive term.
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "binary_cross_entropy_with_logits", input, target)
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x, y = _pair(input, target, "binary_cross_entropy_with_logits")
    op = "binary_cross_entropy_with_logits"
    w = _weight_array(weight, x.shape, x.dtype, op)
    pw = _weight_array(pos_weight, x.shape, x.dtype, op, "pos_weight")
    sp = softplus(-x, threshold=float("inf"))  # log(1 + exp(-x)) via logaddexp: exact for any x
    coef = 1 if pw is None else 1 + y * Tensor._wrap(pw - 1)
    loss = (1 - y) * x + coef * sp
    if w is not None:
        loss = loss * Tensor._wrap(w)
    return _reduce(loss, reduction)


# --------------------------------------------------------------------------------- multi-class


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (C), (N, C) or (N, C, d1, ...).

    The loss of a sample is ``-weight[t] * input[t]`` for its class ``t``; samples with
    ``t == ignore_index`` contribute nothing, and "mean" divides by the sum of ``weight[t]`` over the
    others. ``nll_loss(log_softmax(x, 1), t)`` equals ``cross_entropy(x, t)``.
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "nll_loss", input, target)
    op = "nll_loss"
    _check_reduction(reduction, op)
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{op}: input and target must be Tensors")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: input must hold float log-probabilities, got {input.dtype}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices (int64), got {target.dtype}; use .long()")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have shape (C), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    if input.ndim == 1:
        if target.ndim != 0:
            raise ValueError(f"{op}: for input of shape {input.shape} the target must be 0-d, got {target.shape}")
        out = nll_loss(input.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
        return out.reshape(()) if reduction == "none" else out
    n, c = input.shape[0], input.shape[1]
    want = (n,) + input.shape[2:]
    if target.shape != want:
        raise ValueError(
            f"{op}: input of shape {input.shape} (N, C, ...) needs a target of shape {want}, got {target.shape}"
        )
    t = target._data
    xp = _xp(t)
    valid = t != ignore_index
    if bool((((t < 0) | (t >= c)) & valid).any()):  # one host sync on a GPU (PyTorch asserts there)
        raise IndexError(
            f"{op}: target classes must lie in [0, {c}) for {c} classes, got values "
            f"{int(t[valid].min())}..{int(t[valid].max())}"
        )
    safe_t = xp.where(valid, t, 0)
    if weight is None:
        wt = valid.astype(input.dtype)
    else:
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},), got {weight.shape}")
        wt = weight._data.astype(input.dtype, copy=False)[safe_t] * valid
    picked = gather(input, 1, Tensor._wrap(safe_t[:, None])).squeeze(1)
    losses = picked * Tensor._wrap(-wt)
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    # Every target ignored: NaN, as PyTorch, with a zero (not NaN) gradient. Decided on the device:
    # no host sync to test the denominator.
    denom = wt.sum()
    ok = denom != 0
    scale = xp.where(ok, 1 / xp.where(ok, denom, 1), 0).astype(input.dtype)
    return total * Tensor._wrap(scale) + Tensor._wrap(xp.where(ok, 0, float("nan")).astype(input.dtype))


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``KL(target || exp(input))`` for log-probabilities ``input``.

    Pointwise ``target * (log(target) - input)`` (0 where ``target`` is 0), or with ``log_target``
    (``target`` given as log-probabilities) ``exp(target) * (target - input)``. ``reduction``
    "batchmean" divides the sum by the batch size (``input.shape[0]``): the mathematical KL divergence
    of a batch of distributions; "mean" averages over every element, as PyTorch does.
    """
    if _amp.enabled:
        input, target = autocast_inputs(FP32, "kl_div", input, target)
    op = "kl_div"
    _check_reduction(reduction, op, _REDUCTIONS + ("batchmean",))
    x, y = _pair(input, target, op)
    if log_target:
        loss = y.exp() * (y - x)
    else:
        zero = y == 0  # xlogy(y, y) - y * x: the y log y term is 0 where y is 0
        ylogy = where(zero, 0.0, y * where(zero, 1.0, y).log())
        loss = ylogy - y * x
    if reduction == "batchmean":
        total = loss.sum()
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)


def sequence_cross_entropy(
    logits: Tensor, targets: Tensor, ignore_index: int = -100, name: str = "sequence_cross_entropy"
) -> Tensor:
    """Mean cross-entropy of per-position logits (N, T, V) against ids (N, T), positions whose target is
    ``ignore_index`` left out: the loss of language models (nats per token) and masked-LM pre-training.

    PyTorch's ``cross_entropy`` wants the classes second, (N, V, T); sequence models produce (N, T, V),
    so this flattens both to (N*T, V) and (N*T,) instead of transposing.
    """
    if logits.ndim != 3 or tuple(targets.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"{name}: expected logits (N, T, V) and targets (N, T), got {tuple(logits.shape)} and "
                         f"{tuple(targets.shape)}")
    return cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore_index)
