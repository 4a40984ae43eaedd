"""``scaled_dot_product_attention`` with PyTorch's arguments: checks, masks, then one fused op
(``ops/attention.py``)."""

from __future__ import annotations

from ..mixed_precision import LOWER, autocast_inputs, state as _amp
from ..ops import attention as _attention
from ..tensor import Tensor
from .common import check_float, check_tensor


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two dimensions, as in PyTorch.

    ``query`` (..., L, E), ``key`` (..., S, E), ``value`` (..., S, Ev) give (..., L, Ev); the leading
    dimensions broadcast. ``attn_mask`` broadcasts to (..., L, S) and is either **bool**, True where
    a query *may* attend, or **float**, added to the scores (``-inf`` excludes; it gets a gradient).
    ``is_causal``: query ``i`` attends to keys ``j <= i`` (the lower triangle of an L x S matrix);
    it cannot be combined with ``attn_mask`` (as in PyTorch). ``scale`` defaults to ``1 / sqrt(E)``. ``dropout_p`` drops
    attention weights whenever it is > 0 (as in PyTorch, pass 0.0 in evaluation). A query with
    nothing to attend to gets zeros, not NaN. One fused graph node (``nabla/ops/attention.py``).
    """
    if _amp.enabled:
        query, key, value = autocast_inputs(LOWER, "scaled_dot_product_attention", query, key, value)
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_float(t, name, op)
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dimensions (..., length, features), got {t.shape}")
    if key.dtype != query.dtype or value.dtype != query.dtype:
        raise TypeError(
            f"{op}: query, key and value must share a dtype, got {query.dtype}, {key.dtype}, {value.dtype}; "
            "convert them with .to(query.dtype)"
        )
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if key.shape[-1] != E:
        raise ValueError(
            f"{op}: query {query.shape} and key {key.shape} must have the same last dimension (features E), "
            f"got {E} and {key.shape[-1]}"
        )
    if value.shape[-2] != S:
        raise ValueError(
            f"{op}: key {key.shape} and value {value.shape} must have the same length (dimension -2), "
            f"got {S} and {value.shape[-2]}"
        )
    xp = query._xp
    try:
        batch = xp.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{op}: the leading (batch, head) dimensions of query {query.shape}, key {key.shape} and value "
            f"{value.shape} do not broadcast together"
        ) from None
    if not isinstance(dropout_p, (int, float)) or isinstance(dropout_p, bool) or not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"{op}: dropout_p must lie in [0, 1), got {dropout_p!r}")
    bias = blocked = None
    if attn_mask is not None and is_causal:
        raise ValueError(
            f"{op}: pass either attn_mask or is_causal=True, not both (as in PyTorch); to combine them, pass "
            "one bool attn_mask that is also False above the diagonal (mask & numpy.tril(numpy.ones((L, S), bool)))"
        )
    if attn_mask is not None:
        check_tensor(attn_mask, "attn_mask", op)
        try:
            batch = xp.broadcast_shapes(batch + (L, S), attn_mask.shape)[:-2]
            if xp.broadcast_shapes(attn_mask.shape[-2:], (L, S)) != (L, S):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{op}: attn_mask of shape {attn_mask.shape} does not broadcast to the scores' shape "
                f"{batch + (L, S)} (..., L, S) for query {query.shape} and key {key.shape}"
            ) from None
        if attn_mask.dtype.kind == "b":
            blocked = ~attn_mask._data
        elif attn_mask.dtype.kind == "f":
            bias = attn_mask if attn_mask.dtype == query.dtype else attn_mask.to(query.dtype)
        else:
            raise TypeError(f"{op}: attn_mask must be bool (True = attend) or float (added), got {attn_mask.dtype}")
    if is_causal:
        blocked = xp.triu(xp.ones((L, S), dtype=bool), k=1)
    if scale is None:
        scale = 1.0 / float(E) ** 0.5 if E else 1.0
    return _attention.attention(query, key, value, bias, blocked, float(dropout_p), float(scale))
