"""0-d tensors: values, views and NumPy interop behave as in PyTorch."""

import numpy as np
import torch

import nabla

from .helpers import F64, check


def test_zero_d_arithmetic_values_and_grads():
    check(lambda a, b: (a * b + a).exp() / b, [(), ()], low=0.5, high=2.0, dtype=F64)
    check(lambda a: a.sum() * a, [(3,)], dtype=F64)
    check(lambda a: a[1] * a[2], [(3,)], dtype=F64)


def test_int_index_is_a_view():
    """x[i, j] shares memory with x: writing through it changes x (no grad recorded here)."""
    for lib in (nabla, torch):
        x = lib.zeros(2, 3)
        v = x[1, 2]
        v += 5
        assert float(x[1, 2]) == 5.0, lib.__name__
        w = x[0][1]
        w += 2
        assert float(x[0, 1]) == 2.0, lib.__name__
        assert np.asarray(x[1, 2]).shape == ()


def test_full_reduction_result_is_an_array():
    for op in ("max", "min", "amax", "amin", "sum", "mean", "prod"):
        t = getattr(nabla.tensor([[1.0, 2.0], [3.0, 4.0]]), op)()
        assert isinstance(np.asarray(t), np.ndarray) and np.asarray(t).shape == (), op
        assert float(np.asarray(t)) == float(getattr(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), op)())


def test_zero_d_result_numpy_interop():
    t = nabla.tensor(1.0) + nabla.tensor(2.0)
    a = np.asarray(t)  # torch: np.asarray(torch.tensor(1.) + torch.tensor(2.)) is array(3., dtype=float32)
    assert isinstance(a, np.ndarray) and a.shape == () and a.dtype == np.float32 and a == 3.0
    assert isinstance(t.numpy(), np.ndarray)


def test_zero_d_result_inplace():
    t = nabla.tensor(2.0).exp()
    t += 1  # torch: fine; nabla: TypeError "add_: a int value cannot be stored in a tensor of type float32"
    assert abs(float(t) - (np.exp(2.0) + 1)) < 1e-4
    u = nabla.tensor(1.0) * 3
    u[...] = 5.0  # nabla: TypeError 'numpy.float32' object does not support item assignment
    assert float(u) == 5.0
