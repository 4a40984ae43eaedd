"""Dropout (inverted): drops in training, identity in evaluation; Dropout1d/2d/3d drop whole channels."""

from __future__ import annotations

from ... import functional as F
from ...tensor import Tensor
from ..module import Module


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the rest by ``1/(1-p)``.

    In evaluation (``model.eval()``) it is the identity. Masks come from nabla's generator.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p!r}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _FeatureDropout(Dropout):
    _fn = "dropout2d"

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"expected a Tensor input, got {type(input).__name__}")
        return getattr(F, self._fn)(input, self.p, self.training)


class Dropout1d(_FeatureDropout):
    """Zero whole channels of (N, C, L) inputs with probability ``p`` in training (``F.dropout1d``)."""

    _fn = "dropout1d"


class Dropout2d(_FeatureDropout):
    """Zero whole feature maps of (N, C, H, W) inputs with probability ``p`` in training (``F.dropout2d``):
    for convolutional features, where neighbouring pixels are correlated."""

    _fn = "dropout2d"


class Dropout3d(_FeatureDropout):
    """Zero whole channels of (N, C, D, H, W) inputs with probability ``p`` in training (``F.dropout3d``)."""

    _fn = "dropout3d"
