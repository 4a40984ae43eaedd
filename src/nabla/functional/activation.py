"""Activations and softmax with ``torch.nn.functional``'s names and arguments.

Thin checked wrappers over the primitives in ``nabla.ops`` (``ops/activation.py``, ``ops/softmax.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

from ..ops import (
    elu as _elu,
    gelu as _gelu,
    leaky_relu as _leaky_relu,
    log_softmax as _log_softmax,
    relu as _relu,
    sigmoid as _sigmoid,
    softmax as _softmax,
    softplus as _softplus,
    tanh as _tanh,
)
from ..ops.activation import Step
from ..tensor import Tensor
from .common import check_float, check_tensor


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; the gradient at 0 is 0.

    (``inplace`` is accepted for compatibility; nabla returns a new tensor.)
    """
    return _relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _elu(input, alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (exact, with erf), or the tanh approximation with ``approximate="tanh"``."""
    return _gelu(input, approximate)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return _sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return _softplus(input, beta, threshold)


def _softmax_dim(ndim: int, dim: int | None, op: str) -> int:
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {op} has been deprecated (as in PyTorch). Pass dim= explicitly.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (stable: the maximum is subtracted first)."""
    check_tensor(input, "input", "softmax")
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(input, _softmax_dim(input.ndim, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities without overflow."""
    check_tensor(input, "input", "log_softmax")
    if dtype is not None:
        input = input.to(dtype)
    return _log_softmax(input, _softmax_dim(input.ndim, dim, "log_softmax"))


def step(input: Tensor, value_at_zero: float = 1.0) -> Tensor:
    """Heaviside step: 1 where ``x > 0``, 0 where ``x < 0``, ``value_at_zero`` where ``x == 0``.

    Same values as ``torch.heaviside(x, value_at_zero)``. The gradient is **zero** everywhere (the
    derivative almost everywhere); PyTorch refuses to differentiate heaviside, nabla passes zeros so a
    step can sit inside a model (a perceptron) without breaking backward. It teaches nothing to the
    layers below it: that is why gradient training uses sigmoid-like activations instead.
    """
    check_float(input, "input", "step")
    return Step.apply(input, value=float(value_at_zero))
