"""Embedding against PyTorch: lookup, gradients with repeated ids and padding_idx, init, errors."""

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, check_double, compare_layer, same_layer


def ids(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape).astype(np.int64)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
@pytest.mark.parametrize("shape", [(7,), (4, 6), (2, 3, 5), ()])
def test_embedding_matches_torch(shape, padding_idx, dtype):
    n, t = nn.Embedding(10, 4, padding_idx=padding_idx), torch.nn.Embedding(10, 4, padding_idx=padding_idx)
    same_layer(n, t, dtype)
    x = ids(shape, 10)
    if shape and padding_idx is not None:
        x.reshape(-1)[:2] = padding_idx % 10  # make sure the padding row is looked up
    compare_layer(n, t, x)
    assert repr(n) == repr(t)


def test_padding_row_gets_no_gradient_and_repeats_accumulate():
    emb = nn.Embedding(5, 3, padding_idx=1)
    x = nabla.tensor([[1, 2, 2], [1, 1, 4]])
    emb(x).sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_array_equal(g[1], 0)
    np.testing.assert_array_equal(g[2], 2)
    np.testing.assert_array_equal(g[4], 1)
    np.testing.assert_array_equal(g[[0, 3]], 0)


def test_embedding_default_init():
    nabla.manual_seed(1)
    emb = nn.Embedding(1000, 64, padding_idx=7)
    w = emb.weight.detach().numpy()
    np.testing.assert_array_equal(w[7], 0)
    rest = np.delete(w, 7, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    assert list(emb.state_dict()) == ["weight"]


def test_embedding_large_backward_matches_numpy():
    emb = nn.Embedding(50, 8)
    x = ids((300, 20), 50, seed=2)
    up = np.random.default_rng(3).standard_normal((300, 20, 8)).astype(np.float32)
    emb(nabla.tensor(x)).backward(nabla.tensor(up))
    expected = np.zeros((50, 8), np.float32)
    np.add.at(expected, x.reshape(-1), up.reshape(-1, 8))
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_embedding_second_derivative_through_the_table():
    """d/dW of a function of the embedded vectors' gradient (the backward is itself differentiable)."""
    x = ids((6,), 4, seed=1)
    check_double(lambda w: (nabla.nn.functional.embedding(nabla.tensor(x), w, padding_idx=2) ** 3),
                 [(4, 3)], lambda w: torch.nn.functional.embedding(torch.from_numpy(x), w, padding_idx=2) ** 3)


def test_from_pretrained():
    w = nabla.randn(4, 3)
    emb = nn.Embedding.from_pretrained(w)
    np.testing.assert_array_equal(emb(nabla.tensor([2])).numpy()[0], w.numpy()[2])
    assert not emb.weight.requires_grad
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_embedding_errors():
    emb = nn.Embedding(10, 3)
    with pytest.raises(TypeError, match="integer indices"):
        emb(nabla.tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match=r"\[0, 10\).*got values 3\.\.12"):
        emb(nabla.tensor([3, 12]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(10, 3, padding_idx=10)
    with pytest.raises(IndexError, match="Embedding at 0"):
        nn.Sequential(emb)(nabla.tensor([-1]))
