"""Additive (Bahdanau) and multiplicative (Luong) attention against the same formulas in PyTorch (copied
weights): context, weights and all gradients; padding masks; one or many queries; gradcheck; errors."""

import math

import numpy as np
import pytest
import torch

import nabla
from nabla.nn.layers.rnn_attention import AdditiveAttention, MultiplicativeAttention

from .helpers import F32, F64, TOLS, assert_same, compare_grad, rng

B, TQ, TK, DQ, DK, A = 3, 4, 5, 6, 7, 8


def torch_additive(layer, q, k, v, mask):
    wq, wk, bk, wv = (torch.from_numpy(p.detach().numpy().copy()).requires_grad_() for p in
                      (layer.query_proj.weight, layer.key_proj.weight, layer.key_proj.bias, layer.v.weight))
    scores = (torch.tanh((q @ wq.T).unsqueeze(2) + (k @ wk.T + bk).unsqueeze(1)) @ wv.T).squeeze(-1)
    return (
        scores,
        [wq, wk, bk, wv],
        [layer.query_proj.weight, layer.key_proj.weight, layer.key_proj.bias, layer.v.weight],
    )


def torch_general(layer, q, k, v, mask):
    w = torch.from_numpy(layer.key_proj.weight.detach().numpy().copy()).requires_grad_()
    scores = q @ (k @ w.T).transpose(1, 2)
    if layer.scale:
        scores = scores / math.sqrt(layer.key_dim)
    return scores, [w], [layer.key_proj.weight]


def run_case(layer, torch_scores, dtype, single, with_values, with_mask, dk=DK):
    if np.dtype(dtype) == np.float64:
        layer.double()
    r = rng(0)
    q = r.standard_normal((B, DQ) if single else (B, TQ, DQ)).astype(dtype)
    k = r.standard_normal((B, TK, dk)).astype(dtype)
    v = r.standard_normal((B, TK, 3)).astype(dtype) if with_values else None
    mask = None
    if with_mask:
        mask = np.zeros((B, TK), bool)
        mask[0, 3:] = True
        mask[2, 1:] = True
    arrays = [q, k] + ([v] if with_values else [])
    n_in = [nabla.tensor(a.copy(), requires_grad=True) for a in arrays]
    t_in = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    n_ctx, n_w = layer(n_in[0], n_in[1], n_in[2] if with_values else None, key_padding_mask=mask)
    tq = t_in[0] if not single else t_in[0].unsqueeze(1)
    scores, t_params, n_params = torch_scores(layer, tq, t_in[1], None, mask)
    if mask is not None:
        scores = scores.masked_fill(torch.from_numpy(mask)[:, None, :], float("-inf"))
    t_w = torch.softmax(scores, -1)
    t_ctx = t_w @ (t_in[2] if with_values else t_in[1])
    if single:
        t_ctx, t_w = t_ctx.squeeze(1), t_w.squeeze(1)
    fa, fr = TOLS[np.dtype(dtype)]
    assert_same(n_ctx, t_ctx, fa, fr, "context")
    assert_same(n_w, t_w, fa, fr, "weights")
    if mask is not None:
        w = n_w.detach().numpy()
        assert np.all(w[0, ..., 3:] == 0) and np.all(w[2, ..., 1:] == 0)
    np.testing.assert_allclose(n_w.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    ups = [rng(3).standard_normal(tuple(t.shape)).astype(dtype) for t in (t_ctx, t_w)]
    torch.autograd.backward([t_ctx, t_w], [torch.from_numpy(u.copy()) for u in ups])
    nabla.autograd.backward([n_ctx, n_w], [nabla.tensor(u.copy()) for u in ups])
    for i, (a, b) in enumerate(zip(n_in, t_in)):
        compare_grad(a.grad, b.grad, a, fa * 10, fr * 10, f"grad of input {i}")
    for i, (a, b) in enumerate(zip(n_params, t_params)):
        compare_grad(a.grad, b.grad, a, fa * 10, fr * 10, f"grad of parameter {i}")


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("single", [True, False])
@pytest.mark.parametrize("with_values", [True, False])
@pytest.mark.parametrize("with_mask", [True, False])
def test_additive_matches_torch(dtype, single, with_values, with_mask):
    run_case(AdditiveAttention(DQ, DK, A), torch_additive, dtype, single, with_values, with_mask)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("single", [True, False])
@pytest.mark.parametrize("with_mask", [True, False])
@pytest.mark.parametrize("scale", [True, False])
def test_general_matches_torch(dtype, single, with_mask, scale):
    run_case(MultiplicativeAttention(DQ, DK, "general", scale=scale), torch_general, dtype, single, True, with_mask)


def test_dot_score_is_plain_dot_product():
    layer = MultiplicativeAttention(DQ, DQ, "dot")
    assert list(layer.parameters()) == []
    q, k = nabla.randn(B, DQ), nabla.randn(B, TK, DQ)
    _, w = layer(q, k)
    expect = torch.softmax(torch.einsum("bd,btd->bt", torch.from_numpy(q.numpy()), torch.from_numpy(k.numpy())), -1)
    np.testing.assert_allclose(w.numpy(), expect.numpy(), rtol=1e-5, atol=1e-6)


def test_gradcheck_float64():
    add = AdditiveAttention(2, 3, 4).double()
    gen = MultiplicativeAttention(2, 3).double()
    q = nabla.tensor(rng(0).standard_normal((2, 2, 2)), requires_grad=True)
    k = nabla.tensor(rng(1).standard_normal((2, 3, 3)), requires_grad=True)
    mask = np.array([[False, False, True], [False, False, False]])
    for layer in (add, gen):
        params = list(layer.parameters())
        assert nabla.autograd.gradcheck(
            lambda q, k, *p, layer=layer: layer(q, k, key_padding_mask=mask), [q, k] + params
        )


def test_errors():
    layer = AdditiveAttention(DQ, DK, A)
    with pytest.raises(ValueError, match=r"AdditiveAttention: expected keys \(B, Tk, 7\)"):
        layer(nabla.randn(B, DQ), nabla.randn(B, TK, 5))
    with pytest.raises(ValueError, match=r"expected query \(3, 6\) or \(3, Tq, 6\)"):
        layer(nabla.randn(2, DQ), nabla.randn(B, TK, DK))
    with pytest.raises(ValueError, match="key_padding_mask must be a bool"):
        layer(nabla.randn(B, DQ), nabla.randn(B, TK, DK), key_padding_mask=np.zeros((B, TK)))
    with pytest.raises(ValueError, match="masks every position"):
        layer(nabla.randn(B, DQ), nabla.randn(B, TK, DK), key_padding_mask=np.ones((B, TK), bool))
    with pytest.raises(ValueError, match="score='dot' needs query_dim == key_dim"):
        MultiplicativeAttention(4, 5, "dot")
    with pytest.raises(ValueError, match="unknown score 'cosine'"):
        MultiplicativeAttention(4, 5, "cosine")
