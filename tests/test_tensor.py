"""Tensor construction, attributes, conversions, dtypes, devices and the seeded RNG."""

import numpy as np
import pytest

import nabla


def test_default_dtypes_follow_pytorch():
    assert nabla.tensor(1.5).dtype == nabla.float32
    assert nabla.tensor([1.0, 2]).dtype == nabla.float32
    assert nabla.tensor([1, 2]).dtype == nabla.int64
    assert nabla.tensor([True, False]).dtype == nabla.bool
    assert nabla.tensor(np.zeros(2, dtype=np.float64)).dtype == nabla.float64  # arrays keep theirs
    assert nabla.tensor([1, 2], dtype="float64").dtype == nabla.float64
    assert nabla.zeros(2, 3).dtype == nabla.float32
    assert nabla.arange(5).dtype == nabla.int64
    assert nabla.arange(0, 1, 0.25).dtype == nabla.float32


def test_attributes_and_conversions():
    x = nabla.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.ndim == 2 and x.numel() == 6 and x.is_leaf and x.device == "cpu"
    assert x.T.shape == (3, 2)
    assert x.detach().tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert x[1, 2].item() == 6.0
    assert x.double().dtype == nabla.float64 and x.float().dtype == nabla.float32
    assert x.to(nabla.float64).dtype == nabla.float64
    assert x.to("cpu") is x
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)
    assert "requires_grad=True" in repr(x)


def test_from_numpy_shares_memory():
    a = np.arange(4.0)
    t = nabla.from_numpy(a)
    a[0] = 10
    assert t[0].item() == 10
    assert t.dtype == nabla.float64


def test_creation_functions():
    assert nabla.full((2, 2), 3.0).tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert nabla.full((2,), 3).dtype == nabla.int64
    assert nabla.eye(3).numpy().trace() == 3
    assert nabla.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert nabla.ones_like(nabla.zeros(2, 3)).shape == (2, 3)
    assert nabla.zeros_like(nabla.zeros(2, dtype=nabla.float64)).dtype == nabla.float64
    assert nabla.empty(3, 4).shape == (3, 4)
    r = nabla.randint(0, 5, (100,))
    assert r.dtype == nabla.int64 and 0 <= r.min().item() and r.max().item() < 5
    assert nabla.rand(1000).max().item() < 1.0
    assert nabla.randn(2, 3, requires_grad=True).requires_grad
    assert nabla.randn_like(nabla.zeros(4, dtype=nabla.float64)).dtype == nabla.float64
    assert sorted(nabla.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="non-negative"):
        nabla.zeros(-1)


def test_manual_seed_makes_draws_reproducible():
    nabla.manual_seed(42)
    a = (nabla.rand(3).tolist(), nabla.randn(2).tolist(), nabla.randint(0, 100, (4,)).tolist())
    nabla.manual_seed(42)
    b = (nabla.rand(3).tolist(), nabla.randn(2).tolist(), nabla.randint(0, 100, (4,)).tolist())
    assert a == b
    nabla.manual_seed(43)
    assert nabla.rand(3).tolist() != a[0]


def test_unknown_dtype_and_device_are_clear_errors():
    with pytest.raises(TypeError, match="unknown or unsupported dtype"):
        nabla.zeros(2, dtype="complex128")
    with pytest.raises(ValueError, match="unknown device"):
        nabla.zeros(2, device="tpu")
    with pytest.raises(ValueError, match="ragged"):
        nabla.tensor([[1, 2], [3]])


@pytest.mark.skipif(nabla.cuda_is_available(), reason="machine has a GPU")
def test_cuda_request_without_gpu_explains():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        nabla.zeros(2, device="cuda")


def test_bool_of_multi_element_tensor_is_ambiguous():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(nabla.ones(2))
    assert bool(nabla.ones(1))


def test_python_scalars_keep_tensor_dtype():
    x = nabla.ones(2)
    assert (x * 2.5).dtype == nabla.float32
    assert (nabla.tensor([1, 2]) * 2.5).dtype == nabla.float32
    assert (nabla.tensor([1, 2]) / 2).dtype == nabla.float32
    assert (nabla.tensor([1, 2]) + 1).dtype == nabla.int64
    assert (x + nabla.ones(2, dtype=nabla.float64)).dtype == nabla.float64


def test_numpy_array_on_the_left_uses_tensor_ops():
    x = nabla.ones(2, requires_grad=True)
    y = np.array([1.0, 2.0], dtype=np.float32) * x
    assert isinstance(y, nabla.Tensor) and y.requires_grad


def test_methods_mirror_functions():
    x = nabla.tensor([[-1.0, float("nan")], [2.0, float("inf")]])
    assert x.isnan().tolist() == [[False, True], [False, False]]
    assert x.isfinite().tolist() == [[True, False], [True, False]]
    m = x > 0
    assert m.logical_not().tolist() == [[True, True], [False, False]]
    assert m.logical_and(x < 5).tolist() == [[False, False], [True, False]]
    assert m.logical_or(x < 0).tolist() == [[True, False], [True, True]]
    assert x.where(m, 0.0).tolist() == [[0.0, 0.0], [2.0, float("inf")]]
    assert x.swapaxes(0, 1).shape == (2, 2) and x.swapaxes(0, 1)[0, 1].item() == 2.0
    assert abs(nabla.tensor(0.5).erf().item() - 0.5204998778) < 1e-6
