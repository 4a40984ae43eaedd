"""Stateless differentiable functions (the "tf.nn level"): ``import nabla.nn.functional as F``.

Every function takes Tensors (and plain settings) and returns a Tensor; state such as a layer's
weights or BatchNorm's running statistics is passed in by the caller (the layers in ``nabla.nn``).
Names, arguments and results follow ``torch.nn.functional``.

Most functions are compositions of primitives from ``nabla.ops``. Linear, batch norm (training
mode), layer norm and the embedding lookup are fused ops in ``nabla/ops/`` (``linalg.py``, ``norm.py``,
``embedding.py``): measured faster than
their compositions (``benchmarks/bench_layers.py``; see that file's docstring for the numbers).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from . import backend
from .autograd import no_grad
from .nn.losses_functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    sequence_cross_entropy,
)
from .ops import (
    attention as _attention,
    cross_entropy,
    elu as _elu,
    gelu as _gelu,
    leaky_relu as _leaky_relu,
    log_softmax as _log_softmax,
    matmul,
    relu as _relu,
    sigmoid as _sigmoid,
    softmax as _softmax,
    softplus as _softplus,
    tanh as _tanh,
)
from .ops.activation import Step
from .ops.common import Mask
from .ops.conv import conv1d, conv2d, conv_transpose2d  # convolution and pooling: see ops/conv.py, ops/pool.py
from .ops.embedding import Embedding
from .ops.linalg import Linear
from .ops.norm import BatchNormTrain, LayerNorm, channel_shape
from .ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .ops.shape import pad
from .ops.upsample import interpolate, upsample
from .tensor import Tensor, updating

__all__ = [
    "linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "step", "dropout", "batch_norm", "layer_norm", "embedding", "cross_entropy",
    "mse_loss", "l1_loss", "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "nll_loss", "kl_div", "sequence_cross_entropy",
]
__all__ += [
    "conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
    "upsample", "pad",
]
__all__ += ["scaled_dot_product_attention"]


def _check_tensor(x: Any, name: str, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _check_float(x: Any, name: str, op: str) -> Tensor:
    _check_tensor(x, name, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating tensor, got {x.dtype}; convert it with .float()")
    return x


# ------------------------------------------------------------------------------------------ linear


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` for ``input`` of shape (*, in_features) and ``weight`` (out, in)."""
    _check_tensor(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
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


# ------------------------------------------------------------------------------------- activations


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; the gradient at 0 is 0.

    (``inplace`` is accepted for compatibility; nabla returns a new tensor.)
    """
    return _relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return _leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return _elu(input, alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (exact, with erf), or the tanh approximation with ``approximate="tanh"``."""
    return _gelu(input, approximate)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return _sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return _softplus(input, beta, threshold)


def _softmax_dim(ndim: int, dim: int | None, op: str) -> int:
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {op} has been deprecated (as in PyTorch). Pass dim= explicitly.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (stable: the maximum is subtracted first)."""
    _check_tensor(input, "input", "softmax")
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(input, _softmax_dim(input.ndim, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: log-probabilities without overflow."""
    _check_tensor(input, "input", "log_softmax")
    if dtype is not None:
        input = input.to(dtype)
    return _log_softmax(input, _softmax_dim(input.ndim, dim, "log_softmax"))


def step(input: Tensor, value_at_zero: float = 1.0) -> Tensor:
    """Heaviside step: 1 where ``x > 0``, 0 where ``x < 0``, ``value_at_zero`` where ``x == 0``.

    Same values as ``torch.heaviside(x, value_at_zero)``. The gradient is **zero** everywhere (the
    derivative almost everywhere); PyTorch refuses to differentiate heaviside, nabla passes zeros so a
    step can sit inside a model (a perceptron) without breaking backward. It teaches nothing to the
    layers below it: that is why gradient training uses sigmoid-like activations instead.
    """
    _check_float(input, "input", "step")
    return Step.apply(input, value=float(value_at_zero))


# ----------------------------------------------------------------------------------------- dropout


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the kept ones by ``1/(1-p)``.

    The expected value is unchanged, so evaluation (``training=False``) is the identity. The mask is
    drawn from nabla's generator (``nabla.manual_seed`` makes it reproducible); backward multiplies
    by the same mask. (``inplace`` is accepted for compatibility; a new tensor is returned.)
    """
    _check_tensor(input, "input", "dropout")
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0.0:
        return input
    _check_float(input, "input", "dropout")
    data = input._data
    if p == 1.0:
        mask = _xp_of(data).zeros(data.shape, dtype=data.dtype)
    else:
        gen = backend.default_generator.for_device(input.device)
        if input.device.type == "cpu":
            u = gen.random(data.shape, dtype=data.dtype if data.dtype.itemsize >= 4 else backend.float32)
        else:  # pragma: no cover - GPU only
            u = gen.random_sample(data.shape, dtype=data.dtype if data.dtype.itemsize >= 4 else backend.float32)
        mask = (u >= p).astype(data.dtype)
        mask *= data.dtype.type(1.0 / (1.0 - p))
    return Mask.apply(input, mask=mask)


def _xp_of(a: Any):
    return backend.array_module(a)


# ---------------------------------------------------------------------------------- normalisation


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dimension 1) of ``input`` (N, C, *) and apply ``weight``/``bias``.

    Training: batch statistics (mean and biased variance over every dimension but 1) normalise the
    input, and when given, the running statistics are updated in place, as in PyTorch:
    ``running = (1 - momentum) * running + momentum * batch`` with the **unbiased** batch variance
    for ``running_var``. Evaluation: the running statistics normalise (they are required).
    """
    op = "batch_norm"
    _check_float(input, "input", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input (N, C, *) with at least 2 dimensions, got {input.shape}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"{op}: {name} must have shape ({c},) for input {input.shape} with {c} channels, got {t.shape}"
            )
    xp = input._xp
    dt = input.dtype
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input size {input.shape}"
            )
        x = input._data
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes)
        xc = x - mean.reshape(channel_shape(x.ndim, c))
        var = (xc * xc).mean(axis=axes)
        del xc
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    _blend(running_mean, mean, momentum)
                if running_var is not None:
                    _blend(running_var, var * (count / (count - 1)), momentum)
        w = weight if weight is not None else Tensor._wrap(xp.ones(c, dtype=dt))
        b = bias if bias is not None else Tensor._wrap(xp.zeros(c, dtype=dt))
        return BatchNormTrain.apply(input, w, b, mean=mean, var=var, eps=eps)
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    shape = channel_shape(input.ndim, c)
    inv_std = Tensor._wrap((1.0 / xp.sqrt(running_var._data + eps)).astype(dt, copy=False))
    scale = inv_std if weight is None else weight * inv_std
    shift = -running_mean.detach() * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def _blend(running: Tensor, batch: Any, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, in place (version bumped)."""
    with updating(running) as r:
        r *= 1.0 - momentum
        r += (momentum * batch).astype(r.dtype, copy=False)


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample (biased variance),
    then apply ``weight``/``bias`` of that shape."""
    op = "layer_norm"
    _check_float(input, "input", op)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        want = "(*, " + ", ".join(str(s) for s in shape) + ")"
        raise ValueError(f"{op}: expected input {want}, got {input.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{op}: {name} must have shape {shape}, got {t.shape}")
    xp = input._xp
    w = weight if weight is not None else Tensor._wrap(xp.ones(shape, dtype=input.dtype))
    b = bias if bias is not None else Tensor._wrap(xp.zeros(shape, dtype=input.dtype))
    return LayerNorm.apply(input, w, b, k=k, eps=eps)


# --------------------------------------------------------------------------------------- embedding


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
    _check_tensor(input, "input", op)
    _check_tensor(weight, "weight", op)
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
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        raise IndexError(
            f"{op}: indices must lie in [0, {num}) for a table of {num} rows, "
            f"got values {int(idx.min())}..{int(idx.max())}"
        )
    return Embedding.apply(weight, idx=idx, padding_idx=padding_idx)


# --------------------------------------------------------------------------------------- attention


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
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_float(t, name, op)
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
        _check_tensor(attn_mask, "attn_mask", op)
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


del math
