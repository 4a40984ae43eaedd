"""Keras' cross-entropy losses, with Keras' ``from_logits`` convention.

In Keras, ``"categorical_crossentropy"``, ``"sparse_categorical_crossentropy"`` and
``"binary_crossentropy"`` take **probabilities** by default (the model ends in softmax / sigmoid)
and logits with ``from_logits=True``. PyTorch's (and nabla's) ``cross_entropy`` takes logits. These
classes give the Keras behaviour under the Keras names, so a Keras habit does not silently train on
the wrong quantity:

* ``from_logits=False``: the predictions are clipped to ``[eps, 1 - eps]`` (``eps = 1e-7``, Keras'
  ``epsilon()``) before the log, and categorical predictions are first rescaled to sum to 1 along the
  class axis, as Keras does; the loss is ``-sum_c y_c log p_c`` (categorical),
  ``-log p_y`` (sparse) or ``-[y log p + (1 - y) log(1 - p)]`` (binary), averaged over the samples.
* ``from_logits=True``: the same numbers as ``nabla.nn.functional.cross_entropy`` (probability or
  class-index targets) and ``binary_cross_entropy_with_logits``, which are stable for any logits.

The class axis is the last one, as in Keras (for (N, C) outputs that is also PyTorch's dimension 1).
Called as nabla's losses are: ``loss(output, target)``.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "EPSILON"]

EPSILON = 1e-7  # keras.backend.epsilon()


def _check(output: Any, target: Any, name: str) -> None:
    if not isinstance(output, Tensor) or not isinstance(target, Tensor):
        raise TypeError(f"{name}: output and target must be Tensors, got {type(output).__name__} and "
                        f"{type(target).__name__}")
    if output.dtype.kind != "f":
        raise TypeError(f"{name}: output must be floating point (probabilities or logits), got {output.dtype}")


class _KerasCrossentropy(Module):
    def __init__(self, from_logits: bool = False) -> None:
        super().__init__()
        if not isinstance(from_logits, bool):
            raise TypeError(f"{type(self).__name__}: from_logits must be True or False, got {from_logits!r}")
        self.from_logits = from_logits

    def extra_repr(self) -> str:
        return f"from_logits={self.from_logits}"


class CategoricalCrossentropy(_KerasCrossentropy):
    """``-sum_c y_c log p_c`` for one-hot / probability targets ``y`` of the output's shape (N, ..., C)."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        name = "categorical_crossentropy"
        _check(output, target, name)
        if target.shape != output.shape or target.dtype.kind != "f":
            raise ValueError(
                f"{name}: the target must be one-hot rows or class probabilities of the output's shape "
                f"{output.shape}, got {target.dtype} of shape {target.shape}; for integer class labels use "
                "'sparse_categorical_crossentropy'"
            )
        c = output.shape[-1]
        target = target.to(output.dtype)
        if self.from_logits:
            return F.cross_entropy(output.reshape(-1, c), target.reshape(-1, c))
        p = output / output.sum(-1, keepdim=True)
        return -(target * p.clamp(EPSILON, 1 - EPSILON).log()).sum(-1).mean()


class SparseCategoricalCrossentropy(_KerasCrossentropy):
    """``-log p_y`` for integer class targets ``y`` of shape (N, ...) and outputs (N, ..., C)."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        name = "sparse_categorical_crossentropy"
        _check(output, target, name)
        if target.dtype.kind not in "iu" or tuple(target.shape) != tuple(output.shape[:-1]):
            raise ValueError(
                f"{name}: the target must be integer class labels of shape {tuple(output.shape[:-1])} for an "
                f"output of shape {tuple(output.shape)}, got {target.dtype} of shape {tuple(target.shape)}; "
                "for one-hot targets use 'categorical_crossentropy'"
            )
        c = output.shape[-1]
        flat, t = output.reshape(-1, c), target.reshape(-1)
        if self.from_logits:
            return F.cross_entropy(flat, t)
        p = flat / flat.sum(-1, keepdim=True)
        return F.nll_loss(p.clamp(EPSILON, 1 - EPSILON).log(), t)


class BinaryCrossentropy(_KerasCrossentropy):
    """``-[y log p + (1 - y) log(1 - p)]`` for targets ``y`` in [0, 1] of the output's shape."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        name = "binary_crossentropy"
        _check(output, target, name)
        if target.shape != output.shape:
            raise ValueError(f"{name}: the target must have the output's shape {output.shape}, got {target.shape}")
        target = target.to(output.dtype)
        if self.from_logits:
            return F.binary_cross_entropy_with_logits(output, target)
        return F.binary_cross_entropy(output.clamp(EPSILON, 1 - EPSILON), target)
