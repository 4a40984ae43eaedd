"""Transformer encoder block training step, and the attention op on its own (forward + backward).

**Block**: one ``TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512, batch_first=True)``
(post-LN, ReLU), input (batch 16, sequence 64, 128), float32, the same weights in both frameworks
(torch's state dict copied into nabla's by key). The step is forward, mean squared error against a
fixed random target, backward, and hand-written SGD on all 12 parameters (``timing.sgd_phases``).
The target row has dropout 0 (so the sanity check can compare losses step by step); a second row
with dropout 0.1 is informational (each framework draws its own masks).

**GPT generation**: ``nabla.models.gpt.GPT`` (4 layers, 128 wide, 4 heads, context
256, vocabulary 65) and the same model written in torch (nanoGPT's layout, weights copied), greedy
generation of 100 tokens after an 8-token prompt, with the KV cache (one new position per step) and
without (the whole context re-run per step). Tokens per second are in the row names; the KV-cache row's
target is at least torch's tokens/s (time ratio <= 1.0, issue 18), the no-cache row is informational.

**Attention op** (informational): multi-head self-attention from packed projections ``qkv`` (16, 64,
384) to the merged heads (16, 64, 128), forward + backward, 4 heads of 32. torch runs
``F.scaled_dot_product_attention`` on the split heads; nabla runs (a) its fused ``PackedSelfAttention``
op (what ``MultiheadAttention`` uses for self-attention), (b) the fused ``ScaledDotProductAttention``
op on heads split with slices and transposes, and (c) the same attention composed from primitives
(matmul, scale, softmax, matmul). The rows show what fusing buys.

What the profile showed, and what was done (cProfile of the nabla step, 2-core shared machine):
about two thirds of the step is the four GEMM-bound linear layers (forward + backward), as in
torch; the attention op was ~15% and the head split/merge plus their backward (three zero-filled
(N, L, 3E) buffers from the slices' backward, their sum, reshape copies) ~3-4%. The fused softmax
backward (one node, closed form ``ds = p * (dp - sum(dp * p))``) and the packed self-attention op
(heads as strided views, the output written straight into the merged layout, dq/dk/dv written into
one gradient buffer) removed those; see the attention rows for fused vs composed.
"""

from __future__ import annotations

import numpy
from timing import Row, compare, sgd_phases

NAME = "transformer"
D_MODEL, HEADS, FF, SEQ, BATCH = 128, 4, 512, 64, 16
LR = 0.01
TARGET = 1.5
SANITY_STEPS = 5


def make_data(seed: int = 0):
    r = numpy.random.default_rng(seed)
    x = r.standard_normal((BATCH, SEQ, D_MODEL)).astype(numpy.float32)
    y = r.standard_normal((BATCH, SEQ, D_MODEL)).astype(numpy.float32)
    return x, y


def make_layers(dropout: float):
    """A torch layer and a nabla layer holding the same weights."""
    import torch

    import nabla

    torch.manual_seed(0)
    kw = dict(dim_feedforward=FF, dropout=dropout, batch_first=True)
    t = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, **kw)
    n = nabla.nn.TransformerEncoderLayer(D_MODEL, HEADS, **kw)
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    t.train()
    n.train()
    return n, t


def make_step(lib, layer, x_np, y_np):
    x, y = lib.tensor(x_np), lib.tensor(y_np)

    def forward():
        return ((layer(x) - y) ** 2).mean()

    return sgd_phases(lib, forward, list(layer.parameters()), LR)["step"]


def block_rows(settings) -> list:
    import torch

    import nabla

    x, y = make_data()
    n, t = make_layers(0.0)
    sn, st = make_step(nabla, n, x, y), make_step(torch, t, x, y)
    diff = max(abs(sn().item() - st().item()) for _ in range(SANITY_STEPS))
    n, t = make_layers(0.0)
    stats = compare({"nabla": make_step(nabla, n, x, y), "torch": make_step(torch, t, x, y)}, settings.scaled(block=4))
    rows = [Row(NAME, f"encoder block train step (d{D_MODEL}, {HEADS} heads, ff{FF}, seq {SEQ}, batch {BATCH}, SGD)",
                stats["nabla"], stats["torch"], target=TARGET,
                sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} steps", sanity_ok=diff <= 1e-4)]
    n, t = make_layers(0.1)
    stats = compare({"nabla": make_step(nabla, n, x, y), "torch": make_step(torch, t, x, y)},
                    settings.scaled(rounds=0.5, block=4))
    rows.append(Row(NAME, "the same step with dropout 0.1 (own masks in each framework)", stats["nabla"],
                    stats["torch"], sanity="-", sanity_ok=True))
    return rows


def attention_rows(settings) -> list:
    import torch
    import torch.nn.functional as TF

    import nabla
    from nabla.ops import attention as A

    e, d = D_MODEL, D_MODEL // HEADS
    r = numpy.random.default_rng(2)
    qkv_np = r.standard_normal((BATCH, SEQ, 3 * e)).astype(numpy.float32)
    up_np = r.standard_normal((BATCH, SEQ, e)).astype(numpy.float32)
    scale = d ** -0.5

    def heads(x):
        return x.reshape(BATCH, SEQ, HEADS, d).transpose(1, 2)

    def merge(x):
        return x.transpose(1, 2).reshape(BATCH, SEQ, e)

    def split(qkv):
        return heads(qkv[..., :e]), heads(qkv[..., e:2 * e]), heads(qkv[..., 2 * e:])

    nq, tq = nabla.tensor(qkv_np, requires_grad=True), torch.tensor(qkv_np, requires_grad=True)
    nup, tup = nabla.tensor(up_np), torch.tensor(up_np)

    def step(leaf, up, f):
        def run():
            leaf.grad = None
            f(leaf).backward(up)
        return run

    contenders = {
        "packed": step(nq, nup, lambda x: A.packed_self_attention(x, HEADS, None, None, 0.0, scale)),
        "sliced": step(nq, nup, lambda x: merge(A.attention(*split(x), None, None, 0.0, scale))),
        "composed": step(nq, nup, lambda x: merge(A.composed_attention(*split(x), None, None, None, scale))),
        "torch": step(tq, tup, lambda x: merge(TF.scaled_dot_product_attention(*split(x)))),
    }
    diffs = {}
    contenders["torch"]()
    ref = tq.grad.numpy().copy()
    for name in ("packed", "sliced", "composed"):
        contenders[name]()
        diffs[name] = float(numpy.abs(nq.grad.numpy() - ref).max())
    stats = compare(contenders, settings.scaled(rounds=0.5, block=2))
    labels = {"packed": "fused PackedSelfAttention op", "sliced": "fused op on sliced heads",
              "composed": "composed from primitives"}
    shape = f"(N {BATCH}, L {SEQ}, {HEADS} heads of {d})"
    return [Row(NAME, f"self-attention fwd+bwd {shape}: nabla {labels[k]}", stats[k], stats["torch"],
                sanity=f"max abs grad diff {diffs[k]:.1e}", sanity_ok=diffs[k] <= 1e-4)
            for k in ("packed", "sliced", "composed")]


GEN = dict(vocab_size=65, block_size=256, n_layer=4, n_head=4, n_embd=128)
PROMPT, NEW_TOKENS = 8, 100
GEN_TARGET = 1.0  # KV-cache generation: nabla's time per token <= torch's


def torch_gpt():
    """nanoGPT's layout in torch with a KV cache: the same model as ``nabla.models.gpt.GPT``."""
    import torch
    import torch.nn.functional as TF

    class Attention(torch.nn.Module):
        def __init__(self, e, h):
            super().__init__()
            self.c_attn, self.c_proj, self.h = torch.nn.Linear(e, 3 * e), torch.nn.Linear(e, e), h

        def forward(self, x, cache, i):
            n, t, e = x.shape
            q, k, v = (z.reshape(n, t, self.h, e // self.h).transpose(1, 2) for z in self.c_attn(x).split(e, 2))
            past = 0
            if cache is not None:
                if i in cache:
                    past = cache[i][0].shape[2]
                    k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
            mask = torch.ones(t, past + t, dtype=torch.bool).tril(past) if t > 1 else None
            y = TF.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return self.c_proj(y.transpose(1, 2).reshape(n, t, e))

    class Block(torch.nn.Module):
        def __init__(self, e, h):
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = torch.nn.LayerNorm(e), Attention(e, h), torch.nn.LayerNorm(e)
            self.mlp = torch.nn.ModuleDict(dict(c_fc=torch.nn.Linear(e, 4 * e), c_proj=torch.nn.Linear(4 * e, e)))

        def forward(self, x, cache, i):
            x = x + self.attn(self.ln_1(x), cache, i)
            return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))

    class GPT(torch.nn.Module):
        def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
            super().__init__()
            self.transformer = torch.nn.ModuleDict(dict(
                wte=torch.nn.Embedding(vocab_size, n_embd), wpe=torch.nn.Embedding(block_size, n_embd),
                h=torch.nn.ModuleList([Block(n_embd, n_head) for _ in range(n_layer)]),
                ln_f=torch.nn.LayerNorm(n_embd)))
            self.lm_head = torch.nn.Linear(n_embd, vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx, cache=None, past=0):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe(torch.arange(past, past + idx.shape[1]))
            for i, b in enumerate(tr.h):
                x = b(x, cache, i)
            return self.lm_head(tr.ln_f(x))

        @torch.no_grad()
        def generate(self, idx, new, use_cache):
            cache = {} if use_cache else None
            for _ in range(new):  # greedy; the context stays within block_size here
                if use_cache:
                    logits = self(idx if not cache else idx[:, -1:], cache, 0 if not cache else idx.shape[1] - 1)
                else:
                    logits = self(idx)
                idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], 1)
            return idx

    return GPT(**GEN)


def generation_rows(settings) -> list:
    """Greedy generation of NEW_TOKENS tokens after a PROMPT-token prompt, with and without the KV cache."""
    import torch

    import nabla
    from nabla.models.gpt import GPT, GPTConfig

    t = torch_gpt().eval()
    n = GPT(GPTConfig(**GEN))
    n.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    ids = numpy.random.default_rng(3).integers(0, GEN["vocab_size"], (1, PROMPT))
    ni, ti = nabla.tensor(ids), torch.tensor(ids)
    with torch.no_grad(), nabla.no_grad():
        diff = float(numpy.abs(n(ni).numpy() - t(ti).numpy()).max())
    same = bool((n.generate(ni, NEW_TOKENS, temperature=0).numpy() == t.generate(ti, NEW_TOKENS, True).numpy()).all())
    rows = []
    for use_cache in (True, False):
        stats = compare({"nabla": lambda: n.generate(ni, NEW_TOKENS, temperature=0, use_cache=use_cache),
                         "torch": lambda: t.generate(ti, NEW_TOKENS, use_cache)},
                        settings.scaled(rounds=0.1, block=4))
        tok_n, tok_t = NEW_TOKENS / stats["nabla"].median, NEW_TOKENS / stats["torch"].median
        what = "with the KV cache" if use_cache else "without a cache (whole context each step)"
        rows.append(Row(NAME, f"GPT 4x128 generation, {NEW_TOKENS} tokens {what}: nabla {tok_n:,.0f} tokens/s, "
                              f"torch {tok_t:,.0f} tokens/s", stats["nabla"], stats["torch"],
                        target=GEN_TARGET if use_cache else None,
                        sanity=f"max abs logit diff {diff:.1e}, greedy tokens {'equal' if same else 'DIFFER'}",
                        sanity_ok=diff <= 1e-4 and same))
    return rows


def run(settings) -> list:
    return block_rows(settings) + attention_rows(settings) + generation_rows(settings)
