"""nabla.nn.init: gains and fans as PyTorch's, statistics on large tensors, seeds, orthogonality."""

import math

import numpy as np
import pytest
import torch

import nabla
from nabla.nn import init


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None),
])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (2, 6, 7)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(nabla.empty(*shape)) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(*shape)
    )


def _std(fan_in, fan_out, fn_name, **kw):
    """The std PyTorch's formula gives for this initialiser."""
    if fn_name.startswith("xavier"):
        return kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
    return init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)


@pytest.mark.parametrize("fn_name,kw", [
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 2.0}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.1, "nonlinearity": "leaky_relu"}),
], ids=str)
def test_scaled_initialisers_statistics(fn_name, kw):
    shape = (256, 128, 3, 3)  # fan_in 1152, fan_out 2304: 295k samples
    w = getattr(init, fn_name)(nabla.empty(*shape), **kw)
    a = w.numpy()
    std = _std(128 * 9, 256 * 9, fn_name, **kw)
    assert abs(a.std() / std - 1) < 0.01
    assert abs(a.mean()) < 0.01 * std
    if "uniform" in fn_name:
        bound = math.sqrt(3) * std
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.999 * bound
    # Same statistics as torch's own initialiser
    t = getattr(torch.nn.init, fn_name)(torch.empty(*shape), **kw).numpy()
    assert abs(a.std() / t.std() - 1) < 0.01


def test_normal_uniform_constant():
    a = init.normal_(nabla.empty(500, 400), mean=2.0, std=0.5).numpy()
    assert abs(a.mean() - 2) < 0.005 and abs(a.std() - 0.5) < 0.005
    u = init.uniform_(nabla.empty(500, 400), -3, 1).numpy()
    assert u.min() >= -3 and u.max() < 1 and abs(u.mean() + 1) < 0.01 and abs(u.std() - 4 / math.sqrt(12)) < 0.01
    np.testing.assert_array_equal(init.constant_(nabla.empty(3), 0.25).numpy(), 0.25)
    np.testing.assert_array_equal(init.zeros_(nabla.ones(2, 2)).numpy(), 0)
    np.testing.assert_array_equal(init.ones_(nabla.zeros(2, 2)).numpy(), 1)
    d = init.normal_(nabla.empty(1000, dtype=nabla.float64))
    assert d.dtype == nabla.float64


@pytest.mark.parametrize("fn_name", ["normal_", "uniform_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                     "kaiming_normal_", "orthogonal_"])
def test_reproducible_with_manual_seed(fn_name):
    fn = getattr(init, fn_name)
    nabla.manual_seed(123)
    a = fn(nabla.empty(20, 30)).numpy().copy()
    nabla.manual_seed(123)
    b = fn(nabla.empty(20, 30)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fn(nabla.empty(20, 30)).numpy())
    g1, g2 = nabla.Generator(5), nabla.Generator(5)
    np.testing.assert_array_equal(
        fn(nabla.empty(4, 6), generator=g1).numpy(), fn(nabla.empty(4, 6), generator=g2).numpy()
    )


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30), (16, 4, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(nabla.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1) / 2.0
    rows, cols = w.shape
    small = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(small, np.eye(min(rows, cols)), atol=1e-5)


def test_in_place_without_graph_and_version_bump():
    p = nabla.nn.Parameter(nabla.zeros(4, 4))
    v = p._version[0]
    out = init.kaiming_normal_(p)
    assert out is p and p.requires_grad and p.grad_fn is None and p._version[0] == v + 1


@pytest.mark.parametrize("fn_name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                     "orthogonal_"])
def test_fewer_than_two_dims_is_an_error(fn_name):
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions|2 or more dimensions"):
        getattr(init, fn_name)(nabla.empty(5))
    with pytest.raises(ValueError):
        getattr(torch.nn.init, fn_name)(torch.empty(5))


def test_bad_mode():
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_uniform_(nabla.empty(3, 3), mode="fan_avg")
