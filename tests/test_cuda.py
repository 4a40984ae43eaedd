"""GPU smoke tests, one body per device: "fakecuda" (NumPy tagged as device memory, runs in CI) and
"cuda" (CuPy on an NVIDIA GPU; skipped cleanly where there is none)."""

import numpy as np
import pytest

import nabla


@pytest.fixture(params=["fakecuda", "cuda"])
def device(request):
    """The device under test, as a string; CUDA skips without CuPy or a GPU."""
    if request.param == "cuda":
        if not nabla.cuda_is_available():
            pytest.skip("needs CuPy and an NVIDIA GPU")
        yield "cuda:0"
        return
    nabla.backend.enable_fake_cuda()
    yield "fakecuda:0"
    nabla.backend.enable_fake_cuda(False)


def test_mlp_step_matches_cpu(device):
    nabla.manual_seed(0)
    x = nabla.randn(16, 4)
    w = nabla.randn(4, 3, requires_grad=True)
    t = nabla.randint(0, 3, (16,))
    nabla.cross_entropy((x @ w).tanh(), t).backward()
    xg, wg = x.to(device), w.detach().to(device).requires_grad_()
    nabla.cross_entropy((xg @ wg).tanh(), t.to(device)).backward()
    assert wg.grad.device == device
    np.testing.assert_allclose(wg.grad.cpu().numpy(), w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_mixing_devices_is_a_clear_error(device):
    with pytest.raises(RuntimeError, match=rf"different devices \(cpu, {device}\)"):
        nabla.ones(2) + nabla.ones(2, device=device)


def test_to_and_back_keeps_values_and_gradients(device):
    a = nabla.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    b = a.to(device)
    assert b.device == device and b.is_cpu is False
    (b * b).sum().backward()  # the gradient flows back across the transfer
    assert a.grad.device == "cpu"
    np.testing.assert_allclose(a.grad.numpy(), 2 * a.detach().numpy())
    np.testing.assert_array_equal(b.detach().cpu().numpy(), a.detach().numpy())
