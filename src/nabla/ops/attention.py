"""Scaled dot-product attention as one fused op: ``softmax(q k^T * scale + bias, masked) @ v``.

Why fused (numbers in ``benchmarks/bench_transformer.py``'s "fused vs composed" rows): composed from
primitives the attention is six graph nodes (matmul, scale, mask/add, softmax, dropout, matmul) that
keep the scores, the weights and the dropped weights alive for backward; fused it is one node that
keeps only the weights ``p`` (and the dropout mask), with the backward in closed form::

    dv = p_d^T g                      (p_d = p * dropout mask)
    dp = (g v^T) * dropout mask
    ds = p * (dp - sum(dp * p, -1))   (softmax backward)
    dq = ds k * scale,   dk = ds^T q * scale,   dbias = ds

Rows whose every score is masked (``-inf``) get all-zero weights and zero gradients, as PyTorch's
``scaled_dot_product_attention`` does, instead of NaN.

When a second derivative is being recorded (``create_graph=True``) the backward recomputes the
weights from the inputs with nabla ops and writes the same formulas with nabla ops, so the gradient
is itself differentiable.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function, is_grad_enabled
from ..backend import array_module as _xp
from ..tensor import Tensor
from .common import unbroadcast
from .comparison import where
from .linalg import MatMul
from .softmax import softmax


def _sum_to(a, shape: tuple):
    """Sum the array ``a`` over the dimensions broadcasting added or stretched, giving ``shape``."""
    if a.shape == shape:
        return a
    lead = a.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and a.shape[i + lead] != 1)
    if dims:
        a = a.sum(axis=dims, keepdims=False)
    return a.reshape(shape)


def safe_softmax_(s):
    """Softmax over the last axis of the float array ``s``, in place; rows of only ``-inf`` give zeros."""
    xp = _xp(s)
    m = s.max(axis=-1, keepdims=True)
    m[~xp.isfinite(m)] = 0
    s -= m
    xp.exp(s, out=s)
    d = s.sum(axis=-1, keepdims=True)
    d[d == 0] = 1
    s /= d
    return s


def attention_weights(q, k, bias, blocked, scale: float):
    """The attention weights ``safe_softmax(q k^T * scale + bias, blocked -> -inf)`` as an array."""
    xp = _xp(q)
    s = xp.matmul(q, xp.swapaxes(k, -1, -2))
    s *= s.dtype.type(scale)
    full = s.shape
    if bias is not None or blocked is not None:
        full = xp.broadcast_shapes(s.shape, *[m.shape for m in (bias, blocked) if m is not None])
    if bias is not None:
        if full != s.shape:
            s = s + bias
        else:
            s += bias
    elif full != s.shape:
        s = xp.broadcast_to(s, full).copy()
    if blocked is not None:
        xp.copyto(s, s.dtype.type(-xp.inf), where=blocked)
    return safe_softmax_(s)


def _attention_grads(g, q, k, v, p, drop, scale: float, want: tuple, outs: tuple = (None, None, None)):
    """Gradients (arrays) of ``(p * drop) @ v`` with ``p = softmax(q k^T * scale + bias)``.

    ``want`` says which of (q, k, v, bias) are needed (None for the others); ``outs`` optionally
    gives arrays to write dq, dk, dv into. Shapes are the broadcast ones (callers sum them down).
    """
    xp = _xp(g)
    want_q, want_k, want_v, want_b = want
    gv = None
    if want_v:
        pd = p if drop is None else p * drop
        gv = xp.matmul(xp.swapaxes(pd, -1, -2), g, out=outs[2])
    ds = xp.matmul(g, xp.swapaxes(v, -1, -2))
    if drop is not None:
        ds *= drop
    ds -= (ds * p).sum(axis=-1, keepdims=True)
    ds *= p  # the gradient of the scores (and of an additive mask)
    gb = ds.copy() if want_b else None
    ds *= ds.dtype.type(scale)
    gq = xp.matmul(ds, k, out=outs[0]) if want_q else None
    gk = xp.matmul(xp.swapaxes(ds, -1, -2), q, out=outs[1]) if want_k else None
    return gq, gk, gv, gb


def _attention_grads_graph(g: Tensor, q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, blocked, drop,
                           scale: float):
    """The same gradients written with nabla ops on recomputed weights: differentiable again."""
    p = composed_weights(q, k, bias, blocked, scale)
    drop = None if drop is None else Tensor._wrap(drop)
    pd = p if drop is None else p * drop
    gv = unbroadcast(MatMul.apply(pd.mT, g), v.shape)
    dp = MatMul.apply(g, v.mT)
    if drop is not None:
        dp = dp * drop
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    gb = unbroadcast(ds, bias.shape) if bias is not None else None
    ds = ds * scale
    gq = unbroadcast(MatMul.apply(ds, k), q.shape)
    gk = unbroadcast(MatMul.apply(ds.mT, q), k.shape)
    return gq, gk, gv, gb


class ScaledDotProductAttention(Function):
    """``(safe_softmax(q k^T * scale + bias, blocked -> -inf) * drop) @ v``: one node.

    ``forward(q, k, v, [bias], blocked, drop, scale)``: ``q`` (..., L, E), ``k`` (..., S, E), ``v``
    (..., S, Ev); the optional input ``bias`` is an additive float mask (it gets a gradient);
    ``blocked`` is a bool array, True where a query may **not** attend (or None); ``drop`` is the
    dropout mask already scaled by ``1 / (1 - p)`` (or None). Leading dimensions broadcast.
    """

    save_inputs = True

    def forward(self, q, k, v, *bias, blocked, drop, scale):
        xp = _xp(q)
        if isinstance(drop, DropoutDraw):
            drop = drop(q.dtype)
        p = attention_weights(q, k, bias[0] if bias else None, blocked, scale)
        self.p, self.blocked, self.drop, self.scale = p, blocked, drop, scale
        return xp.matmul(p if drop is None else p * drop, v)

    def backward(self, g):
        parents = self.parents
        has_bias = len(parents) > 3
        if is_grad_enabled():
            bias = self.inputs[3] if has_bias else None
            grads = _attention_grads_graph(g, *self.inputs[:3], bias, self.blocked, self.drop, self.scale)
            return grads if has_bias else grads[:3]
        q, k, v = self.inputs[0]._data, self.inputs[1]._data, self.inputs[2]._data
        want = tuple(p is not None for p in parents) + (() if has_bias else (False,))
        grads = _attention_grads(g._data, q, k, v, self.p, self.drop, self.scale, want)
        shapes = (q.shape, k.shape, v.shape, self.inputs[3].shape if has_bias else None)
        out = tuple(None if a is None else Tensor._wrap(_sum_to(a, shape)) for a, shape in zip(grads, shapes))
        return out if has_bias else out[:3]


class PackedSelfAttention(Function):
    """Multi-head self-attention on packed projections: ``qkv`` (N, L, 3E) -> (N, L, E), one node.

    ``qkv[..., :E]``, ``[E:2E]``, ``[2E:]`` are the queries, keys and values, each E = H * D wide for
    ``heads`` H of size D. Splitting them into heads is a free view, the heads' outputs are
    written straight into the merged (N, L, H, D) layout, and backward writes dq, dk and dv into one
    (N, L, 3E) gradient: composed from slices and transposes, the same step costs ten more nodes,
    three zero-filled (N, L, 3E) buffers and their sum in backward (see benchmarks/bench_transformer.py).
    ``bias`` / ``blocked`` / ``drop`` as in :class:`ScaledDotProductAttention`, broadcast to (N, H, L, L).
    """

    save_inputs = True

    @staticmethod
    def _split(qkv, heads: int):
        n, length, e3 = qkv.shape
        x = qkv.reshape(n, length, 3, heads, e3 // (3 * heads))
        return [x[:, :, i].swapaxes(1, 2) for i in range(3)]  # (N, H, L, D) views

    def forward(self, qkv, *bias, heads, blocked, drop, scale):
        xp = _xp(qkv)
        if isinstance(drop, DropoutDraw):
            drop = drop(qkv.dtype)
        q, k, v = self._split(qkv, heads)
        n, h, length, d = q.shape
        p = attention_weights(q, k, bias[0] if bias else None, blocked, scale)
        self.p, self.heads, self.blocked, self.drop, self.scale = p, heads, blocked, drop, scale
        out = xp.empty((n, length, h, d), dtype=qkv.dtype)
        xp.matmul(p if drop is None else p * drop, v, out=out.swapaxes(1, 2))
        return out.reshape(n, length, h * d)

    def backward(self, g):
        parents = self.parents
        has_bias = len(parents) > 1
        qkv = self.inputs[0]
        n, length, e3 = qkv.shape
        h = self.heads
        d = e3 // (3 * h)
        if is_grad_enabled():
            x = qkv.reshape(n, length, 3, h, d)
            q, k, v = [x[:, :, i].transpose(1, 2) for i in range(3)]
            bias = self.inputs[1] if has_bias else None
            gh = g.reshape(n, length, h, d).transpose(1, 2)
            gq, gk, gv, gb = _attention_grads_graph(gh, q, k, v, bias, self.blocked, self.drop, self.scale)
            from .shape import stack

            gx = stack([t.transpose(1, 2) for t in (gq, gk, gv)], 2).reshape(n, length, e3)
            return (gx, gb) if has_bias else gx
        xp = _xp(qkv._data)
        q, k, v = self._split(qkv._data, h)
        gx = xp.empty((n, length, 3, h, d), dtype=qkv.dtype)
        outs = tuple(gx[:, :, i].swapaxes(1, 2) for i in range(3))
        gh = g._data.reshape(n, length, h, d).swapaxes(1, 2)
        want_b = has_bias and parents[1] is not None
        _, _, _, gb = _attention_grads(gh, q, k, v, self.p, self.drop, self.scale, (True, True, True, want_b), outs)
        gx = Tensor._wrap(gx.reshape(n, length, e3)) if parents[0] is not None else None
        if not has_bias:
            return gx
        return gx, (Tensor._wrap(_sum_to(gb, self.inputs[1].shape)) if want_b else None)


def composed_weights(q: Tensor, k: Tensor, bias: Tensor | None, blocked, scale: float) -> Tensor:
    """The attention weights built from nabla primitives (differentiable to any order).

    Fully masked rows are handled without NaN: their scores are replaced by zeros before the
    softmax and their weights multiplied by zero afterwards.
    """
    xp = q._xp
    s = MatMul.apply(q, k.mT) * scale
    if bias is not None:
        s = s + bias
    if blocked is not None:
        s = where(Tensor._wrap(blocked), float("-inf"), s)
    dead = ~xp.isfinite(s._data.max(axis=-1, keepdims=True))
    if dead.any():
        s = where(Tensor._wrap(xp.broadcast_to(dead, s.shape)), 0.0, s)
        return softmax(s, -1) * Tensor._wrap((~dead).astype(s.dtype))
    return softmax(s, -1)


def composed_attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, blocked, drop, scale: float) -> Tensor:
    """Attention from nabla primitives: the reference the fused op is measured and tested against."""
    p = composed_weights(q, k, bias, blocked, scale)
    if drop is not None:
        p = p * Tensor._wrap(drop)
    return MatMul.apply(p, v)


def composed_scores(q: Tensor, k: Tensor, bias: Tensor | None, blocked, scale: float) -> Tensor:
    """``(q * scale) @ k^T + bias`` with blocked scores at ``-inf``, from primitives (PyTorch's
    ``need_weights`` path: its softmax gives NaN for a query whose keys are all blocked)."""
    s = MatMul.apply(q * scale, k.mT)
    if bias is not None:
        s = s + bias
    if blocked is not None:
        s = where(Tensor._wrap(blocked), float("-inf"), s)
    return s


def dropout_mask(shape: tuple, p: float, like: Tensor):
    """A dropout mask array for ``like``'s dtype and device: 0 with probability ``p``, else ``1 / (1 - p)``.

    Drawn from nabla's generator exactly as ``nabla.functional.dropout`` draws its mask.
    """
    return DropoutDraw(shape, p, like.device)(like._data.dtype)


class DropoutDraw:
    """A dropout mask to be drawn by the attention op itself (its ``drop`` argument): drawing inside
    ``forward`` rather than before the op lets a replayed program (``nabla.compile``) draw a fresh mask
    on every call. Calling it with the dtype draws the mask as :func:`dropout_mask` describes."""

    def __init__(self, shape: tuple, p: float, device: Any) -> None:
        self.shape, self.p, self.device = shape, p, device

    def __call__(self, dtype: Any) -> Any:
        gen = backend.default_generator.for_device(self.device)
        dt = dtype if dtype.itemsize >= 4 else backend.float32
        if self.device.type == "cpu":
            u = gen.random(self.shape, dtype=dt)
        else:  # pragma: no cover - GPU only
            u = gen.random_sample(self.shape, dtype=dt)
        mask = (u >= self.p).astype(dtype)
        mask *= dtype.type(1.0 / (1.0 - self.p))
        return mask


def attention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, blocked, dropout_p: float,
              scale: float) -> Tensor:
    """The fused op with its dropout mask drawn (``dropout_p`` > 0); inputs already validated."""
    drop = None
    if dropout_p > 0.0:
        xp = q._xp
        shape = xp.broadcast_shapes(q.shape[:-1] + (k.shape[-2],), k.shape[:-2] + (1, 1), v.shape[:-2] + (1, 1),
                                    *[m.shape for m in (bias, blocked) if m is not None])
        drop = DropoutDraw(shape, dropout_p, q.device)
    inputs = (q, k, v) if bias is None else (q, k, v, bias)
    return ScaledDotProductAttention.apply(*inputs, blocked=blocked, drop=drop, scale=scale)


def packed_self_attention(qkv: Tensor, heads: int, bias: Tensor | None, blocked, dropout_p: float,
                          scale: float) -> Tensor:
    """:class:`PackedSelfAttention` with its dropout mask drawn; ``qkv`` (N, L, 3E) already validated."""
    n, length, e3 = qkv.shape
    drop = DropoutDraw((n, heads, length, length), dropout_p, qkv.device) if dropout_p > 0.0 else None
    inputs = (qkv,) if bias is None else (qkv, bias)
    return PackedSelfAttention.apply(*inputs, heads=heads, blocked=blocked, drop=drop, scale=scale)
