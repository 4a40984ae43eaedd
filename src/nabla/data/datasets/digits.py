"""scikit-learn's bundled 8x8 handwritten digits (1,797 images), no download needed."""

from __future__ import annotations

import numpy

from ..dataset import TensorDataset


def digits(test_ratio: float = 0.2, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """``(train, test)`` TensorDatasets of float32 images ``(N, 1, 8, 8)`` scaled to [0, 1] (the raw
    pixels are 0..16) and int64 labels 0..9, split by a permutation drawn from ``seed``.

    For an MLP, flatten a batch with ``x.reshape(len(x), 64)`` (or ``nabla.nn.Flatten``).
    Needs scikit-learn (``pip install nabla[datasets]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits() needs scikit-learn: pip install nabla[datasets]") from None
    if not 0 <= test_ratio < 1:
        raise ValueError(f"digits: test_ratio must lie in [0, 1), got {test_ratio}")
    d = load_digits()
    x = (d.images.astype(numpy.float32) / numpy.float32(16.0)).reshape(-1, 1, 8, 8)
    y = d.target.astype(numpy.int64)
    perm = numpy.random.default_rng(seed).permutation(len(y))
    x, y = x[perm], y[perm]
    n_test = int(round(len(y) * test_ratio))
    return TensorDataset(x[n_test:], y[n_test:]), TensorDataset(x[:n_test], y[:n_test])
