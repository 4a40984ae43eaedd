"""BatchNorm1d/2d and LayerNorm against PyTorch: train and eval, running statistics, errors."""

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, check_double, compare_buffers, compare_layer, rng, same_layer

BN = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 6)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 6, 5)),
      (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 6, 5, 3))]
BN_IDS = ["1d-NC", "1d-NCL", "2d-NCHW"]


def _randomize(t_layer):
    with torch.no_grad():
        for p in t_layer.parameters():
            p.copy_(torch.randn_like(p) * 0.5 + 1)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("kind", BN, ids=BN_IDS)
def test_batchnorm_train_then_eval_matches_torch(kind, dtype):
    n_cls, t_cls, shape = kind
    torch.manual_seed(0)
    n, t = n_cls(6), t_cls(6)
    _randomize(t)
    same_layer(n, t, dtype)
    for step in range(4):  # several training steps: running stats must follow torch's exactly
        x = (rng(step).standard_normal(shape) * 2 + 3).astype(dtype)
        compare_layer(n, t, x, seed=step)
        n.zero_grad()
        t.zero_grad()
    assert int(n.num_batches_tracked.item()) == 4
    n.eval()
    t.eval()
    compare_layer(n, t, (rng(9).standard_normal(shape) + 1).astype(dtype))
    compare_buffers(n, t)


@pytest.mark.parametrize("kwargs", [
    {"momentum": None}, {"momentum": 0.3}, {"affine": False}, {"track_running_stats": False},
    {"affine": False, "track_running_stats": False}, {"eps": 1e-2},
], ids=str)
def test_batchnorm_options_match_torch(kwargs):
    n, t = nn.BatchNorm1d(5, **kwargs), torch.nn.BatchNorm1d(5, **kwargs)
    same_layer(n, t)
    assert list(n.state_dict()) == list(t.state_dict())
    assert repr(n) == repr(t)
    for step in range(3):
        compare_layer(n, t, (rng(step).standard_normal((7, 5)) * 3 - 1).astype(F32), seed=step)
    n.eval()
    t.eval()
    compare_layer(n, t, rng(5).standard_normal((7, 5)).astype(F32))


def test_batchnorm_running_var_is_unbiased_and_momentum_exact():
    n = nn.BatchNorm1d(3, momentum=0.25)
    x = rng(0).standard_normal((10, 3)).astype(F64)
    n.double()
    n(nabla.tensor(x))
    np.testing.assert_allclose(n.running_mean.numpy(), 0.25 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(n.running_var.numpy(), 0.75 + 0.25 * x.var(0, ddof=1), rtol=1e-12)


def test_batchnorm_cumulative_average_with_momentum_none():
    n = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rng(i).standard_normal((6, 2)) for i in range(5)]
    for x in xs:
        n(nabla.tensor(x))
    np.testing.assert_allclose(n.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-10)


def test_batchnorm_eval_mode_does_not_touch_running_stats():
    n = nn.BatchNorm2d(3).eval()
    n(nabla.randn(2, 3, 4, 4) + 5)
    np.testing.assert_array_equal(n.running_mean.numpy(), 0)
    assert int(n.num_batches_tracked.item()) == 0


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"expected input \(N, 4\) or \(N, 4, L\), got \(8, 5\)"):
        nn.BatchNorm1d(4)(nabla.randn(8, 5))
    with pytest.raises(ValueError, match=r"got \(2, 4, 3, 3\)"):
        nn.BatchNorm1d(4)(nabla.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"expected input \(N, 4, H, W\), got \(2, 4, 3\)"):
        nn.BatchNorm2d(4)(nabla.randn(2, 4, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(4)(nabla.randn(1, 4))
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(5))
    with pytest.raises(ValueError, match=r"BatchNorm1d at 1: expected input \(N, 5\)"):
        model(nabla.randn(8, 3))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape,normalized", [((6, 8), 8), ((3, 4, 8), (8,)), ((2, 3, 4, 5), (4, 5)), ((7,), 7)])
def test_layernorm_matches_torch(shape, normalized, dtype):
    torch.manual_seed(1)
    n, t = nn.LayerNorm(normalized), torch.nn.LayerNorm(normalized)
    _randomize(t)
    same_layer(n, t, dtype)
    assert repr(n) == repr(t)
    compare_layer(n, t, (rng(3).standard_normal(shape) * 4 + 2).astype(dtype))


@pytest.mark.parametrize("kwargs", [{"elementwise_affine": False}, {"bias": False}, {"eps": 0.1}], ids=str)
def test_layernorm_options(kwargs):
    n, t = nn.LayerNorm(6, **kwargs), torch.nn.LayerNorm(6, **kwargs)
    same_layer(n, t)
    assert list(n.state_dict()) == list(t.state_dict())
    compare_layer(n, t, rng(0).standard_normal((5, 6)).astype(F32))


def test_layernorm_error():
    with pytest.raises(ValueError, match=r"expected input \(\*, 10, 20\), got \(4, 20, 10\)"):
        nn.LayerNorm((10, 20))(nabla.randn(4, 20, 10))


def test_norm_second_derivatives_match_torch():
    """The fused ops' backward is differentiable (create_graph=True) and agrees with PyTorch's.

    (Bias is left out: its gradient is the upstream sum, constant in the inputs.)
    """
    F = nabla.nn.functional
    TF = torch.nn.functional
    check_double(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), [(6, 3), (3,)],
                 lambda x, w: TF.batch_norm(x, None, None, w, None, training=True))
    check_double(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), [(3, 2, 4), (2,)],
                 lambda x, w: TF.batch_norm(x, None, None, w, None, training=True))
    check_double(lambda x: F.batch_norm(x, None, None, training=True), [(5, 2)],
                 lambda x: TF.batch_norm(x, None, None, training=True))
    check_double(lambda x, w: F.layer_norm(x, (4,), w), [(3, 4), (4,)], lambda x, w: TF.layer_norm(x, (4,), w))
    check_double(lambda x, w: F.layer_norm(x, (2, 3), w), [(2, 2, 3), (2, 3)],
                 lambda x, w: TF.layer_norm(x, (2, 3), w))



NORMS = [
    ("BatchNorm1d", (4,), {}),
    ("BatchNorm2d", (4,), {"affine": False}),
    ("InstanceNorm2d", (4,), {"affine": True}),
    ("LayerNorm", (4,), {}),
    ("LayerNorm", (4,), {"bias": False}),
    ("GroupNorm", (2, 4), {}),
    ("GroupNorm", (2, 4), {"affine": False}),
]


@pytest.mark.parametrize("name,args,kwargs", NORMS, ids=[f"{n}-{k}" for n, _, k in NORMS])
def test_norm_reset_parameters_restores_ones_and_zeros_like_torch(name, args, kwargs):
    layer, t_layer = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    with nabla.no_grad():
        for p in layer.parameters():
            p.add_(3.0)
    layer.reset_parameters()
    got = {n: p.detach().numpy() for n, p in layer.named_parameters()}
    want = {n: p.detach().numpy() for n, p in t_layer.named_parameters()}
    assert sorted(got) == sorted(want)
    assert all(np.array_equal(got[n], want[n]) for n in want)
