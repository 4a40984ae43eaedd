"""copy.deepcopy of tensors and modules (target networks, EMA copies, snapshots), as in PyTorch."""

import copy

import numpy as np
import pytest

import nabla
from nabla import nn, optim


def test_deepcopy_module_is_independent_and_keeps_types():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    m2 = copy.deepcopy(m)
    for (_k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert type(m2[0].weight) is nn.Parameter and m2[0].weight.requires_grad
    assert len(list(m2.parameters())) == len(list(m.parameters()))
    opt = optim.SGD(m2.parameters(), lr=0.5)
    m2(nabla.randn(5, 3)).sum().backward()
    opt.step()
    assert not np.array_equal(m[0].weight.detach().numpy(), m2[0].weight.detach().numpy())  # the original is untouched
    assert m[0].weight.grad is None


def test_shared_parameters_stay_shared_in_the_copy():
    emb = nn.Embedding(10, 4)
    head = nn.Linear(4, 10, bias=False)
    head.weight = emb.weight  # weight tying
    model = nn.ModuleList([emb, head])
    c = copy.deepcopy(model)
    assert c[0].weight is c[1].weight and c[0].weight is not emb.weight


def test_grad_is_copied_and_non_leaves_are_refused():
    w = nabla.randn(3, requires_grad=True)
    (w * 2).sum().backward()
    w2 = copy.deepcopy(w)
    np.testing.assert_array_equal(w2.grad.numpy(), w.grad.numpy())
    assert w2.grad is not w.grad and w.grad.numpy().sum() == 6
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(w * 2)
    i = nabla.tensor([1, 2])
    assert copy.deepcopy(i).dtype == i.dtype and not copy.deepcopy(i).requires_grad
