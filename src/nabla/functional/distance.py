"""Normalising and comparing vectors: ``normalize``, ``cosine_similarity``, ``pairwise_distance``
(compositions of nabla's primitives; ``torch.nn.functional``'s names and arguments)."""

from __future__ import annotations

from ..ops.reduce import norm
from ..tensor import Tensor
from .common import check_float


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``: unit vectors (zero vectors stay zero)."""
    check_float(input, "input", "normalize")
    return input / norm(input, p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (shapes broadcast):
    ``sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))``, in [-1, 1]."""
    check_float(x1, "x1", "cosine_similarity")
    check_float(x2, "x2", "cosine_similarity")
    n1 = norm(x1, 2, dim, keepdim=True).clamp(min=eps)
    n2 = norm(x2, 2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (``eps`` keeps the gradient finite at equal rows)."""
    check_float(x1, "x1", "pairwise_distance")
    check_float(x2, "x2", "pairwise_distance")
    return norm(x1 - x2 + eps, p, -1, keepdim=keepdim)
