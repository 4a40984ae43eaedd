"""Math functions: exp, log, log1p, sqrt, rsqrt, sin, cos, abs, erf, sign, maximum/minimum, clamp; and tan,
sinh, cosh, asin, acos, atan, atan2, expm1, log2, log10, reciprocal, floor/ceil/round/trunc.

``erf`` uses the special-function module of the input's device (``backend.special``).
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function
from ..backend import array_module as _xp
from ..mixed_precision import FP32, autocast_inputs, state as _amp
from ..tensor import Tensor
from .common import Mask, binary, float_tensor, tensor_arg, unbroadcast
from .comparison import where


class Exp(Function):
    save_output = True
    compiled_forward = "{xp}.exp({0})"
    compiled_ufunc = "exp"

    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, g):
        return g * self.saved_output()

    def compiled_backward(self, g, ins, out, needs):
        return (g * out,)


def exp(x: Tensor) -> Tensor:
    if _amp.enabled:
        (x,) = autocast_inputs(FP32, "exp", x)
    return Exp.apply(float_tensor(x, "exp"))


class Log(Function):
    save_inputs = True
    compiled_forward = "{xp}.log({0})"
    compiled_ufunc = "log"

    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]

    def compiled_backward(self, g, ins, out, needs):
        return (g / ins[0],)


def log(x: Tensor) -> Tensor:
    if _amp.enabled:
        (x,) = autocast_inputs(FP32, "log", x)
    return Log.apply(float_tensor(x, "log"))


class Log1p(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).log1p(x)

    def backward(self, g):
        return g / (self.inputs[0] + 1)


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(float_tensor(x, "log1p"))


class Sqrt(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).sqrt(x)

    def backward(self, g):
        return g / (self.saved_output() * 2)


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(float_tensor(x, "sqrt"))


class Rsqrt(Function):
    save_output = True

    def forward(self, x):
        xp = _xp(x)
        return xp.reciprocal(xp.sqrt(x))

    def backward(self, g):
        out = self.saved_output()
        return g * out * out * out * -0.5


def rsqrt(x: Tensor) -> Tensor:
    return Rsqrt.apply(float_tensor(x, "rsqrt"))


class Sin(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).sin(x)

    def backward(self, g):
        return g * cos(self.inputs[0])


def sin(x: Tensor) -> Tensor:
    return Sin.apply(float_tensor(x, "sin"))


class Cos(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).cos(x)

    def backward(self, g):
        return -g * sin(self.inputs[0])


def cos(x: Tensor) -> Tensor:
    return Cos.apply(float_tensor(x, "cos"))


class Abs(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).abs(x)

    def backward(self, g):
        return g * sign(self.inputs[0])


def abs(x: Tensor) -> Tensor:
    return Abs.apply(tensor_arg(x, "abs"))


def _erf(x):
    """``erf`` of an array, in its dtype (SciPy's ufunc computes float32 in float64)."""
    return backend.special(x).erf(x).astype(x.dtype, copy=False)


class Erf(Function):
    save_inputs = True

    def forward(self, x):
        return _erf(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * exp(-x * x) * (2 / math.sqrt(math.pi))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(float_tensor(x, "erf"))


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 per element (no gradient)."""
    x = tensor_arg(x, "sign")
    return Tensor._wrap(_xp(x._data).sign(x._data))


class Maximum(Function):
    """Elementwise max; where the inputs tie, each gets half the gradient (as in PyTorch).

    Each side gets the gradient unless it lost, so where a NaN is compared both sides get it.
    """

    def forward(self, a, b, take_max):
        xp = _xp(a)
        self.shapes = a.shape, b.shape
        a_loses, b_loses = (a < b, a > b) if take_max else (a > b, a < b)
        tie = 0.5 * (a == b)
        self.weights = (1 - a_loses - tie).astype(a.dtype), (1 - b_loses - tie).astype(a.dtype)
        return xp.maximum(a, b) if take_max else xp.minimum(a, b)

    def backward(self, g):
        wa, wb = self.weights
        pa, pb = self.parents
        sa, sb = self.shapes
        ga = unbroadcast(g * Tensor._wrap(wa), sa) if pa is not None else None
        gb = unbroadcast(g * Tensor._wrap(wb), sb) if pb is not None else None
        return ga, gb


def maximum(a: Any, b: Any) -> Tensor:
    return binary(Maximum, a, b, "maximum", take_max=True)


def minimum(a: Any, b: Any) -> Tensor:
    return binary(Maximum, a, b, "minimum", take_max=False)


class Clamp(Function):
    def forward(self, x, lo, hi):
        xp = _xp(x)
        mask = None
        out = x
        if lo is not None:
            mask = x >= lo
            out = xp.maximum(out, lo)
        if hi is not None:
            m = x <= hi
            mask = m if mask is None else mask & m
            out = xp.minimum(out, hi)
        self.mask = mask
        return out.astype(x.dtype, copy=False)

    def backward(self, g):
        return Mask.apply(g, mask=self.mask)

    def compiled_backward(self, g, ins, out, needs):
        return (g * self.mask,)


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit ``x`` to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    x = tensor_arg(x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    if x._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = float_tensor(x, "clamp")  # an int tensor clamped to a float bound becomes float, as in PyTorch
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Where x equals a bound, x keeps the whole gradient (as in PyTorch; maximum() would split it).
        out = x
        if min is not None:
            out = where(x < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    return Clamp.apply(x, lo=min, hi=max)



# ------------------------------------------------------------------------ more of PyTorch's math


class Tan(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).tan(x)

    def backward(self, g):
        out = self.saved_output()
        return g * (out * out + 1)


def tan(x: Tensor) -> Tensor:
    return Tan.apply(float_tensor(x, "tan"))


class Sinh(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).sinh(x)

    def backward(self, g):
        return g * cosh(self.inputs[0])


def sinh(x: Tensor) -> Tensor:
    return Sinh.apply(float_tensor(x, "sinh"))


class Cosh(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).cosh(x)

    def backward(self, g):
        return g * sinh(self.inputs[0])


def cosh(x: Tensor) -> Tensor:
    return Cosh.apply(float_tensor(x, "cosh"))


class Asin(Function):
    """``d asin(x) = 1 / sqrt(1 - x^2)``; ``acos`` is ``pi/2 - asin``."""

    save_inputs = True

    def forward(self, x):
        return _xp(x).arcsin(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * rsqrt(1 - x * x)


def asin(x: Tensor) -> Tensor:
    return Asin.apply(float_tensor(x, "asin"))


def acos(x: Tensor) -> Tensor:
    return (math.pi / 2) - asin(x)


class Atan(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).arctan(x)

    def backward(self, g):
        x = self.inputs[0]
        return g / (x * x + 1)


def atan(x: Tensor) -> Tensor:
    return Atan.apply(float_tensor(x, "atan"))


class Atan2(Function):
    """The angle of the point (x, y): ``d/dy = x / r^2``, ``d/dx = -y / r^2``."""

    save_inputs = True

    def forward(self, y, x):
        return _xp(y).arctan2(y, x)

    def backward(self, g):
        y, x = self.inputs
        r2 = x * x + y * y
        gy = unbroadcast(g * x / r2, y.shape) if self.parents[0] is not None else None
        gx = unbroadcast(-g * y / r2, x.shape) if self.parents[1] is not None else None
        return gy, gx


def atan2(input: Tensor, other: Tensor) -> Tensor:
    """``atan2(y, x)`` elementwise (``input`` is y), in (-pi, pi]."""
    return binary(Atan2, float_tensor(input, "atan2"), other, "atan2")


class Expm1(Function):
    """``exp(x) - 1`` without cancellation near 0."""

    save_output = True

    def forward(self, x):
        return _xp(x).expm1(x)

    def backward(self, g):
        return g * (self.saved_output() + 1)


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(float_tensor(x, "expm1"))


def log2(x: Tensor) -> Tensor:
    return log(x) * (1 / math.log(2))


def log10(x: Tensor) -> Tensor:
    return log(x) * (1 / math.log(10))


def reciprocal(x: Tensor) -> Tensor:
    return 1.0 / float_tensor(x, "reciprocal")


class Rounding(Function):
    """floor / ceil / round (half to even, as PyTorch) / trunc: piecewise constant, gradient 0."""

    def forward(self, x, how):
        self.shape = x.shape
        return getattr(_xp(x), how)(x)

    def backward(self, g):
        return Tensor._wrap(g._xp.zeros(self.shape, dtype=g.dtype))


def _rounding(x: Any, how: str, op: str) -> Tensor:
    x = tensor_arg(x, op)
    if x.dtype.kind != "f":
        return x.clone()  # integers are already whole
    return Rounding.apply(x, how=how)


def floor(x: Tensor) -> Tensor:
    return _rounding(x, "floor", "floor")


def ceil(x: Tensor) -> Tensor:
    return _rounding(x, "ceil", "ceil")


def round(x: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even; ``decimals`` digits after the point (negative: before it)."""
    if decimals:
        scale = 10.0 ** decimals
        return _rounding(x * scale, "rint", "round") / scale
    return _rounding(x, "rint", "round")


def trunc(x: Tensor) -> Tensor:
    return _rounding(x, "trunc", "trunc")
