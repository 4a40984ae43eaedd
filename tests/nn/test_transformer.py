"""Transformer layers, stacks and the full encoder-decoder against PyTorch (weights copied by key)."""

import numpy as np
import pytest
import torch

import nabla
from nabla import nn

from .helpers import F32, F64, assert_same, gradcheck, rng

D, HEADS, FF, L, T, N = 8, 2, 16, 5, 4, 3


def _copy(t, n, dtype):
    if np.dtype(dtype) == np.float64:
        t.double()
        n.double()
    with torch.no_grad():  # LayerNorm starts at (1, 0) and biases at 0: move them so gradients say more
        for _name, p in t.named_parameters():
            if p.ndim == 1:
                p.add_(torch.randn_like(p) * 0.2)
    assert list(n.state_dict()) == list(t.state_dict())
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})


def _compare(n, t, arrays, kwargs=None, dtype=F64, seed=0):
    """Same inputs (and masks) through both; compare output, input gradients, parameter gradients."""
    kwargs = kwargs or {}
    n_in = [nabla.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]

    def conv(lib):
        return {k: (lib.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}

    n_out, t_out = n(*n_in, **conv(nabla)), t(*t_in, **conv(torch))
    tol = (1e-10, 1e-8) if np.dtype(dtype) == np.float64 else (3e-5, 1e-4)
    assert_same(n_out, t_out, *tol, "output")
    up = rng(seed + 9).standard_normal(tuple(t_out.shape)).astype(dtype)
    n_out.backward(nabla.tensor(up))
    t_out.backward(torch.tensor(up))
    gtol = (tol[0] * 10, tol[1] * 10)
    for i, (a, b) in enumerate(zip(n_in, t_in)):
        assert_same(a.grad, b.grad, *gtol, f"grad of input {i}")
    tp = dict(t.named_parameters())
    np_ = dict(n.named_parameters())
    assert set(np_) == set(tp)
    for name, p in np_.items():
        assert_same(p.grad, tp[name].grad, *gtol, f"grad of {name}")
    return n_out


def _x(*shape, seed=0):
    return rng(seed).standard_normal(shape)


def _masks(seed=1):
    r = rng(seed)
    kpm = r.random((N, L)) > 0.6
    kpm[:, 0] = False
    causal = np.triu(np.full((T, T), -np.inf), 1)
    return kpm, causal


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(activation, norm_first, dtype):
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.0, activation=activation, norm_first=norm_first)
    t, n = torch.nn.TransformerEncoderLayer(D, HEADS, **kw), nn.TransformerEncoderLayer(D, HEADS, **kw)
    _copy(t, n, dtype)
    _compare(n, t, [_x(L, N, D)], dtype=dtype)


@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_masks_match_torch(batch_first):
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=batch_first)
    t, n = torch.nn.TransformerEncoderLayer(D, HEADS, **kw), nn.TransformerEncoderLayer(D, HEADS, **kw)
    _copy(t, n, F64)
    kpm, _ = _masks()
    causal = np.triu(np.ones((L, L), bool), 1)
    x = _x(N, L, D) if batch_first else _x(L, N, D)
    _compare(n, t, [x], dict(src_mask=causal, src_key_padding_mask=kpm))
    _compare(n, t, [x[0] if batch_first else x[:, 0]], dict(src_mask=causal))  # unbatched


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_decoder_layer_matches_torch(norm_first, dtype):
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.0, norm_first=norm_first, activation="gelu")
    t, n = torch.nn.TransformerDecoderLayer(D, HEADS, **kw), nn.TransformerDecoderLayer(D, HEADS, **kw)
    _copy(t, n, dtype)
    kpm, causal = _masks()
    _compare(n, t, [_x(T, N, D), _x(L, N, D, seed=1)],
             dict(tgt_mask=causal, memory_key_padding_mask=kpm, tgt_is_causal=True), dtype=dtype)


def test_encoder_and_decoder_stacks_match_torch():
    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=0.0, batch_first=True)
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, HEADS, **kw), 3, torch.nn.LayerNorm(D),
                                    enable_nested_tensor=False)
    n = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, **kw), 3, nn.LayerNorm(D))
    _copy(t, n, F64)
    kpm, _ = _masks()
    _compare(n, t, [_x(N, L, D)], dict(src_key_padding_mask=kpm))

    t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, HEADS, **kw), 2)
    n = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, HEADS, **kw), 2)
    _copy(t, n, F64)
    _, causal = _masks()
    _compare(n, t, [_x(N, T, D), _x(N, L, D, seed=1)], dict(tgt_mask=causal, memory_key_padding_mask=kpm))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_transformer_matches_torch(norm_first, dtype):
    torch.manual_seed(0)
    kw = dict(d_model=D, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
              norm_first=norm_first)
    t, n = torch.nn.Transformer(**kw), nn.Transformer(**kw)
    _copy(t, n, dtype)
    kpm, causal = _masks()
    _compare(n, t, [_x(L, N, D), _x(T, N, D, seed=1)],
             dict(tgt_mask=causal, src_key_padding_mask=kpm, memory_key_padding_mask=kpm), dtype=dtype)


def test_state_dict_keys_are_pytorchs_and_load_from_torch():
    t = torch.nn.Transformer(D, HEADS, 1, 1, FF)
    n = nn.Transformer(D, HEADS, 1, 1, FF)
    keys = list(n.state_dict())
    assert keys == list(t.state_dict())
    assert "decoder.layers.0.multihead_attn.in_proj_weight" in keys and "encoder.norm.weight" in keys
    n.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    for k, v in n.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), t.state_dict()[k].numpy())


def test_stack_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0], enc.layers[1]
    assert a is not layer and a.linear1.weight is not b.linear1.weight
    np.testing.assert_array_equal(a.linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy())
    with nabla.no_grad():
        a.linear1.weight.mul_(0)
    assert np.abs(b.linear1.weight.detach().numpy()).sum() > 0
    assert len(list(enc.parameters())) == 2 * len(list(layer.parameters()))


def test_transformer_init_is_xavier_on_matrices():
    nabla.manual_seed(0)
    n = nn.Transformer(32, 4, 1, 1, 64)
    w = n.encoder.layers[0].linear1.weight.detach().numpy()  # (64, 32): xavier bound sqrt(6 / 96)
    assert np.abs(w).max() <= np.sqrt(6 / 96) and np.abs(w).max() > 0.9 * np.sqrt(6 / 96)
    np.testing.assert_array_equal(n.encoder.norm.weight.detach().numpy(), 1)


def test_generate_square_subsequent_mask_matches_torch():
    a = nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(a, torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_callable_activation_and_dropout_train_eval():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.3, activation=nabla.nn.functional.tanh)
    x = nabla.randn(L, N, D)
    with nabla.no_grad():
        assert not np.allclose(layer(x).numpy(), layer(x).numpy())
        layer.eval()
        np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_encoder_layer_gradcheck():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=True).double()
    mask = nabla.tensor(np.triu(np.ones((3, 3), bool), 1))
    gradcheck(lambda x: layer(x, src_mask=mask), [(3, 2, 4)])


def test_decoder_layer_gradcheck():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0).double()
    gradcheck(lambda x, m: layer(x, m), [(2, 2, 4), (3, 2, 4)])


@pytest.mark.parametrize("call,match", [
    (lambda m: m(nabla.zeros(5, 3, 6), nabla.zeros(4, 3, 8)), r"src .*E = d_model = 8, got \(5, 3, 6\)"),
    (lambda m: m(nabla.zeros(5, 3, 8), nabla.zeros(4, 2, 8)), "batch sizes of src"),
    (lambda m: m(nabla.zeros(5, 3, 8), nabla.zeros(4, 8)), "both be batched"),
    (lambda m: m(nabla.zeros(5, 3, 8), nabla.zeros(4, 3, 8), tgt_mask=nabla.zeros(5, 5)),
     r"decoder.layers.0.self_attn: attn_mask must have shape \(L, S\) = \(4, 4\)"),
])
def test_errors_name_the_layer_shapes_and_fix(call, match):
    m = nn.Transformer(D, HEADS, 1, 1, FF)
    with pytest.raises(ValueError, match=match):
        call(m)


def test_bad_activation_is_rejected():
    with pytest.raises(ValueError, match="relu"):
        nn.TransformerEncoderLayer(D, HEADS, activation="swish")
