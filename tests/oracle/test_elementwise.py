"""Elementwise ops against PyTorch: arithmetic, math, activations, comparisons, dtype promotion."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla

from .helpers import F32, F64, check, ints

DTYPES = [F32, F64]

# ------------------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (2, 3)], [(2, 3), ()], [(), ()]]
)
def test_add_sub_mul(shapes, dtype):
    check(lambda x, y: x + y, shapes, dtype=dtype)
    check(lambda x, y: x - y, shapes, dtype=dtype)
    check(lambda x, y: x * y, shapes, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(3, 4), (1, 4)], [(2, 1, 3), (4, 1)], [(), (5,)]])
def test_div(shapes, dtype):
    check(lambda x, y: x / y, shapes, dtype=dtype, low=0.5, high=2.0)
    check(lambda x, y: (-x) / y, shapes, dtype=dtype, low=0.5, high=2.0)


def test_function_spellings():
    check(lambda x, y: nabla.add(x, y), [(3,), (3,)], lambda x, y: torch.add(x, y))
    check(lambda x, y: nabla.sub(x, y), [(3,), (3,)], lambda x, y: torch.sub(x, y))
    check(lambda x, y: nabla.mul(x, y), [(3,), (3,)], lambda x, y: torch.mul(x, y))
    check(lambda x, y: nabla.div(x, y), [(3,), (3,)], lambda x, y: torch.div(x, y), low=0.5)
    check(lambda x, y: x.add(y).sub(y * 2).mul(y).div(y + 3), [(2, 3), (3,)], low=0.1)
    check(lambda x: x.square(), [(2, 3)])
    check(lambda x: nabla.neg(x), [(2, 3)], lambda x: torch.neg(x))
    check(lambda x: x.neg() + (+x) * 2, [(2, 3)])
    check(lambda x, y: x.pow(y) + x.pow(2), [(2, 3), (3,)], low=0.5)
    check(
        lambda x, y: nabla.multiply(x, y) - nabla.subtract(x, y) + nabla.divide(x, y) + nabla.true_divide(y, x),
        [(2, 3), (3,)],
        lambda x, y: torch.multiply(x, y) - torch.subtract(x, y) + torch.divide(x, y) + torch.true_divide(y, x),
        low=0.5,
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_operands(dtype):
    check(lambda x: x + 2.5, [(3, 2)], dtype=dtype)
    check(lambda x: 2.5 + x, [(3, 2)], dtype=dtype)
    check(lambda x: x - 1, [(3, 2)], dtype=dtype)
    check(lambda x: 1 - x, [(3, 2)], dtype=dtype)
    check(lambda x: x * 3, [(3, 2)], dtype=dtype)
    check(lambda x: -0.5 * x, [(3, 2)], dtype=dtype)
    check(lambda x: x / 4, [(3, 2)], dtype=dtype)
    check(lambda x: 2.0 / x, [(3, 2)], dtype=dtype, low=0.5, high=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_tensor_tensor(dtype):
    check(lambda x, y: x**y, [(3, 4), (3, 4)], dtype=dtype, low=0.5, high=2.0)
    check(lambda x, y: x**y, [(2, 3, 1), (4,)], dtype=dtype, low=0.5, high=2.0)
    check(lambda x, y: x.pow(y), [(3,), ()], dtype=dtype, low=0.5, high=2.0)
    check(lambda x, y: nabla.pow(x, y), [(3,), (3,)], lambda x, y: torch.pow(x, y), dtype=dtype, low=0.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [2, 3, 0.5, -1, -2.5, 1, 0])
def test_pow_tensor_scalar(p, dtype):
    check(lambda x: x**p, [(3, 4)], dtype=dtype, low=0.5, high=2.0)


@pytest.mark.parametrize("p", [2, 3, -2])
def test_pow_scalar_negative_base(p):
    check(lambda x: x**p, [(3, 4)], low=-2.0, high=-0.5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_scalar_tensor(dtype):
    check(lambda x: 2**x, [(3, 4)], dtype=dtype)
    check(lambda x: 0.5**x, [(3, 4)], dtype=dtype)
    check(lambda x: 1.5**x, [()], dtype=dtype)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_zero_base():
    """d/dx and d/dy of x**y where x == 0: PyTorch gives 0 for y == 0, and 0 for d/dy when y >= 0."""
    x = np.array([0.0, 0.0, 0.0, 1.5, 2.0])
    y = np.array([0.0, 1.0, 2.5, 0.0, 3.0])
    check(lambda a, b: a**b, [x, y], dtype=F64)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_scalar_zero_exponent_at_zero():
    check(lambda a: a**0, [np.array([0.0, 1.0, -2.0])], dtype=F64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_int_tensor(dtype):
    check(lambda x: x**2, [ints((3,), -3, 4)], grad=False)
    check(lambda x: x**0.5, [ints((3,), 0, 4)], grad=False)
    check(lambda x: x**-1.0, [ints((3,), 1, 4)], grad=False)
    check(lambda x, y: x**y, [ints((3,), 0, 4), ints((3,), 0, 3)], grad=False)


# --------------------------------------------------------------------------------- math functions

UNARY = [
    ("neg", lambda x: -x, None, -2, 2),
    ("abs", lambda x: x.abs(), None, -2, 2),
    ("abs_fn", lambda x: abs(x), None, -2, 2),
    ("exp", lambda x: x.exp(), None, -3, 3),
    ("log", lambda x: x.log(), None, 0.1, 3),
    ("log1p", lambda x: x.log1p(), None, -0.9, 3),
    ("sqrt", lambda x: x.sqrt(), None, 0.1, 3),
    ("rsqrt", lambda x: x.rsqrt(), None, 0.1, 3),
    ("sin", lambda x: x.sin(), None, -4, 4),
    ("cos", lambda x: x.cos(), None, -4, 4),
    ("tanh", lambda x: x.tanh(), None, -3, 3),
    ("sigmoid", lambda x: x.sigmoid(), None, -6, 6),
    ("relu", lambda x: x.relu(), None, -2, 2),
    ("erf", lambda x: nabla.erf(x), lambda x: torch.erf(x), -3, 3),
    ("leaky_relu", lambda x: nabla.leaky_relu(x), lambda x: TF.leaky_relu(x), -2, 2),
    ("leaky_relu_0.2", lambda x: nabla.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), -2, 2),
    ("elu", lambda x: nabla.elu(x), lambda x: TF.elu(x), -3, 3),
    ("elu_alpha", lambda x: nabla.elu(x, alpha=0.7), lambda x: TF.elu(x, alpha=0.7), -3, 3),
    ("gelu", lambda x: nabla.gelu(x), lambda x: TF.gelu(x), -4, 4),
    ("gelu_none", lambda x: nabla.gelu(x, approximate="none"), lambda x: TF.gelu(x, approximate="none"), -4, 4),
    ("gelu_tanh", lambda x: nabla.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"), -4, 4),
    ("softplus", lambda x: nabla.softplus(x), lambda x: TF.softplus(x), -5, 5),
    (
        "softplus_beta",
        lambda x: nabla.softplus(x, beta=2.0, threshold=3.0),
        lambda x: TF.softplus(x, beta=2.0, threshold=3.0),
        -3,
        3,
    ),
    ("fn_exp", lambda x: nabla.exp(x), lambda x: torch.exp(x), -2, 2),
    ("fn_log", lambda x: nabla.log(x), lambda x: torch.log(x), 0.1, 2),
    ("fn_sqrt", lambda x: nabla.sqrt(x), lambda x: torch.sqrt(x), 0.1, 2),
    ("fn_rsqrt", lambda x: nabla.rsqrt(x), lambda x: torch.rsqrt(x), 0.1, 2),
    ("fn_sin", lambda x: nabla.sin(x), lambda x: torch.sin(x), -2, 2),
    ("fn_cos", lambda x: nabla.cos(x), lambda x: torch.cos(x), -2, 2),
    ("fn_tanh", lambda x: nabla.tanh(x), lambda x: torch.tanh(x), -2, 2),
    ("fn_sigmoid", lambda x: nabla.sigmoid(x), lambda x: torch.sigmoid(x), -2, 2),
    ("fn_relu", lambda x: nabla.relu(x), lambda x: torch.relu(x), -2, 2),
    ("fn_abs", lambda x: nabla.abs(x), lambda x: torch.abs(x), -2, 2),
    ("fn_log1p", lambda x: nabla.log1p(x), lambda x: torch.log1p(x), -0.5, 2),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,fn,tfn,low,high", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, fn, tfn, low, high, dtype):
    check(fn, [(3, 5)], tfn, dtype=dtype, low=low, high=high)


@pytest.mark.parametrize("name,fn,tfn,low,high", UNARY, ids=[u[0] for u in UNARY])
def test_unary_shapes(name, fn, tfn, low, high):
    check(fn, [()], tfn, low=low, high=high)
    check(fn, [(0, 3)], tfn, low=low, high=high)
    check(fn, [(2, 1, 3)], tfn, low=low, high=high, dtype=F64)


def test_kinks_match_torch():
    """Gradients at the kinks (exactly 0) follow PyTorch's conventions."""
    x = np.array([-1.0, 0.0, 1.0, -0.0])
    check(lambda t: t.abs(), [x], dtype=F64)
    check(lambda t: t.relu(), [x], dtype=F64)
    check(lambda t: nabla.leaky_relu(t, 0.1), [x], lambda t: TF.leaky_relu(t, 0.1), dtype=F64)
    check(lambda t: nabla.elu(t), [x], lambda t: TF.elu(t), dtype=F64)


def test_nan_gradients_follow_torch():
    """Where an input is NaN, the gradient goes where PyTorch sends it."""
    x = np.array([np.nan, 0.5, -2.0, 0.0])
    check(lambda t: t.relu(), [x], dtype=F64)
    check(lambda t: t.clamp(-1, 1), [x], dtype=F64)
    y = np.array([1.0, np.nan, np.nan, 0.0])
    check(lambda a, b: nabla.maximum(a, b), [x, y], lambda a, b: torch.maximum(a, b), dtype=F64)
    check(lambda a, b: nabla.minimum(a, b), [x, y], lambda a, b: torch.minimum(a, b), dtype=F64)


def test_activation_extremes():
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=F32)
    check(lambda t: t.sigmoid(), [x], finite=True)
    check(lambda t: t.tanh(), [x], finite=True)
    check(lambda t: nabla.softplus(t), [x], lambda t: TF.softplus(t), finite=True)
    check(lambda t: nabla.elu(t), [x], lambda t: TF.elu(t), finite=True)
    check(lambda t: nabla.gelu(t), [x], lambda t: TF.gelu(t), finite=True)
    check(lambda t: nabla.gelu(t, approximate="tanh"), [x], lambda t: TF.gelu(t, approximate="tanh"), finite=True)


def test_unary_int_input_promotes_to_float():
    i = ints((2, 3), -3, 4)
    for fn in ["exp", "sin", "cos", "tanh", "sigmoid"]:
        check(lambda x: getattr(x, fn)(), [i], grad=False)
    check(lambda x: x.abs(), [i], grad=False)
    check(lambda x: -x, [i], grad=False)
    check(lambda x: x.relu(), [i], grad=False)
    check(lambda x: x.sqrt(), [ints((4,), 0, 9)], grad=False)


# ------------------------------------------------------------------------ clamp, max/min, where


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp(dtype):
    check(lambda x: x.clamp(-0.5, 0.5), [(4, 5)], dtype=dtype)
    check(lambda x: x.clamp(min=0.1), [(4, 5)], dtype=dtype)
    check(lambda x: x.clamp(max=0.1), [(4, 5)], dtype=dtype)
    check(lambda x: nabla.clamp(x, -1, 1), [(4, 5)], lambda x: torch.clamp(x, -1, 1), dtype=dtype)
    check(lambda x: nabla.clip(x, -1, 1), [(4, 5)], lambda x: torch.clip(x, -1, 1), dtype=dtype)
    check(lambda x: x.clip(0.0, 1.0), [(4, 5)], dtype=dtype)
    check(lambda x: x.clamp(1.0, -1.0), [(4, 5)], dtype=dtype)  # min > max: everything is max


def test_clamp_boundary_gradient():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    check(lambda t: t.clamp(-0.5, 0.5), [x], dtype=F64)
    check(lambda t: t.clamp(min=0.0), [x], dtype=F64)


def test_clamp_int():
    check(lambda x: x.clamp(-1, 2), [ints((3, 4), -4, 5)], grad=False)
    check(lambda x: x.clamp(0.5), [ints((3, 4), -4, 5)], grad=False)  # a float bound makes it float
    check(lambda x: x.clamp(0, 1.5), [ints((3, 4), -4, 5)], grad=False)
    check(lambda x: x.clamp(max=1), [ints((3, 4), -4, 5)], grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp_tensor_bounds(dtype):
    check(lambda x, lo, hi: x.clamp(lo, hi), [(3, 4), (3, 4), (4,)], dtype=dtype, low=-1, high=1)
    check(lambda x, lo: x.clamp(min=lo), [(3, 4), (1, 4)], dtype=dtype)
    check(lambda x, hi: x.clamp(max=hi), [(3, 4), (3, 1)], dtype=dtype)


def test_clamp_tensor_bounds_ties():
    """Where x equals a tensor bound, PyTorch gives the whole gradient to x."""
    x = np.array([1.0, 2.0, 3.0, 0.5])
    lo = np.array([1.0, 0.0, 5.0, 0.5])
    hi = np.array([4.0, 2.0, 6.0, 1.0])
    check(lambda a, b: a.clamp(min=b), [x, lo], dtype=F64)
    check(lambda a, c: a.clamp(max=c), [x, hi], dtype=F64)
    check(lambda a, b, c: a.clamp(b, c), [x, lo, hi], dtype=F64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 3), (5, 1)], [(), (3,)]])
def test_maximum_minimum(shapes, dtype):
    check(lambda x, y: nabla.maximum(x, y), shapes, lambda x, y: torch.maximum(x, y), dtype=dtype)
    check(lambda x, y: nabla.minimum(x, y), shapes, lambda x, y: torch.minimum(x, y), dtype=dtype)
    check(lambda x, y: x.maximum(y), shapes, dtype=dtype)
    check(lambda x, y: x.minimum(y), shapes, dtype=dtype)


def test_maximum_minimum_ties_split_gradient():
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    y = np.array([[1.0, 5.0, 3.0], [0.0, 2.0, 1.0]])
    check(lambda a, b: nabla.maximum(a, b), [x, y], lambda a, b: torch.maximum(a, b), dtype=F64)
    check(lambda a, b: nabla.minimum(a, b), [x, y], lambda a, b: torch.minimum(a, b), dtype=F64)
    check(lambda a, b: nabla.maximum(a, b), [x, np.array([1.0, 2.0, 3.0])], lambda a, b: torch.maximum(a, b), dtype=F64)


def test_max_min_with_tensor_second_argument():
    check(lambda x, y: nabla.max(x, y), [(3, 4), (4,)], lambda x, y: torch.max(x, y))
    check(lambda x, y: nabla.min(x, y), [(3, 4), (4,)], lambda x, y: torch.min(x, y))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shapes", [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(2, 1, 4), (3, 1), ()], [(4,), (2, 4), (4,)]]
)
def test_where(shapes, dtype):
    cond = np.random.default_rng(7).random(shapes[0]) > 0.5
    check(
        lambda c, x, y: nabla.where(c, x, y),
        [cond, shapes[1], shapes[2]],
        lambda c, x, y: torch.where(c, x, y),
        dtype=dtype,
    )


def test_where_scalars_and_masked_fill():
    cond = np.random.default_rng(3).random((3, 4)) > 0.5
    check(lambda c, x: nabla.where(c, x, 0.0), [cond, (3, 4)], lambda c, x: torch.where(c, x, 0.0))
    check(lambda c, x: nabla.where(c, 1.5, x), [cond, (3, 4)], lambda c, x: torch.where(c, 1.5, x))
    check(lambda c, x: nabla.where(c, x, 2), [cond, (3, 4)], lambda c, x: torch.where(c, x, 2), dtype=F64)
    check(lambda c, x: x.masked_fill(c, -1.0), [cond, (3, 4)])
    check(lambda c, x: nabla.masked_fill(x, c, 3.0), [cond[0], (3, 4)], lambda c, x: x.masked_fill(c, 3.0))
    check(lambda x: nabla.where(x > 0, x, x * 0.1), [(3, 4)], lambda x: torch.where(x > 0, x, x * 0.1))


def test_where_int_branches():
    cond = np.array([True, False, True])
    check(lambda c, x, y: nabla.where(c, x, y), [cond, ints((3,), 0, 9), ints((3,), 0, 9, seed=2)],
          lambda c, x, y: torch.where(c, x, y), grad=False)
    check(lambda c, x, y: nabla.where(c, x, y), [cond, ints((3,), 0, 9), (3,)], lambda c, x, y: torch.where(c, x, y))


# ----------------------------------------------------------------------------------- comparisons

CMP = [
    ("eq", lambda x, y: x == y),
    ("ne", lambda x, y: x != y),
    ("lt", lambda x, y: x < y),
    ("le", lambda x, y: x <= y),
    ("gt", lambda x, y: x > y),
    ("ge", lambda x, y: x >= y),
]


@pytest.mark.parametrize("name,fn", CMP, ids=[c[0] for c in CMP])
def test_comparisons(name, fn):
    # rounded values so that ties (== and <=) actually occur
    x = np.round(np.random.default_rng(0).uniform(-2, 2, (3, 4))).astype(F32)
    y = np.round(np.random.default_rng(1).uniform(-2, 2, (4,))).astype(F32)
    outs, _ = check(fn, [x, y], grad=False, requires_grad=[True, True])
    assert str(outs[0].dtype) == "bool"
    check(fn, [x, 0.0], grad=False)
    check(fn, [x, 1], grad=False)
    check(fn, [ints((3, 4), -2, 3), ints((3, 4), -2, 3, seed=5)], grad=False)
    check(fn, [ints((3, 4), -2, 3), x], grad=False)
    check(fn, [(), (2, 0)], grad=False)
    check(lambda a, b: getattr(nabla, name)(a, b), [x, y], lambda a, b: getattr(torch, name)(a, b), grad=False)
    check(lambda a, b: getattr(a, name)(b), [x, y], grad=False)


def test_logical_and_friends():
    a = np.random.default_rng(0).random((3, 4)) > 0.5
    b = np.random.default_rng(1).random((4,)) > 0.5
    check(lambda x, y: x & y, [a, b], grad=False)
    check(lambda x, y: x | y, [a, b], grad=False)
    check(lambda x: ~x, [a], grad=False)
    check(lambda x, y: nabla.logical_and(x, y), [a, b], lambda x, y: torch.logical_and(x, y), grad=False)
    check(lambda x, y: nabla.logical_or(x, y), [a, b], lambda x, y: torch.logical_or(x, y), grad=False)
    check(lambda x: nabla.logical_not(x), [a], lambda x: torch.logical_not(x), grad=False)
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype=F32)
    check(lambda t: nabla.isnan(t), [x], lambda t: torch.isnan(t), grad=False)
    check(lambda t: nabla.isfinite(t), [x], lambda t: torch.isfinite(t), grad=False)
    check(lambda t: nabla.sign(t), [np.array([-2.0, 0.0, 3.0], dtype=F32)], lambda t: torch.sign(t), grad=False)
    check(lambda t: t.sign(), [ints((5,), -3, 3)], grad=False)


# ------------------------------------------------------------------------------ dtype promotion

PROMO_OPS = [
    ("add", lambda x, y: x + y),
    ("sub", lambda x, y: x - y),
    ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y),
    ("maximum", lambda x, y: x.maximum(y)),
    ("eq", lambda x, y: x == y),
]


def _arr(dtype, shape=(3,), seed=0):
    r = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return r.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return r.integers(1, 5, shape).astype(dtype)
    return r.uniform(0.5, 2, shape).astype(dtype)


PAIRS = [
    (np.int64, np.float32), (np.float32, np.int64), (np.int32, np.float64), (np.float32, np.float64),
    (np.float64, np.float32), (np.int32, np.int64), (np.uint8, np.int8), (np.int16, np.int32), (np.bool_, np.int64),
    (np.bool_, np.float32), (np.uint8, np.int64), (np.int8, np.int16),
]


PROMO_CASES = [
    pytest.param(da, db, name, fn, id=f"{name}-{np.dtype(da)}-{np.dtype(db)}")
    for name, fn in PROMO_OPS
    for da, db in PAIRS
    if not (name in ("maximum", "sub") and np.bool_ in (da, db))  # torch refuses bool operands there
]


@pytest.mark.parametrize("da,db,name,fn", PROMO_CASES)
def test_promotion_tensor_tensor(da, db, name, fn):
    differentiable = name != "eq" and (np.dtype(da).kind == "f" or np.dtype(db).kind == "f")
    check(fn, [_arr(da), _arr(db, seed=1)], grad=differentiable)


SCALARS = [2, 2.5, True]
TENSOR_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_]


@pytest.mark.parametrize("s", SCALARS, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("dt", TENSOR_DTYPES, ids=lambda d: np.dtype(d).name)
def test_promotion_python_scalar(dt, s):
    """Python numbers never widen a tensor of their category (float32 + 2.5 stays float32)."""
    x = _arr(dt)
    if np.dtype(dt).kind == "b" and isinstance(s, bool):
        check(lambda t: t == s, [x], grad=False)
        return
    check(lambda t: t + s, [x], grad=False)
    check(lambda t: s + t, [x], grad=False)
    check(lambda t: t * s, [x], grad=False)
    check(lambda t: t / s, [x], grad=False)
    if np.dtype(dt).kind != "b" and not isinstance(s, bool):
        check(lambda t: t - s, [x], grad=False)
    check(lambda t: t < s, [x], grad=False)


@pytest.mark.parametrize(
    "da,db",
    [
        (np.float32, np.float64),
        (np.int32, np.int64),
        (np.int64, np.float64),
        (np.float64, np.float32),
        (np.int64, np.float32),
    ],
)
def test_promotion_zero_dim_tensor(da, db):
    """A 0-d tensor counts like a scalar: it only matters when it is of a higher category."""
    x, s = _arr(da, (3,)), _arr(db, ())
    check(lambda a, b: a + b, [x, s], grad=False)
    check(lambda a, b: b * a, [x, s], grad=False)
    check(lambda a, b: a + b, [_arr(da, ()), s], grad=False)


def test_promotion_gradient_dtypes():
    """Gradients come back in each input's own dtype after promotion."""
    check(lambda a, b: a * b, [_arr(np.float32, (2, 3)), _arr(np.float64, (3,))], grad_atol=1e-5)
    check(lambda a, b: a / b, [_arr(np.float64, (2, 3)), _arr(np.float32, (2, 1))], grad_atol=1e-5)
    check(lambda a, b: a + b, [_arr(np.int64, (2, 3)), _arr(np.float32, (3,))])


def test_python_int_out_of_dtype_range_wraps():
    check(lambda t: t + 1000, [np.array([1, 2], np.uint8)], grad=False)
    check(lambda t: t + 2**40, [np.array([1, 2], np.int32)], grad=False)
    check(lambda t: t * 200, [np.array([1, 2], np.int8)], grad=False)


def test_int_ops_stay_int():
    a, b = ints((3, 4), -5, 5), ints((4,), 1, 5, seed=2)
    check(lambda x, y: x + y, [a, b], grad=False)
    check(lambda x, y: x * y, [a, b], grad=False)
    check(lambda x, y: x - y, [a, b], grad=False)
    check(lambda x, y: x / y, [a, b], grad=False)
    check(lambda x, y: nabla.maximum(x, y), [a, b], lambda x, y: torch.maximum(x, y), grad=False)


# ---------------------------------------------------------------------------------- broadcasting


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((0,), (0,)), ((0, 3), (3,)), ((0, 3), (1, 3)), ((2, 0, 3), (2, 1, 3)), ((1,), (0,)), ((0, 1), (1, 4)),
        ((), (0,)), ((2, 1, 0), (3, 1)), ((1, 1, 1), (2, 3)), ((4, 1), (1, 5)), ((2, 3, 1, 4), (3, 5, 1)),
    ],
)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
def test_broadcasting_edge_shapes(sa, sb, op):
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "maximum": lambda x, y: x.maximum(y)}[op]
    check(fn, [sa, sb], low=0.5, high=2.0)
    check(fn, [sb, sa], low=0.5, high=2.0, dtype=F64)


def test_broadcast_error():
    with pytest.raises(ValueError):
        nabla.ones(2, 3) + nabla.ones(4)
    with pytest.raises(ValueError):
        nabla.where(nabla.ones(2, 3) > 0, nabla.ones(3), nabla.ones(2))


# ------------------------------------------------------------------------------ in-place operators


def test_inplace_arithmetic_with_grad():
    def f(x, y):
        z = x * 1
        z += y
        z *= y
        z -= 0.5
        z /= 2.0
        return z

    check(f, [(3, 4), (4,)])

    def g(x, y):
        z = x.clone()
        z.add_(y, alpha=2)
        z.mul_(y)
        z.sub_(y)
        z.div_(y + 3)
        z.clamp_(-1, 1)
        return z

    check(g, [(3, 4), (4,)], dtype=F64)

    def h(x):
        z = x.clone()
        z.pow_(2)
        return z

    check(h, [(3,)], dtype=F64)


def test_fill_zero_copy():
    def fills(x):
        y = x.clone()
        y.fill_(2.5)
        z = x.clone()
        z.zero_()
        return y, z

    check(fills, [(2, 3)], grad=False)

    def copy(x, v):
        y = x * 1
        y.copy_(v)  # v broadcasts; x gets no gradient through y
        return y * x

    check(copy, [(2, 3), (3,)])
    check(copy, [(2, 3), (2, 1)], dtype=F64)
