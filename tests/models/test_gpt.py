"""GPT: parity with a PyTorch reference, weight tying, causality, KV cache, sampling filters, zoo."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import nabla
from nabla.models import get_model, list_models
from nabla.models.gpt import GPT, GPTConfig, KVCache, filter_logits, lm_loss, sample_next_token

CFG = dict(vocab_size=11, block_size=12, n_layer=2, n_head=2, n_embd=8)


def small(**kw) -> GPT:
    nabla.manual_seed(0)
    return GPT(GPTConfig(**{**CFG, **kw}))


# ------------------------------------------------------------------------------ PyTorch reference


class TorchAttention(torch.nn.Module):
    def __init__(self, e, h):
        super().__init__()
        self.c_attn, self.c_proj, self.h = torch.nn.Linear(e, 3 * e), torch.nn.Linear(e, e), h

    def forward(self, x):
        n, t, e = x.shape
        q, k, v = (z.reshape(n, t, self.h, e // self.h).transpose(1, 2) for z in self.c_attn(x).split(e, 2))
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(n, t, e))


class TorchMLP(torch.nn.Module):
    def __init__(self, e):
        super().__init__()
        self.c_fc, self.c_proj = torch.nn.Linear(e, 4 * e), torch.nn.Linear(4 * e, e)

    def forward(self, x):
        return self.c_proj(TF.gelu(self.c_fc(x), approximate="tanh"))


class TorchBlock(torch.nn.Module):
    def __init__(self, e, h):
        super().__init__()
        self.ln_1, self.attn = torch.nn.LayerNorm(e), TorchAttention(e, h)
        self.ln_2, self.mlp = torch.nn.LayerNorm(e), TorchMLP(e)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(torch.nn.Module):
    """nanoGPT's layout, written with torch: the reference for nabla's GPT."""

    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.transformer = torch.nn.ModuleDict(dict(
            wte=torch.nn.Embedding(vocab_size, n_embd), wpe=torch.nn.Embedding(block_size, n_embd),
            h=torch.nn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)]),
            ln_f=torch.nn.LayerNorm(n_embd)))
        self.lm_head = torch.nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        tr = self.transformer
        x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
        for b in tr.h:
            x = b(x)
        return self.lm_head(tr.ln_f(x))


def test_gpt_matches_pytorch_reference_outputs_and_gradients():
    n = small().double()
    t = TorchGPT(**CFG).double()
    assert list(n.state_dict()) == list(t.state_dict())
    with torch.no_grad():
        for p in t.parameters():  # non-trivial values everywhere (biases and LayerNorms too)
            p.copy_(torch.randn_like(p) * 0.3)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    ids = np.random.default_rng(0).integers(0, 11, (3, 12))
    targets = np.random.default_rng(1).integers(0, 11, (3, 12))
    n_loss = lm_loss(n(nabla.tensor(ids)), nabla.tensor(targets))
    logits = t(torch.tensor(ids))
    t_loss = TF.cross_entropy(logits.reshape(-1, 11), torch.tensor(targets).reshape(-1))
    np.testing.assert_allclose(n(nabla.tensor(ids)).detach().numpy(), logits.detach().numpy(), atol=1e-10)
    n_loss.backward()
    t_loss.backward()
    assert abs(n_loss.item() - t_loss.item()) < 1e-12
    tp = dict(t.named_parameters())
    for name, p in n.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), atol=1e-10, err_msg=name)


# ----------------------------------------------------------------------------------- weight tying


def test_weight_tying_one_parameter_two_uses():
    m = small()
    assert m.lm_head.weight is m.transformer.wte.weight
    names = [n for n, _ in m.named_parameters()]
    assert "lm_head.weight" not in names  # listed once, under its first name
    assert "lm_head.weight" in m.state_dict() and "transformer.wte.weight" in m.state_dict()  # as PyTorch
    params = list(m.parameters())
    assert len(params) == len({id(p) for p in params})
    # the tied gradient is the sum of the embedding's and the output layer's contributions
    ids = nabla.tensor([[1, 2, 3, 4]])
    lm_loss(m(ids), nabla.tensor([[2, 3, 4, 5]])).backward()
    g = m.transformer.wte.weight.grad.numpy()
    assert np.abs(g[[0, 6, 7, 8, 9, 10]]).sum() > 0  # rows never looked up still get the head's gradient
    with nabla.no_grad():
        m.transformer.wte.weight.mul_(2)
    np.testing.assert_array_equal(m.lm_head.weight.detach().numpy(), m.transformer.wte.weight.detach().numpy())


def test_gpt_init_scales():
    m = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=4, n_head=4, n_embd=64))
    w = m.transformer.h[0].attn.c_attn.weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.002
    cp = m.transformer.h[0].mlp.c_proj.weight.detach().numpy()
    assert abs(cp.std() - 0.02 / np.sqrt(8)) < 0.001
    np.testing.assert_array_equal(m.transformer.h[0].attn.c_attn.bias.detach().numpy(), 0)


# -------------------------------------------------------------------------------------- causality


def test_future_tokens_do_not_change_past_logits():
    m = small().double()
    r = np.random.default_rng(2)
    a = r.integers(0, 11, (2, 12))
    b = a.copy()
    b[:, 7:] = r.integers(0, 11, (2, 5))
    la, lb = m(nabla.tensor(a)).detach().numpy(), m(nabla.tensor(b)).detach().numpy()
    np.testing.assert_allclose(la[:, :7], lb[:, :7], atol=1e-12)
    assert np.abs(la[:, 7:] - lb[:, 7:]).max() > 1e-3


def test_past_logits_get_no_gradient_from_future_embeddings():
    m = small().double()
    x = nabla.tensor(np.random.default_rng(3).standard_normal((1, 6, 8)), requires_grad=True)
    h = x
    for block in m.transformer.h:
        h = block(h)
    h[:, 2].sum().backward()
    g = np.abs(x.grad.numpy()[0]).sum(-1)
    assert (g[:3] > 0).all() and (g[3:] == 0).all()


# --------------------------------------------------------------------------------------- KV cache


def test_cached_forward_equals_full_forward():
    m = small().double()
    m.eval()
    ids = nabla.tensor(np.random.default_rng(4).integers(0, 11, (2, 12)))
    full = m(ids).detach().numpy()
    cache = KVCache(2)
    with nabla.no_grad():
        parts = [m(ids[:, :5], cache), m(ids[:, 5:6], cache), m(ids[:, 6:9], cache), m(ids[:, 9:], cache)]
    np.testing.assert_allclose(np.concatenate([p.numpy() for p in parts], 1), full, atol=1e-12)
    assert cache.length == 12


@pytest.mark.parametrize("sampling", [dict(temperature=0), dict(temperature=0.9, top_k=5),
                                      dict(temperature=1.2, top_p=0.8)], ids=["greedy", "top-k", "top-p"])
def test_cached_generation_gives_the_same_tokens(sampling):
    m = small().double()
    prompt = nabla.tensor([[1, 2, 3], [4, 5, 6]])
    nabla.manual_seed(7)
    a = m.generate(prompt, 20, use_cache=True, **sampling).numpy()  # 23 > block_size 12: the window slides
    nabla.manual_seed(7)
    b = m.generate(prompt, 20, use_cache=False, **sampling).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 23) and m.training


def test_cached_generation_is_faster_and_does_less_work():
    nabla.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=20, block_size=128, n_layer=2, n_head=2, n_embd=32))
    seen = []
    m.transformer.wte.register_forward_hook(lambda mod, args, out: seen.append(args[0].numel()))
    prompt = nabla.tensor([[1, 2, 3, 4]])
    times = {True: [], False: []}
    for _ in range(3):  # interleaved, best of three: a busy machine must not decide the comparison
        for use_cache in (True, False):
            seen.clear()
            t0 = time.perf_counter()
            m.generate(prompt, 100, use_cache=use_cache)
            times[use_cache].append(time.perf_counter() - t0)
            assert sum(seen) == (4 + 99 if use_cache else sum(range(4, 104)))  # positions run through the model
    times = {k: min(v) for k, v in times.items()}
    assert times[True] < times[False], times


def test_cache_writes_in_place_and_grows_by_doubling():
    """Preallocated per layer: each step writes into the next slots of the same arrays (no re-concatenation);
    without a capacity the arrays double when full and keep what they hold."""
    r = np.random.default_rng(8)
    steps = [r.standard_normal((2, 3, t, 4)) for t in (3, 1, 1, 2, 1)]
    sized, growing = KVCache(1, capacity=16), KVCache(1)
    first = None
    for kv in steps:
        k, v = sized.write(0, kv, -kv)
        growing.write(0, kv, -kv)
        first = sized.keys[0] if first is None else first
        assert sized.keys[0] is first and first.shape == (2, 3, 16, 4)
        assert np.shares_memory(k, first)
        sized.length += kv.shape[2]
        growing.length += kv.shape[2]
    want = np.concatenate(steps, 2)
    np.testing.assert_array_equal(k, want)
    np.testing.assert_array_equal(v, -want)
    np.testing.assert_array_equal(growing.keys[0][:, :, :8], want)
    assert growing.keys[0].shape[2] == 12  # 3, then 6, then 12 slots
    with pytest.raises(ValueError, match="capacity must be a positive int"):
        KVCache(2, capacity=0)


def test_cached_pass_on_arrays_equals_the_modules():
    """The cached pass skips the modules unless one has a hook; both give the same logits (float64)."""
    m = small().double()
    m.eval()
    ids = nabla.tensor(np.random.default_rng(9).integers(0, 11, (2, 10)))
    outs = {}
    for hooked in (False, True):
        handle = m.transformer.h[1].mlp.register_forward_hook(lambda mod, args, out: None) if hooked else None
        cache = KVCache(2)
        with nabla.no_grad():
            outs[hooked] = np.concatenate([m(ids[:, :6], cache).numpy(), m(ids[:, 6:7], cache).numpy(),
                                           m(ids[:, 7:], cache).numpy()], 1)
        assert cache.on_arrays is not hooked
        if handle is not None:
            handle.remove()
    np.testing.assert_allclose(outs[False], outs[True], rtol=0, atol=1e-13)
    np.testing.assert_allclose(outs[False], m(ids).detach().numpy(), rtol=0, atol=1e-12)

    class Doubled(nabla.nn.Linear):  # a replaced layer: its own forward must run
        def forward(self, x):
            return super().forward(x) * 2

    swapped = Doubled(8, 32).double()
    swapped.load_state_dict(m.transformer.h[0].mlp.c_fc.state_dict())
    m.transformer.h[0].mlp.c_fc = swapped
    cache = KVCache(2)
    with nabla.no_grad():
        cached = np.concatenate([m(ids[:, :6], cache).numpy(), m(ids[:, 6:], cache).numpy()], 1)
    assert cache.on_arrays is False
    np.testing.assert_allclose(cached, m(ids).detach().numpy(), rtol=0, atol=1e-12)
    assert np.abs(cached - outs[False]).max() > 1e-3


def test_cache_requires_no_grad_and_fits_block():
    m = small()
    with pytest.raises(RuntimeError, match="no_grad"):
        m(nabla.tensor([[1, 2]]), KVCache(2))
    with pytest.raises(ValueError, match="block_size=12"):
        m(nabla.zeros(1, 13, dtype=nabla.int64))


# --------------------------------------------------------------------------------------- sampling


def test_top_k_keeps_the_k_largest():
    z = np.array([[0.1, 2.0, -1.0, 3.0, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    out = filter_logits(z, top_k=2)
    np.testing.assert_array_equal(np.isfinite(out), [[0, 1, 0, 1, 0], [1, 1, 0, 0, 0]])
    np.testing.assert_array_equal(out[np.isfinite(out)], z[np.isfinite(out)])


def test_top_p_keeps_the_smallest_set_reaching_p():
    p = np.array([[0.5, 0.3, 0.15, 0.05]])
    z = np.log(p)
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.5)), [[1, 0, 0, 0]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.6)), [[1, 1, 0, 0]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.81)), [[1, 1, 1, 0]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z[:, ::-1], top_p=0.6)), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(np.isfinite(filter_logits(z, top_p=0.01)), [[1, 0, 0, 0]])  # never empty


def test_sampling_frequencies_follow_the_filtered_softmax():
    logits = nabla.tensor(np.log(np.array([[0.4, 0.3, 0.2, 0.1]])).repeat(4000, 0))
    nabla.manual_seed(1)
    draws = sample_next_token(logits, temperature=1.0).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 4000, [0.4, 0.3, 0.2, 0.1], atol=0.025)
    draws = sample_next_token(logits, temperature=1.0, top_k=2).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 4000, [4 / 7, 3 / 7, 0, 0], atol=0.025)
    draws = sample_next_token(logits, temperature=0.5, top_p=0.9).numpy()  # p^2 renormalised: .485 .273 .121 .03
    freq = np.bincount(draws, minlength=4) / 4000
    assert freq[3] == 0 and abs(freq[0] - 16 / 29) < 0.03
    assert (sample_next_token(logits[:3], temperature=0).numpy() == 0).all()


def test_generate_validates_its_arguments():
    m = small()
    with pytest.raises(ValueError, match="temperature"):
        m.generate(nabla.tensor([[1]]), 3, temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        m.generate(nabla.tensor([[1]]), 3, top_p=1.5)
    with pytest.raises(ValueError, match="reshape"):
        m.generate(nabla.tensor([1, 2]), 3)
    with pytest.raises(TypeError, match="int64"):
        m(nabla.zeros(1, 3))


# ---------------------------------------------------------------------------------- zoo, training


def test_registered_in_the_zoo():
    assert "gpt" in list_models()
    m = get_model("gpt", vocab_size=30, block_size=16, n_layer=1, n_head=2, n_embd=16)
    assert isinstance(m, GPT) and m(nabla.tensor([[1, 2, 3]])).shape == (1, 3, 30)


def test_tiny_training_learns_a_repeating_text():
    nabla.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=5, block_size=16, n_layer=1, n_head=2, n_embd=16))
    opt = nabla.optim.AdamW(m.parameters(), lr=1e-2)
    seq = np.array([0, 1, 2, 3, 4] * 4)
    x, y = nabla.tensor(seq[None, :16]), nabla.tensor(seq[None, 1:17])
    first = None
    for _ in range(60):
        loss = lm_loss(m(x), y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.3 and loss.item() < 0.05
    out = m.generate(nabla.tensor([[0, 1]]), 8, temperature=0).numpy()[0]
    np.testing.assert_array_equal(out, [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])


def test_shakespeare_example_runs_a_few_steps():
    import os
    import runpy

    data = "/work/shared/datasets/tinyshakespeare/input.txt"
    if not os.path.exists(data):
        pytest.skip(f"tiny-shakespeare not found at {data}")
    here = os.path.dirname(os.path.abspath(__file__))
    mod = runpy.run_path(os.path.join(here, "..", "..", "examples", "gpt_shakespeare.py"), run_name="gpt_example")
    out = mod["main"](["--steps", "3", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "24",
                       "--batch-size", "4", "--eval-batches", "1", "--sample-tokens", "20"])
    assert out["steps"] == 3 and out["same_tokens"] and out["val_loss"] < 4.5
