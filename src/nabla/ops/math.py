"""Math functions: exp, log, log1p, sqrt, rsqrt, sin, cos, abs, erf, sign, maximum/minimum, clamp.

``erf`` uses the special-function module of the input's device (``backend.special``).
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import Mask, binary, float_tensor, tensor_arg, unbroadcast
from .comparison import where


class Exp(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, g):
        return g * self.saved_output()


def exp(x: Tensor) -> Tensor:
    return Exp.apply(float_tensor(x, "exp"))


class Log(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


def log(x: Tensor) -> Tensor:
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
