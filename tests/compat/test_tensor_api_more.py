"""More names the tutorials use: norm, cumsum, unbind, type_as, masked_fill_, normal_/uniform_, allclose,
equal, is_tensor, numel, F.one_hot; against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracle.helpers import check, gradcheck

import nabla
import nabla.nn.functional as F


@pytest.mark.parametrize("p", ["fro", 2, 1, 3, float("inf"), float("-inf"), 0])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), ((0, 2), True)])
def test_norm(p, dim, keepdim):
    check(lambda a: a.norm(p, dim, keepdim), [(3, 4, 2)], grad=p != 0)
    check(lambda a: nabla.norm(a, p, dim, keepdim), [(3, 4, 2)], lambda a: torch.norm(a, p, dim, keepdim), grad=p != 0)


def test_norm_gradient_at_zero_and_gradcheck():
    x = nabla.zeros(3, requires_grad=True)
    x.norm().backward()
    t = torch.zeros(3, requires_grad=True)
    t.norm().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    gradcheck(lambda a: a.norm(), [(4,)])
    gradcheck(lambda a: a.norm(3, dim=0), [(3, 2)], low=0.5)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    check(lambda a: a.cumsum(dim), [(3, 4)])
    check(lambda a: nabla.cumsum(a, dim), [(2, 3, 2)], lambda a: torch.cumsum(a, dim))
    gradcheck(lambda a: a.cumsum(dim), [(3, 3)])
    ints = nabla.tensor([[1, 2], [3, 4]]).cumsum(dim)
    assert ints.dtype == nabla.int64 and ints.tolist() == torch.tensor([[1, 2], [3, 4]]).cumsum(dim).tolist()


def test_unbind_and_type_as():
    check(lambda a: a.unbind(1), [(2, 3, 2)])
    check(lambda a: nabla.unbind(a), [(2, 3)], lambda a: torch.unbind(a))
    x = nabla.ones(2, dtype=nabla.int64)
    assert x.type_as(nabla.zeros(1, dtype=nabla.float64)).dtype == nabla.float64


def test_inplace_fills():
    x = nabla.tensor([1.0, -2.0, 3.0])
    x.masked_fill_(x < 0, 0.0)
    t = torch.tensor([1.0, -2.0, 3.0])
    t.masked_fill_(t < 0, 0.0)
    assert x.tolist() == t.tolist()
    nabla.manual_seed(1)
    w = nabla.empty(20000).normal_(2.0, 0.5)
    assert abs(w.mean().item() - 2.0) < 0.02 and abs(w.std().item() - 0.5) < 0.02
    u = nabla.empty(20000).uniform_(-3, -1)
    assert u.min().item() >= -3 and u.max().item() < -1 and abs(u.mean().item() + 2) < 0.03
    p = nabla.nn.Parameter(nabla.zeros(3))
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        p.normal_()
    with pytest.raises(RuntimeError):
        torch.nn.Parameter(torch.zeros(3)).normal_()
    with nabla.no_grad():
        p.uniform_(0.5, 1.0)
    assert (p.detach().numpy() >= 0.5).all()


def test_allclose_equal_is_tensor_numel_one_hot():
    a, b = nabla.tensor([1.0, 2.0]), nabla.tensor([1.0, 2.0 + 1e-7])
    assert nabla.allclose(a, b) == torch.allclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]))
    assert not nabla.allclose(a, nabla.tensor([1.0, 2.1]))
    assert nabla.equal(a, a) and not nabla.equal(a, a + 1e-3) and not nabla.equal(a, nabla.ones(3))
    assert nabla.is_tensor(a) and not nabla.is_tensor([1.0])
    assert nabla.numel(nabla.ones(2, 3)) == torch.numel(torch.ones(2, 3)) == 6
    y = nabla.tensor([0, 2, 1])
    assert F.one_hot(y, 3).tolist() == torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), 3).tolist()
