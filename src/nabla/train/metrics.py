"""Streaming metrics for training loops (Keras-like), plus one-shot functional forms.

Every metric object has ``update(y_pred, y_true)`` (note the order: prediction first, as in nabla's
losses), ``result()`` (a Python float; a NumPy array for :class:`ConfusionMatrix`), ``reset()`` and a
``name``. Inputs may be nabla Tensors or NumPy/CuPy arrays; they are read without building a graph
and reduced on their own array namespace (``nabla.backend.array_module``); only small per-batch
sufficient statistics (sums, per-class counts) are kept, never the predictions themselves, so
streaming over batches gives the same result as one call on all the data.

Classification inputs
    ``y_pred`` is either scores of shape ``(N, C)`` (logits or probabilities; the class is the
    argmax), binary scores of shape ``(N,)`` or ``(N, 1)`` with a floating dtype (positive when
    ``score > threshold``; ``threshold`` defaults to 0.5, or 0.0 with ``from_logits=True``), or
    integer/bool class labels ``(N,)``. ``y_true`` is integer labels ``(N,)``/``(N, 1)`` or one-hot
    ``(N, C)``.

Precision / recall / F1
    ``average='macro'`` averages over the classes seen so far in ``y_true`` or in the predictions
    (scikit-learn's default set of labels), ``'micro'`` pools the counts, ``'weighted'`` weights by
    support. A class that is never predicted has precision 0, a class never present has recall 0,
    and F1 is ``2TP / (2TP + FP + FN)`` — the same as scikit-learn's ``zero_division=0``.

A metric that has seen no samples returns ``nan``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor

__all__ = [
    "Metric", "Accuracy", "TopKAccuracy", "Precision", "Recall", "F1Score", "ConfusionMatrix",
    "MeanAbsoluteError", "MeanSquaredError", "R2Score",
    "accuracy", "top_k_accuracy", "precision", "recall", "f1_score", "confusion_matrix",
    "mean_absolute_error", "mean_squared_error", "r2_score", "get_metric", "METRIC_NAMES",
]


# ------------------------------------------------------------------------------------- helpers


def _array(x: Any, what: str):
    """The raw array behind ``x`` (no graph, no copy for Tensors and arrays)."""
    if isinstance(x, Tensor):
        return x.detach()._data
    if backend.is_array(x):
        return x
    try:
        return numpy.asarray(x)
    except Exception as e:
        raise TypeError(f"{what}: expected a Tensor or an array, got {type(x).__name__}") from e


def _host(a: Any) -> numpy.ndarray:
    return numpy.asarray(backend.transfer(a, backend.CPU))


def _mismatch(name: str, pred, true, why: str) -> ValueError:
    return ValueError(
        f"{name}: shape mismatch between y_pred {tuple(pred.shape)} and y_true {tuple(true.shape)} ({why})"
    )


def _true_labels(name: str, pred, true, xp):
    """``y_true`` as a 1-D integer label array (accepts (N,), (N, 1) and one-hot (N, C))."""
    if true.ndim == 2 and true.shape[1] == 1:
        true = true.reshape(-1)
    elif true.ndim == 2:
        if pred.ndim != 2 or pred.shape[1] != true.shape[1]:
            raise _mismatch(name, pred, true, "one-hot y_true needs y_pred of the same (N, C) shape")
        true = xp.argmax(true, axis=1)
    elif true.ndim != 1:
        raise _mismatch(name, pred, true, "y_true must be labels (N,) or one-hot (N, C)")
    if true.dtype.kind == "f":
        true = true.astype(xp.int64)
    return true


def _pred_labels(name: str, pred, true, xp, threshold: float | None, from_logits: bool):
    """Class labels predicted by ``y_pred`` (argmax of scores, thresholded binary scores, or labels)."""
    if pred.ndim == 2 and pred.shape[1] > 1:
        return xp.argmax(pred, axis=1)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred.reshape(-1)
    if pred.ndim != 1:
        raise _mismatch(name, pred, true, "y_pred must be scores (N, C), binary scores (N,)/(N, 1) or labels (N,)")
    if pred.dtype.kind == "f":
        t = threshold if threshold is not None else (0.0 if from_logits else 0.5)
        return (pred > t).astype(xp.int64)
    return pred.astype(xp.int64)


def _labels(name: str, y_pred, y_true, threshold=None, from_logits=False):
    pred, true = _array(y_pred, name), _array(y_true, name)
    xp = backend.array_module(pred)
    if backend.array_module(true) is not xp:
        true = backend.transfer(true, backend.device_of(pred))
    if pred.ndim >= 3 and pred.shape[:-1] == true.shape:  # sequences: (N, T, C) scores, (N, T) labels
        pred, true = pred.reshape(-1, pred.shape[-1]), true.reshape(-1)
    t = _true_labels(name, pred, true, xp)
    p = _pred_labels(name, pred, true, xp, threshold, from_logits)
    if p.shape[0] != t.shape[0]:
        raise _mismatch(name, pred, true, f"{p.shape[0]} predictions vs {t.shape[0]} targets")
    return p, t, xp


def _regression_pair(name: str, y_pred, y_true):
    pred, true = _array(y_pred, name), _array(y_true, name)
    xp = backend.array_module(pred)
    if backend.array_module(true) is not xp:
        true = backend.transfer(true, backend.device_of(pred))
    if pred.shape != true.shape:
        # (N,) against (N, 1) is the same column.
        if pred.ndim >= 1 and pred.shape[0:1] == true.shape[0:1] and pred.size == true.size == pred.shape[0]:
            pred, true = pred.reshape(-1), true.reshape(-1)
        else:
            raise _mismatch(name, pred, true, "regression targets must have the prediction's shape")
    if pred.ndim > 2:
        raise _mismatch(name, pred, true, "expected (N,) or (N, D)")
    return pred.astype(xp.float64), true.astype(xp.float64), xp


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return int(k)


# -------------------------------------------------------------------------------------- metrics


class Metric:
    """Base class: ``update(y_pred, y_true)``, ``result()``, ``reset()`` and ``name``."""

    name = "metric"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            self.name = name
        self.reset()

    def reset(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, y_pred: Any, y_true: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_pred: Any, y_true: Any) -> Any:
        """Update with one batch and return the running result."""
        self.update(y_pred, y_true)
        return self.result()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target (see the module docstring)."""

    name = "accuracy"

    def __init__(self, threshold: float | None = None, from_logits: bool = False, name: str | None = None):
        self.threshold, self.from_logits = threshold, from_logits
        super().__init__(name)

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, y_pred: Any, y_true: Any) -> None:
        p, t, xp = _labels(self.name, y_pred, y_true, self.threshold, self.from_logits)
        self.correct = self.correct + xp.sum(p == t)  # stays on the device: one host sync in result()
        self.count += int(t.shape[0])

    def result(self) -> float:
        return int(self.correct) / self.count if self.count else math.nan


class TopKAccuracy(Metric):
    """Fraction of samples whose target is among the ``k`` highest scores of ``y_pred`` (N, C).

    Ties count in the target's favour (a target tied with the k-th score is a hit).
    """

    def __init__(self, k: int = 5, name: str | None = None):
        self.k = _check_k(k)
        self.name = f"top{self.k}_accuracy"
        super().__init__(name)

    def reset(self) -> None:
        self.correct, self.count = 0, 0

    def update(self, y_pred: Any, y_true: Any) -> None:
        pred, true = _array(y_pred, self.name), _array(y_true, self.name)
        xp = backend.array_module(pred)
        if pred.ndim != 2:
            raise _mismatch(self.name, pred, true, "top-k accuracy needs scores of shape (N, C)")
        if backend.array_module(true) is not xp:
            true = backend.transfer(true, backend.device_of(pred))
        t = _true_labels(self.name, pred, true, xp)
        if t.shape[0] != pred.shape[0]:
            raise _mismatch(self.name, pred, true, f"{pred.shape[0]} predictions vs {t.shape[0]} targets")
        n, c = pred.shape
        if n == 0:
            return
        if bool(((t < 0) | (t >= c)).any()):  # one host sync on a GPU
            raise ValueError(f"{self.name}: labels must lie in [0, {c}) for scores of shape {tuple(pred.shape)}")
        target_score = xp.take_along_axis(pred, t.reshape(-1, 1).astype(xp.int64), axis=1)
        higher = xp.sum(pred > target_score, axis=1)
        self.correct = self.correct + xp.sum(higher < self.k)  # on the device until result()
        self.count += int(n)

    def result(self) -> float:
        return int(self.correct) / self.count if self.count else math.nan


class _ClassCounts(Metric):
    """Per-class counts kept as a (growing or fixed-size) confusion matrix on the host."""

    def __init__(self, num_classes: int | None = None, threshold: float | None = None,
                 from_logits: bool = False, name: str | None = None):
        bad = isinstance(num_classes, bool) or not isinstance(num_classes, (int, numpy.integer)) or num_classes < 1
        if num_classes is not None and bad:
            raise ValueError(f"num_classes must be a positive int or None, got {num_classes!r}")
        self.num_classes = None if num_classes is None else int(num_classes)
        self.threshold, self.from_logits = threshold, from_logits
        super().__init__(name)

    def reset(self) -> None:
        c = self.num_classes or 0
        self.matrix = numpy.zeros((c, c), dtype=numpy.int64)

    def update(self, y_pred: Any, y_true: Any) -> None:
        p, t, xp = _labels(self.name, y_pred, y_true, self.threshold, self.from_logits)
        if t.shape[0] == 0:
            return
        lo = min(int(xp.min(p)), int(xp.min(t)))
        hi = max(int(xp.max(p)), int(xp.max(t)))
        if lo < 0:
            raise ValueError(f"{self.name}: class labels must be non-negative, got {lo}")
        if self.num_classes is not None and hi >= self.num_classes:
            raise ValueError(f"{self.name}: label {hi} out of range for num_classes={self.num_classes}")
        c = max(self.matrix.shape[0], hi + 1)
        if c > self.matrix.shape[0]:
            grown = numpy.zeros((c, c), dtype=numpy.int64)
            k = self.matrix.shape[0]
            grown[:k, :k] = self.matrix
            self.matrix = grown
        counts = xp.bincount(t * c + p, minlength=c * c).reshape(c, c)
        self.matrix += _host(counts).astype(numpy.int64)


class ConfusionMatrix(_ClassCounts):
    """``result()[i, j]`` = number of samples of true class ``i`` predicted as ``j`` (a NumPy array).

    With ``num_classes=None`` the matrix grows to the largest label seen.
    """

    name = "confusion_matrix"

    def result(self) -> numpy.ndarray:
        return self.matrix.copy()


_AVERAGES = ("macro", "micro", "weighted")


class _PRF(_ClassCounts):
    kind = ""

    def __init__(self, average: str = "macro", num_classes: int | None = None, threshold: float | None = None,
                 from_logits: bool = False, name: str | None = None):
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {', '.join(map(repr, _AVERAGES))}, got {average!r}")
        self.average = average
        super().__init__(num_classes, threshold, from_logits, name)

    def result(self) -> float:
        m = self.matrix
        if m.sum() == 0:
            return math.nan
        tp = numpy.diag(m).astype(numpy.float64)
        true = m.sum(axis=1).astype(numpy.float64)  # support: tp + fn
        pred = m.sum(axis=0).astype(numpy.float64)  # tp + fp
        seen = (true + pred) > 0  # scikit-learn's default label set: classes in y_true or y_pred
        tp, true, pred = tp[seen], true[seen], pred[seen]
        if self.average == "micro":
            tp, true, pred = tp.sum(keepdims=True), true.sum(keepdims=True), pred.sum(keepdims=True)
        if self.kind == "precision":
            num, den = tp, pred
        elif self.kind == "recall":
            num, den = tp, true
        else:
            num, den = 2 * tp, true + pred
        score = numpy.divide(num, den, out=numpy.zeros_like(num), where=den > 0)  # zero_division=0
        if self.average == "weighted":
            return float(numpy.sum(score * true) / true.sum()) if true.sum() else 0.0
        return float(score.mean())


class Precision(_PRF):
    """Precision ``TP / (TP + FP)``, averaged ``'macro'`` (default), ``'micro'`` or ``'weighted'``."""

    name, kind = "precision", "precision"


class Recall(_PRF):
    """Recall ``TP / (TP + FN)``, averaged ``'macro'`` (default), ``'micro'`` or ``'weighted'``."""

    name, kind = "recall", "recall"


class F1Score(_PRF):
    """F1 ``2TP / (2TP + FP + FN)``, averaged ``'macro'`` (default), ``'micro'`` or ``'weighted'``."""

    name, kind = "f1", "f1"


class MeanAbsoluteError(Metric):
    """Mean of ``|y_pred - y_true|`` over all elements (scikit-learn's uniform average over outputs)."""

    name = "mae"

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, y_pred: Any, y_true: Any) -> None:
        p, t, xp = _regression_pair(self.name, y_pred, y_true)
        self.total += float(xp.sum(xp.abs(p - t)))
        self.count += int(p.size)

    def result(self) -> float:
        return self.total / self.count if self.count else math.nan


class MeanSquaredError(MeanAbsoluteError):
    """Mean of ``(y_pred - y_true)**2`` over all elements."""

    name = "mse"

    def update(self, y_pred: Any, y_true: Any) -> None:
        p, t, xp = _regression_pair(self.name, y_pred, y_true)
        d = p - t
        self.total += float(xp.sum(d * d))
        self.count += int(p.size)


class R2Score(Metric):
    """Coefficient of determination, per output then averaged uniformly (scikit-learn's default).

    Keeps per-output count, mean and centred sum of squares of ``y_true`` (merged batch by batch
    with Chan's parallel update, which avoids cancellation) and the residual sum of squares. A
    constant target gives 1.0 when predicted exactly and 0.0 otherwise (scikit-learn's
    ``force_finite=True``).
    """

    name = "r2"

    def reset(self) -> None:
        self.n = 0
        self.mean = self.m2 = self.ss_res = None

    def update(self, y_pred: Any, y_true: Any) -> None:
        p, t, xp = _regression_pair(self.name, y_pred, y_true)
        if p.shape[0] == 0:
            return
        if p.ndim == 1:
            p, t = p.reshape(-1, 1), t.reshape(-1, 1)
        if self.mean is not None and self.mean.shape[0] != t.shape[1]:
            raise ValueError(f"{self.name}: batch has {t.shape[1]} outputs, earlier batches had {self.mean.shape[0]}")
        nb = int(t.shape[0])
        mb = xp.mean(t, axis=0)
        m2b = _host(xp.sum((t - mb) ** 2, axis=0))
        mb = _host(mb)
        res = _host(xp.sum((t - p) ** 2, axis=0))
        if self.mean is None:
            self.n, self.mean, self.m2, self.ss_res = nb, mb, m2b, res
            return
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2b + delta * delta * (self.n * nb / n)
        self.ss_res = self.ss_res + res
        self.n = n

    def result(self) -> float:
        if self.n == 0:
            return math.nan
        ok = self.m2 > 0
        r2 = numpy.where(self.ss_res == 0, 1.0, 0.0)
        r2[ok] = 1.0 - self.ss_res[ok] / self.m2[ok]
        return float(r2.mean())


# ----------------------------------------------------------------------------------- functional


def _once(metric: Metric, y_pred: Any, y_true: Any) -> Any:
    metric.update(y_pred, y_true)
    return metric.result()


def accuracy(y_pred: Any, y_true: Any, threshold: float | None = None, from_logits: bool = False) -> float:
    return _once(Accuracy(threshold, from_logits), y_pred, y_true)


def top_k_accuracy(y_pred: Any, y_true: Any, k: int = 5) -> float:
    return _once(TopKAccuracy(k), y_pred, y_true)


def precision(y_pred: Any, y_true: Any, average: str = "macro", **kw: Any) -> float:
    return _once(Precision(average, **kw), y_pred, y_true)


def recall(y_pred: Any, y_true: Any, average: str = "macro", **kw: Any) -> float:
    return _once(Recall(average, **kw), y_pred, y_true)


def f1_score(y_pred: Any, y_true: Any, average: str = "macro", **kw: Any) -> float:
    return _once(F1Score(average, **kw), y_pred, y_true)


def confusion_matrix(y_pred: Any, y_true: Any, num_classes: int | None = None, **kw: Any) -> numpy.ndarray:
    return _once(ConfusionMatrix(num_classes, **kw), y_pred, y_true)


def mean_absolute_error(y_pred: Any, y_true: Any) -> float:
    return _once(MeanAbsoluteError(), y_pred, y_true)


def mean_squared_error(y_pred: Any, y_true: Any) -> float:
    return _once(MeanSquaredError(), y_pred, y_true)


def r2_score(y_pred: Any, y_true: Any) -> float:
    return _once(R2Score(), y_pred, y_true)


# ------------------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Any] = {
    "accuracy": Accuracy, "acc": Accuracy,
    "top_k_accuracy": TopKAccuracy,
    "precision": Precision, "recall": Recall, "f1": F1Score, "f1_score": F1Score,
    "confusion_matrix": ConfusionMatrix,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "r2": R2Score, "r2_score": R2Score,
}
METRIC_NAMES = tuple(sorted(_REGISTRY)) + ("top<k>_accuracy",)
_TOPK = re.compile(r"top_?(\d+)_acc(uracy)?")


def get_metric(metric: Any, **kwargs: Any) -> Metric:
    """A metric from a name (``"accuracy"``, ``"acc"``, ``"top5_accuracy"``, ``"f1"``, ``"mse"``, ...),
    a :class:`Metric` subclass, or an instance (returned as is). ``kwargs`` go to the constructor."""
    if isinstance(metric, Metric):
        if kwargs:
            raise ValueError("get_metric: keyword arguments cannot be applied to a metric instance")
        return metric
    if isinstance(metric, type) and issubclass(metric, Metric):
        return metric(**kwargs)
    if not isinstance(metric, str):
        raise TypeError(f"get_metric: expected a metric name, Metric class or instance, got {type(metric).__name__}")
    key = metric.strip().lower()
    m = _TOPK.fullmatch(key)
    if m:
        return TopKAccuracy(k=int(m.group(1)), **kwargs)
    if key not in _REGISTRY:
        raise ValueError(f"unknown metric {metric!r}; valid names: {', '.join(METRIC_NAMES)}")
    return _REGISTRY[key](**kwargs)
