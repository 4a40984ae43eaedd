"""clip_grad_norm_ / clip_grad_value_ against torch.nn.utils; l1_penalty."""

import math

import numpy as np
import pytest
import torch

import nabla
import nabla.optim as optim


def _pair(seed=0, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (5,), (), (2, 2, 2)]]
    grads = [np.asarray(rng.standard_normal(a.shape) * scale).astype(dtype) for a in arrays]
    nb = [nabla.tensor(a, requires_grad=True) for a in arrays]
    th = [torch.tensor(a, requires_grad=True) for a in arrays]
    for p, q, g in zip(nb, th, grads):
        p.grad, q.grad = nabla.tensor(g), torch.tensor(g)
    nb[1].grad = th[1].grad = None  # a parameter without a gradient is left out
    return nb, th


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    nb, th = _pair()
    total_n = optim.clip_grad_norm_(nb, max_norm, norm_type=norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(th, max_norm, norm_type=float(norm_type))
    assert isinstance(total_n, nabla.Tensor) and total_n.shape == ()
    np.testing.assert_allclose(total_n.item(), total_t.item(), rtol=1e-12)
    for p, q in zip(nb, th):
        if q.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    clipped = np.concatenate([p.grad.numpy().ravel() for p in nb if p.grad is not None])
    if norm_type == 2.0:
        after = np.linalg.norm(clipped)
        assert after <= max_norm + 1e-6 and (max_norm < total_n.item()) == (after < total_n.item())


def test_clip_grad_norm_float32_and_single_tensor():
    nb, th = _pair(dtype=np.float32, scale=10.0)
    total_n = optim.clip_grad_norm_(nb[0], 1.0)
    total_t = torch.nn.utils.clip_grad_norm_(th[0], 1.0)
    assert total_n.dtype == nabla.float32
    np.testing.assert_allclose(total_n.item(), total_t.item(), rtol=1e-5)
    np.testing.assert_allclose(nb[0].grad.numpy(), th[0].grad.numpy(), rtol=1e-5)


def test_clip_grad_norm_nonfinite():
    nb, th = _pair()
    nb[0].grad._data[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite.*error_if_nonfinite=False"):
        optim.clip_grad_norm_(nb, 1.0, error_if_nonfinite=True)
    assert not np.isnan(nb[2].grad._data).any(), "nothing is scaled when it raises"
    nb[0].grad._data[0, 0] = np.inf
    th[0].grad[0, 0] = np.inf
    total = optim.clip_grad_norm_(nb, 1.0)  # default: no error, scaled by the non-finite norm like torch
    total_t = torch.nn.utils.clip_grad_norm_(th, 1.0)
    assert math.isinf(total.item()) and math.isinf(total_t.item())
    np.testing.assert_array_equal(np.isnan(nb[2].grad.numpy()), np.isnan(th[2].grad.numpy()))


def test_clip_grad_norm_no_grads_and_bad_norm_type():
    assert optim.clip_grad_norm_([nabla.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="Invalid norm_type"):
        optim.clip_grad_norm_(_pair()[0], 1.0, norm_type=-2)


@pytest.mark.parametrize("clip_value", [0.1, 1, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    nb, th = _pair(scale=2.0)
    assert optim.clip_grad_value_(nb, clip_value) is None
    torch.nn.utils.clip_grad_value_(th, clip_value)
    for p, q in zip(nb, th):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
            assert np.abs(p.grad.numpy()).max() <= clip_value


def test_l1_penalty_value_and_gradient():
    a = nabla.tensor([[1.0, -2.0], [0.5, -0.25]], dtype=nabla.float64, requires_grad=True)
    b = nabla.tensor([-3.0], dtype=nabla.float64, requires_grad=True)
    pen = optim.l1_penalty([a, b])
    assert pen.shape == () and pen.item() == 6.75
    (2 * pen).backward()
    np.testing.assert_array_equal(a.grad.numpy(), 2 * np.sign(a._data))
    np.testing.assert_array_equal(b.grad.numpy(), [-2.0])
    with pytest.raises(ValueError, match="no parameters"):
        optim.l1_penalty([])
