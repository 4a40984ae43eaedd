"""Dropout: inverted dropout with nabla's random generator."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..ops.common import Mask
from ..tensor import Tensor
from .common import check_float, check_tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the kept ones by ``1/(1-p)``.

    The expected value is unchanged, so evaluation (``training=False``) is the identity. The mask is
    drawn from nabla's generator (``nabla.manual_seed`` makes it reproducible); backward multiplies
    by the same mask. (``inplace`` is accepted for compatibility; a new tensor is returned.)
    """
    check_tensor(input, "input", "dropout")
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0.0:
        return input
    check_float(input, "input", "dropout")
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
