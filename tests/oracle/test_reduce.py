"""Reductions against PyTorch: dim as int / tuple / None, keepdim, ties, zeros, empty tensors."""

import numpy as np
import pytest
import torch

import nabla

from .helpers import F32, F64, check, ints

DTYPES = [F32, F64]
DIMS = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


def _kw(dim, keepdim):
    return {} if dim is None and not keepdim else {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", DIMS, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "logsumexp", "prod"])
def test_reduce_dims(op, dim, keepdim, dtype):
    if op == "logsumexp" and dim is None:
        dim = (0, 1, 2)  # torch.logsumexp needs a dim
    kw = {"dim": dim, "keepdim": keepdim}
    if op == "prod":  # torch.prod takes one int dim: reduce the dims one after the other
        check(
            lambda x: x.prod(**kw), [(2, 3, 4)], lambda x: _torch_prod(x, dim, keepdim), dtype=dtype, low=0.5, high=1.5
        )
        return
    check(lambda x: getattr(x, op)(**kw), [(2, 3, 4)], dtype=dtype)


def _torch_prod(x, dim, keepdim):
    dims = range(x.ndim) if dim is None else [dim] if isinstance(dim, int) else dim
    for d in sorted((d % x.ndim for d in dims), reverse=True):
        x = x.prod(d, keepdim=keepdim)
    return x


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "prod"])
def test_reduce_function_spellings(op):
    low = 0.5 if op == "prod" else -2
    check(lambda x: getattr(nabla, op)(x), [(3, 4)], lambda x: getattr(torch, op)(x), low=low)
    check(lambda x: getattr(nabla, op)(x, 1), [(3, 4)], lambda x: getattr(torch, op)(x, 1), low=low)
    check(lambda x: getattr(nabla, op)(x, 0, True), [(3, 4)], lambda x: getattr(torch, op)(x, 0, True), low=low)
    check(lambda x: getattr(x, op)(), [()], low=low)
    check(lambda x: getattr(x, op)(0), [()], low=low)


def test_sum_mean_empty_and_int():
    check(lambda x: x.sum(), [(0, 3)])
    check(lambda x: x.sum(0), [(0, 3)])
    check(lambda x: x.sum(1), [(0, 3)])
    check(lambda x: x.sum((0, 1), keepdim=True), [(2, 0)])
    check(lambda x: x.mean(0), [(0, 3)])
    check(lambda x: x.mean(1), [(0, 3)])
    check(lambda x: x.mean(), [(0,)], dtype=F64)
    i = ints((3, 4), -5, 5)
    check(lambda x: x.sum(), [i], grad=False)
    check(lambda x: x.sum(1), [i.astype(np.int32)], grad=False)
    check(lambda x: x.sum(0), [i > 0], grad=False)
    check(lambda x: x.sum(), [np.zeros((0,), dtype=np.int64)], grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim(op, dim, keepdim, dtype):
    outs, _ = check(lambda x: getattr(x, op)(dim, keepdim), [(2, 3, 4)], dtype=dtype)
    assert len(outs) == 2 and str(outs[1].dtype) == "int64"
    check(lambda x: getattr(x, op)(dim=dim, keepdim=keepdim).values, [(2, 3, 4)], dtype=dtype)
    check(lambda x: getattr(x, op)(dim=dim, keepdim=keepdim).indices, [(2, 3, 4)], dtype=dtype, grad=False)
    check(lambda x: getattr(nabla, op)(x, dim)[0], [(2, 3, 4)], lambda x: getattr(torch, op)(x, dim)[0], dtype=dtype)


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_ties(op):
    """With ties the index is the first occurrence and the gradient goes to that element only."""
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0]])
    check(lambda t: getattr(t, op)(1), [x], dtype=F64)
    check(lambda t: getattr(t, op)(0, keepdim=True), [x], dtype=F64)


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_full_reduction_ties_split_gradient(op):
    x = np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]])
    check(lambda t: getattr(t, op)(), [x], dtype=F64)
    check(lambda t: getattr(t, op)(), [np.full((2, 2), 7.0)], dtype=F64)


@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_dim_ties_split_gradient(op):
    x = np.array([[[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]], [[2.0, 2.0, 2.0], [0.0, 0.0, 1.0]]])
    check(lambda t: getattr(t, op)(-1), [x], dtype=F64)
    check(lambda t: getattr(t, op)((0, 2)), [x], dtype=F64)
    check(lambda t: getattr(t, op)(1, keepdim=True), [x], dtype=F64)
    check(lambda t: getattr(nabla, op)(t, (0, 1)), [x], lambda t: getattr(torch, op)(t, (0, 1)), dtype=F64)


def test_max_min_int():
    i = ints((3, 4), -5, 5)
    check(lambda x: x.max(), [i], grad=False)
    check(lambda x: x.min(1), [i], grad=False)
    check(lambda x: x.amax(0), [i], grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (1, 2)], ids=str)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op, dim, keepdim, dtype):
    check(lambda x: getattr(x, op)(dim, keepdim=keepdim), [(3, 4, 5)], dtype=dtype)
    for correction in (0, 1, 2):
        check(lambda x: getattr(x, op)(dim, keepdim=keepdim, correction=correction), [(3, 4, 5)], dtype=dtype)


def test_std_of_constant_has_zero_gradient():
    x = np.array([[1.0, 1.0, 1.0], [0.5, -1.0, 2.0]])
    check(lambda t: t.std(1), [x], dtype=F64)
    check(lambda t: t.std(), [np.full((2, 2), 3.0)], dtype=F64)


@pytest.mark.parametrize("op", ["max", "min"])
def test_full_max_min_with_nan(op):
    """The NaN is the result, and the NaNs share its gradient (as torch.max)."""
    check(lambda t: getattr(t, op)(), [np.array([1.0, np.nan, 2.0, np.nan])], dtype=F64)
    check(lambda t: getattr(t, op)(0), [np.array([[1.0, 3.0], [np.nan, 2.0]])], dtype=F64)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_unbiased_and_functions(op):
    check(lambda x: getattr(x, op)(1, unbiased=False), [(3, 4)], lambda x: getattr(x, op)(1, unbiased=False))
    check(lambda x: getattr(x, op)(1, unbiased=True), [(3, 4)], lambda x: getattr(x, op)(1, unbiased=True))
    check(lambda x: getattr(x, op)(unbiased=False), [(3, 4)])
    check(lambda x: getattr(nabla, op)(x, 0), [(3, 4)], lambda x: getattr(torch, op)(x, 0))
    check(lambda x: getattr(nabla, op)(x), [(3, 4)], lambda x: getattr(torch, op)(x), dtype=F64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp(dtype):
    check(lambda x: x.logsumexp(1), [(3, 4)], dtype=dtype)
    check(lambda x: nabla.logsumexp(x, (0, 1)), [(3, 4)], lambda x: torch.logsumexp(x, (0, 1)), dtype=dtype)
    check(
        lambda x: nabla.logsumexp(x, -1, keepdim=True),
        [(2, 3, 4)],
        lambda x: torch.logsumexp(x, -1, keepdim=True),
        dtype=dtype,
    )
    check(lambda x: x.logsumexp(0), [(5,)], dtype=dtype)


def test_logsumexp_extremes():
    x = np.array([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4 + 2], [0.0, 1.0, 2.0]], dtype=F32)
    check(lambda t: t.logsumexp(1), [x], finite=True)
    check(lambda t: t.logsumexp(0), [x], finite=True, dtype=F64)
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, 2.0]])
    check(lambda t: t.logsumexp(1), [x], dtype=F64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_prod_with_zeros(dtype):
    """The gradient is the product of the other elements, also where zeros are present."""
    x = np.array(
        [
            [[0.0, 2.0, 3.0], [1.5, 0.5, -2.0]],
            [[0.0, 0.0, 4.0], [1.0, 0.0, 3.0]],
            [[2.0, -1.0, 0.5], [0.0, 3.0, 0.0]],
        ]
    )
    x = x.astype(dtype)
    check(lambda t: t.prod(), [x])
    check(lambda t: t.prod(), [x[0, 0]])  # one zero in a full reduction
    check(lambda t: t.prod(), [x[1, 0]])  # two zeros
    for dim in (0, 1, 2, -1):
        for keepdim in (False, True):
            check(lambda t: t.prod(dim, keepdim=keepdim), [x])
    check(lambda t: nabla.prod(t, 1), [x], lambda t: torch.prod(t, 1))


def test_prod_without_zeros_and_int():
    check(lambda t: t.prod(1), [(3, 4)], low=0.5, high=1.5, dtype=F64)
    check(lambda t: t.prod(), [(3, 4)], low=-1.5, high=-0.5, dtype=F64)
    check(lambda t: t.prod(0), [(0, 3)])
    check(lambda t: t.prod(), [ints((2, 3), -3, 4)], grad=False)
    check(lambda t: t.prod(1), [ints((2, 3), -3, 4).astype(np.int32)], grad=False)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(op, keepdim):
    check(lambda x: getattr(x, op)(), [(3, 4)], grad=False)
    for dim in (0, 1, -1):
        check(lambda x: getattr(x, op)(dim, keepdim=keepdim), [(3, 4)], grad=False)
        check(lambda x: getattr(nabla, op)(x, dim=dim, keepdim=keepdim), [(2, 3, 4)],
              lambda x: getattr(torch, op)(x, dim=dim, keepdim=keepdim), grad=False)
    ties = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, -1.0]], dtype=F32)
    check(lambda x: getattr(x, op)(1), [ties], grad=False)
    check(lambda x: getattr(x, op)(), [ties], grad=False)
    check(lambda x: getattr(x, op)(0), [ints((3, 4), -9, 9)], grad=False)


def test_all_any():
    b = np.random.default_rng(0).random((3, 4)) > 0.3
    for op in ("all", "any"):
        check(lambda x: getattr(x, op)(), [b], grad=False)
        check(lambda x: getattr(x, op)(1), [b], grad=False)
        check(lambda x: getattr(nabla, op)(x, 0, True), [b], lambda x: getattr(torch, op)(x, 0, True), grad=False)
