"""RNN / LSTM / GRU and their cells against PyTorch with copied weights: outputs, final states and every
gradient (input, initial states, all weights), for multi-layer, bidirectional, batch_first, no-bias,
variable lengths (against torch's packed sequences), unbatched input; gradcheck and second
derivatives in float64; dropout between layers; init, state_dict keys, repr; error messages."""

import numpy as np
import pytest
import torch

import nabla
from nabla import nn
from nabla.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from .helpers import F32, F64, TOLS, assert_same, compare_grad, copy_state, rng

KINDS = {  # name -> (nabla class, torch class, extra constructor kwargs)
    "rnn_tanh": (nn.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, torch.nn.LSTM, {}),
    "gru": (nn.GRU, torch.nn.GRU, {}),
}
T, B, I, H = 5, 3, 4, 6  # noqa: E741  (I: input size, as in the LSTM equations)


def make_pair(kind, dtype=F32, **kw):
    n_cls, t_cls, extra = KINDS[kind]
    kw = {**extra, **kw}
    t = t_cls(I, H, **kw)
    n = n_cls(I, H, **kw)
    if np.dtype(dtype) == np.float64:
        t.double()
        n.double()
    copy_state(t, n)
    return n, t


def flat(out):
    """(output, h) or (output, (h, c)) as a flat list."""
    o, s = out
    return [o] + (list(s) if isinstance(s, tuple) else [s])


def compare_run(n_layer, t_layer, n_args, t_args, dtype, n_kwargs=None, t_post=None, inputs=()):
    """Forward both, compare every output; backward random upstream grads; compare input and weight grads."""
    fa, fr = TOLS[np.dtype(dtype)]
    n_outs = flat(n_layer(*n_args, **(n_kwargs or {})))
    t_outs = flat(t_layer(*t_args))
    if t_post is not None:
        t_outs = t_post(t_outs)
    assert len(n_outs) == len(t_outs)
    for k, (a, b) in enumerate(zip(n_outs, t_outs)):
        assert_same(a, b, fa, fr, f"output {k}")
    r = rng(11)
    ups = [r.standard_normal(tuple(b.shape)).astype(dtype) for b in t_outs]
    torch.autograd.backward(t_outs, [torch.from_numpy(u.copy()) for u in ups])
    nabla.autograd.backward(n_outs, [nabla.tensor(u.copy()) for u in ups])
    for k, (a, b) in enumerate(inputs):
        compare_grad(a.grad, b.grad, a, fa * 10, fr * 10, f"grad of input {k}")
    t_params = dict(t_layer.named_parameters())
    n_params = dict(n_layer.named_parameters())
    assert list(n_params) == list(t_params)
    for name, tp in t_params.items():
        compare_grad(n_params[name].grad, tp.grad, n_params[name], fa * 10, fr * 10, f"grad of {name}")


def both(a, requires_grad=True):
    return nabla.tensor(a.copy(), requires_grad=requires_grad), torch.from_numpy(a.copy()).requires_grad_(requires_grad)


def initial_states(kind, layers_dirs, batch, dtype, seed=3):
    r = rng(seed)
    shapes = [(layers_dirs, batch, H)] * (2 if kind == "lstm" else 1)
    pairs = [both(r.standard_normal(s).astype(dtype)) for s in shapes]
    if kind == "lstm":
        return (pairs[0][0], pairs[1][0]), (pairs[0][1], pairs[1][1]), [pairs[0], pairs[1]]
    return pairs[0][0], pairs[0][1], [pairs[0]]


CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"batch_first": True, "bias": False},
    {"num_layers": 3, "bidirectional": True, "bias": False},
]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("with_hx", [False, True])
def test_layer_matches_torch(kind, config, dtype, with_hx):
    n, t = make_pair(kind, dtype, **config)
    shape = (B, T, I) if config.get("batch_first") else (T, B, I)
    nx, tx = both(rng(0).standard_normal(shape).astype(dtype))
    inputs = [(nx, tx)]
    n_args, t_args = [nx], [tx]
    if with_hx:
        dirs = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
        nh, th, pairs = initial_states(kind, dirs, B, dtype)
        n_args.append(nh)
        t_args.append(th)
        inputs += pairs
    compare_run(n, t, n_args, t_args, dtype, inputs=inputs)
    assert repr(n) == repr(t)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("config", [{}, {"num_layers": 2, "bidirectional": True}], ids=["one", "two-bi"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_variable_lengths_match_torch_packed_sequences(kind, config, batch_first):
    """lengths= and pack_padded_sequence both give torch's packed results: zero past each end, final
    states at each sequence's last valid step (reverse direction starting there)."""
    dtype = F64
    lengths = [3, 5, 1, 4]
    batch = len(lengths)
    shape = (batch, T, I) if batch_first else (T, batch, I)
    x = rng(0).standard_normal(shape).astype(dtype)
    for how in ("lengths", "packed"):
        n, t = make_pair(kind, dtype, batch_first=batch_first, **config)
        nx, tx = both(x)
        dirs = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
        nh, th, pairs = initial_states(kind, dirs, batch, dtype)
        t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=False)

        def t_post(outs):
            padded, _ = torch.nn.utils.rnn.pad_packed_sequence(outs[0], batch_first=batch_first, total_length=T)
            return [padded] + outs[1:]

        if how == "lengths":
            compare_run(n, t, [nx, nh], [t_packed, th], dtype, n_kwargs={"lengths": lengths}, t_post=t_post,
                        inputs=[(nx, tx)] + pairs)
        else:
            packed = pack_padded_sequence(nx, nabla.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
            n_out = n(packed, nh)
            assert isinstance(n_out[0], nn.utils.rnn.PackedSequence)
            padded, out_lengths = pad_packed_sequence(n_out[0], batch_first=batch_first, total_length=T)
            assert out_lengths.tolist() == lengths
            t_out = t_post(flat(t(t_packed, th)))
            for k, (a, b) in enumerate(zip([padded] + flat(n_out)[1:], t_out)):
                assert_same(a, b, 1e-10, 1e-8, f"packed output {k}")


def test_outputs_past_the_end_are_zero_and_final_state_is_last_valid_step():
    lstm = nn.LSTM(I, H)
    x = nabla.randn(T, 2, I)
    out, (h, c) = lstm(x, lengths=[2, T])
    assert np.all(out.detach().numpy()[2:, 0] == 0)
    np.testing.assert_array_equal(h.detach().numpy()[0, 0], out.detach().numpy()[1, 0])
    np.testing.assert_array_equal(h.detach().numpy()[0, 1], out.detach().numpy()[T - 1, 1])
    _short, (h2, c2) = lstm(x[:2, :1])  # the first sequence alone, cut at its length
    np.testing.assert_allclose(h2.detach().numpy()[0, 0], h.detach().numpy()[0, 0], rtol=1e-6)
    np.testing.assert_allclose(c2.detach().numpy()[0, 0], c.detach().numpy()[0, 0], rtol=1e-6)


@pytest.mark.parametrize("kind", list(KINDS))
def test_unbatched_input_matches_torch(kind):
    n, t = make_pair(kind, F64, num_layers=2, bidirectional=True)
    nx, tx = both(rng(0).standard_normal((T, I)))
    r = rng(1)
    if kind == "lstm":
        (nh, th), (nc, tc) = both(r.standard_normal((4, H))), both(r.standard_normal((4, H)))
        compare_run(n, t, [nx, (nh, nc)], [tx, (th, tc)], F64, inputs=[(nx, tx), (nh, th), (nc, tc)])
    else:
        nh, th = both(r.standard_normal((4, H)))
        compare_run(n, t, [nx, nh], [tx, th], F64, inputs=[(nx, tx), (nh, th)])


CELLS = {
    "rnn_tanh": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNNCell, torch.nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTMCell, torch.nn.LSTMCell, {}),
    "gru": (nn.GRUCell, torch.nn.GRUCell, {}),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(kind, dtype, batched, with_hx, bias):
    n_cls, t_cls, extra = CELLS[kind]
    t = t_cls(I, H, bias=bias, **extra)
    n = n_cls(I, H, bias=bias, **extra)
    if np.dtype(dtype) == np.float64:
        t.double()
        n.double()
    copy_state(t, n)
    lead = (B,) if batched else ()
    nx, tx = both(rng(0).standard_normal(lead + (I,)).astype(dtype))
    inputs = [(nx, tx)]
    n_args, t_args = [nx], [tx]
    if with_hx:
        r = rng(1)
        pairs = [both(r.standard_normal(lead + (H,)).astype(dtype)) for _ in range(2 if kind == "lstm" else 1)]
        inputs += pairs
        n_args.append(tuple(p[0] for p in pairs) if kind == "lstm" else pairs[0][0])
        t_args.append(tuple(p[1] for p in pairs) if kind == "lstm" else pairs[0][1])
    fa, fr = TOLS[np.dtype(dtype)]
    n_out, t_out = n(*n_args), t(*t_args)
    n_outs = list(n_out) if kind == "lstm" else [n_out]
    t_outs = list(t_out) if kind == "lstm" else [t_out]
    for a, b in zip(n_outs, t_outs):
        assert_same(a, b, fa, fr, "cell output")
    ups = [rng(5).standard_normal(tuple(b.shape)).astype(dtype) for b in t_outs]
    torch.autograd.backward(t_outs, [torch.from_numpy(u.copy()) for u in ups])
    nabla.autograd.backward(n_outs, [nabla.tensor(u.copy()) for u in ups])
    for k, (a, b) in enumerate(inputs):
        compare_grad(a.grad, b.grad, a, fa * 10, fr * 10, f"grad of input {k}")
    for (name, tp), (_, np_) in zip(t.named_parameters(), n.named_parameters()):
        compare_grad(np_.grad, tp.grad, np_, fa * 10, fr * 10, f"grad of {name}")
    assert repr(n) == repr(t)
    assert list(n.state_dict()) == list(t.state_dict())


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("lengths", [None, [2, 3]], ids=["full", "lengths"])
def test_gradcheck_float64(kind, lengths):
    """Finite differences through the fused ops (both directions, two layers), every input and weight."""
    n_cls, _, extra = KINDS[kind]
    layer = n_cls(2, 3, num_layers=2, bidirectional=True, **extra).double()
    x = nabla.tensor(rng(0).standard_normal((3, 2, 2)), requires_grad=True)
    h = nabla.tensor(rng(1).standard_normal((4, 2, 3)), requires_grad=True)
    hx = (h, nabla.tensor(rng(2).standard_normal((4, 2, 3)), requires_grad=True)) if kind == "lstm" else h
    params = list(layer.parameters())

    def fn(x, *args):
        out = layer(x, hx, lengths=lengths)
        return flat(out)

    assert nabla.autograd.gradcheck(fn, [x] + ([hx[0], hx[1]] if kind == "lstm" else [h]) + params[:4])


@pytest.mark.parametrize("kind", list(KINDS))
def test_second_derivatives_match_torch(kind):
    """create_graph=True: the backward is rebuilt from differentiable ops; compare d(grad . w)/d(inputs)."""
    dtype = F64
    n, t = make_pair(kind, dtype, bidirectional=True)
    x = rng(0).standard_normal((3, 2, I))
    nx, tx = both(x)
    n_w = [p for p in n.parameters()][:2]
    t_w = [p for p in t.parameters()][:2]
    lengths = [3, 2]
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths)
    n_out = flat(n(nx, lengths=lengths))
    t_outs = flat(t(t_packed))
    t_out = [torch.nn.utils.rnn.pad_packed_sequence(t_outs[0])[0]] + t_outs[1:]
    n_loss = sum(((o * o).sum() for o in n_out), nabla.tensor(0.0, dtype=nabla.float64))
    t_loss = sum((o * o).sum() for o in t_out)
    n_g = nabla.autograd.grad(n_loss, [nx] + n_w, create_graph=True)
    t_g = torch.autograd.grad(t_loss, [tx] + t_w, create_graph=True)
    for k, (a, b) in enumerate(zip(n_g, t_g)):
        assert_same(a, b, 1e-10, 1e-8, f"first gradient {k}")
    r = rng(4)
    ws = [r.standard_normal(tuple(b.shape)) for b in t_g]
    n_s = sum((g * nabla.tensor(w)).sum() for g, w in zip(n_g, ws))
    t_s = sum((g * torch.from_numpy(w)).sum() for g, w in zip(t_g, ws))
    n_h = nabla.autograd.grad(n_s, [nx] + n_w)
    t_h = torch.autograd.grad(t_s, [tx] + t_w)
    for k, (a, b) in enumerate(zip(n_h, t_h)):
        assert_same(a, b, 1e-9, 1e-7, f"second derivative {k}")


def test_double_backward_leaves_the_graph_below_alone():
    """The recomputed backward stops at the layer's inputs: hooks below fire once, gradients are not doubled."""
    lstm = nn.LSTM(I, H).double()
    w = nabla.tensor(rng(0).standard_normal((I, I)), requires_grad=True)
    x = nabla.tensor(rng(1).standard_normal((T, 2, I)))
    fired = []
    z = x @ w
    z.register_hook(lambda g: fired.append(1))
    out, _ = lstm(z)
    (gw,) = nabla.autograd.grad(out.sum(), [w], create_graph=True)
    assert len(fired) == 1
    (gw_plain,) = nabla.autograd.grad(lstm(x @ w)[0].sum(), [w])
    np.testing.assert_allclose(gw.detach().numpy(), gw_plain.numpy(), rtol=1e-12)
    gw.sum().backward()
    assert w.grad is not None and np.isfinite(w.grad.numpy()).all()


def test_dropout_between_layers():
    lstm = nn.LSTM(I, H, num_layers=2, dropout=0.5)
    x = nabla.randn(T, B, I)
    lstm.eval()
    a = lstm(x)[0].detach().numpy()
    lstm.dropout = 0.0
    lstm.train()
    np.testing.assert_array_equal(lstm(x)[0].detach().numpy(), a)  # eval = no dropout
    lstm.dropout = 0.5
    nabla.manual_seed(7)
    b = lstm(x)[0]
    assert not np.allclose(b.detach().numpy(), a)
    # the same computation by hand: layer 0, dropout with the same seed, layer 1
    l0, l1 = nn.LSTM(I, H), nn.LSTM(H, H)
    sd = lstm.state_dict()
    l0.load_state_dict({k.replace("_l0", "_l0"): v for k, v in sd.items() if k.endswith("_l0")})
    l1.load_state_dict({k.replace("_l1", "_l0"): v for k, v in sd.items() if k.endswith("_l1")})
    nabla.manual_seed(7)
    manual = l1(nn.functional.dropout(l0(x)[0], 0.5, True))[0]
    np.testing.assert_allclose(b.detach().numpy(), manual.detach().numpy(), rtol=1e-6)


def test_init_range_and_state_dict_match_torch():
    nabla.manual_seed(0)
    for n_cls, t_cls, extra in KINDS.values():
        n = n_cls(7, 16, num_layers=2, bidirectional=True, **extra)
        t = t_cls(7, 16, num_layers=2, bidirectional=True, **extra)
        assert list(n.state_dict()) == list(t.state_dict())
        for (name, p), (_, tp) in zip(n.named_parameters(), t.named_parameters()):
            assert p.shape == tuple(tp.shape), name
        w = np.concatenate([p.detach().numpy().ravel() for p in n.parameters()])
        assert np.abs(w).max() <= 0.25 and np.abs(w).max() > 0.24  # U(-1/sqrt(16), 1/sqrt(16))
        assert abs(w.mean()) < 0.01
        assert len(n.all_weights) == 4 and len(n.all_weights[0]) == 4


def test_state_dict_round_trips_with_torch():
    t = torch.nn.GRU(I, H, num_layers=2, batch_first=True)
    n = nn.GRU(I, H, num_layers=2, batch_first=True)
    copy_state(t, n)
    back = torch.nn.GRU(I, H, num_layers=2, batch_first=True)
    back.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in n.state_dict().items()})
    x = rng(0).standard_normal((2, T, I)).astype(F32)
    np.testing.assert_allclose(back(torch.from_numpy(x))[0].detach().numpy(), n(nabla.tensor(x))[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_pad_sequence_and_pack_helpers():
    import importlib

    assert importlib.import_module("nabla.nn.utils.rnn").pack_padded_sequence is pack_padded_sequence  # PyTorch's path
    assert nn.utils.rnn.pad_packed_sequence is pad_packed_sequence
    seqs = [nabla.ones(3, 2), nabla.ones(1, 2) * 2, nabla.ones(2, 2) * 3]
    padded = pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    t_padded = torch.nn.utils.rnn.pad_sequence([torch.ones(3, 2), torch.ones(1, 2) * 2, torch.ones(2, 2) * 3],
                                               batch_first=True, padding_value=-1.0)
    np.testing.assert_array_equal(padded.numpy(), t_padded.numpy())
    packed = pack_padded_sequence(padded, [3, 1, 2], batch_first=True, enforce_sorted=False)
    out, lengths = pad_packed_sequence(packed, batch_first=True, padding_value=9.0, total_length=4)
    assert out.shape == (3, 4, 2) and lengths.tolist() == [3, 1, 2]
    assert out.numpy()[1, 1:].tolist() == [[9.0, 9.0]] * 3
    with pytest.raises(ValueError, match="not sorted in decreasing order"):
        pack_padded_sequence(padded, [1, 3, 2], batch_first=True)


def test_rnn_trains_with_truncated_bptt():
    """Carry the state across chunks, detached: gradients stop at the chunk boundary, learning still works."""
    nabla.manual_seed(0)
    gru = nn.GRU(1, 8)
    head = nn.Linear(8, 1)
    opt = nabla.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=0.05)
    t = np.arange(400, dtype=np.float32)
    series = np.sin(t * 0.3)[:, None, None]
    losses = []
    for _epoch in range(6):
        h = None
        for s in range(0, 399 - 20, 20):
            x, y = nabla.tensor(series[s:s + 20]), nabla.tensor(series[s + 1:s + 21])
            out, h = gru(x, h)
            h = h.detach()
            loss = ((head(out) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(gru.parameters(), 1.0)
            opt.step()
            losses.append(float(loss))
    assert np.mean(losses[-5:]) < 0.1 * np.mean(losses[:5])


# --------------------------------------------------------------------------------------------- errors


def test_errors_name_the_layer_and_the_fix():
    lstm = nn.LSTM(I, H, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: expected input \(T, B, 4\).*got \(5, 3, 7\)"):
        lstm(nabla.randn(5, 3, 7))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 3, 6\).*got \(1, 3, 6\)"):
        lstm(nabla.randn(5, 3, I), (nabla.zeros(1, 3, H), nabla.zeros(1, 3, H)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        lstm(nabla.randn(5, 3, I), nabla.zeros(2, 3, H))
    with pytest.raises(TypeError, match="input has dtype float64 but the weights are float32"):
        lstm(nabla.randn(5, 3, I, dtype=nabla.float64))
    with pytest.raises(ValueError, match=r"every length must lie in \[1, 5\]"):
        lstm(nabla.randn(5, 3, I), lengths=[5, 0, 2])
    with pytest.raises(ValueError, match=r"lengths must have one entry per sequence, shape \(3,\)"):
        lstm(nabla.randn(5, 3, I), lengths=[5, 2])
    with pytest.raises(TypeError, match="lengths must hold integers"):
        lstm(nabla.randn(5, 3, I), lengths=[1.5, 2, 3])
    with pytest.raises(ValueError, match="lengths need a batch"):
        lstm(nabla.randn(5, I), lengths=[5])
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid'"):
        nn.RNN(I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in"):
        nn.GRU(I, H, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(I, 0)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(I, H, proj_size=2)
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        nn.LSTM(I, H, dropout=0.2)
    cell = nn.LSTMCell(I, H)
    with pytest.raises(ValueError, match=r"LSTMCell: expected input \(B, 4\)"):
        cell(nabla.randn(3, 5))
    with pytest.raises(ValueError, match=r"expected a hidden state of shape \(3, 6\)"):
        cell(nabla.randn(3, I), (nabla.zeros(2, H), nabla.zeros(2, H)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h, c\)"):
        cell(nabla.randn(3, I), nabla.zeros(3, H))


@pytest.mark.parametrize("kind", list(KINDS))
def test_backward_twice_with_retain_graph(kind):
    """Backward must not change what forward saved: a second backward gives the same gradients."""
    layer = KINDS[kind][0](I, H, bidirectional=True, **KINDS[kind][2])
    x = nabla.randn(T, B, I, requires_grad=True)
    out = flat(layer(x, lengths=[5, 2, 4]))
    loss = sum(((o * o).sum() for o in out), nabla.tensor(0.0))
    loss.backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    loss.backward()
    second = [x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_training_steps_reuse_pooled_buffers_and_hand_out_no_views_of_them(kind):
    """The LSTM / GRU op's step buffers go back to a pool when the graph is freed and the next step reuses
    them; gradients and outputs are fresh arrays (a later step must not overwrite an earlier step's results)."""
    from nabla.ops import recurrent

    n, t = make_pair(kind, F64, num_layers=2)

    def loss_of(out):
        o, s = out
        return (o * o).sum() + sum(((k + 1) * (v * v)).sum() for k, v in enumerate(s if isinstance(s, tuple) else [s]))

    x_np = rng(5).standard_normal((T, B, I))
    results = []
    for _ in range(3):
        x = nabla.tensor(x_np.copy(), requires_grad=True)
        out = n(x)
        loss_of(out).backward()
        results.append([a.detach().numpy() for a in flat(out) + [x.grad] + [p.grad for p in n.parameters()]])
        spare = [a for arrays in recurrent._POOL.spare.values() for a in arrays]
        assert spare, "the freed step's buffers should be back in the pool"
        for r in results[-1]:
            assert not any(np.shares_memory(r, a) for a in spare)
        n.zero_grad()
    for first, later in zip(results[0], results[2]):
        np.testing.assert_array_equal(first, later)
    x = torch.from_numpy(x_np.copy()).requires_grad_(True)
    loss_of(t(x)).backward()
    np.testing.assert_allclose(results[0][len(flat(t(x)))], x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_no_grad_forward_equals_recorded_forward(kind):
    """Under no_grad the LSTM keeps nothing and reuses one gate buffer: the same outputs."""
    n, _ = make_pair(kind, F64, num_layers=2, bidirectional=True)
    x = nabla.tensor(rng(6).standard_normal((T, B, I)))
    recorded = flat(n(x, lengths=[5, 2, 4]))
    with nabla.no_grad():
        free = flat(n(x, lengths=[5, 2, 4]))
    for a, b in zip(recorded, free):
        np.testing.assert_array_equal(a.detach().numpy(), b.numpy())


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("lengths", [None, [12, 12, 11, 9, 7, 4, 2, 1]], ids=["full", "packed"])
def test_longer_batches_match_torch(kind, lengths):
    """12 steps x batch 8 (the ops switch to contiguous transposed weights from 64 rows, and the LSTM to
    whole-block steps while most of a packed batch runs): outputs and every gradient equal torch's."""
    n, t = make_pair(kind, F32, num_layers=2, bidirectional=True)
    nx, tx = both(rng(12).standard_normal((12, 8, I)).astype(F32))
    if lengths is None:
        compare_run(n, t, [nx], [tx], F32, inputs=[(nx, tx)])
        return
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths))

    def unpack(outs):
        return [torch.nn.utils.rnn.pad_packed_sequence(outs[0], total_length=12)[0]] + outs[1:]

    compare_run(n, t, [nx], [packed], F32, n_kwargs={"lengths": lengths}, t_post=unpack, inputs=[(nx, tx)])


def test_threads_sharing_the_buffer_pool_get_their_own_results():
    """Inference in several threads (a model server) draws from one buffer pool: every thread's outputs
    equal the single-threaded ones."""
    import threading

    n, _ = make_pair("lstm", F64, num_layers=2)
    xs = [nabla.tensor(rng(20 + k).standard_normal((T, B, I))) for k in range(4)]
    with nabla.no_grad():
        want = [n(x)[0].numpy().copy() for x in xs]
    got, errors = {}, []

    def work(k):
        try:
            for _ in range(30):
                with nabla.no_grad():
                    got[k] = n(xs[k])[0].numpy().copy()
                np.testing.assert_array_equal(got[k], want[k])
        except Exception as e:  # reported below, from the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
