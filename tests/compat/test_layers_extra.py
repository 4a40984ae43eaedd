"""Layers and functions scripts asked for (issue 16), against torch.nn: values, gradients, buffers, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn.helpers import compare_buffers, compare_layer, same_layer
from oracle.helpers import F32, F64, check, gradcheck, rng

import nabla
import nabla.nn.functional as F
from nabla import nn


def _x(shape, dtype=F32, seed=0):
    return rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------- group / instance norm

@pytest.mark.parametrize("groups,shape", [(1, (2, 6, 3, 3)), (3, (2, 6, 4)), (6, (3, 6, 2, 2)), (2, (4, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_groupnorm_matches_torch(groups, shape, affine):
    n, t = nn.GroupNorm(groups, shape[1], affine=affine), torch.nn.GroupNorm(groups, shape[1], affine=affine)
    if affine:
        with torch.no_grad():
            t.weight.uniform_(0.5, 1.5)
            t.bias.uniform_(-0.5, 0.5)
    same_layer(n, t)
    compare_layer(n, t, _x(shape))


def test_group_norm_gradcheck_and_errors():
    gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)])
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(nabla.ones(2, 6, 3), 4)
    with pytest.raises(RuntimeError):
        torch.nn.functional.group_norm(torch.ones(2, 6, 3), 4)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        nn.GroupNorm(4, 6)


@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True), (False, True)])
def test_instancenorm2d_matches_torch_train_and_eval(affine, track):
    n = nn.InstanceNorm2d(3, affine=affine, track_running_stats=track, momentum=0.2)
    t = torch.nn.InstanceNorm2d(3, affine=affine, track_running_stats=track, momentum=0.2)
    same_layer(n, t)
    for step in range(3):
        compare_layer(n, t, _x((4, 3, 5, 6), seed=step))
    if track:
        compare_buffers(n, t)
    n.eval()
    t.eval()
    compare_layer(n, t, _x((2, 3, 5, 6), seed=9))
    compare_layer(n, t, _x((3, 5, 6), seed=10))  # unbatched


def test_instancenorm1d_and_gradcheck_and_errors():
    compare_layer(nn.InstanceNorm1d(4), torch.nn.InstanceNorm1d(4), _x((2, 4, 7)))
    gradcheck(lambda x: F.instance_norm(x), [(2, 3, 4)])
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(nabla.ones(2, 3, 1))
    with pytest.raises(ValueError):
        torch.nn.functional.instance_norm(torch.ones(2, 3, 1))


# ------------------------------------------------------------------------------------ feature dropout

@pytest.mark.parametrize("cls,shape", [("Dropout1d", (4, 8, 5)), ("Dropout2d", (4, 8, 3, 3)),
                                       ("Dropout3d", (2, 8, 2, 2, 2)), ("Dropout2d", (8, 3, 3))])
def test_feature_dropout_zeroes_whole_channels(cls, shape):
    layer = getattr(nn, cls)(p=0.5)
    x = nabla.ones(*shape, requires_grad=True)
    y = layer(x)
    per_channel = y.detach().numpy().reshape(int(np.prod(shape[: -(len(shape) - 2 if len(shape) > 3 else 1)])), -1)
    for row in per_channel:
        assert set(np.unique(row)) <= {0.0, 2.0} and len(np.unique(row)) == 1  # whole channel kept (x2) or dropped
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # the mask is the gradient
    layer.eval()
    assert layer(x) is x
    t = getattr(torch.nn, cls)(p=0.5)
    assert repr(t) == repr(getattr(nn, cls)(p=0.5))


def test_dropout2d_keep_rate_and_errors():
    y = F.dropout2d(nabla.ones(200, 50, 2, 2), p=0.3)
    kept = (y.numpy()[:, :, 0, 0] > 0).mean()
    assert abs(kept - 0.7) < 0.02
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout2d(nabla.ones(1, 1, 2, 2), p=1.5)
    with pytest.raises(ValueError, match="expected a 4-D input"):
        F.dropout2d(nabla.ones(2, 2), p=0.5)


# --------------------------------------------------------------------------------------- pixel shuffle

@pytest.mark.parametrize("r,shape", [(2, (2, 8, 3, 4)), (3, (9, 2, 2)), (2, (1, 2, 4, 3, 3))])
def test_pixel_shuffle_and_unshuffle(r, shape):
    check(lambda a: F.pixel_shuffle(a, r), [shape], lambda a: torch.nn.functional.pixel_shuffle(a, r))
    up = shape[:-3] + (shape[-3] // (r * r), shape[-2] * r, shape[-1] * r)
    check(lambda a: F.pixel_unshuffle(a, r), [up], lambda a: torch.nn.functional.pixel_unshuffle(a, r))
    compare_layer(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), _x(shape))
    x = nabla.tensor(_x(shape))
    np.testing.assert_array_equal(nn.PixelUnshuffle(r)(nn.PixelShuffle(r)(x)).numpy(), x.numpy())


def test_pixel_shuffle_errors():
    with pytest.raises(ValueError, match="divisible by upscale_factor"):
        F.pixel_shuffle(nabla.ones(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError):
        torch.nn.functional.pixel_shuffle(torch.ones(1, 3, 2, 2), 2)


# ---------------------------------------------------------------------------- padding layers, padding_mode

@pytest.mark.parametrize("name,pad,shape", [("ReflectionPad2d", 2, (2, 3, 4, 5)), ("ReflectionPad2d", (1, 0, 2, 3),
                                                                                  (3, 4, 5)),
                                            ("ReplicationPad2d", (3, 1, 0, 2), (1, 2, 3, 3)),
                                            ("ReflectionPad1d", (2, 1), (2, 3, 5)), ("ReplicationPad1d", 3, (2, 6)),
                                            ("CircularPad2d", 1, (1, 2, 3, 3)), ("CircularPad1d", (1, 2), (2, 2, 4))])
def test_padding_layers(name, pad, shape):
    compare_layer(getattr(nn, name)(pad), getattr(torch.nn, name)(pad), _x(shape))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "zeros"])
@pytest.mark.parametrize("padding,stride", [(1, 1), (2, 2), ("same", 1), ((1, 2), 1)])
def test_conv2d_padding_mode(mode, padding, stride):
    kw = dict(kernel_size=3, padding=padding, stride=stride, padding_mode=mode, dilation=1 if padding != "same" else 2)
    n, t = nn.Conv2d(2, 3, **kw), torch.nn.Conv2d(2, 3, **kw)
    same_layer(n, t, F64)
    compare_layer(n, t, _x((2, 2, 6, 7), F64))
    assert repr(n) == repr(t)


def test_conv1d_padding_mode_and_errors():
    n, t = nn.Conv1d(2, 2, 3, padding=2, padding_mode="circular"), torch.nn.Conv1d(2, 2, 3, padding=2,
                                                                                    padding_mode="circular")
    same_layer(n, t)
    compare_layer(n, t, _x((2, 2, 5)))
    with pytest.raises(ValueError, match="padding_mode must be one of zeros, reflect"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding_mode must be one of zeros,"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


# ------------------------------------------------------------------------------------------ losses

@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0, 2.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_loss(beta, reduction):
    check(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [(4, 5), (4, 5)],
          lambda a, b: torch.nn.functional.smooth_l1_loss(a, b, reduction=reduction, beta=beta))
    compare = nn.SmoothL1Loss(reduction, beta)(nabla.tensor([0.0, 3.0]), nabla.tensor([0.2, 0.0]))
    ref = torch.nn.SmoothL1Loss(reduction=reduction, beta=beta)(torch.tensor([0.0, 3.0]), torch.tensor([0.2, 0.0]))
    np.testing.assert_allclose(compare.numpy(), ref.numpy(), rtol=1e-6)
    gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta) * 1.0, [(3, 2), (3, 2)])


def test_smooth_l1_errors():
    with pytest.raises(ValueError, match="negative values for beta"):
        F.smooth_l1_loss(nabla.ones(2), nabla.ones(2), beta=-1.0)
    with pytest.raises(RuntimeError):
        torch.nn.functional.smooth_l1_loss(torch.ones(2), torch.ones(2), beta=-1.0)


def test_binary_cross_entropy_rejects_targets_outside_unit_interval_as_torch():
    p = nabla.tensor([0.3, 0.6])
    for bad in ([1.5, 0.0], [-0.1, 1.0]):
        with pytest.raises(ValueError, match="all elements of target should be between 0 and 1"):
            F.binary_cross_entropy(p, nabla.tensor(bad))
        with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
            torch.nn.functional.binary_cross_entropy(torch.tensor([0.3, 0.6]), torch.tensor(bad))
    with pytest.raises(ValueError, match="target should be between 0 and 1"):
        nn.BCELoss()(p, nabla.tensor([2.0, 0.0]))
    soft = nabla.tensor([0.25, 1.0])  # soft targets inside [0, 1] are fine
    ref = torch.nn.functional.binary_cross_entropy(torch.tensor([0.3, 0.6]), torch.tensor([0.25, 1.0]))
    np.testing.assert_allclose(F.binary_cross_entropy(p, soft).numpy(), ref.numpy(), rtol=1e-6)
