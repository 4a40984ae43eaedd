"""Weight initialisation, in place, with PyTorch's names and formulas (``torch.nn.init``).

Every function fills its tensor in place without recording a graph and returns it. Random draws
come from nabla's generator (``nabla.manual_seed`` makes them reproducible), or from ``generator``
when one is given.

Fans, as PyTorch computes them for a weight of shape (out, in, *kernel):
``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.

* ``xavier_*``  (Glorot & Bengio, 2010): ``std = gain * sqrt(2 / (fan_in + fan_out))``
* ``kaiming_*`` (He et al., 2015): ``std = gain / sqrt(fan)``, ``fan`` = fan_in or fan_out (``mode``),
  ``gain = calculate_gain(nonlinearity, a)``
* uniform variants draw from ``U(-bound, bound)`` with ``bound = sqrt(3) * std`` (same variance).
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "zeros_", "ones_", "constant_", "normal_", "uniform_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
]

_LINEAR = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 (linear, conv, sigmoid), 5/3 (tanh), sqrt(2) (relu),
    sqrt(2 / (1 + a^2)) (leaky_relu, ``param`` = negative slope, default 0.01), 3/4 (selu)."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of linear, conv1d/2d/3d, "
        "conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor, op: str = "init") -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(
            f"{op}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
            f"(got shape {tensor.shape}); use normal_/uniform_ with an explicit scale for biases"
        )
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str, op: str) -> int:
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode {mode!r} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor, op)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor: Any, op: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _write(tensor: Tensor, arr: Any) -> Tensor:
    """Copy ``arr`` into ``tensor``'s storage: an in-place change outside the graph (as under no_grad)."""
    tensor._data[...] = arr
    tensor._version[0] += 1
    return tensor


def _gen(tensor: Tensor, generator: backend.Generator | None):
    return (generator or backend.default_generator).for_device(tensor.device)


def _draw_dtype(tensor: Tensor):
    dt = tensor.dtype
    return dt if dt in (backend.float32, backend.float64) else backend.float64


def _normal(tensor: Tensor, mean: float, std: float, generator: Any) -> Tensor:
    g = _gen(tensor, generator)
    dt = _draw_dtype(tensor)
    if tensor.device.type == "cpu":
        z = g.standard_normal(tensor.shape, dtype=dt)
    else:  # pragma: no cover - GPU only
        z = g.standard_normal(tensor.shape, dtype=dt)
    if std != 1.0:
        z *= std
    if mean != 0.0:
        z += mean
    return _write(tensor, z)


def _uniform(tensor: Tensor, a: float, b: float, generator: Any) -> Tensor:
    g = _gen(tensor, generator)
    dt = _draw_dtype(tensor)
    if tensor.device.type == "cpu":
        u = g.random(tensor.shape, dtype=dt)
    else:  # pragma: no cover - GPU only
        u = g.random_sample(tensor.shape, dtype=dt)
    u *= b - a
    u += a
    return _write(tensor, u)


# ----------------------------------------------------------------------------------------- constants


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return _write(_check(tensor, "zeros_"), 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return _write(_check(tensor, "ones_"), 1)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _write(_check(tensor, "constant_"), val)


# ------------------------------------------------------------------------------------------- random


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _normal(tensor, float(mean), float(std), generator)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from U(a, b)."""
    _check(tensor, "uniform_")
    if a > b:
        raise ValueError(f"uniform_: expects a <= b, got a={a}, b={b}")
    return _uniform(tensor, float(a), float(b), generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"), "xavier_uniform_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return _uniform(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"), "xavier_normal_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None
) -> Tensor:
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``."""
    _check(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        return tensor  # PyTorch warns and leaves an empty tensor alone
    fan = _calculate_correct_fan(tensor, mode, "kaiming_uniform_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Any = None
) -> Tensor:
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``, ``gain = calculate_gain(nonlinearity, a)``."""
    _check(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        return tensor
    fan = _calculate_correct_fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _normal(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix (Saxe et al., 2013), scaled by ``gain``.

    The tensor is viewed as (shape[0], rest); its rows (or columns, whichever are fewer) are
    orthonormal. Made as PyTorch does: QR of a Gaussian matrix, Q's columns sign-corrected by
    ``sign(diag(R))`` so the result is uniformly distributed.
    """
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape {tensor.shape}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    xp = tensor._xp
    g = _gen(tensor, generator)
    flat = g.standard_normal((rows, cols), dtype=backend.float64)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    d = xp.sign(xp.diagonal(r))
    d = xp.where(d == 0, 1.0, d)
    q = q * d
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))
