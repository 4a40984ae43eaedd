"""Loss modules with PyTorch's names: ``loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, y)``.

Each module keeps its settings and calls the function of the same name in ``nabla.functional.loss``
(where the math lives). Class weights are buffers, so ``loss_fn.to("cuda")`` moves them along.
``reduction`` is "mean" (the default), "sum" or "none" (one loss per element / sample).
"""

from __future__ import annotations

from ..functional import loss as F
from ..tensor import Tensor
from .module import Module

__all__ = [
    "MSELoss", "L1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss",
    "KLDivLoss", "SmoothL1Loss",
]


class _Loss(Module):
    """Base of the loss modules: validates and stores ``reduction``."""

    _reductions: tuple = ("none", "mean", "sum")

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, type(self).__name__, self._reductions)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._settings().items())

    def _settings(self) -> dict:
        return {"reduction": self.reduction}


class _WeightedLoss(_Loss):
    """A loss with an optional per-class ``weight`` (kept as a buffer)."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, Tensor):
            raise TypeError(f"{type(self).__name__}: weight must be a Tensor or None, got {type(weight).__name__}")
        self.register_buffer("weight", weight)

    def _settings(self) -> dict:
        s = {"weight": _Shape(self.weight)} if self.weight is not None else {}
        return {**s, **super()._settings()}


class _Shape:
    """Shows a tensor setting in a repr by its shape: ``weight=Tensor(shape=(10,))``."""

    def __init__(self, t: Tensor) -> None:
        self.shape = tuple(t.shape)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape})"


class MSELoss(_Loss):
    """Mean squared error (L2): ``l = (x - y)^2`` per element, then ``reduction``."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error (MAE): ``l = |x - y|`` per element, then ``reduction``."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss, quadratic near 0 and linear beyond ``delta`` (robust to outliers)::

        l = 0.5 (x - y)^2                   if |x - y| < delta
            delta (|x - y| - 0.5 delta)     otherwise
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def _settings(self) -> dict:
        return {"delta": self.delta, **super()._settings()}


class SmoothL1Loss(_Loss):
    """Smooth L1 loss (``F.smooth_l1_loss``): ``0.5 (x - y)^2 / beta`` where ``|x - y| < beta``, else
    ``|x - y| - 0.5 beta``; it equals ``HuberLoss(delta=beta) / beta``."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be a non-negative number, got {beta!r}")
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)

    def _settings(self) -> dict:
        return {"beta": self.beta, **super()._settings()}


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities ``x`` in [0, 1] (e.g. after a sigmoid)::

        l = -w [y log(x) + (1 - y) log(1 - x)]      (each log clamped at -100)

    Inputs outside [0, 1] raise a ValueError. On raw scores prefer ``BCEWithLogitsLoss``.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid and binary cross-entropy in one numerically stable step, for logits ``x``::

        l = -w [pw y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x))]
          =  w [(1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x))]

    ``pos_weight`` (``pw``, one per class along the last dimension) weighs positives, e.g.
    ``negatives / positives`` for an imbalanced class.
    """

    def __init__(
        self, weight: Tensor | None = None, reduction: str = "mean", pos_weight: Tensor | None = None
    ) -> None:
        super().__init__(weight, reduction)
        if pos_weight is not None and not isinstance(pos_weight, Tensor):
            raise TypeError(f"BCEWithLogitsLoss: pos_weight must be a Tensor or None, got {type(pos_weight).__name__}")
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )

    def _settings(self) -> dict:
        s = {"pos_weight": _Shape(self.pos_weight)} if self.pos_weight is not None else {}
        return {**super()._settings(), **s}


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits ``x`` (N, C) or (N, C, d1, ...) — sparse or dense targets::

        l = -sum_c q_c log softmax(x)_c

    with ``q`` the target distribution: for a class index ``t`` (int64, shape (N) / (N, d1, ...))
    ``q = (1 - ls) w[t] onehot(t) + ls w / C``; for class probabilities or one-hot rows ``p`` (float,
    the input's shape) ``q = w ((1 - ls) p + ls / C)``. ``ls`` is ``label_smoothing``. Samples whose
    class is ``ignore_index`` are left out; "mean" divides by ``sum(w[t])`` (class indices) or the
    number of samples (probabilities), as PyTorch does.
    """

    def __init__(
        self,
        weight: Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must lie in [0, 1], got {label_smoothing}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(
            input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )

    def _settings(self) -> dict:
        return {**super()._settings(), "ignore_index": self.ignore_index, "label_smoothing": self.label_smoothing}


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities ``x`` (N, C) or (N, C, d1, ...)::

        l = -w[t] x[t]        (0 where t == ignore_index)

    "mean" divides by ``sum(w[t])`` over kept samples. ``NLLLoss()(log_softmax(x, 1), t)`` equals
    ``CrossEntropyLoss()(x, t)``.
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)

    def _settings(self) -> dict:
        return {**super()._settings(), "ignore_index": self.ignore_index}


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of ``target`` from the distribution whose log is ``x``::

        l = y (log y - x)              (log_target=False; 0 where y == 0)
        l = exp(y) (y - x)             (log_target=True: y given as log-probabilities)

    Use ``reduction="batchmean"`` (sum / batch size) for the true KL divergence; "mean" averages
    over every element, as in PyTorch.
    """

    _reductions = ("none", "mean", "sum", "batchmean")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def _settings(self) -> dict:
        return {**super()._settings(), "log_target": self.log_target}
