"""Activation layers against PyTorch's modules: forward and input gradients, repr."""

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, compare_layer, rng

CASES = [
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(0.5), lambda: torch.nn.ELU(0.5)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0)),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    (lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("make", CASES, ids=[repr(c[1]()) for c in CASES])
def test_activation_matches_torch(make, dtype):
    n, t = make[0](), make[1]()
    x = (rng(2).standard_normal((4, 5, 3)) * 3).astype(dtype)
    compare_layer(n, t, x)
    assert repr(n) == repr(t)


def test_step_is_heaviside_with_zero_gradient():
    x = nabla.tensor([-2.0, -0.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = nn.Step()(x)
    expected = torch.heaviside(torch.tensor([-2.0, -0.0, 0.0, 0.5, 3.0]), torch.tensor(1.0))
    np.testing.assert_array_equal(y.detach().numpy(), expected.numpy())
    np.testing.assert_array_equal(nn.Step(0.5)(x).detach().numpy(), [0, 0.5, 0.5, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))
    assert repr(nn.Step()) == "Step(value_at_zero=1.0)"


def test_activations_reject_non_tensors():
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.ReLU()([1.0, -1.0])
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_softmax_without_dim_warns_like_torch():
    x = nabla.randn(3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1, rtol=1e-6)
