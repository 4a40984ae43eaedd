"""Arithmetic: add, sub, mul, div, pow, neg.

Binary ops broadcast like NumPy (and promote dtypes as PyTorch does, see ``common.operands``); their
backward sums each gradient back to its input's shape (``common.unbroadcast``).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .common import binary, operands, unbroadcast, unbroadcast_array
from .comparison import where
from .convert import cast
from .math import log


class Add(Function):
    compiled_forward = "{0} + {1}"  # graph mode (nabla.compile) inlines it: the state is shapes only
    compiled_ufunc = "add"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        return (unbroadcast(g, sa) if pa is not None else None), (unbroadcast(g, sb) if pb is not None else None)

    def compiled_backward(self, g, ins, out, needs):  # graph mode (nabla.compile): arrays in, arrays out
        sa, sb = self.shapes
        return (unbroadcast_array(g, sa) if needs[0] else None), (unbroadcast_array(g, sb) if needs[1] else None)


def add(a: Any, b: Any) -> Tensor:
    """``a + b`` with broadcasting."""
    return binary(Add, a, b, "add")


class Sub(Function):
    compiled_forward = "{0} - {1}"
    compiled_ufunc = "subtract"

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        return (unbroadcast(g, sa) if pa is not None else None), (unbroadcast(-g, sb) if pb is not None else None)

    def compiled_backward(self, g, ins, out, needs):
        sa, sb = self.shapes
        return (unbroadcast_array(g, sa) if needs[0] else None), (unbroadcast_array(-g, sb) if needs[1] else None)


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` with broadcasting."""
    return binary(Sub, a, b, "sub")


class Mul(Function):
    save_inputs = True
    compiled_forward = "{0} * {1}"
    compiled_ufunc = "multiply"

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        pa, pb = self.parents
        ga = unbroadcast(g * b, a.shape) if pa is not None else None
        gb = unbroadcast(g * a, b.shape) if pb is not None else None
        return ga, gb

    def compiled_backward(self, g, ins, out, needs):
        a, b = ins
        return (unbroadcast_array(g * b, a.shape) if needs[0] else None,
                unbroadcast_array(g * a, b.shape) if needs[1] else None)


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` with broadcasting."""
    return binary(Mul, a, b, "mul")


class Div(Function):
    save_inputs = True
    compiled_forward = "{0} / {1}"
    compiled_ufunc = "true_divide"

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        pa, pb = self.parents
        ga = g / b
        gb = unbroadcast(-ga * a / b, b.shape) if pb is not None else None
        return (unbroadcast(ga, a.shape) if pa is not None else None), gb

    def compiled_backward(self, g, ins, out, needs):
        a, b = ins
        ga = g / b
        gb = unbroadcast_array(-ga * a / b, b.shape) if needs[1] else None
        return (unbroadcast_array(ga, a.shape) if needs[0] else None), gb


def div(a: Any, b: Any) -> Tensor:
    """True division ``a / b``; integer inputs give a float result, as in PyTorch."""
    a, b = operands(a, b, "div")
    if a.dtype.kind != "f":
        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return binary(Div, a, b, "div")


class Pow(Function):
    """``a ** b`` with both sides tensors; d/db is ``out * log(a)``, taken as 0 where a == 0 and b >= 0.

    d/da is taken as 0 where b == 0 (``b * a**(b-1)`` would be ``0 * inf`` at a == 0), as in PyTorch.
    """

    save_inputs = True
    save_output = True

    def forward(self, a, b):
        return a**b

    def backward(self, g):
        a, b = self.inputs
        out = self.saved_output()
        ga = where(b == 0, 0.0, g * b * a ** (b - 1))
        zero = (a == 0) & (b >= 0)
        gb = g * where(zero, 0.0, out * log(where(zero, 1.0, a)))
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


class PowScalar(Function):
    """``x ** p`` for a Python number ``p`` (the common case: no gradient for the exponent)."""

    save_inputs = True
    compiled_forward = "{0} ** {p}"

    def forward(self, x, p):
        self.p = p
        return x**p

    def backward(self, g):
        (x,) = self.inputs
        p = self.p
        if p == 2:
            return g * 2 * x
        if p == 0:  # constant 1: zero gradient, also at x == 0 where p * x**(p-1) is 0 * inf
            return g * 0
        return g * p * x ** (p - 1)

    def compiled_backward(self, g, ins, out, needs):
        (x,) = ins
        p, t = self.p, x.dtype.type
        if p == 2:
            return (g * t(2) * x,)
        if p == 0:
            return (g * t(0),)
        return (g * t(p) * x ** t(p - 1),)


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b``. A Python-number exponent takes a fast path with no exponent gradient."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.dtype.kind != "f" and (b < 0 or isinstance(b, float)):
            a = cast(a, backend.get_default_dtype())
        return PowScalar.apply(a, p=b)
    return binary(Pow, a, b, "pow")


class Neg(Function):
    compiled_forward = "-{0}"
    compiled_ufunc = "negative"

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g

    def compiled_backward(self, g, ins, out, needs):
        return (-g,)


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)
