"""Matrix multiplication for 1-D, 2-D and batched (broadcast) operands, as ``torch.matmul``, the fused
linear layer ``x @ w.T + b`` (one graph node), and the triangular parts of matrices (tril, triu) and
outer products."""

from __future__ import annotations

from typing import Any

from ..autograd import Function, is_grad_enabled
from ..mixed_precision import LOWER, autocast_inputs, state as _amp
from ..tensor import Tensor
from .common import Mask, broadcast_error, operands, tensor_arg, unbroadcast, unbroadcast_array


class MatMul(Function):
    """``a @ b`` for operands with at least 2 dimensions; leading (batch) dimensions broadcast."""

    save_inputs = True
    compiled_forward = "{0} @ {1}"

    def forward(self, a, b):
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        pa, pb = self.parents
        # Operands here are >= 2-D and fit by construction, so skip matmul()'s checks.
        ga = unbroadcast(MatMul.apply(g, b.mT), a.shape) if pa is not None else None
        gb = unbroadcast(MatMul.apply(a.mT, g), b.shape) if pb is not None else None
        return ga, gb

    def compiled_backward(self, g, ins, out, needs):
        a, b = ins
        return (unbroadcast_array(g @ b.swapaxes(-1, -2), a.shape) if needs[0] else None,
                unbroadcast_array(a.swapaxes(-1, -2) @ g, b.shape) if needs[1] else None)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are treated as vectors (and squeezed back)."""
    a, b = operands(a, b, "matmul")
    if _amp.enabled:
        a, b = autocast_inputs(LOWER, "matmul", a, b)
    ad, bd = a._data, b._data
    if ad.ndim == 2 and bd.ndim == 2 and ad.shape[1] == bd.shape[0]:  # the common case, checked cheaply
        return MatMul.apply(a, b)
    if ad.ndim == 0 or bd.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}; use * for scalars"
        )
    squeeze_a = ad.ndim == 1
    squeeze_b = bd.ndim == 1
    if squeeze_a:
        a = a.reshape(1, a.shape[0])
    if squeeze_b:
        b = b.reshape(b.shape[0], 1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {_orig(a, squeeze_a)} @ {_orig(b, squeeze_b, True)} do not fit: the inner dimensions "
            f"differ ({a.shape[-1]} vs {b.shape[-2]}). The last dimension of the left operand must equal the "
            "second-to-last of the right one."
        )
    if a.ndim > 2 or b.ndim > 2:
        err = broadcast_error("matmul (batch dimensions)", a.shape[:-2], b.shape[:-2])
        if err is not None:
            raise err
    out = MatMul.apply(a, b)
    if squeeze_a and squeeze_b:
        return out.reshape(())
    if squeeze_a:
        return out.squeeze(-2)
    if squeeze_b:
        return out.squeeze(-1)
    return out


def _orig(t: Tensor, squeezed: bool, right: bool = False) -> tuple:
    if not squeezed:
        return t.shape
    return (t.shape[0],) if right else (t.shape[1],)


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expects 2-D matrices, got {a.shape} and {b.shape}; use matmul for other shapes")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"bmm: expects 3-D batches, got {a.shape} and {b.shape}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot: expects 1-D vectors, got {a.shape} and {b.shape}")
    return matmul(a, b)



def _triangle(x: Any, diagonal: int, lower: bool, op: str) -> Tensor:
    x = tensor_arg(x, op)
    if x.ndim < 2:
        raise ValueError(f"{op}: expects a matrix or a batch of matrices (at least 2 dimensions), got shape {x.shape}")
    if isinstance(diagonal, bool) or not isinstance(diagonal, int):
        raise TypeError(f"{op}: diagonal must be an int, got {type(diagonal).__name__}")
    n, m = x.shape[-2:]
    keep = x._xp.tri(n, m, diagonal if lower else diagonal - 1, dtype=bool)
    # Masking with the fixed 0/1 pattern: its backward applies the same pattern to the gradient.
    return Mask.apply(x, mask=keep if lower else ~keep)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions: entries ``(i, j)`` with ``j - i <= diagonal`` kept,
    the rest zero (``diagonal=-1`` drops the main diagonal too). Batched over leading dimensions."""
    return _triangle(x, diagonal, True, "tril")


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle: entries with ``j - i >= diagonal`` kept, the rest zero."""
    return _triangle(x, diagonal, False, "triu")


def outer(a: Tensor, b: Tensor) -> Tensor:
    """``a[i] * b[j]`` for 1-D ``a`` and ``b``: an (n, m) matrix."""
    a, b = tensor_arg(a, "outer"), tensor_arg(b, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer: expects 1-D vectors, got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b.reshape(1, -1)

class Linear(Function):
    """``x @ w.T (+ b)`` for x (*, in), w (out, in), b (out,): one node instead of three.

    Composed (transpose view, matmul, broadcast add whose backward sums the bias gradient) it costs
    three graph nodes; fused, forward + backward measured 88 -> 51 us for a (4, 2) -> 8 layer and
    151 -> 107 us for (64, 64) -> 128 (benchmarks/bench_layers.py, 2-core CPU, one BLAS thread);
    equal when BLAS dominates ((256, 512) -> 512: 6.6 ms both, over three runs). The checks and
    dtype promotion live in ``nabla.functional.linear``.
    """

    save_inputs = True

    @staticmethod
    def compiled_forward(ins, kw):  # graph mode: x @ w.T (+ b), as forward computes it
        return f"{ins[0]} @ {ins[1]}.T" + (f" + {ins[2]}" if len(ins) > 2 else "")

    def forward(self, x, w, *bias):
        out = x @ w.T
        if bias:
            out += bias[0]
        return out

    def backward(self, g):
        parents = self.parents
        x, w = self.inputs[0], self.inputs[1]
        n_out, n_in = w.shape
        want_x, want_w = parents[0] is not None, parents[1] is not None
        want_b = len(parents) > 2 and parents[2] is not None
        if is_grad_enabled():  # recording a higher derivative: the same formulas with nabla ops
            g2 = g.reshape(-1, n_out)
            gx = g @ w if want_x else None
            gw = g2.T @ x.reshape(-1, n_in) if want_w else None
            gb = g2.sum(0) if want_b else None
        else:
            gd = g._data
            g2 = gd.reshape(-1, n_out)
            gx = Tensor._wrap(gd @ w._data) if want_x else None
            gw = Tensor._wrap(g2.T @ x._data.reshape(-1, n_in)) if want_w else None
            gb = Tensor._wrap(g2.sum(axis=0)) if want_b else None
        return (gx, gw, gb) if len(parents) > 2 else (gx, gw)

    def compiled_backward(self, g, ins, out, needs):
        x, w = ins[0], ins[1]
        n_out, n_in = w.shape
        g2 = g.reshape(-1, n_out)
        gx = g @ w if needs[0] else None
        gw = g2.T @ x.reshape(-1, n_in) if needs[1] else None
        if len(needs) > 2:
            return gx, gw, (g2.sum(axis=0) if needs[2] else None)
        return gx, gw
