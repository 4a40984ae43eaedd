"""The rarer activations, distances and Tensor spellings scripts use, against PyTorch (values, gradients,
float64 gradcheck, errors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn.helpers import compare_layer
from oracle.helpers import check, gradcheck, rng

import nabla
import nabla.nn.functional as F
from nabla import nn

TF = torch.nn.functional

CASES = [
    ("silu", {}), ("mish", {}), ("hardtanh", {"min_val": -0.5, "max_val": 1.5}), ("relu6", {}),
    ("hardsigmoid", {}), ("hardswish", {}), ("softsign", {}), ("logsigmoid", {}), ("selu", {}),
    ("celu", {"alpha": 0.7}), ("tanhshrink", {}), ("threshold", {"threshold": 0.3, "value": -2.0}),
    ("softmin", {"dim": 1}), ("glu", {"dim": 1}),
]


@pytest.mark.parametrize("name,kw", CASES)
def test_functional_activation_matches_torch(name, kw):
    check(lambda a: getattr(F, name)(a, **kw), [(3, 4)], lambda a: getattr(TF, name)(a, **kw), low=-7, high=7)
    gradcheck(lambda a: getattr(F, name)(a, **kw), [(2, 4)], low=-4, high=4)


MODULES = [("SiLU", ()), ("Mish", ()), ("ReLU6", ()), ("Hardsigmoid", ()), ("Hardswish", ()), ("SELU", ()),
           ("Softsign", ()), ("LogSigmoid", ()), ("Tanhshrink", ()), ("Hardtanh", (-2.0, 0.5)), ("CELU", (1.5,)),
           ("GLU", (0,)), ("Softmin", (1,)), ("Threshold", (0.1, 20.0))]


@pytest.mark.parametrize("name,args", MODULES)
def test_activation_modules(name, args):
    x = rng(3).uniform(-8, 8, (4, 6)).astype(np.float32)
    n, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    compare_layer(n, t, x)
    assert repr(n) == repr(t)


def test_activation_errors():
    with pytest.raises(ValueError, match="even size"):
        F.glu(nabla.ones(2, 3))
    with pytest.raises(RuntimeError):
        TF.glu(torch.ones(2, 3))
    with pytest.raises(ValueError, match="cannot be greater"):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(AssertionError):  # PyTorch asserts; nabla raises ValueError (bad input, not a bug)
        torch.nn.Hardtanh(1.0, -1.0)
    with pytest.raises(TypeError, match="floating"):
        F.silu(nabla.ones(2, dtype=nabla.int64))


@pytest.mark.parametrize("p,dim", [(2, 1), (1, 0), (3, -1)])
def test_normalize(p, dim):
    check(lambda a: F.normalize(a, p, dim), [(3, 4)], lambda a: TF.normalize(a, p, dim))
    gradcheck(lambda a: F.normalize(a, p, dim), [(2, 3)], low=0.2, high=2)
    z = F.normalize(nabla.zeros(2, 3))
    assert (z.numpy() == 0).all()


def test_cosine_similarity_and_pairwise_distance():
    check(lambda a, b: F.cosine_similarity(a, b), [(4, 5), (4, 5)], lambda a, b: TF.cosine_similarity(a, b))
    check(lambda a, b: F.cosine_similarity(a, b, dim=-1), [(2, 3, 5), (1, 3, 5)],
          lambda a, b: TF.cosine_similarity(a, b, dim=-1))
    check(lambda a, b: F.pairwise_distance(a, b), [(4, 5), (4, 5)], lambda a, b: TF.pairwise_distance(a, b))
    check(lambda a, b: F.pairwise_distance(a, b, 1.0, keepdim=True), [(4, 5), (4, 5)],
          lambda a, b: TF.pairwise_distance(a, b, 1.0, keepdim=True))
    gradcheck(lambda a, b: F.cosine_similarity(a, b), [(3, 4), (3, 4)])
    x1, x2 = rng(1).standard_normal((3, 4)).astype(np.float32), rng(2).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(nn.CosineSimilarity(1)(nabla.tensor(x1), nabla.tensor(x2)).numpy(),
                               torch.nn.CosineSimilarity(1)(torch.tensor(x1), torch.tensor(x2)).numpy(), rtol=1e-5)
    np.testing.assert_allclose(nn.PairwiseDistance()(nabla.tensor(x1), nabla.tensor(x2)).numpy(),
                               torch.nn.PairwiseDistance()(torch.tensor(x1), torch.tensor(x2)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("method,args", [
    ("multiply", (2.5,)), ("subtract", (1.0,)), ("divide", (4.0,)), ("true_divide", (3.0,)), ("negative", ()),
    ("absolute", ()), ("clamp_min", (0.1,)), ("clamp_max", (-0.1,)), ("swapdims", (0, 2)), ("movedim", (0, -1)),
    ("movedim", ((0, 1), (2, 0))), ("moveaxis", (2, 0)), ("ravel", ()), ("tile", (2,)), ("tile", ((2, 1, 1, 3),)),
    ("select", (1, -1)), ("msort", ()),
])
def test_tensor_spellings(method, args):
    check(lambda a: getattr(a, method)(*args), [(2, 3, 4)])


def test_tensor_predicates_and_counts():
    a = nabla.tensor([1.0, 2.0, 3.0])
    t = torch.tensor([1.0, 2.0, 3.0])
    for m in ("not_equal", "greater", "greater_equal", "less", "less_equal"):
        assert getattr(a, m)(2.0).tolist() == getattr(t, m)(2.0).tolist()
    assert a.ndimension() == t.ndimension() and a.nelement() == t.nelement()
    assert a.allclose(a + 1e-9) and a.equal(a.clone()) and not a.equal(a + 1)
    with pytest.raises(ValueError, match="same length"):
        nabla.ones(2, 3).movedim((0, 1), 0)
