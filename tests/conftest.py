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
