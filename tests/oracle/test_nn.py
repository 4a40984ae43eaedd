"""softmax, log_softmax and cross_entropy against PyTorch, including extreme logits."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla

from .helpers import F32, F64, check, ints

DTYPES = [F32, F64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax(op, dim, dtype):
    check(
        lambda x: getattr(nabla, op)(x, dim),
        [(2, 3, 4)],
        lambda x: getattr(TF, op)(x, dim),
        dtype=dtype,
        low=-4,
        high=4,
    )
    check(lambda x: getattr(x, op)(dim), [(2, 3, 4)], dtype=dtype, low=-4, high=4)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_shapes(op):
    check(lambda x: getattr(x, op)(0), [(5,)])
    check(lambda x: getattr(x, op)(1), [(3, 1)])
    check(lambda x: getattr(x, op)(0), [(0, 3)])
    check(lambda x: getattr(x, op)(1), [(0, 3)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_extreme_logits(op, dtype):
    x = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4 - 1, 1e4 - 2, 1e4 - 30]], dtype=dtype)
    check(lambda t: getattr(t, op)(1), [x], finite=True, dtype=dtype)
    check(lambda t: getattr(t, op)(0), [x], finite=True, dtype=dtype)


def test_softmax_int_input():
    check(lambda x: x.softmax(1), [ints((2, 3), -3, 3)], lambda x: x.float().softmax(1), grad=False)


# ------------------------------------------------------------------------------- cross_entropy


def _ce(**kw):
    """nabla and torch cross_entropy with the same keyword arguments (weight built per framework)."""
    w = kw.pop("weight", None)

    def n(x, t):
        return nabla.cross_entropy(x, t, weight=None if w is None else nabla.tensor(w.astype(x.dtype)), **kw)

    def tt(x, t):
        return TF.cross_entropy(x, t, weight=None if w is None else torch.from_numpy(w.astype(str(x.dtype)[6:])), **kw)

    return n, tt


WEIGHT = np.array([0.5, 2.0, 1.0, 0.1, 3.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy(reduction, weighted, dtype):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = WEIGHT
    n, t = _ce(**kw)
    check(n, [(6, 5), ints((6,), 0, 5)], t, dtype=dtype, low=-3, high=3)
    check(n, [(2, 5, 3), ints((2, 3), 0, 5)], t, dtype=dtype, low=-3, high=3)
    check(n, [(2, 5, 3, 2), ints((2, 3, 2), 0, 5)], t, dtype=dtype, low=-3, high=3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_ignore_index(reduction, weighted):
    kw = {"reduction": reduction}
    if weighted:
        kw["weight"] = WEIGHT
    target = np.array([0, -100, 3, 4, -100, 1])
    n, t = _ce(**kw)
    check(n, [(6, 5), target], t, dtype=F64)
    n, t = _ce(ignore_index=2, **kw)
    check(n, [(6, 5), np.array([2, 0, 2, 4, 1, 1])], t)
    check(n, [(2, 5, 3), np.array([[2, 0, 1], [2, 2, 4]])], t)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cross_entropy_all_ignored():
    n, t = _ce()
    check(n, [(3, 4), np.full(3, -100)], t)  # the loss is NaN, the gradient zero
    check(n, [(2, 4, 2), np.full((2, 2), -100)], t)
    n, t = _ce(reduction="sum")
    check(n, [(3, 4), np.full(3, -100)], t)
    n, t = _ce(reduction="none")
    check(n, [(3, 4), np.full(3, -100)], t)


def test_cross_entropy_unbatched():
    n, t = _ce()
    check(n, [(5,), np.array(3)], t)
    n, t = _ce(reduction="none")
    check(n, [(5,), np.array(1)], t)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_extreme_logits(reduction, dtype):
    x = np.array(
        [[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [0.0, 0.0, 1e4]], dtype=dtype
    )
    target = np.array([0, 0, 2, 1, 1])
    for kw in ({"reduction": reduction}, {"reduction": reduction, "weight": np.array([1.0, 2.0, 0.5])}):
        n, t = _ce(**kw)
        check(n, [x, target], t, dtype=dtype, finite=True)


def test_cross_entropy_int32_target_and_errors():
    check(lambda x, t: nabla.cross_entropy(x, t), [(4, 3), ints((4,), 0, 3).astype(np.int32)],
          lambda x, t: TF.cross_entropy(x, t.long()))
    with pytest.raises(IndexError):
        nabla.cross_entropy(nabla.zeros(2, 3), nabla.tensor([0, 3]))
    with pytest.raises(TypeError):
        nabla.cross_entropy(nabla.zeros(2, 3), nabla.tensor([0.0, 1.0]))
    with pytest.raises(ValueError):
        nabla.cross_entropy(nabla.zeros(2, 3), nabla.tensor([0, 1, 2]))


def test_cross_entropy_matches_log_softmax_composition():
    """The fused op equals -log_softmax(x)[t] built from nabla's own indexing, value and gradient."""
    target = ints((4,), 0, 3)

    def composed(x, t):
        lsm = x.log_softmax(1)
        return -lsm[torch_or_nabla_arange(x, 4), t].mean()

    check(composed, [(4, 3), target], dtype=F64)
    check(lambda x, t: nabla.cross_entropy(x, t), [(4, 3), target], composed, dtype=F64)


def torch_or_nabla_arange(like, n):
    return torch.arange(n) if isinstance(like, torch.Tensor) else nabla.arange(n)
