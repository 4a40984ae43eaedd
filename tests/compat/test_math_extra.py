"""Elementwise math and small helpers scripts use (tan, sinh, cosh, asin, acos, atan, atan2, expm1, log2,
log10, reciprocal, floor/ceil/round/trunc, isinf, outer, meshgrid, normal) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracle.helpers import check, gradcheck

import nabla

UNARY = [("tan", -1.2, 1.2), ("sinh", -3, 3), ("cosh", -3, 3), ("asin", -0.9, 0.9), ("acos", -0.9, 0.9),
         ("atan", -4, 4), ("expm1", -2, 2), ("log2", 0.1, 5), ("log10", 0.1, 5), ("reciprocal", 0.5, 3)]


@pytest.mark.parametrize("name,low,high", UNARY)
def test_unary_math(name, low, high):
    check(lambda a: getattr(nabla, name)(a), [(3, 4)], lambda a: getattr(torch, name)(a), low=low, high=high)
    check(lambda a: getattr(a, name)(), [(5,)], low=low, high=high)
    gradcheck(lambda a: getattr(nabla, name)(a), [(2, 3)], low=low, high=high)


def test_expm1_is_accurate_near_zero():
    x = nabla.tensor([1e-10], dtype=nabla.float64)
    assert nabla.expm1(x).item() == pytest.approx(1e-10, rel=1e-12)


def test_atan2():
    check(lambda y, x: nabla.atan2(y, x), [(3, 4), (3, 4)], lambda y, x: torch.atan2(y, x))
    check(lambda y, x: y.atan2(x), [(3, 4), (4,)], lambda y, x: y.atan2(x))
    gradcheck(lambda y, x: nabla.atan2(y, x), [(2, 3), (2, 3)], low=0.3, high=2)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_values_and_zero_gradient(name):
    data = np.array([-2.5, -1.5, -0.7, -0.5, 0.0, 0.4, 0.5, 1.5, 2.5, 3.7], dtype=np.float32)
    check(lambda a: getattr(a, name)(), [data])  # the gradient is zero everywhere, as PyTorch's
    ints = nabla.tensor([1, -2])
    assert getattr(nabla, name)(ints).tolist() == getattr(torch, name)(torch.tensor([1, -2])).tolist()


def test_round_decimals_and_isinf():
    data = np.array([1.2345, -0.0551, 123.45], dtype=np.float64)
    for d in (2, 1, -1):
        np.testing.assert_allclose(nabla.tensor(data).round(decimals=d).numpy(),
                                   torch.tensor(data).round(decimals=d).numpy())
    v = [1.0, float("inf"), -float("inf"), float("nan")]
    assert nabla.tensor(v).isinf().tolist() == torch.tensor(v).isinf().tolist()


def test_outer_and_meshgrid():
    check(lambda a, b: nabla.outer(a, b), [(3,), (4,)], lambda a, b: torch.outer(a, b))
    with pytest.raises(ValueError, match="1-D vectors"):
        nabla.outer(nabla.ones(2, 2), nabla.ones(2))
    for indexing in ("ij", "xy"):
        n = nabla.meshgrid(nabla.arange(3), nabla.arange(4), nabla.arange(2), indexing=indexing)
        t = torch.meshgrid(torch.arange(3), torch.arange(4), torch.arange(2), indexing=indexing)
        assert all(a.tolist() == b.tolist() for a, b in zip(n, t))
    check(lambda a, b: nabla.meshgrid(a, b, indexing="xy"), [(3,), (2,)],
          lambda a, b: torch.meshgrid(a, b, indexing="xy"))
    with pytest.raises(ValueError, match="indexing must be"):
        nabla.meshgrid(nabla.ones(2), indexing="yx")


def test_normal():
    nabla.manual_seed(0)
    z = nabla.normal(2.0, 0.5, size=(20000,))
    assert z.shape == (20000,) and abs(z.mean().item() - 2) < 0.02 and abs(z.std().item() - 0.5) < 0.02
    m = nabla.normal(nabla.tensor([0.0, 100.0]), nabla.tensor([1e-3, 1e-3]))
    np.testing.assert_allclose(m.numpy(), [0, 100], atol=0.01)
    assert torch.normal(0.0, 1.0, size=(3,)).shape == nabla.normal(0.0, 1.0, size=(3,)).shape
    with pytest.raises(TypeError, match="give size="):
        nabla.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="std must be >= 0"):
        nabla.normal(0.0, -1.0, size=(2,))
