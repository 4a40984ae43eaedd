"""DataLoader: batch shapes, drop_last, shuffling, collate, samplers, TensorDataset fast path."""

import numpy as np
import pytest

import nabla
from nabla.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
    default_collate,
)


def _ds(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


class Pairs(Dataset):
    """A plain Python dataset: (array, int) samples."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32), i

    def __len__(self):
        return self.n


def test_batch_shapes_and_len():
    dl = DataLoader(_ds(10), batch_size=4)
    batches = list(dl)
    assert len(dl) == 3
    assert [tuple(b[0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert [tuple(b[1].shape) for b in batches] == [(4,), (4,), (2,)]
    assert all(isinstance(t, nabla.Tensor) for b in batches for t in b)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), np.arange(10))


def test_drop_last():
    dl = DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert len(dl) == 2
    assert [tuple(b[0].shape) for b in dl] == [(4, 3), (4, 3)]
    assert len(DataLoader(_ds(8), batch_size=4, drop_last=True)) == 2


@pytest.mark.parametrize("make", [_ds, Pairs])
def test_shuffle_is_a_permutation_each_epoch(make):
    dl = DataLoader(make(23), batch_size=5, shuffle=True)
    epochs = []
    for _ in range(3):
        idx = np.concatenate([b[1].numpy() for b in dl])
        assert sorted(idx.tolist()) == list(range(23))
        epochs.append(idx)
    assert not all(np.array_equal(epochs[0], e) for e in epochs[1:])  # reshuffled per epoch
    assert not np.array_equal(epochs[0], np.arange(23))


def test_shuffle_reproducible_with_manual_seed():
    def run():
        nabla.manual_seed(123)
        dl = DataLoader(_ds(30), batch_size=7, shuffle=True)
        return [np.concatenate([b[1].numpy() for b in dl]) for _ in range(2)]

    a, b = run(), run()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_shuffle_with_own_generator():
    g1, g2 = nabla.Generator(5), nabla.Generator(5)
    a = np.concatenate([b[1].numpy() for b in DataLoader(_ds(20), batch_size=3, shuffle=True, generator=g1)])
    nabla.manual_seed(99)  # the default generator does not matter here
    b = np.concatenate([b[1].numpy() for b in DataLoader(_ds(20), batch_size=3, shuffle=True, generator=g2)])
    np.testing.assert_array_equal(a, b)


def test_generic_collate_numbers_and_arrays():
    batches = list(DataLoader(Pairs(5), batch_size=2))
    x, y = batches[0]
    assert tuple(x.shape) == (2, 3) and x.dtype == np.float32
    assert tuple(y.shape) == (2,) and y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), [0, 1])
    assert tuple(batches[-1][0].shape) == (1, 3)


def test_default_collate_structures():
    out = default_collate([{"a": 1.5, "b": (np.zeros(2), 3)}, {"a": 2.5, "b": (np.ones(2), 4)}])
    assert out["a"].dtype == np.float32
    np.testing.assert_allclose(out["a"].numpy(), [1.5, 2.5])
    np.testing.assert_array_equal(out["b"][0].numpy(), [[0, 0], [1, 1]])
    np.testing.assert_array_equal(out["b"][1].numpy(), [3, 4])
    t = default_collate([nabla.tensor([1.0, 2.0]), nabla.tensor([3.0, 4.0])])
    assert tuple(t.shape) == (2, 2)
    with pytest.raises(TypeError):
        default_collate([object(), object()])


def test_custom_collate():
    def collate(samples):
        return len(samples), [int(s[1]) for s in samples]

    out = list(DataLoader(Pairs(5), batch_size=2, collate_fn=collate))
    assert out == [(2, [0, 1]), (2, [2, 3]), (1, [4])]
    # a custom collate on a TensorDataset sees per-sample tuples (no fast path)
    out = list(DataLoader(_ds(3), batch_size=3, collate_fn=lambda s: [tuple(t.shape) for t in s[0]]))
    assert out == [[(3,), ()]]


@pytest.mark.parametrize("shuffle", [False, True])
def test_tensor_dataset_fast_path_matches_generic(shuffle):
    ds = _ds(17)
    nabla.manual_seed(7)
    fast = list(DataLoader(ds, batch_size=5, shuffle=shuffle))
    nabla.manual_seed(7)
    slow = list(DataLoader(ds, batch_size=5, shuffle=shuffle, collate_fn=default_collate))
    assert len(fast) == len(slow) == 4
    for f, s in zip(fast, slow):
        assert len(f) == len(s) == 2
        for a, b in zip(f, s):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_samplers():
    ds = _ds(7)
    assert list(SequentialSampler(ds)) == list(range(7))
    r = list(RandomSampler(ds))
    assert sorted(r) == list(range(7)) and len(RandomSampler(ds)) == 7
    bs = BatchSampler(range(7), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(range(7), 3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    with pytest.raises(ValueError):
        BatchSampler(range(7), 0, drop_last=False)


def test_custom_sampler_and_errors():
    dl = DataLoader(_ds(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in dl]), [5, 4, 3, 2, 1, 0])
    with pytest.raises(ValueError):
        DataLoader(_ds(6), shuffle=True, sampler=[0, 1])


def test_batch_size_none_yields_samples():
    dl = DataLoader(Pairs(3), batch_size=None)
    assert len(dl) == 3
    assert [s[1] for s in dl] == [0, 1, 2]
