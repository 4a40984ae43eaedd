"""Toy 2-D sets: shapes, dtypes, determinism, balance, and each set's geometry."""

import numpy as np
import pytest

import nabla
from nabla.data import toy

SETS = [toy.xor, toy.circle, toy.gauss, toy.spiral, toy.moons]


def _arrays(ds):
    return ds.tensors[0].numpy(), ds.tensors[1].numpy()


@pytest.mark.parametrize("make", SETS, ids=lambda f: f.__name__)
def test_shapes_dtypes_balance(make):
    train, test = make(n=200, noise=0.1, test_ratio=0.25, seed=1)
    assert len(train) == 150 and len(test) == 50
    x, y = _arrays(train)
    xt, yt = _arrays(test)
    assert x.shape == (150, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.concatenate([y, yt]).tolist()) == {0, 1}
    assert np.bincount(np.concatenate([y, yt])).tolist() == [100, 100]
    assert np.isfinite(x).all() and np.abs(x).max() < 3


@pytest.mark.parametrize("make", SETS, ids=lambda f: f.__name__)
def test_deterministic_from_seed(make):
    a = make(n=100, seed=4)
    nabla.manual_seed(123)  # nabla's generator plays no part
    b = make(n=100, seed=4)
    c = make(n=100, seed=5)
    for da, db in zip(a, b):
        for ta, tb in zip(da.tensors, db.tensors):
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())
    assert not np.array_equal(a[0].tensors[0].numpy(), c[0].tensors[0].numpy())


def test_xor_sign_rule():
    train, test = toy.xor(n=300, noise=0.0, seed=0)
    for ds in (train, test):
        x, y = _arrays(ds)
        np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))


def test_circle_radius_rule():
    x, y = _arrays(toy.circle(n=300, noise=0.0, test_ratio=0.0, seed=0)[0])
    r = np.hypot(x[:, 0], x[:, 1])
    assert (r[y == 1] <= 0.5 + 1e-6).all() and (r[y == 0] >= 0.7 - 1e-6).all()


def test_gauss_clusters_separate():
    x, y = _arrays(toy.gauss(n=400, noise=0.0, test_ratio=0.0, seed=0)[0])
    np.testing.assert_array_equal(y, (x.sum(1) > 0).astype(np.int64))


def test_noise_and_args():
    a = _arrays(toy.moons(n=100, noise=0.0, seed=0)[0])[0]
    b = _arrays(toy.moons(n=100, noise=0.3, seed=0)[0])[0]
    assert not np.allclose(a, b)
    assert len(toy.spiral(n=101, test_ratio=0.0)[1]) == 0
    with pytest.raises(ValueError):
        toy.xor(n=100, test_ratio=1.5)
    with pytest.raises(ValueError):
        toy.xor(n=100, noise=-1)
