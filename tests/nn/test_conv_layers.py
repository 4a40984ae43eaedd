"""Conv1d/Conv2d/ConvTranspose2d, the pooling layers, Upsample and the padding layers against PyTorch:
parameters (names, shapes, init), state-dict keys, reprs, forward and gradients, errors."""

import math

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, compare_layer, rng, same_layer

LAYERS = [  # (constructor arguments, input shape)
    ("Conv2d", (3, 8, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (3, 8, 3), {"stride": 2, "padding": 1, "bias": False}, (2, 3, 9, 8)),
    ("Conv2d", (4, 6, (3, 2)), {"padding": "same", "dilation": 2, "groups": 2}, (2, 4, 7, 6)),
    ("Conv2d", (4, 4, 3), {"groups": 4, "padding": 1}, (2, 4, 5, 5)),
    ("Conv2d", (3, 5, 1), {"stride": 2}, (2, 3, 6, 6)),
    ("Conv1d", (3, 5, 3), {"padding": 1}, (2, 3, 10)),
    ("Conv1d", (4, 4, 5), {"padding": "same", "groups": 2, "dilation": 2}, (2, 4, 12)),
    ("ConvTranspose2d", (4, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 4, 4, 5)),
    ("ConvTranspose2d", (4, 6, 4), {"stride": 2, "padding": 1, "groups": 2, "bias": False}, (2, 4, 3, 3)),
]


def _pair(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS, ids=[f"{c[0]}{c[1]}{c[2]}" for c in LAYERS])
def test_conv_layers_match_torch(name, args, kwargs, shape, dtype):
    n, t = _pair(name, args, kwargs)
    assert list(n.state_dict()) == list(t.state_dict())
    shapes = {k: tuple(v.shape) for k, v in n.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in t.state_dict().items()}
    assert repr(n) == repr(t)
    same_layer(n, t, dtype)
    compare_layer(n, t, rng(1).standard_normal(shape).astype(dtype), atol=1e-4 if dtype == F32 else None)


@pytest.mark.parametrize("name, args", [("Conv2d", (16, 32, 3)), ("Conv1d", (8, 4, 5)), ("ConvTranspose2d", (16, 8, 3)),
                                        ("Conv2d", (8, 8, 3, 1, 1, 1, 4))])
def test_default_init_is_torchs_kaiming_uniform(name, args):
    """weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform_ with a=sqrt(5)); bias from the same range."""
    nabla.manual_seed(3)
    layer = getattr(nn, name)(*args)
    w = layer.weight.detach().numpy()
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    b = layer.bias.detach().numpy()
    assert np.abs(b).max() <= bound
    assert all(p.requires_grad for p in layer.parameters())


POOLS = [
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 9, 8)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3, 2, 1), {"count_include_pad": False}, (2, 3, 9, 8)),
    ("AdaptiveAvgPool2d", ((1, 1),), {}, (2, 3, 5, 4)),
    ("AdaptiveAvgPool2d", (3,), {}, (3, 7, 5)),
    ("Upsample", (), {"scale_factor": 2}, (2, 3, 4, 5)),
    ("Upsample", (), {"size": (7, 9), "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
    ("ZeroPad2d", (1,), {}, (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 0, 2, 3),), {}, (3, 4, 5)),
    ("ConstantPad2d", ((1, 0, 2, 3), -1.5), {}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", POOLS, ids=[f"{c[0]}{c[1]}{c[2]}" for c in POOLS])
def test_pool_and_resize_layers_match_torch(name, args, kwargs, shape):
    n, t = _pair(name, args, kwargs)
    assert repr(n) == repr(t)
    assert not list(n.parameters()) and not n.state_dict()
    compare_layer(n, t, rng(2).standard_normal(shape).astype(F64))


def test_conv_layers_take_unbatched_input():
    n, t = _pair("Conv2d", (3, 4, 3), {"padding": 1})
    same_layer(n, t, F64)
    compare_layer(n, t, rng(3).standard_normal((3, 5, 6)))
    n, t = _pair("ConvTranspose2d", (3, 2, 3), {"stride": 2})
    same_layer(n, t, F64)
    compare_layer(n, t, rng(3).standard_normal((3, 4, 4)))
    assert tuple(n(nabla.randn(3, 4, 4, dtype=nabla.float64), output_size=(10, 10)).shape) == (2, 10, 10)


def test_max_pool_layer_returns_indices_for_unpooling():
    n, t = nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(2, return_indices=True)
    x = rng(0).standard_normal((1, 2, 4, 6))
    (no, ni), (to, ti) = n(nabla.tensor(x)), t(torch.from_numpy(x))
    np.testing.assert_array_equal(no.numpy(), to.numpy())
    np.testing.assert_array_equal(ni.numpy(), ti.numpy())


def test_conv_transpose_output_size_picks_output_padding():
    n, t = _pair("ConvTranspose2d", (4, 2, 3), {"stride": 2, "padding": 1})
    same_layer(n, t)
    x = rng(0).standard_normal((1, 4, 5, 5)).astype(F32)
    for size in [(9, 9), (10, 10), (9, 10)]:
        a = n(nabla.tensor(x), output_size=size).detach().numpy()
        b = t(torch.from_numpy(x), output_size=size).detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"requested output size \(12, 12\) is not reachable.*\[9, 10\]"):
        n(nabla.tensor(x), output_size=(12, 12))


def test_small_cnn_matches_torch_end_to_end():
    """A LeNet-shaped stack, weights copied from PyTorch: same logits and same parameter gradients."""
    def build(lib):
        m = lib.nn
        return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.ReLU(), m.MaxPool2d(2), m.Conv2d(4, 6, 3), m.ReLU(),
                            m.AvgPool2d(2), m.Flatten(), m.Linear(6, 3))

    n, t = build(nabla), build(torch)
    assert list(n.state_dict()) == list(t.state_dict())
    same_layer(n, t, F64)
    compare_layer(n, t, rng(4).standard_normal((5, 1, 8, 8)).astype(F64))


@pytest.mark.parametrize("call, message", [
    (lambda: nn.Conv2d(3, 4, 3)(nabla.randn(2, 5, 8, 8)),
     r"Conv2d: expected input \(N, 3, H, W\) or \(3, H, W\), got \(2, 5, 8, 8\)"),
    (lambda: nn.Conv1d(3, 4, 3)(nabla.randn(2, 3, 8, 8)), r"expected input \(N, 3, L\) or \(3, L\)"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), r"out_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(3, 4, 0), r"kernel_size must be an int >= 1"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), r"padding_mode must be one of zeros, reflect, replicate, "
                                                        r"circular, got 'mirror'"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), r"'same' is not supported for strided"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding="same"), r"padding must be ints"),
    (lambda: nn.ZeroPad2d((1, 2)), r"4-tuple \(left, right, top, bottom\)"),
    (lambda: nn.MaxPool2d(2)(nabla.randn(8, 8)), r"expected input \(N, C, H, W\) or \(C, H, W\)"),
])
def test_layer_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_layers_in_sequential_name_the_failing_layer():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(3, 2, 3))
    message = r"Conv2d at 2: expected input \(N, 3, H, W\) or \(3, H, W\), got \(1, 4, 6, 6\)"
    with pytest.raises(ValueError, match=message):
        model(nabla.randn(1, 1, 8, 8))
