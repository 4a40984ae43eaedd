"""Attention for recurrent encoder-decoders: additive (Bahdanau) and multiplicative (Luong) scores.

A decoder state (the *query*) scores every encoder state (the *keys*); a softmax over the source
positions turns the scores into weights; the *context* is the weighted average of the *values*
(the keys themselves unless given). Both modules take one query per sequence (B, Dq) or many at
once (B, Tq, Dq) — e.g. every decoder step of a teacher-forced target in one call — and return
``(context, weights)`` of shapes (B, [Tq,] Dv) and (B, [Tq,] Tk). ``key_padding_mask`` (B, Tk) is
True at padded source positions (PyTorch's convention), which get weight 0.

* :class:`AdditiveAttention` (Bahdanau, Cho & Bengio 2015): ``score(q, k) = v . tanh(W_q q + W_k k)``,
  a one-hidden-layer network over each (query, key) pair;
* :class:`MultiplicativeAttention` (Luong, Pham & Manning 2015): ``score(q, k) = q . W k``
  ("general") or ``q . k`` ("dot", which needs Dq == Dk), optionally divided by sqrt(Dk).

Both are compositions of primitive ops (the scores of all pairs are one broadcast or one batched
matmul), so their gradients come from the ops' backward passes.
"""

from __future__ import annotations

import math
from typing import Any

from ... import functional as F
from ...ops import matmul, softmax, where
from ...tensor import Tensor
from ..module import Module
from .linear import Linear


def _check_inputs(name: str, query: Any, keys: Any, values: Any, mask: Any, dq: int, dk: int) -> tuple:
    """Validate shapes; return (query as (B, Tq, Dq), values, single-query flag, mask as a bool array or None)."""
    for label, t in (("query", query), ("keys", keys)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {label} must be a Tensor, got {type(t).__name__}")
    if keys.ndim != 3 or keys.shape[-1] != dk:
        raise ValueError(f"{name}: expected keys (B, Tk, {dk}), got {keys.shape}")
    B, Tk = keys.shape[0], keys.shape[1]
    if query.ndim not in (2, 3) or query.shape[0] != B or query.shape[-1] != dq:
        raise ValueError(
            f"{name}: expected query ({B}, {dq}) or ({B}, Tq, {dq}) for keys {keys.shape}, got {query.shape}"
        )
    single = query.ndim == 2
    if single:
        query = query.unsqueeze(1)
    if values is None:
        values = keys
    elif not isinstance(values, Tensor) or values.ndim != 3 or values.shape[:2] != (B, Tk):
        got = values.shape if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"{name}: expected values ({B}, {Tk}, Dv) to match keys {keys.shape}, got {got}")
    if mask is not None:
        m = mask._data if isinstance(mask, Tensor) else mask
        m = keys._xp.asarray(m)
        if m.shape != (B, Tk) or m.dtype.kind != "b":
            raise ValueError(f"{name}: key_padding_mask must be a bool (B, Tk) = ({B}, {Tk}) array (True = padding), "
                             f"got {m.dtype} {m.shape}")
        if bool(m.all(axis=1).any()):
            raise ValueError(f"{name}: key_padding_mask masks every position of some sequence; nothing to attend to")
        mask = m[:, None, :]
    return query, values, single, mask


def _attend(scores: Tensor, values: Tensor, mask: Any, single: bool) -> tuple[Tensor, Tensor]:
    """Softmax over the keys (padding excluded), then the weighted average of the values."""
    if mask is not None:
        scores = where(Tensor._wrap(mask), float("-inf"), scores)
    weights = softmax(scores, -1)
    context = matmul(weights, values)
    if single:
        return context.squeeze(1), weights.squeeze(1)
    return context, weights


class AdditiveAttention(Module):
    """Bahdanau attention: ``score(q, k) = v . tanh(W_q q + W_k k)``; weights = softmax over the keys.

    ``AdditiveAttention(query_dim, key_dim, hidden_dim)``; parameters ``query_proj`` (hidden, query_dim,
    no bias), ``key_proj`` (hidden, key_dim, with the bias) and ``v`` (1, hidden).
    ``forward(query, keys, values=None, key_padding_mask=None) -> (context, weights)``.
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_dim, self.key_dim, self.hidden_dim = query_dim, key_dim, hidden_dim
        self.query_proj = Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = Linear(key_dim, hidden_dim)
        self.v = Linear(hidden_dim, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                key_padding_mask: Any = None) -> tuple[Tensor, Tensor]:
        query, values, single, mask = _check_inputs(
            "AdditiveAttention", query, keys, values, key_padding_mask, self.query_dim, self.key_dim)
        q = self.query_proj(query).unsqueeze(2)  # (B, Tq, 1, A)
        k = self.key_proj(keys).unsqueeze(1)  # (B, 1, Tk, A)
        scores = self.v(F.tanh(q + k)).squeeze(-1)  # (B, Tq, Tk)
        return _attend(scores, values, mask, single)

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, hidden_dim={self.hidden_dim}"


class MultiplicativeAttention(Module):
    """Luong attention: ``score(q, k) = q . W k`` ("general") or ``q . k`` ("dot"); weights = softmax over keys.

    ``MultiplicativeAttention(query_dim, key_dim, score="general", scale=False)``; with ``scale`` the
    scores are divided by sqrt(key_dim) (as in scaled dot-product attention). "general" has one
    parameter, ``weight`` (query_dim, key_dim) inside ``key_proj``.
    ``forward(query, keys, values=None, key_padding_mask=None) -> (context, weights)``.
    """

    def __init__(self, query_dim: int, key_dim: int, score: str = "general", scale: bool = False) -> None:
        super().__init__()
        if score not in ("general", "dot"):
            raise ValueError(f"MultiplicativeAttention: unknown score {score!r}; choose 'general' or 'dot'")
        if score == "dot" and query_dim != key_dim:
            raise ValueError(f"MultiplicativeAttention: score='dot' needs query_dim == key_dim, got {query_dim} and "
                             f"{key_dim}; use score='general'")
        self.query_dim, self.key_dim, self.score, self.scale = query_dim, key_dim, score, scale
        self.key_proj = Linear(key_dim, query_dim, bias=False) if score == "general" else None

    def forward(self, query: Tensor, keys: Tensor, values: Tensor | None = None,
                key_padding_mask: Any = None) -> tuple[Tensor, Tensor]:
        query, values, single, mask = _check_inputs(
            "MultiplicativeAttention", query, keys, values, key_padding_mask, self.query_dim, self.key_dim)
        k = self.key_proj(keys) if self.key_proj is not None else keys  # (B, Tk, Dq)
        scores = matmul(query, k.transpose(1, 2))  # (B, Tq, Tk)
        if self.scale:
            scores = scores * (1.0 / math.sqrt(self.key_dim))
        return _attend(scores, values, mask, single)

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}, score={self.score!r}, scale={self.scale}"
