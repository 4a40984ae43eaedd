"""MultiheadAttention with PyTorch's signature, weight layout and mask conventions.

Parameters and their state-dict keys are PyTorch's, so weights copy across in either direction:
``in_proj_weight`` (3E, E) stacks the query, key and value projections (or ``q_proj_weight``,
``k_proj_weight``, ``v_proj_weight`` when ``kdim``/``vdim`` differ from ``embed_dim``),
``in_proj_bias`` (3E), ``out_proj.weight`` / ``out_proj.bias``, and ``bias_k`` / ``bias_v`` with
``add_bias_kv``.

Masks follow ``nn.MultiheadAttention`` (note: the opposite of ``scaled_dot_product_attention``'s bool
masks): a **bool** ``attn_mask`` or ``key_padding_mask`` is True where attention is **not** allowed;
a float one is added to the scores.
"""

from __future__ import annotations

from typing import Any

from ... import functional as F
from ...backend import array_module
from ...creation import empty, zeros
from ...ops import attention as _attention, cat
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from .linear import Linear


class MultiheadAttention(Module):
    """Attention from ``num_heads`` heads of size ``embed_dim // num_heads`` (Vaswani et al., 2017).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights or None)``.

    Shapes (``batch_first=False``, PyTorch's default): query (L, N, E), key (S, N, kdim), value
    (S, N, vdim) -> output (L, N, E); with ``batch_first=True`` the batch comes first; unbatched
    (L, E) inputs work too. ``attn_mask``: (L, S) or (N * num_heads, L, S); ``key_padding_mask``:
    (N, S). ``need_weights`` also returns the attention weights (after dropout, as PyTorch), averaged
    over the heads (N, L, S) or per head (N, num_heads, L, S); without it the fused attention op
    runs and a query whose keys are all masked gets zeros (with it, NaN, as in PyTorch).
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask (it must still be given).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        for name, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"MultiheadAttention: {name} must be a positive int, got {v!r}")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}); "
                f"choose num_heads among the divisors of {embed_dim}"
            )
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiheadAttention: dropout must lie in [0, 1), got {dropout!r}")
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        kw = dict(device=device, dtype=dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's initialisation: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    # ----------------------------------------------------------------------------------- forward

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = self._check_inputs(query, key, value)
        same_kv = key is value
        self_attn = same_kv and query is key
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, tgt_len, e = query.shape
        src_len = key.shape[1]
        if is_causal and attn_mask is None:
            raise ValueError(
                "is_causal=True is a hint that attn_mask is the causal mask, but attn_mask is None: pass "
                "attn_mask (e.g. nn.Transformer.generate_square_subsequent_mask(L)) as in PyTorch"
            )
        use_causal = is_causal and key_padding_mask is None and not need_weights
        if use_causal:
            attn_mask = None
        blocked, bias = self._masks(attn_mask, key_padding_mask, n, tgt_len, src_len, query.dtype)

        h, d = self.num_heads, self.head_dim
        p = self.dropout if self.training else 0.0
        if self_attn and self._qkv_same_embed_dim and not need_weights and self.bias_k is None \
                and not self.add_zero_attn:  # the common case, one fused node (see ops/attention.py)
            if use_causal:
                blocked = query._xp.triu(query._xp.ones((tgt_len, tgt_len), dtype=bool), k=1)
            qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)
            out = _attention.packed_self_attention(qkv, h, bias, blocked, p, d ** -0.5)
            return self._finish(self.out_proj(out), None, batched)

        q, k, v = self._project(query, key, value, self_attn, same_kv)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(n, 1, e)], 1)
            v = cat([v, self.bias_v.expand(n, 1, e)], 1)
            blocked, bias = _pad_masks(blocked, bias)
        q = q.reshape(n, tgt_len, h, d).transpose(1, 2)
        k = k.reshape(n, k.shape[1], h, d).transpose(1, 2)
        v = v.reshape(n, v.shape[1], h, d).transpose(1, 2)
        if self.add_zero_attn:
            k = cat([k, zeros(n, h, 1, d, dtype=k.dtype, device=k.device)], 2)
            v = cat([v, zeros(n, h, 1, d, dtype=v.dtype, device=v.device)], 2)
            blocked, bias = _pad_masks(blocked, bias)

        weights = None
        if need_weights:
            w = _attention.composed_scores(q, k, bias, blocked, d ** -0.5).softmax(-1)
            w = F.dropout(w, p) if p > 0 else w
            out = w @ v
            weights = w.mean(1) if average_attn_weights else w
        else:
            if use_causal:
                out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            else:
                out = _attention.attention(q, k, v, bias, blocked, p, d ** -0.5)
        return self._finish(self.out_proj(out.transpose(1, 2).reshape(n, tgt_len, e)), weights, batched)

    def _finish(self, out: Tensor, weights: Tensor | None, batched: bool) -> tuple[Tensor, Tensor | None]:
        """Back to the caller's layout: unbatched, or (L, N, E) unless batch_first."""
        if not batched:
            return out.squeeze(0), (weights.squeeze(0) if weights is not None else None)
        if not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query: Tensor, key: Tensor, value: Tensor, self_attn: bool, same_kv: bool):
        """The query, key and value projections, packed into as few matmuls as the inputs allow."""
        e, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if not self._qkv_same_embed_dim:
            return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                    F.linear(value, self.v_proj_weight, bv))
        w = self.in_proj_weight
        if self_attn:
            qkv = F.linear(query, w, b)
            return qkv[..., :e], qkv[..., e:2 * e], qkv[..., 2 * e:]
        q = F.linear(query, w[:e], bq)
        if same_kv:
            kv = F.linear(key, w[e:], None if b is None else b[e:])
            return q, kv[..., :e], kv[..., e:]
        return q, F.linear(key, w[e:2 * e], bk), F.linear(value, w[2 * e:], bv)

    # ------------------------------------------------------------------------------ validation

    def _check_inputs(self, query: Any, key: Any, value: Any) -> bool:
        """Check types and shapes; return whether the inputs carry a batch dimension."""
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise ValueError(
                f"query must be 3-D ({self._layout('L')}) or 2-D (L, E) unbatched, got {query.shape}"
            )
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"query, key and value must all be {'3-D (batched)' if batched else '2-D (unbatched)'}, got "
                f"query {query.shape}, key {key.shape}, value {value.shape}"
            )
        expected = (("query", query, self.embed_dim, "embed_dim"), ("key", key, self.kdim, "kdim"),
                    ("value", value, self.vdim, "vdim"))
        for name, t, dim, what in expected:
            if t.shape[-1] != dim:
                raise ValueError(f"expected {name} with {dim} features ({what}) in the last dimension, got {t.shape}")
        seq = 0 if (not batched or not self.batch_first) else 1
        if key.shape[seq] != value.shape[seq]:
            raise ValueError(f"key {key.shape} and value {value.shape} must have the same sequence length (S)")
        if batched:
            bd = 0 if self.batch_first else 1
            if not query.shape[bd] == key.shape[bd] == value.shape[bd]:
                raise ValueError(
                    f"query {query.shape}, key {key.shape} and value {value.shape} must have the same batch size "
                    f"(dimension {bd}, batch_first={self.batch_first})"
                )
        return batched

    def _layout(self, seq: str) -> str:
        return f"N, {seq}, E" if self.batch_first else f"{seq}, N, E"

    def _masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, n: int, tgt_len: int,
               src_len: int, dtype: Any):
        """PyTorch's masks as (blocked bool array, additive float Tensor), shaped (N | 1, H | 1, L | 1, S)."""
        h = self.num_heads
        blocked = bias = None
        if attn_mask is not None:
            if not isinstance(attn_mask, Tensor):
                raise TypeError(f"attn_mask must be a Tensor, got {type(attn_mask).__name__}")
            if attn_mask.shape == (tgt_len, src_len):
                attn_mask = attn_mask.reshape(1, 1, tgt_len, src_len)
            elif attn_mask.shape == (n * h, tgt_len, src_len):
                attn_mask = attn_mask.reshape(n, h, tgt_len, src_len)
            else:
                raise ValueError(
                    f"attn_mask must have shape (L, S) = {(tgt_len, src_len)} or (N * num_heads, L, S) = "
                    f"{(n * h, tgt_len, src_len)}, got {attn_mask.shape}"
                )
            blocked, bias = _split_mask(attn_mask, dtype, "attn_mask")
        if key_padding_mask is not None:
            if not isinstance(key_padding_mask, Tensor):
                raise TypeError(f"key_padding_mask must be a Tensor, got {type(key_padding_mask).__name__}")
            if key_padding_mask.shape != (n, src_len):
                raise ValueError(
                    f"key_padding_mask must have shape (N, S) = {(n, src_len)} (True = padding, ignored), got "
                    f"{key_padding_mask.shape}"
                )
            kb, kf = _split_mask(key_padding_mask.reshape(n, 1, 1, src_len), dtype, "key_padding_mask")
            if kb is not None:
                blocked = kb if blocked is None else blocked | kb
            if kf is not None:
                bias = kf if bias is None else bias + kf
        return blocked, bias

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")


def _split_mask(mask: Tensor, dtype: Any, name: str):
    """A PyTorch-style mask as (blocked bool array, None) or (None, additive float Tensor)."""
    if mask.dtype.kind == "b":
        return mask._data, None
    if mask.dtype.kind == "f":
        return None, (mask if mask.dtype == dtype else mask.to(dtype))
    raise TypeError(
        f"{name} must be bool (True = not allowed to attend) or float (added to the scores), got {mask.dtype}")


def _pad_masks(blocked: Any, bias: Tensor | None):
    """One more key (bias_k or the zero key) that every query may attend to: a column of False / 0."""
    if blocked is not None:
        xp = array_module(blocked)
        blocked = xp.concatenate([blocked, xp.zeros(blocked.shape[:-1] + (1,), dtype=bool)], axis=-1)
    if bias is not None:
        bias = cat([bias, zeros(*bias.shape[:-1], 1, dtype=bias.dtype, device=bias.device)], -1)
    return blocked, bias
