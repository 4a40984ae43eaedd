"""Shared fixtures: every test starts from the same seed.

BLAS runs one thread per test worker: pytest-xdist already uses both cores, and OpenBLAS threads on
small matrices on a busy machine slow tests down many times over (set before NumPy loads).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

import nabla


@pytest.fixture(autouse=True)
def _seed():
    nabla.manual_seed(0)
    yield


@pytest.fixture(params=["fakecuda", "cuda"])
def gpu_device(request):
    """A GPU to test on, as a string: "fakecuda:0" (NumPy tagged as device memory; runs everywhere, see
    docs/gpu.md) and "cuda:0" (CuPy on an NVIDIA GPU; skipped cleanly without one)."""
    if request.param == "cuda":
        if not nabla.cuda_is_available():
            pytest.skip("needs CuPy and an NVIDIA GPU")
        yield "cuda:0"
        return
    nabla.backend.enable_fake_cuda()
    yield "fakecuda:0"
    nabla.backend.enable_fake_cuda(False)
