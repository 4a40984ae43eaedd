"""Activations and softmax with ``torch.nn.functional``'s names and arguments.

Thin checked wrappers over the primitives in ``nabla.ops`` (``ops/activation.py``, ``ops/softmax.py``);
the rarer ones at the end (silu, mish, hardtanh, relu6, hardsigmoid, hardswish, softsign, logsigmoid,
softmin, selu, celu, glu, tanhshrink, threshold) are compositions of those primitives.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..ops import (
    clamp as _clamp,
    elu as _elu,
    gelu as _gelu,
    leaky_relu as _leaky_relu,
    log_softmax as _log_softmax,
    relu as _relu,
    sigmoid as _sigmoid,
    softmax as _softmax,
    softplus as _softplus,
    tanh as _tanh,
    where as _where,
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


# ------------------------------------------------------------------ compositions of the primitives


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """SiLU / swish: ``x * sigmoid(x)`` (Elfwing et al., 2017; Ramachandran et al., 2017)."""
    check_float(input, "input", "silu")
    return input * _sigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """Mish: ``x * tanh(softplus(x))`` (Misra, 2019)."""
    check_float(input, "input", "mish")
    return input * _tanh(_softplus(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clipped to ``[min_val, max_val]`` (gradient 1 inside, 0 outside)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _clamp(check_float(input, "input", "hardtanh"), min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (MobileNet's activation)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """The piecewise-linear sigmoid ``relu6(x + 3) / 6``."""
    return relu6(input + 3.0) / 6.0


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""
    return input * hardsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    check_float(input, "input", "softsign")
    return input / (input.abs() + 1.0)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, finite for large negative ``x``."""
    check_float(input, "input", "logsigmoid")
    return -_softplus(-input)


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """``softmax(-x)`` along ``dim``."""
    check_tensor(input, "input", "softmin")
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(-input, _softmax_dim(input.ndim, dim, "softmin"))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Self-normalising ELU (Klambauer et al., 2017): ``scale * elu(x, alpha)`` with the paper's constants."""
    check_float(input, "input", "selu")
    return _elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` = ``alpha * elu(x / alpha)``."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (the formula divides by it)")
    check_float(input, "input", "celu")
    return _elu(input / alpha, 1.0) * alpha


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit (Dauphin et al., 2017): halves ``a, b`` of ``dim``, then ``a * sigmoid(b)``."""
    check_float(input, "input", "glu")
    if input.ndim == 0:
        raise ValueError("glu: does not support scalars (0-d tensors)")
    n = input.shape[dim]
    if n % 2:
        raise ValueError(f"glu: halving dimension {dim} must have an even size, but it is {n} (shape {input.shape})")
    a, b = input.split(n // 2, dim)
    return a * _sigmoid(b)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    check_float(input, "input", "tanhshrink")
    return input - _tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    check_tensor(input, "input", "threshold")
    return _where(input > threshold, input, value)
