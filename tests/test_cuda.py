"""GPU smoke tests: the same ops on CuPy arrays. Skipped cleanly where there is no GPU (CI)."""

import numpy as np
import pytest

import nabla

pytestmark = pytest.mark.skipif(not nabla.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU")


def test_mlp_step_matches_cpu():
    nabla.manual_seed(0)
    x = nabla.randn(16, 4)
    w = nabla.randn(4, 3, requires_grad=True)
    t = nabla.randint(0, 3, (16,))
    nabla.cross_entropy((x @ w).tanh(), t).backward()
    xg, wg = x.to("cuda"), w.detach().to("cuda").requires_grad_()
    nabla.cross_entropy((xg @ wg).tanh(), t.to("cuda")).backward()
    assert wg.grad.device == "cuda:0"
    np.testing.assert_allclose(wg.grad.cpu().numpy(), w.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_mixing_devices_is_a_clear_error():
    with pytest.raises(RuntimeError, match="different devices"):
        nabla.ones(2) + nabla.ones(2, device="cuda")
