"""GPT: a decoder-only Transformer language model (Radford et al., 2018/2019), with KV-cached generation.

Layout and names follow GPT-2 / nanoGPT, so the state dict reads like theirs: ``transformer.wte``
(token embeddings), ``transformer.wpe`` (learned positions), ``transformer.h.{i}`` blocks of pre-LN
``ln_1 -> attn (c_attn, c_proj) -> ln_2 -> mlp (c_fc, GELU, c_proj)`` with residual connections,
``transformer.ln_f``, and ``lm_head`` whose weight **is** ``transformer.wte.weight`` (weight tying:
one matrix embeds tokens and scores them; one Parameter, listed once by ``parameters()``).

Attention is causal: position ``t`` sees positions ``<= t`` only, so the logits at ``t`` never depend
on later tokens. Training runs the fused multi-head self-attention op with the causal mask.

Generation (:meth:`GPT.generate`) samples with temperature, top-k and top-p (nucleus) filtering. With
``use_cache=True`` each layer keeps the keys and values of the positions seen so far (a
:class:`KVCache`), so a new token costs one position's work instead of re-running the whole
context; the tokens are the same as without the cache. Once a sequence outgrows ``block_size`` the
context window slides, every position shifts, and the cache is rebuilt from the window at each step
(exactly what the uncached model computes).

Decoding speed. One new position is a few hundred floats per layer, so a token's cost is the
per-call overhead of ~90 ops and ~50 module calls, not arithmetic. The cache therefore holds
preallocated arrays (each step writes its key and value into the next slot and attends over the
filled prefix: no re-concatenation), and a cached forward pass under ``no_grad`` runs the same
ops' array-level ``forward`` (LayerNorm, Linear, GELU, attention: the math has one home, in
``nabla.ops``) straight on the arrays: no Tensor, graph node or module call per op. It falls back
to the modules when one has a hook (hooks fire as usual) or dropout is active in training mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy

from .. import backend, functional as F, nn
from ..autograd import is_grad_enabled, no_grad
from ..creation import tensor
from ..ops import attention as _attention
from ..ops.activation import Gelu
from ..ops.linalg import Linear as _LinearOp
from ..ops.norm import LayerNorm as _LayerNormOp
from ..tensor import Tensor
from .registry import register_model


@dataclass
class GPTConfig:
    """Sizes of a GPT. ``block_size`` is the longest context (the number of learned positions)."""

    vocab_size: int = 65
    block_size: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must lie in [0, 1), got {self.dropout}")


class KVCache:
    """Per layer, the keys and values (N, n_head, length, head_dim) of the positions processed so far.

    Each layer's keys and values live in preallocated arrays (N, n_head, capacity, head_dim): a step
    writes its positions into the next slots and attention reads the filled prefix (a view), so no
    step copies the past. ``capacity`` (``generate`` passes ``block_size``) sizes them up front;
    without it they start at the first step's length and double when full.
    """

    def __init__(self, n_layer: int, capacity: int | None = None) -> None:
        if capacity is not None and (not isinstance(capacity, int) or capacity <= 0):
            raise ValueError(f"KVCache: capacity must be a positive int or None, got {capacity!r}")
        self.keys: list[Any] = [None] * n_layer
        self.values: list[Any] = [None] * n_layer
        self.length, self.capacity = 0, capacity
        self.on_arrays: bool | None = None  # set by GPT.forward at the cache's first use

    def write(self, layer: int, k: Any, v: Any) -> tuple[Any, Any]:
        """Store ``layer``'s keys and values (arrays (N, H, t, D)) at positions ``length .. length + t - 1``;
        return views of every position filled so far (``cache.length`` moves on after the last layer)."""
        past, end = self.length, self.length + k.shape[2]
        keys, values = self.keys[layer], self.values[layer]
        if keys is None or end > keys.shape[2] or keys.shape[:2] != k.shape[:2] or keys.dtype != k.dtype:
            size = max(end, self.capacity or 0, 2 * keys.shape[2] if keys is not None else 0)
            xp = backend.array_module(k)
            new_k, new_v = (xp.empty(k.shape[:2] + (size,) + k.shape[3:], dtype=k.dtype) for _ in range(2))
            if past:
                new_k[:, :, :past], new_v[:, :, :past] = keys[:, :, :past], values[:, :, :past]
            keys, values = self.keys[layer], self.values[layer] = new_k, new_v
        keys[:, :, past:end], values[:, :, past:end] = k, v
        return keys[:, :, :end], values[:, :, :end]

    def extend(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`write` for Tensors (under ``no_grad``): this step's keys and values in, all so far out."""
        keys, values = self.write(layer, k._data, v._data)
        return Tensor._wrap(keys), Tensor._wrap(values)


def _run(op: type, *args: Any, **kwargs: Any) -> Any:
    """An op's ``forward`` on arrays: its math with no Tensor or graph node (the cached decoding path)."""
    return op.__new__(op).forward(*args, **kwargs)


def _layer_norm(ln: nn.LayerNorm, x: Any) -> Any:
    w, b = ln.weight, ln.bias  # (each Module attribute read is a __getattr__ call: once per token and layer)
    w = w._data if w is not None else backend.array_module(x).ones(x.shape[-1], dtype=x.dtype)
    b = b._data if b is not None else backend.array_module(x).zeros(x.shape[-1], dtype=x.dtype)
    return _run(_LayerNormOp, x, w, b, len(ln.normalized_shape), ln.eps)


def _linear(lin: nn.Linear, x: Any) -> Any:
    w, b = lin.weight, lin.bias
    if b is None:
        return _run(_LinearOp, x, w._data)
    return _run(_LinearOp, x, w._data, b._data)


def _causal_mask(t: int, past: int) -> Any:
    """For ``t`` new positions after ``past`` cached ones, True where a query may see a key (or None: all)."""
    return numpy.tril(numpy.ones((t, past + t), dtype=bool), k=past) if t > 1 else None


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention: ``c_attn`` projects to queries, keys and values at once."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        n, t, e = x.shape
        h, d = self.n_head, e // self.n_head
        qkv = self.c_attn(x)
        if cache is None:
            xp = x._xp
            future = xp.triu(xp.ones((t, t), dtype=bool), k=1)
            p = self.dropout if self.training else 0.0
            y = _attention.packed_self_attention(qkv, h, None, future, p, d ** -0.5)
        else:
            heads = qkv.reshape(n, t, 3, h, d).permute(2, 0, 3, 1, 4)  # (3, N, H, T, D)
            allowed = _causal_mask(t, cache.length)  # new position past + i may see keys 0 .. past + i
            k, v = cache.extend(layer, heads[1], heads[2])
            mask = None if allowed is None else tensor(allowed, device=x.device)
            y = F.scaled_dot_product_attention(heads[0], k, v, attn_mask=mask)
            y = y.transpose(1, 2).reshape(n, t, e)
        return self.resid_dropout(self.c_proj(y))

    def cached_arrays(self, x: Any, cache: KVCache, layer: int) -> Any:
        """:meth:`forward` with a cache, on arrays (eval mode; see the module docstring)."""
        n, t, e = x.shape
        h, d = self.n_head, e // self.n_head
        heads = _linear(self.c_attn, x).reshape(n, t, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, N, H, T, D)
        allowed = _causal_mask(t, cache.length)
        blocked = None if allowed is None else backend.array_module(x).asarray(~allowed)
        k, v = cache.write(layer, heads[1], heads[2])
        y = _run(_attention.ScaledDotProductAttention, heads[0], k, v, blocked=blocked, drop=None, scale=d ** -0.5)
        return _linear(self.c_proj, y.transpose(0, 2, 1, 3).reshape(n, t, e))


class MLP(nn.Module):
    """The position-wise feed-forward network: ``c_fc`` (4x wider), GELU, ``c_proj``.

    GELU is GPT-2's tanh approximation (``approximate="tanh"``), which is also ~3x cheaper here
    than the exact erf form (measured: SciPy's erf costs ~20 ns per element on this CPU).
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))

    def cached_arrays(self, x: Any) -> Any:
        """:meth:`forward` on arrays (eval mode)."""
        return _linear(self.c_proj, _run(Gelu, _linear(self.c_fc, x), approximate="tanh"))


class Block(nn.Module):
    """Pre-LN Transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))

    def cached_arrays(self, x: Any, cache: KVCache, layer: int) -> Any:
        """:meth:`forward` with a cache, on arrays (eval mode)."""
        x = x + self.attn.cached_arrays(_layer_norm(self.ln_1, x), cache, layer)
        return x + self.mlp.cached_arrays(_layer_norm(self.ln_2, x))


class GPT(nn.Module):
    """Decoder-only Transformer language model: token ids (N, T) -> next-token logits (N, T, vocab_size).

    ``GPT(GPTConfig(...))`` or ``GPT(vocab_size=65, block_size=128, ...)``. Weights start as in GPT-2:
    N(0, 0.02) for embeddings and linear layers, zero biases, and the residual projections
    (``c_proj``) scaled by ``1 / sqrt(2 * n_layer)``. Train with :func:`lm_loss`; sample with
    :meth:`generate`.
    """

    def __init__(self, config: GPTConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        if config is None:
            config = GPTConfig(**kwargs)
        elif kwargs:
            raise TypeError("GPT: pass either a GPTConfig or keyword sizes, not both")
        self.config = config
        self.transformer = nn.ModuleDict({
            "wte": nn.Embedding(config.vocab_size, config.n_embd),
            "wpe": nn.Embedding(config.block_size, config.n_embd),
            "drop": nn.Dropout(config.dropout),
            "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
        })
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying
        self._init_weights(config)

    def _init_weights(self, config: GPTConfig) -> None:
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * config.n_layer))
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Parameter count (the tied matrix once); without the position embeddings by default, as GPT-2 reports."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: Tensor, cache: KVCache | None = None) -> Tensor:
        """Logits (N, T, vocab) for token ids ``idx`` (N, T); with ``cache`` the ids continue the
        cached positions (used by :meth:`generate`, under ``no_grad``)."""
        if not isinstance(idx, Tensor) or idx.dtype.kind not in "iu" or idx.ndim != 2:
            got = f"{idx.dtype} tensor of shape {idx.shape}" if isinstance(idx, Tensor) else type(idx).__name__
            raise TypeError(f"expected token ids as an int64 Tensor (N, T), got {got}")
        past = cache.length if cache is not None else 0
        t = idx.shape[1]
        if past + t > self.config.block_size:
            raise ValueError(
                f"sequence of {past + t} positions ({past} cached + {t} new) is longer than block_size="
                f"{self.config.block_size}; crop the input to its last {self.config.block_size} tokens"
            )
        if cache is not None and is_grad_enabled():
            raise RuntimeError("GPT: a KV cache is for generation; call it under nabla.no_grad()")
        tr = self.transformer
        if cache is not None and self._decodes_on_arrays(cache):
            x = tr.wte(idx)._data + tr.wpe.weight._data[past:past + t]  # (the embedding module checks the ids)
            for i, block in enumerate(tr.h):
                x = block.cached_arrays(x, cache, i)
            cache.length += t
            return Tensor._wrap(_linear(self.lm_head, _layer_norm(tr.ln_f, x)))
        # Positions past .. past+t-1 are a slice of wpe's table: no index check (a host sync on a GPU)
        # and no scatter-add backward, the same values and gradients as tr.wpe(arange(past, past + t)).
        x = tr.drop(tr.wte(idx) + tr.wpe.weight[past:past + t])
        for i, block in enumerate(tr.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += t
        return self.lm_head(tr.ln_f(x))

    def _decodes_on_arrays(self, cache: KVCache) -> bool:
        """Whether a cached pass may skip the modules: no dropout at work, no module hook, and every
        submodule one of GPT's own (a replaced or subclassed layer runs its own forward). Checked once
        per cache, when it is empty."""
        if cache.length == 0 or cache.on_arrays is None:
            cache.on_arrays = (not (self.training and self.config.dropout > 0) and all(
                (m is self or type(m) in _ARRAY_MODULES) and not (m._forward_hooks or m._forward_pre_hooks)
                for m in self.modules()))
        return cache.on_arrays

    @no_grad()
    def generate(
        self,
        idx: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """Extend each row of ``idx`` (N, T) by ``max_new_tokens`` sampled tokens; returns (N, T + new).

        ``temperature`` divides the logits (0 picks the most likely token, greedy); ``top_k`` keeps
        the k most likely tokens; ``top_p`` keeps the smallest set of most likely tokens whose
        probabilities sum to at least ``top_p``. Draws come from nabla's generator
        (``nabla.manual_seed`` makes them repeatable). The model is put in eval mode meanwhile.
        """
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError("generate: idx must be a non-empty Tensor of token ids (N, T); for one prompt use "
                             "ids.reshape(1, -1)")
        _check_sampling(temperature, top_k, top_p, self.config.vocab_size)
        was_training = self.training
        self.eval()
        block = self.config.block_size
        n, start = idx.shape
        ids = idx._xp.empty((n, start + max_new_tokens), dtype=numpy.int64)  # written in place, token by token
        ids[:, :start] = idx._data
        cache = None
        try:
            for end in range(start, start + max_new_tokens):
                window = Tensor._wrap(ids[:, max(0, end - block):end])
                if not use_cache:
                    logits = self(window)
                elif cache is None or cache.length >= block:  # start, or the window slid: rebuild
                    cache = KVCache(self.config.n_layer, capacity=block)
                    logits = self(window, cache)
                else:
                    logits = self(Tensor._wrap(ids[:, end - 1:end]), cache)
                ids[:, end] = sample_next_token(logits[:, -1], temperature, top_k, top_p)._data
        finally:
            self.train(was_training)
        return Tensor._wrap(ids)


_ARRAY_MODULES = (nn.ModuleDict, nn.ModuleList, nn.Embedding, nn.Dropout, nn.LayerNorm, nn.Linear, Block,
                  CausalSelfAttention, MLP)


def _check_sampling(temperature: float, top_k: int | None, top_p: float | None, vocab: int) -> None:
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError(f"generate: temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"generate: top_p must lie in (0, 1] or be None, got {top_p!r}")


def filter_logits(logits: Any, top_k: int | None = None, top_p: float | None = None) -> Any:
    """``logits`` (N, V) with the tokens outside the top-k / top-p sets set to ``-inf``.

    top-k keeps the ``k`` largest logits of each row (ties with the k-th kept too). top-p keeps, per
    row, the most likely tokens until their probabilities sum to at least ``top_p`` (the token that
    crosses ``top_p`` is kept, so at least one token always is).
    """
    xp = backend.array_module(logits)  # NumPy or CuPy: the filtering runs where the logits are
    out = xp.array(logits, dtype=numpy.float64, copy=True)
    if top_k is not None and top_k < out.shape[-1]:
        kth = xp.partition(out, -top_k, axis=-1)[:, -top_k][:, None]
        out[out < kth] = -numpy.inf
    if top_p is not None and top_p < 1.0:
        order = xp.argsort(-out, axis=-1, kind="stable")
        z = xp.take_along_axis(out, order, axis=-1)
        probs = xp.exp(z - z[:, :1])
        probs /= probs.sum(axis=-1, keepdims=True)
        before = xp.cumsum(probs, axis=-1) - probs  # the mass of the more likely tokens
        # back from sorted to vocabulary order: argsort of a permutation is its inverse
        drop = xp.take_along_axis(before >= top_p, xp.argsort(order, axis=-1), axis=-1)
        out[drop] = -numpy.inf
    return out


def sample_next_token(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
                      top_p: float | None = None) -> Tensor:
    """One token id per row of ``logits`` (N, V): greedy at temperature 0, else a draw from
    ``softmax(filter_logits(logits / temperature))`` with nabla's generator.

    Runs on the logits' device (on a GPU no (N, V) copy to the host per token); the uniform draw comes
    from that device's stream, so a GPU draws other tokens than the CPU for the same seed."""
    z = logits.detach()._data.astype(numpy.float64)
    xp = backend.array_module(z)
    if temperature == 0:
        ids = z.argmax(axis=-1)
    else:
        z = filter_logits(z / temperature, top_k, top_p)
        probs = xp.exp(z - z.max(axis=-1, keepdims=True))
        cdf = xp.cumsum(probs, axis=-1)
        dev = logits.device
        gen = backend.default_generator.for_device(dev)
        u = (gen.random(z.shape[0]) if dev.type == "cpu" else gen.random_sample(z.shape[0])) * cdf[:, -1]
        ids = xp.minimum((cdf < u[:, None]).sum(axis=-1), z.shape[-1] - 1)
    return Tensor._wrap(ids.astype(numpy.int64))


def lm_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean next-token cross-entropy (nats per token) of logits (N, T, V) against ids (N, T)."""
    return F.sequence_cross_entropy(logits, targets, name="lm_loss")


@register_model("gpt")
def gpt(vocab_size: int = 65, block_size: int = 128, n_layer: int = 4, n_head: int = 4, n_embd: int = 128,
        dropout: float = 0.0, bias: bool = True) -> GPT:
    """GPT: decoder-only causal Transformer language model with tied embeddings and KV-cached sampling.

    Input token ids (N, T) with T <= block_size; output next-token logits (N, T, vocab_size).
    """
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head,
                         n_embd=n_embd, dropout=dropout, bias=bias))
