"""TensorDataset, Subset, random_split."""

import numpy as np
import pytest

import nabla
from nabla.data import Subset, TensorDataset, random_split


def test_tensor_dataset_keeps_arrays():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = nabla.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    assert all(isinstance(t, nabla.Tensor) for t in ds.tensors)
    assert tuple(ds.tensors[0].shape) == (6, 2) and ds.tensors[0].dtype == np.float32
    assert ds.tensors[1] is y  # no copy of a Tensor
    a, b = ds[2]
    np.testing.assert_array_equal(a.numpy(), [4, 5])
    assert int(b.item()) == 2


def test_tensor_dataset_length_mismatch():
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset()


def test_subset():
    ds = TensorDataset(np.arange(10))
    s = Subset(ds, [7, 2, 5])
    assert len(s) == 3
    assert [int(s[i][0].item()) for i in range(3)] == [7, 2, 5]


def _ids(subset):
    return [subset.dataset[i][0].item() for i in subset.indices]


@pytest.mark.parametrize("lengths, sizes", [
    ([3, 7], [3, 7]),
    ([0.3, 0.7], [3, 7]),
    ([0.5, 0.25, 0.25], [6, 2, 2]),  # remainder goes round-robin from the first split, as in PyTorch
    ([1 / 3, 1 / 3, 1 / 3], [4, 3, 3]),
])
def test_random_split_sizes_and_disjoint(lengths, sizes):
    ds = TensorDataset(np.arange(10))
    parts = random_split(ds, lengths)
    assert [len(p) for p in parts] == sizes
    ids = [i for p in parts for i in _ids(p)]
    assert sorted(ids) == list(range(10))  # disjoint and covering


def test_random_split_reproducible():
    ds = TensorDataset(np.arange(50))
    nabla.manual_seed(3)
    a = [p.indices for p in random_split(ds, [20, 30])]
    nabla.manual_seed(3)
    b = [p.indices for p in random_split(ds, [20, 30])]
    assert a == b
    assert a[0] != list(range(20))
    g = nabla.Generator(3)
    c = [p.indices for p in random_split(ds, [20, 30], generator=g)]
    assert c == a


def test_random_split_errors():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError):
        random_split(ds, [0.5, 0.6])
