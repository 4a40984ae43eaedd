"""Normalisation: ``batch_norm`` (batch statistics in training, running ones in evaluation) and
``layer_norm``, both fused ops of ``ops/norm.py``; ``group_norm`` and ``instance_norm``, composed of
primitives (statistics per sample and group of channels, or per sample and channel).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..autograd import no_grad
from ..mixed_precision import FP32, autocast_inputs, state as _amp
from ..ops.norm import BatchNormTrain, LayerNorm, blend_running, channel_shape
from ..tensor import Tensor
from .common import check_float


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
    check_float(input, "input", op)
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
        w = weight if weight is not None else Tensor._wrap(xp.ones(c, dtype=dt))
        b = bias if bias is not None else Tensor._wrap(xp.zeros(c, dtype=dt))
        return BatchNormTrain.apply(input, w, b, eps=eps, running_mean=running_mean, running_var=running_var,
                                    momentum=momentum)
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are required when training=False")
    shape = channel_shape(input.ndim, c)
    inv_std = Tensor._wrap((1.0 / xp.sqrt(running_var._data + eps)).astype(dt, copy=False))
    scale = inv_std if weight is None else weight * inv_std
    shift = -running_mean.detach() * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)




def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample (biased variance),
    then apply ``weight``/``bias`` of that shape."""
    if _amp.enabled:
        input, weight, bias = autocast_inputs(FP32, "layer_norm", input, weight, bias)
    op = "layer_norm"
    check_float(input, "input", op)
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


def _normalize_groups(x: Tensor, groups: int, eps: float) -> Tensor:
    """``(x - mean) / sqrt(var + eps)`` with mean and biased variance per sample and channel group."""
    g = x.reshape(x.shape[0], groups, -1)
    mean = g.mean(-1, keepdim=True)
    centered = g - mean
    var = (centered * centered).mean(-1, keepdim=True)
    return (centered * (var + eps).rsqrt()).reshape(x.shape)


def _affine(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    shape = channel_shape(x.ndim, x.shape[1])
    if weight is not None:
        x = x * weight.reshape(shape)
    if bias is not None:
        x = x + bias.reshape(shape)
    return x


def _check_channel_params(op: str, c: int, shape: tuple, **tensors: Tensor | None) -> None:
    for name, t in tensors.items():
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},) for input {shape} with {c} channels, got {t.shape}")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalisation (Wu & He, 2018): the C channels of each sample split into ``num_groups``
    groups, each normalised by its own mean and biased variance (over its channels and all positions),
    then a per-channel ``weight``/``bias``. Independent of the batch size, unlike batch norm."""
    if _amp.enabled:
        input, weight, bias = autocast_inputs(FP32, "group_norm", input, weight, bias)
    op = "group_norm"
    check_float(input, "input", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input (N, C, *) with at least 2 dimensions, got {input.shape}")
    c = input.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise ValueError(
            f"{op}: Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{input.shape} and num_groups={num_groups!r}"
        )
    _check_channel_params(op, c, input.shape, weight=weight, bias=bias)
    return _affine(_normalize_groups(input, num_groups, eps), weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation (Ulyanov et al., 2016): each channel of each sample normalised over its
    positions (style transfer, GAN generators), then a per-channel ``weight``/``bias``.

    With ``use_input_stats`` (training, or ``track_running_stats=False``) the sample's own statistics
    are used, and given running statistics are updated as PyTorch does: ``running = (1 - momentum) *
    running + momentum * b`` with ``b`` the batch average of the per-instance mean (and of the
    per-instance **unbiased** variance). Otherwise the running statistics normalise.
    """
    op = "instance_norm"
    check_float(input, "input", op)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected input (N, C, *) with spatial dimensions, got {input.shape}")
    n, c = input.shape[0], input.shape[1]
    _check_channel_params(op, c, input.shape, running_mean=running_mean, running_var=running_var, weight=weight,
                          bias=bias)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are required when use_input_stats=False")
        shape = channel_shape(input.ndim, c)
        x = (input - running_mean.detach().reshape(shape)) * (running_var.detach().reshape(shape) + eps).rsqrt()
        return _affine(x, weight, bias)
    count = input.numel() // (n * c) if n * c else 0
    if count <= 1:
        raise ValueError(f"{op}: Expected more than 1 spatial element when training, got input size {input.shape}")
    if running_mean is not None or running_var is not None:
        x = input._data.reshape(n, c, -1)
        with no_grad():
            if running_mean is not None:
                blend_running(running_mean, x.mean(axis=2).mean(axis=0), momentum)
            if running_var is not None:
                blend_running(running_var, x.var(axis=2, ddof=1).mean(axis=0), momentum)
    return _affine(_normalize_groups(input, c, eps), weight, bias)
