"""Linear, Identity, Flatten against PyTorch: forward, gradients, default init, repr, errors."""

import math

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, compare_layer, rng, same_layer


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
def test_linear_matches_torch(shape, bias, dtype):
    n, t = nn.Linear(4, 3, bias=bias), torch.nn.Linear(4, 3, bias=bias)
    same_layer(n, t, dtype)
    compare_layer(n, t, rng(1).standard_normal(shape).astype(dtype))


def test_linear_state_dict_keys_match_torch():
    assert list(nn.Linear(2, 8).state_dict()) == list(torch.nn.Linear(2, 8).state_dict()) == ["weight", "bias"]
    assert list(nn.Linear(2, 8, bias=False).state_dict()) == ["weight"]


def test_linear_default_init_bounds_and_seed():
    nabla.manual_seed(3)
    a = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) on fan_in 400
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    b = a.bias.detach().numpy()
    assert np.abs(b).max() <= bound
    nabla.manual_seed(3)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)


def test_linear_repr():
    assert repr(nn.Linear(2, 8)) == repr(torch.nn.Linear(2, 8)) == "Linear(in_features=2, out_features=8, bias=True)"
    assert repr(nn.Linear(2, 8, bias=False)) == "Linear(in_features=2, out_features=8, bias=False)"


def test_linear_shape_error_names_both_shapes_and_the_layer():
    model = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 10))
    with pytest.raises(ValueError, match=r"expected input \(\*, 128\), got \(32, 100\)"):
        model(nabla.randn(32, 100))
    bad = nn.Sequential(nn.Linear(128, 128), nn.Linear(256, 10))
    with pytest.raises(ValueError) as e:
        bad(nabla.randn(32, 128))
    assert "Linear at 1" in str(e.value) and "expected input (*, 256), got (32, 128)" in str(e.value)


def test_linear_bad_arguments():
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 3)
    with pytest.raises(TypeError, match="Tensor"):
        nn.Linear(2, 3)([[1.0, 2.0]])


def test_identity_and_flatten():
    x = nabla.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused=1)(x) is x
    tx = torch.from_numpy(x.numpy().copy())
    for args in [(), (0,), (1, 2), (2, -1)]:
        n, t = nn.Flatten(*args), torch.nn.Flatten(*args)
        assert n(x).shape == tuple(t(tx).shape)
        assert repr(n) == repr(t)
    compare_layer(nn.Flatten(), torch.nn.Flatten(), rng(0).standard_normal((2, 3, 4)).astype(F32))


def test_linear_trains_to_a_line():
    nabla.manual_seed(0)
    layer = nn.Linear(1, 1)
    x = nabla.linspace(-1, 1, 32).reshape(32, 1)
    y = 3 * x - 0.5
    for _ in range(300):
        loss = ((layer(x) - y) ** 2).mean()
        layer.zero_grad()
        loss.backward()
        with nabla.no_grad():
            for p in layer.parameters():
                p -= 0.2 * p.grad
    assert abs(layer.weight.item() - 3) < 1e-3 and abs(layer.bias.item() + 0.5) < 1e-3
