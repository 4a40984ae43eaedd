"""Linear maps: ``linear`` (``x @ w.T + b``) and the embedding lookup (a one-hot matrix product, done as
a row gather). Both call fused ops (``ops/linalg.py``, ``ops/embedding.py``) after checking arguments.
"""

from __future__ import annotations

from ..mixed_precision import LOWER, autocast_inputs, state as _amp
from ..ops import matmul
from ..ops.embedding import Embedding
from ..ops.linalg import Linear
from ..tensor import Tensor
from .common import check_tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` for ``input`` of shape (*, in_features) and ``weight`` (out, in)."""
    if _amp.enabled:
        input, weight, bias = autocast_inputs(LOWER, "linear", input, weight, bias)
    check_tensor(input, "input", "linear")
    check_tensor(weight, "weight", "linear")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: expected input (*, {weight.shape[1]}) for a weight of shape {weight.shape}, got {input.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        out = matmul(input, weight.T)  # mixed dtypes: the composed ops promote as PyTorch's ops would
        return out if bias is None else out + bias
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer tensor ``input``: shape (*input, dim).

    The row ``padding_idx`` receives no gradient. Repeated indices accumulate their gradients.
    """
    op = "embedding"
    check_tensor(input, "input", op)
    check_tensor(weight, "weight", op)
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{op}: max_norm, scale_grad_by_freq and sparse are not supported in nabla")
    if input.dtype.kind not in "iu":
        raise TypeError(f"{op}: input must hold integer indices (int64), got {input.dtype}; use .long()")
    if weight.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"{op}: padding_idx must be within [-{num}, {num}), got {padding_idx}")
        padding_idx = int(padding_idx) % num
    idx = input._data
    if idx.size and bool(((idx < 0) | (idx >= num)).any()):  # one host sync on a GPU (PyTorch asserts there)
        raise IndexError(
            f"{op}: indices must lie in [0, {num}) for a table of {num} rows, "
            f"got values {int(idx.min())}..{int(idx.max())}"
        )
    return Embedding.apply(weight, idx=idx, padding_idx=padding_idx)
