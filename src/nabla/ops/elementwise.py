"""Elementwise ops: arithmetic, math functions, activations, comparisons.

Binary ops broadcast like NumPy; their backward sums each gradient back to its input's shape.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from .common import broadcast_error, operands, to_tensor, unbroadcast


def _binary(fn: type, a: Any, b: Any, op: str) -> Tensor:
    a, b = operands(a, b, op)
    try:
        return fn.apply(a, b)
    except ValueError as e:
        err = broadcast_error(op, a.shape, b.shape)
        if err is not None:
            raise err from None
        raise e


# ------------------------------------------------------------------------------------ arithmetic


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        return (unbroadcast(g, sa) if pa is not None else None), (unbroadcast(g, sb) if pb is not None else None)


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        pa, pb = self.parents
        sa, sb = self.shapes
        return (unbroadcast(g, sa) if pa is not None else None), (unbroadcast(-g, sb) if pb is not None else None)


class Mul(Function):
    save_inputs = True

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        pa, pb = self.parents
        ga = unbroadcast(g * b, a.shape) if pa is not None else None
        gb = unbroadcast(g * a, b.shape) if pb is not None else None
        return ga, gb


class Div(Function):
    save_inputs = True

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        pa, pb = self.parents
        ga = g / b
        gb = unbroadcast(-ga * a / b, b.shape) if pb is not None else None
        return (unbroadcast(ga, a.shape) if pa is not None else None), gb


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


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


def add(a: Any, b: Any) -> Tensor:
    """``a + b`` with broadcasting."""
    return _binary(Add, a, b, "add")


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` with broadcasting."""
    return _binary(Sub, a, b, "sub")


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` with broadcasting."""
    return _binary(Mul, a, b, "mul")


def div(a: Any, b: Any) -> Tensor:
    """True division ``a / b``; integer inputs give a float result, as in PyTorch."""
    a, b = operands(a, b, "div")
    if a.dtype.kind != "f":

        a, b = cast(a, backend.get_default_dtype()), cast(b, backend.get_default_dtype())
    return _binary(Div, a, b, "div")


def pow(a: Any, b: Any) -> Tensor:
    """``a ** b``. A Python-number exponent takes a fast path with no exponent gradient."""
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a.dtype.kind != "f" and (b < 0 or isinstance(b, float)):

            a = cast(a, backend.get_default_dtype())
        return PowScalar.apply(a, p=b)
    return _binary(Pow, a, b, "pow")


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


# ------------------------------------------------------------------------------ math functions


class Exp(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).exp(x)

    def backward(self, g):
        return g * self.saved_output()


class Log(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).log(x)

    def backward(self, g):
        return g / self.inputs[0]


class Log1p(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).log1p(x)

    def backward(self, g):
        return g / (self.inputs[0] + 1)


class Sqrt(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).sqrt(x)

    def backward(self, g):
        return g / (self.saved_output() * 2)


class Rsqrt(Function):
    save_output = True

    def forward(self, x):
        xp = _xp(x)
        return xp.reciprocal(xp.sqrt(x))

    def backward(self, g):
        out = self.saved_output()
        return g * out * out * out * -0.5


class Sin(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).sin(x)

    def backward(self, g):
        return g * cos(self.inputs[0])


class Cos(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).cos(x)

    def backward(self, g):
        return -g * sin(self.inputs[0])


class Abs(Function):
    save_inputs = True

    def forward(self, x):
        return _xp(x).abs(x)

    def backward(self, g):
        return g * sign(self.inputs[0])


class Erf(Function):
    save_inputs = True

    def forward(self, x):
        return _erf(x)

    def backward(self, g):
        x = self.inputs[0]
        return g * exp(-x * x) * (2 / math.sqrt(math.pi))


def _expit(x):
    if type(x).__module__.startswith("cupy"):
        from cupyx.scipy.special import expit as cupy_expit  # type: ignore[import-not-found]

        return cupy_expit(x)
    return _scipy_special().expit(x)


def _scipy_special():
    from scipy import special

    return special


def _erf(x):
    if type(x).__module__.startswith("cupy"):
        from cupyx.scipy.special import erf as cupy_erf  # type: ignore[import-not-found]

        return cupy_erf(x)
    from scipy.special import erf as scipy_erf

    return scipy_erf(x).astype(x.dtype, copy=False)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(_float(x, "exp"))


def log(x: Tensor) -> Tensor:
    return Log.apply(_float(x, "log"))


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(_float(x, "log1p"))


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(_float(x, "sqrt"))


def rsqrt(x: Tensor) -> Tensor:
    return Rsqrt.apply(_float(x, "rsqrt"))


def sin(x: Tensor) -> Tensor:
    return Sin.apply(_float(x, "sin"))


def cos(x: Tensor) -> Tensor:
    return Cos.apply(_float(x, "cos"))


def abs(x: Tensor) -> Tensor:
    return Abs.apply(_tensor(x, "abs"))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(_float(x, "erf"))


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 per element (no gradient)."""
    x = _tensor(x, "sign")
    return Tensor._wrap(_xp(x._data).sign(x._data))


# ------------------------------------------------------------------------------------ activations


class Tanh(Function):
    save_output = True

    def forward(self, x):
        return _xp(x).tanh(x)

    def backward(self, g):
        return TanhBackward.apply(g, self.saved_output())


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


class Sigmoid(Function):
    save_output = True

    def forward(self, x):
        return _expit(x)  # SciPy's logistic ufunc: one pass, no overflow, full relative precision

    def backward(self, g):
        return SigmoidBackward.apply(g, self.saved_output())


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


class Mask(Function):
    """``g`` where a fixed boolean mask is true, 0 elsewhere (the backward of ReLU-like ops)."""

    def forward(self, x, mask):
        self.mask = mask
        return x * mask

    def backward(self, g):
        return Mask.apply(g, mask=self.mask)


class Relu(Function):
    def forward(self, x):
        out = _xp(x).maximum(x, 0)
        self.mask = out != 0  # x > 0, and NaN, whose gradient PyTorch lets through
        return out

    def backward(self, g):
        return Mask.apply(g, mask=self.mask)


class LeakyRelu(Function):
    def forward(self, x, slope):
        xp = _xp(x)
        self.scale = xp.where(x > 0, 1, slope).astype(x.dtype)
        return x * self.scale

    def backward(self, g):
        return g * Tensor._wrap(self.scale)


class Elu(Function):
    save_inputs = True
    save_output = True

    def forward(self, x, alpha):
        xp = _xp(x)
        self.alpha = alpha
        return xp.where(x > 0, x, alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.inputs[0]
        return where(x > 0, g, g * (self.saved_output() + self.alpha))


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


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(_float(x, "tanh"))


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(_float(x, "sigmoid"))


def relu(x: Tensor) -> Tensor:
    """max(x, 0); the gradient at exactly 0 is 0, as in PyTorch."""
    return Relu.apply(_tensor(x, "relu"))


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyRelu.apply(_float(x, "leaky_relu"), slope=negative_slope)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    return Elu.apply(_float(x, "elu"), alpha=alpha)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(_float(x, "gelu"), approximate=approximate)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(_float(x, "softplus"), beta=beta, threshold=threshold)


# ------------------------------------------------------------------------------ clamp, max, where


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


class Where(Function):
    def forward(self, a, b, cond):
        self.cond = cond
        self.shapes = a.shape, b.shape
        return _xp(a).where(cond, a, b)

    def backward(self, g):
        sa, sb = self.shapes
        zero = Tensor._wrap(g._xp.zeros((), dtype=g.dtype))
        return (
            unbroadcast(Where.apply(g, zero, cond=self.cond), sa),
            unbroadcast(Where.apply(zero, g, cond=self.cond), sb),
        )


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit ``x`` to ``[min, max]``; the gradient passes where ``min <= x <= max``."""
    x = _tensor(x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    if x._data.dtype.kind != "f" and (isinstance(min, float) or isinstance(max, float)):
        x = _float(x, "clamp")  # an int tensor clamped to a float bound becomes float, as in PyTorch
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Where x equals a bound, x keeps the whole gradient (as in PyTorch; maximum() would split it).
        out = x
        if min is not None:
            out = where(x < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    return Clamp.apply(x, lo=min, hi=max)


def maximum(a: Any, b: Any) -> Tensor:
    return _binary_kw(Maximum, a, b, "maximum", take_max=True)


def minimum(a: Any, b: Any) -> Tensor:
    return _binary_kw(Maximum, a, b, "minimum", take_max=False)


def _binary_kw(fn: type, a: Any, b: Any, op: str, **kw: Any) -> Tensor:
    a, b = operands(a, b, op)
    try:
        return fn.apply(a, b, **kw)
    except ValueError as e:
        err = broadcast_error(op, a.shape, b.shape)
        if err is not None:
            raise err from None
        raise e


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` is true, else ``b`` (all three broadcast together)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:

        a = Tensor(a, dtype=backend.get_default_dtype() if isinstance(a, float) else None)
    a, b = operands(a, b, "where")
    xp = _xp(a._data)
    cond = xp.asarray(cond)
    if cond.dtype.kind != "b":
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}; compare first (e.g. x > 0)")
    err = broadcast_error("where", cond.shape, a.shape, b.shape)
    if err is not None:
        raise err
    return Where.apply(a, b, cond=cond)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` where ``mask`` is true (gradient 0 there)."""
    return where(mask, value, x)


# ----------------------------------------------------------------------------- comparisons (no grad)


def _compare(a: Any, b: Any, op: str, fn: Any) -> Tensor:
    a, b = operands(a, b, op)
    try:
        return Tensor._wrap(fn(a._data, b._data))
    except ValueError:
        err = broadcast_error(op, a.shape, b.shape)
        if err is not None:
            raise err from None
        raise


def eq(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "eq", lambda x, y: x == y)


def ne(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "ne", lambda x, y: x != y)


def lt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "lt", lambda x, y: x < y)


def le(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "le", lambda x, y: x <= y)


def gt(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "gt", lambda x, y: x > y)


def ge(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "ge", lambda x, y: x >= y)


def logical_not(x: Tensor) -> Tensor:
    x = _tensor(x, "logical_not")
    return Tensor._wrap(_xp(x._data).logical_not(x._data))


def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "logical_and", lambda x, y: _xp(x).logical_and(x, y))


def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(a, b, "logical_or", lambda x, y: _xp(x).logical_or(x, y))


def isnan(x: Tensor) -> Tensor:
    return Tensor._wrap(_xp(x._data).isnan(x._data))


def isfinite(x: Tensor) -> Tensor:
    return Tensor._wrap(_xp(x._data).isfinite(x._data))


# -------------------------------------------------------------------------------------- helpers


def _tensor(x: Any, op: str) -> Tensor:
    if type(x) is Tensor:
        return x
    return to_tensor(x, None, op)


def _float(x: Any, op: str) -> Tensor:
    """Ops like exp and tanh need floats: ints are promoted to the default float dtype."""
    x = _tensor(x, op)
    if x._data.dtype.kind != "f":

        x = cast(x, backend.get_default_dtype())
    return x


from ..backend import array_module as _xp  # noqa: E402
from .convert import cast  # noqa: E402
