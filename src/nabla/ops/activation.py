"""Activations: tanh, sigmoid, relu, leaky_relu, elu, gelu, softplus, and the Heaviside step.

tanh and sigmoid write their backward as one op each (``TanhBackward``, ``SigmoidBackward``): the hot
path of small tanh/sigmoid networks, still differentiable for higher-order gradients. ReLU's backward
is the shared ``common.Mask`` op.
"""

from __future__ import annotations

import math

from .. import backend
from ..autograd import Function
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import Mask, float_tensor, tensor_arg
from .comparison import where
from .math import _erf, erf, exp


class Tanh(Function):
    save_output = True
    compiled_forward = "{xp}.tanh({0})"
    compiled_ufunc = "tanh"

    def forward(self, x):
        return _xp(x).tanh(x)

    def backward(self, g):
        return TanhBackward.apply(g, self.saved_output())

    def compiled_backward(self, g, ins, out, needs):
        return (g * (1 - out * out),)


class TanhBackward(Function):
    """``g * (1 - y^2)`` in one op (the hot path of tanh networks); differentiable for create_graph."""

    save_inputs = True

    def forward(self, g, y):
        return g * (1 - y * y)

    def backward(self, gg):
        g, y = self.inputs
        pg, py = self.parents
        return (TanhBackward.apply(gg, y) if pg is not None else None), (
            gg * g * y * -2 if py is not None else None
        )


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(float_tensor(x, "tanh"))


class Sigmoid(Function):
    save_output = True
    compiled_forward = "{special}.expit({0})"
    compiled_ufunc = "special.expit"

    def forward(self, x):
        return backend.special(x).expit(x)  # the logistic ufunc: one pass, no overflow, full relative precision

    def backward(self, g):
        return SigmoidBackward.apply(g, self.saved_output())

    def compiled_backward(self, g, ins, out, needs):
        return (g * out * (1 - out),)


class SigmoidBackward(Function):
    """``g * y * (1 - y)`` in one op; differentiable for create_graph."""

    save_inputs = True

    def forward(self, g, y):
        return g * y * (1 - y)

    def backward(self, gg):
        g, y = self.inputs
        pg, py = self.parents
        return (SigmoidBackward.apply(gg, y) if pg is not None else None), (
            gg * g * (1 - y * 2) if py is not None else None
        )


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(float_tensor(x, "sigmoid"))


class Relu(Function):
    def forward(self, x):
        out = _xp(x).maximum(x, 0)
        self.mask = out != 0  # x > 0, and NaN, whose gradient PyTorch lets through
        return out

    def backward(self, g):
        return Mask.apply(g, mask=self.mask)

    def compiled_backward(self, g, ins, out, needs):
        return (g * self.mask,)


def relu(x: Tensor) -> Tensor:
    """max(x, 0); the gradient at exactly 0 is 0, as in PyTorch."""
    return Relu.apply(tensor_arg(x, "relu"))


class LeakyRelu(Function):
    """``x`` where ``x > 0``, else ``slope * x``; the gradient is 1 or ``slope`` (``slope`` at exactly 0, as PyTorch).

    ``max(x, slope x)`` for ``slope <= 1`` (``min`` above 1) is the same function in one fast ufunc pass,
    in the input's dtype; only a boolean mask is kept for the backward. (The old form built a float64
    scale array with ``where`` each call: ~10% of a DCGAN step.)
    """

    def forward(self, x, slope):
        xp = _xp(x)
        self.mask, self.slope = x > 0, slope
        if slope == 0:  # plain ReLU; max(x, 0 * x) would turn +inf into NaN
            return xp.maximum(x, 0)
        return (xp.maximum if slope <= 1 else xp.minimum)(x, x * slope)

    def backward(self, g):
        scale = self.mask.astype(g.dtype)  # 1 where x > 0, then 1 -> 1 and 0 -> slope, in g's dtype
        scale *= 1 - self.slope
        scale += self.slope
        return Mask.apply(g, mask=scale)  # differentiable: its backward is the same product


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu.apply(float_tensor(x, "leaky_relu"), slope=negative_slope)


class Elu(Function):
    save_inputs = True
    save_output = True

    def forward(self, x, alpha):
        xp = _xp(x)
        self.alpha = alpha
        # max(x, 0) + alpha (e^min(x, 0) - 1): exactly x or alpha (e^x - 1), in x's dtype, without a slow where
        return (xp.maximum(x, 0) + alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        return where(x > 0, g, g * (self.saved_output() + self.alpha))


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return Elu.apply(float_tensor(x, "elu"), alpha=alpha)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


class Gelu(Function):
    """GELU: ``x * Phi(x)`` exactly (erf), or the tanh approximation with ``approximate="tanh"``."""

    save_inputs = True

    def forward(self, x, approximate):
        xp = _xp(x)
        self.approximate = approximate
        if approximate == "tanh":
            return (0.5 * x * (1 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x))))).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + _erf(x * (1 / math.sqrt(2))))).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        if self.approximate == "tanh":
            inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
            t = tanh(inner)
            dinner = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            return g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * dinner)
        cdf = (erf(x * (1 / math.sqrt(2))) + 1) * 0.5
        pdf = exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi))
        return g * (cdf + x * pdf)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(float_tensor(x, "gelu"), approximate=approximate)


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold`` (as PyTorch)."""

    save_inputs = True

    def forward(self, x, beta, threshold):
        xp = _xp(x)
        self.beta, self.threshold = beta, threshold
        bx = x * beta
        return xp.where(bx > threshold, x, xp.logaddexp(0, bx) / beta).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        bx = x * self.beta
        return where(bx > self.threshold, g, g * sigmoid(bx))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(float_tensor(x, "softplus"), beta=beta, threshold=threshold)


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
