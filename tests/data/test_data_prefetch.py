"""DataLoader(prefetch=k): same batches in the same order, errors surface, early exit is clean."""

import threading

import numpy as np
import pytest

import nabla
from nabla.data import DataLoader, Dataset, TensorDataset


def _ds(n=103):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(x, np.arange(n))


@pytest.mark.parametrize("shuffle", [False, True])
def test_prefetch_gives_the_same_batches(shuffle):
    ds = _ds()
    nabla.manual_seed(7)
    plain = [(a.numpy().copy(), b.numpy().copy()) for a, b in DataLoader(ds, 10, shuffle=shuffle)]
    nabla.manual_seed(7)
    pre = [(a.numpy().copy(), b.numpy().copy()) for a, b in DataLoader(ds, 10, shuffle=shuffle, prefetch=2)]
    assert len(plain) == len(pre) == 11
    for (a, b), (c, d) in zip(plain, pre):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_errors_in_the_producer_reach_the_consumer():
    class Bad(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 7:
                raise KeyError("sample 7 is broken")
            return np.float32(i)

    with pytest.raises(KeyError, match="sample 7"):
        list(DataLoader(Bad(), 2, prefetch=2))


def test_early_exit_stops_the_thread():
    before = threading.active_count()
    for i, _ in enumerate(DataLoader(_ds(1000), 1, prefetch=2)):
        if i == 3:
            break
    for t in threading.enumerate():
        if t.name == "nabla-prefetch":
            t.join(timeout=2)
    assert threading.active_count() == before


def test_bad_prefetch_value():
    with pytest.raises(ValueError, match="prefetch"):
        DataLoader(_ds(), 4, prefetch=-1)
