"""Dropout: inverted dropout (elementwise, or whole channels: dropout1d/2d/3d) with nabla's random generator."""

from __future__ import annotations

from .. import backend
from ..ops.common import DropoutMask
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
    dt = input._data.dtype
    return DropoutMask.apply(input, p=float(p), mask_shape=input.shape,
                             u_dtype=dt if dt.itemsize >= 4 else backend.float32, device=input.device)


def _feature_dropout(input: Tensor, p: float, training: bool, spatial: int, op: str) -> Tensor:
    """Zero whole channels: one keep/drop draw per (sample, channel) over ``spatial`` trailing dims."""
    check_tensor(input, "input", op)
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{op}: expected a {spatial + 2}-D input (N, C, {', '.join('*' * spatial)}) or {spatial + 1}-D without "
            f"the batch dimension, got shape {input.shape}"
        )
    if not training or p == 0.0:
        return input
    check_float(input, "input", op)
    shape = input.shape
    mask_shape = shape[: len(shape) - spatial] + (1,) * spatial
    return DropoutMask.apply(input, p=float(p), mask_shape=mask_shape, u_dtype=None, device=input.device)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, L): each channel of each sample is zeroed whole with probability ``p``
    (kept ones scaled by ``1/(1-p)``), since neighbouring positions are correlated and plain dropout
    would barely regularise them (Tompson et al., 2015)."""
    return _feature_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, H, W): whole feature maps are zeroed with probability ``p``."""
    return _feature_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, D, H, W)."""
    return _feature_dropout(input, p, training, 3, "dropout3d")
