"""scaled_dot_product_attention, MultiheadAttention and positional encodings against PyTorch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
import nabla.functional as F
from nabla import nn
from nabla.nn.layers import sinusoidal_encoding
from nabla.ops.attention import composed_attention

from .helpers import F32, F64, assert_same, check, check_double, gradcheck, rng

# ------------------------------------------------------------------------------------------ SDPA


def sdpa(lib):
    fn = F.scaled_dot_product_attention if lib is nabla else TF.scaled_dot_product_attention
    return fn


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shapes", [
    ((4, 5), (6, 5), (6, 3)),                      # 2-D
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)),    # (N, H, L, E)
    ((2, 3, 4, 5), (3, 6, 5), (1, 6, 7)),          # broadcast leading dims
], ids=["2d", "4d", "broadcast"])
def test_sdpa_matches_torch(shapes, dtype):
    check(lambda q, k, v: sdpa(type_of(q))(q, k, v), list(shapes), dtype=dtype)


def type_of(t):
    return nabla if isinstance(t, nabla.Tensor) else torch


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("L,S", [(5, 5), (4, 7), (7, 4)])
def test_sdpa_causal_matches_torch(L, S, dtype):
    """Causal = the lower triangle of an L x S matrix (top-left aligned), as PyTorch."""
    check(lambda q, k, v: sdpa(type_of(q))(q, k, v, is_causal=True), [(2, L, 3), (2, S, 3), (2, S, 4)], dtype=dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("mask_shape", [(4, 6), (2, 1, 4, 6), (1, 6)])
def test_sdpa_bool_mask_matches_torch(mask_shape, dtype):
    mask = rng(3).random(mask_shape) > 0.4
    mask[..., 0] = True  # every query keeps at least one key
    check(lambda q, k, v, m: sdpa(type_of(q))(q, k, v, attn_mask=m), [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), mask],
          dtype=dtype)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_sdpa_float_mask_matches_torch_and_gets_its_gradient(dtype):
    mask = rng(4).standard_normal((3, 4, 6)).astype(dtype)
    mask[0, 1, 2:] = -np.inf
    check(lambda q, k, v, m: sdpa(type_of(q))(q, k, v, attn_mask=m), [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), mask],
          dtype=dtype, finite=True)


def test_sdpa_scale_matches_torch():
    check(lambda q, k, v: sdpa(type_of(q))(q, k, v, scale=0.3), [(3, 4, 5), (3, 6, 5), (3, 6, 5)], dtype=F64)


def test_sdpa_fully_masked_query_gives_zeros_as_torch():
    mask = np.ones((4, 6), bool)
    mask[2] = False
    outs, _ = check(lambda q, k, v, m: sdpa(type_of(q))(q, k, v, attn_mask=m), [(2, 4, 3), (2, 6, 3), (2, 6, 3), mask],
                    dtype=F64, finite=True)
    np.testing.assert_array_equal(outs[0].detach().numpy()[:, 2], 0)


def test_sdpa_second_derivatives_match_torch():
    mask = rng(1).standard_normal((4, 6))
    check_double(lambda q, k, v: sdpa(type_of(q))(q, k, v, attn_mask=type_of(q).tensor(mask)),
                 [(2, 4, 3), (2, 6, 3), (2, 6, 2)])


def test_sdpa_gradcheck_with_mask_causal_and_dropout():
    def fn(q, k, v, m):
        nabla.manual_seed(5)  # the same dropout mask at every evaluation
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=m, dropout_p=0.3)
        b = F.scaled_dot_product_attention(q, k[:, :5], v[:, :5], is_causal=True)
        return a + b

    gradcheck(fn, [(2, 4, 3), (2, 6, 3), (2, 6, 2), (4, 6)])


def test_sdpa_dropout_drops_weights_and_backward_uses_the_same_mask():
    """With value = identity the output is the dropped weight matrix: a fraction p of zeros, the rest
    scaled by 1/(1-p); the gradient equals PyTorch's for that same mask."""
    p, L, S = 0.4, 64, 48
    r = rng(7)
    q, k = r.standard_normal((4, L, 8)), r.standard_normal((4, S, 8))
    eye = np.broadcast_to(np.eye(S), (4, S, S)).copy()
    nabla.manual_seed(11)
    w = F.scaled_dot_product_attention(nabla.tensor(q), nabla.tensor(k), nabla.tensor(eye), dropout_p=p).numpy()
    plain = torch.softmax(torch.tensor(q) @ torch.tensor(k).mT / math.sqrt(8), -1).numpy()
    kept = w != 0
    assert abs(1 - kept.mean() - p) < 0.02
    np.testing.assert_allclose(w[kept], plain[kept] / (1 - p), rtol=1e-10)

    v = r.standard_normal((4, S, 5))
    nq, nk, nv = (nabla.tensor(a, requires_grad=True) for a in (q, k, v))
    nabla.manual_seed(11)  # same shape, same seed: the same mask as above
    out = F.scaled_dot_product_attention(nq, nk, nv, dropout_p=p)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tw = torch.softmax(tq @ tk.mT / math.sqrt(8), -1) * torch.tensor(kept / (1 - p))
    ref = tw @ tv
    up = r.standard_normal(ref.shape)
    out.backward(nabla.tensor(up))
    ref.backward(torch.tensor(up))
    assert_same(out, ref, 1e-10, 1e-8, "forward")
    for a, b, name in ((nq, tq, "q"), (nk, tk, "k"), (nv, tv, "v")):
        assert_same(a.grad, b.grad, 1e-10, 1e-8, f"grad of {name}")


def test_fused_op_equals_its_composition():
    r = rng(2)
    q, k, v = (nabla.tensor(r.standard_normal(s), requires_grad=True) for s in ((2, 4, 3), (2, 5, 3), (2, 5, 3)))
    bias = nabla.tensor(r.standard_normal((4, 5)), requires_grad=True)
    blocked = r.random((2, 4, 5)) > 0.6
    blocked[1, 2] = True  # a fully masked query
    fused = nabla.ops.attention.ScaledDotProductAttention.apply(q, k, v, bias, blocked=blocked, drop=None, scale=0.7)
    comp = composed_attention(q, k, v, bias, blocked, None, 0.7)
    np.testing.assert_allclose(fused.detach().numpy(), comp.detach().numpy(), atol=1e-14)
    up = nabla.tensor(r.standard_normal(fused.shape))
    g1 = nabla.autograd.grad(fused, [q, k, v, bias], up)
    g2 = nabla.autograd.grad(comp, [q, k, v, bias], up)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-13)


def test_packed_self_attention_equals_the_general_op():
    """The op MultiheadAttention uses for self-attention: same values and gradients (mask included) as
    the general op on heads split by hand, with the same dropout mask."""
    from nabla.ops import attention as A

    n, length, h, d = 2, 5, 3, 4
    e = h * d
    r = rng(6)
    x = nabla.tensor(r.standard_normal((n, length, 3 * e)), requires_grad=True)
    bias = nabla.tensor(r.standard_normal((n, 1, length, length)), requires_grad=True)
    blocked = np.triu(np.ones((length, length), bool), 1)
    up = nabla.tensor(r.standard_normal((n, length, e)))

    def heads(t):
        return t.reshape(n, length, h, d).transpose(1, 2)

    nabla.manual_seed(3)
    a = A.packed_self_attention(x, h, bias, blocked, 0.25, 0.4)
    ga = nabla.autograd.grad(a, [x, bias], up)
    nabla.manual_seed(3)
    q, k, v = heads(x[..., :e]), heads(x[..., e:2 * e]), heads(x[..., 2 * e:])
    b = A.attention(q, k, v, bias, blocked, 0.25, 0.4).transpose(1, 2).reshape(n, length, e)
    gb = nabla.autograd.grad(b, [x, bias], up)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-14)
    for g1, g2 in zip(ga, gb):
        np.testing.assert_allclose(g1.numpy(), g2.numpy(), atol=1e-13)


def test_self_attention_second_derivatives_match_torch():
    n, t = _mha_pair()
    mask = rng(3).standard_normal((L, L))

    def fn(x):  # nabla's fused path vs torch's weights path (torch's CPU kernel has no double backward)
        if isinstance(x, nabla.Tensor):
            return n(x, x, x, attn_mask=nabla.tensor(mask), need_weights=False)[0]
        return t(x, x, x, attn_mask=torch.tensor(mask), need_weights=True)[0]

    check_double(fn, [(L, N, E)])


@pytest.mark.parametrize("kwargs,match", [
    (dict(q=(2, 4, 5), k=(2, 6, 4), v=(2, 6, 3)), "same last dimension"),
    (dict(q=(2, 4, 5), k=(2, 6, 5), v=(2, 7, 3)), "same length"),
    (dict(q=(2, 4, 5), k=(3, 6, 5), v=(3, 6, 3)), "do not broadcast"),
    (dict(q=(5,), k=(6, 5), v=(6, 3)), "at least 2 dimensions"),
    (dict(mask=np.ones((4, 5), bool)), "does not broadcast"),
    (dict(mask=np.ones((4, 6), np.int64)), "bool .* or float"),
    (dict(mask=np.ones((4, 6), bool), is_causal=True), "not both"),
    (dict(dropout_p=1.0), "dropout_p"),
])
def test_sdpa_errors_name_the_problem(kwargs, match):
    r = rng(0)
    q = nabla.tensor(r.standard_normal(kwargs.get("q", (2, 4, 5))))
    k = nabla.tensor(r.standard_normal(kwargs.get("k", (2, 6, 5))))
    v = nabla.tensor(r.standard_normal(kwargs.get("v", (2, 6, 3))))
    mask = kwargs.get("mask")
    with pytest.raises((ValueError, TypeError), match=match):
        F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else nabla.tensor(mask),
                                       dropout_p=kwargs.get("dropout_p", 0.0), is_causal=kwargs.get("is_causal", False))


def test_sdpa_rejects_mixed_dtypes_and_ints():
    a = nabla.randn(2, 3, 4)
    with pytest.raises(TypeError, match="share a dtype"):
        F.scaled_dot_product_attention(a, a.double(), a)
    with pytest.raises(TypeError, match="floating"):
        F.scaled_dot_product_attention(a.long(), a, a)


# ------------------------------------------------------------------------------ MultiheadAttention

E, H, L, S, N = 8, 2, 4, 5, 3


def _mha_pair(dtype=F64, **kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, H, **kw)
    n = nn.MultiheadAttention(E, H, **kw)
    if np.dtype(dtype) == np.float64:
        t.double()
        n.double()
    with torch.no_grad():  # non-zero biases so that their gradients say something
        for name, p in t.named_parameters():
            if "bias" in name:
                p.copy_(torch.randn_like(p) * 0.3)
    assert list(n.state_dict()) == list(t.state_dict())
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return n, t


def _run_mha(n, t, kind, dtype, call_kw, batch_first=False, unbatched=False, seed=0):
    """Run both modules on the same inputs; compare outputs, weights, input and parameter gradients."""
    r = rng(seed)
    kdim, vdim = n.kdim, n.vdim

    def shape(length, feat):
        if unbatched:
            return (length, feat)
        return (N, length, feat) if batch_first else (length, N, feat)

    xq = r.standard_normal(shape(L, E)).astype(dtype)
    xk = r.standard_normal(shape(S, kdim)).astype(dtype)
    xv = r.standard_normal(shape(S, vdim)).astype(dtype)

    def inputs(lib):
        q = lib.tensor(xq.copy(), requires_grad=True)
        if kind == "self":
            return [q, q, q], [q]
        k = lib.tensor(xk.copy(), requires_grad=True)
        if kind == "kv":
            return [q, k, k], [q, k]
        v = lib.tensor(xv.copy(), requires_grad=True)
        return [q, k, v], [q, k, v]

    def masks(lib):
        return {k: (lib.tensor(v.copy()) if isinstance(v, np.ndarray) else v) for k, v in call_kw.items()}

    (nq, nk, nv), n_leaves = inputs(nabla)
    (tq, tk, tv), t_leaves = inputs(torch)
    n_out, n_w = n(nq, nk, nv, **masks(nabla))
    t_out, t_w = t(tq, tk, tv, **masks(torch))
    tol = (1e-10, 1e-8) if np.dtype(dtype) == np.float64 else (2e-5, 1e-4)
    assert_same(n_out, t_out, *tol, "output")
    assert (n_w is None) == (t_w is None)
    up = r.standard_normal(tuple(t_out.shape)).astype(dtype)
    n_loss, t_loss = (n_out * nabla.tensor(up)).sum(), (t_out * torch.tensor(up)).sum()
    if t_w is not None:
        assert_same(n_w, t_w, *tol, "weights")
        wup = r.standard_normal(tuple(t_w.shape)).astype(dtype)
        n_loss = n_loss + (n_w * nabla.tensor(wup)).sum()
        t_loss = t_loss + (t_w * torch.tensor(wup)).sum()
    n_loss.backward()
    t_loss.backward()
    gtol = (tol[0] * 10, tol[1] * 10)
    for i, (a, b) in enumerate(zip(n_leaves, t_leaves)):
        assert_same(a.grad, b.grad, *gtol, f"grad of input {i}")
    tp = dict(t.named_parameters())
    for name, p in n.named_parameters():
        assert_same(p.grad, tp[name].grad, *gtol, f"grad of {name}")
    return n_out, n_w


def _masks(seed=0, float_attn=False, per_head=False):
    r = rng(seed)
    am = r.standard_normal((N * H, L, S) if per_head else (L, S)) if float_attn else r.random(
        (N * H, L, S) if per_head else (L, S)) > 0.7
    kpm = r.random((N, S)) > 0.7
    kpm[:, 0] = False  # key 0 stays visible to everyone, so no query is fully masked
    if not float_attn:
        am[..., 0] = False
    return am, kpm


CASES = {
    "self": ("self", {}, {}),
    "self-no-weights": ("self", {}, {"need_weights": False}),
    "cross-kv": ("kv", {}, {"need_weights": False}),
    "cross-qkv-per-head-weights": ("qkv", {}, {"average_attn_weights": False}),
    "kdim-vdim": ("qkv", {"kdim": 6, "vdim": 5}, {}),
    "no-bias": ("self", {"bias": False}, {"need_weights": False}),
    "bias-kv-zero-attn": ("kv", {"add_bias_kv": True, "add_zero_attn": True}, {}),
    "bias-kv-no-weights": ("qkv", {"add_bias_kv": True}, {"need_weights": False}),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", list(CASES))
def test_mha_matches_torch(case, dtype):
    kind, kw, call_kw = CASES[case]
    n, t = _mha_pair(dtype, **kw)
    _run_mha(n, t, kind, dtype, call_kw)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("float_attn,per_head", [(False, False), (True, False), (False, True), (True, True)])
def test_mha_masks_match_torch(float_attn, per_head, need_weights):
    am, kpm = _masks(1, float_attn, per_head)
    n, t = _mha_pair(add_bias_kv=True)
    _run_mha(n, t, "kv", F64, {"attn_mask": am, "key_padding_mask": kpm, "need_weights": need_weights})


def test_mha_float_key_padding_mask_and_causal_hint_match_torch():
    kpm = rng(2).standard_normal((N, L))
    causal = np.triu(np.full((L, L), -np.inf), 1)
    n, t = _mha_pair()
    _run_mha(n, t, "self", F64, {"key_padding_mask": kpm, "attn_mask": causal, "need_weights": False})
    _run_mha(n, t, "self", F64, {"attn_mask": causal, "is_causal": True, "need_weights": False})


@pytest.mark.parametrize("batch_first,unbatched", [(True, False), (False, True), (True, True)])
def test_mha_layouts_match_torch(batch_first, unbatched):
    n, t = _mha_pair(batch_first=batch_first)
    kpm = None if not unbatched else np.array([False, True, False, False, True])
    call = {} if kpm is None else {"key_padding_mask": kpm}
    _run_mha(n, t, "kv", F64, call, batch_first=batch_first, unbatched=unbatched)


def test_mha_fully_masked_query_nan_with_weights_zero_without():
    """Both as PyTorch: the weights path's softmax gives NaN, the fused path gives zeros."""
    n = nn.MultiheadAttention(E, H)
    x = nabla.randn(3, 1, E)
    kpm = nabla.tensor(np.ones((1, 3), bool))
    assert np.isnan(n(x, x, x, key_padding_mask=kpm)[0].detach().numpy()).all()
    out = n(x, x, x, key_padding_mask=kpm, need_weights=False)[0].detach().numpy()
    np.testing.assert_allclose(out, np.broadcast_to(n.out_proj.bias.detach().numpy(), out.shape))


def test_mha_dropout_only_in_training():
    nabla.manual_seed(0)
    n = nn.MultiheadAttention(E, H, dropout=0.5)
    x = nabla.randn(6, 2, E)
    a = n(x, x, x, need_weights=False)[0]
    b = n(x, x, x, need_weights=False)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    w = n(x, x, x)[1].detach().numpy()
    assert (w == 0).mean() > 0.2  # returned weights are after dropout, as in PyTorch
    n.eval()
    c, w = n(x, x, x)
    d = n(x, x, x, need_weights=False)[0]
    np.testing.assert_allclose(c.detach().numpy(), d.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1, atol=1e-6)


def test_mha_init_as_pytorch():
    nabla.manual_seed(0)
    n = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = n.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (64 + 192))  # xavier_uniform on (3E, E)
    assert w.shape == (192, 64) and np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    np.testing.assert_array_equal(n.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(n.out_proj.bias.detach().numpy(), 0)
    assert n.bias_k.shape == (1, 1, 64)


def test_mha_gradcheck():
    n = nn.MultiheadAttention(4, 2, add_bias_kv=True).double()
    am = nabla.tensor(rng(0).standard_normal((3, 3)))  # (L, S) before bias_k adds a key

    def fn(q, k, w):
        return n(q, k, k, attn_mask=am, need_weights=False)[0] * 1.0 + n(q, k, k)[1].sum() * w

    gradcheck(fn, [(3, 2, 4), (3, 2, 4), (1,)])


@pytest.mark.parametrize("call,match", [
    (lambda m, x: m(x[..., :6], x, x), "embed_dim"),
    (lambda m, x: m(x, x, x[:4]), "same sequence length"),
    (lambda m, x: m(x, x[:, :2], x[:, :2]), "same batch size"),
    (lambda m, x: m(x[0, 0], x, x), "3-D .* or 2-D"),
    (lambda m, x: m(x, x, x, attn_mask=nabla.zeros(5, 4)), r"attn_mask must have shape \(L, S\)"),
    (lambda m, x: m(x, x, x, key_padding_mask=nabla.zeros(5, 3)), r"key_padding_mask must have shape \(N, S\)"),
    (lambda m, x: m(x, x, x, key_padding_mask=nabla.zeros(3, 5, dtype=nabla.int64)), "bool .* or float"),
    (lambda m, x: m(x, x, x, is_causal=True), "is_causal"),
])
def test_mha_errors_name_layer_shapes_and_fix(call, match):
    m = nn.MultiheadAttention(8, 2)
    x = nabla.randn(5, 3, 8)
    with pytest.raises((ValueError, TypeError), match=match) as e:
        call(m, x)
    assert str(e.value).startswith("MultiheadAttention")


def test_mha_constructor_errors():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="dropout"):
        nn.MultiheadAttention(8, 2, dropout=1.5)


# ------------------------------------------------------------------------------ positional encodings


def _tutorial_pe(max_len, d_model):
    """PyTorch's tutorial PositionalEncoding table, computed with torch."""
    position = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.numpy()


@pytest.mark.parametrize("batch_first", [False, True])
def test_sinusoidal_encoding_matches_pytorch_tutorial(batch_first):
    enc = nn.SinusoidalPositionalEncoding(16, max_len=50, batch_first=batch_first, dtype=nabla.float64)
    np.testing.assert_allclose(enc.pe.numpy(), _tutorial_pe(50, 16), atol=1e-12)
    x = rng(0).standard_normal((3, 7, 16) if batch_first else (7, 3, 16))
    out = enc(nabla.tensor(x)).numpy()
    pe = _tutorial_pe(7, 16)
    np.testing.assert_allclose(out, x + (pe[None] if batch_first else pe[:, None]), atol=1e-12)
    assert list(enc.state_dict()) == []  # the table is recomputed, not saved


def test_sinusoidal_odd_width_and_relative_positions():
    pe = sinusoidal_encoding(20, 7, dtype=nabla.float64).numpy()
    assert pe.shape == (20, 7)
    # PE[pos + k] is a fixed rotation of PE[pos] for every frequency pair: check one pair
    k, i = 3, 1
    w = 1 / 10000 ** (2 * i / 7)
    rot = np.array([[math.cos(k * w), -math.sin(k * w)], [math.sin(k * w), math.cos(k * w)]])
    np.testing.assert_allclose(pe[5:10, 2 * i:2 * i + 2] @ rot, pe[8:13, 2 * i:2 * i + 2], atol=1e-12)


def test_learned_positional_encoding_trains_only_used_rows():
    enc = nn.LearnedPositionalEncoding(4, max_len=10, batch_first=True)
    assert list(enc.state_dict()) == ["weight"]
    assert abs(float(enc.weight.detach().numpy().std()) - 0.02) < 0.01
    x = nabla.randn(2, 6, 4, requires_grad=True)
    enc(x).sum().backward()
    g = enc.weight.grad.numpy()
    np.testing.assert_array_equal(g[:6], 2)  # two sequences in the batch
    np.testing.assert_array_equal(g[6:], 0)
    np.testing.assert_array_equal(x.grad.numpy(), 1)


def test_positional_encoding_errors():
    enc = nn.SinusoidalPositionalEncoding(8, max_len=5)
    with pytest.raises(ValueError, match="max_len=5"):
        enc(nabla.zeros(6, 2, 8))
    with pytest.raises(ValueError, match="d_model = 8"):
        enc(nabla.zeros(4, 2, 6))
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        nn.LearnedPositionalEncoding(0)


def test_positional_dropout_in_training_only():
    enc = nn.SinusoidalPositionalEncoding(8, dropout=0.5)
    x = nabla.ones(10, 4, 8)
    assert (enc(x).numpy() == 0).mean() > 0.3
    enc.eval()
    assert (enc(x).numpy() == 0).mean() < 0.1
