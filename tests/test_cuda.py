"""GPU smoke tests, one body per device (the ``gpu_device`` fixture in conftest.py): "fakecuda" (NumPy
tagged as device memory, runs in CI) and "cuda" (CuPy on an NVIDIA GPU; skipped cleanly without one)."""

import numpy as np
import pytest

import nabla


def test_mlp_step_matches_cpu(gpu_device):
    nabla.manual_seed(0)
    x = nabla.randn(16, 4)
    w = nabla.randn(4, 3, requires_grad=True)
    t = nabla.randint(0, 3, (16,))
    nabla.cross_entropy((x @ w).tanh(), t).backward()
    xg, wg = x.to(gpu_device), w.detach().to(gpu_device).requires_grad_()
    nabla.cross_entropy((xg @ wg).tanh(), t.to(gpu_device)).backward()
    assert wg.grad.device == gpu_device
    np.testing.assert_allclose(wg.grad.cpu().numpy(), w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_mixing_devices_is_a_clear_error(gpu_device):
    with pytest.raises(RuntimeError, match=rf"different devices \(cpu, {gpu_device}\)"):
        nabla.ones(2) + nabla.ones(2, device=gpu_device)


def test_to_and_back_keeps_values_and_gradients(gpu_device):
    a = nabla.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    b = a.to(gpu_device)
    assert b.device == gpu_device and b.is_cpu is False
    (b * b).sum().backward()  # the gradient flows back across the transfer
    assert a.grad.device == "cpu"
    np.testing.assert_allclose(a.grad.numpy(), 2 * a.detach().numpy())
    np.testing.assert_array_equal(b.detach().cpu().numpy(), a.detach().numpy())
