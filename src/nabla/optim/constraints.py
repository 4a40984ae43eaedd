"""Keras-style weight constraints: projections applied to a weight after each optimizer step.

A constraint is a callable that changes a Tensor **in place** (on its array, under no graph) and
returns it. Apply one after every step with :func:`apply_constraint`, e.g. from a step hook::

    opt.register_step_post_hook(lambda *_: apply_constraint(model.fc.weight, MaxNorm(3, axis=1)))

Keras' Dense kernel has shape (in, out), so Keras' ``axis=0`` bounds the weights *into* each unit;
nabla's (and PyTorch's) Linear weight has shape (out, in), where the same constraint is ``axis=1``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import backend
from ..tensor import Tensor, array_of, updating

EPSILON = 1e-7  # keras.config.epsilon()


def _norms(x: Any, axis: Any) -> Any:
    xp = backend.array_module(x)
    return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=True))


def _check_axis(axis: Any) -> Any:
    if isinstance(axis, (list, tuple)):
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
            raise TypeError(f"Invalid axis: expected an int or a tuple of ints, got {axis!r}")
        return tuple(axis)
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
        raise TypeError(f"Invalid axis: expected an int or a tuple of ints, got {axis!r}")
    return axis


def _write(w: Tensor, value: Any) -> Tensor:
    if not isinstance(w, Tensor):
        raise TypeError(f"a constraint applies to a Tensor, got {type(w).__name__}")
    with updating(w) as x:
        x[...] = value
    return w


class Constraint:
    """Base class: ``constraint(w)`` projects ``w`` in place and returns it."""

    def __call__(self, w: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Rescale the weights so that the L2 norm along ``axis`` is at most ``max_value``.

    ``w <- w * clip(norm, 0, max_value) / (eps + norm)`` with ``norm = sqrt(sum(w^2, axis))``: slices
    already within the bound are (up to eps) unchanged, longer ones are scaled down to ``max_value``.
    """

    def __init__(self, max_value: float = 2, axis: int | tuple[int, ...] = 0) -> None:
        if isinstance(max_value, bool) or not isinstance(max_value, (int, float)) or max_value < 0:
            raise ValueError(f"Invalid max_value: expected a non-negative number, got {max_value!r}")
        self.max_value = max_value
        self.axis = _check_axis(axis)

    def __call__(self, w: Tensor) -> Tensor:
        x = array_of(w)
        xp = backend.array_module(x)
        norms = _norms(x, self.axis)
        desired = xp.clip(norms, 0, self.max_value)
        return _write(w, x * (desired / (EPSILON + norms)))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    """Scale the weights to unit L2 norm along ``axis``: ``w <- w / (eps + norm)``."""

    def __init__(self, axis: int | tuple[int, ...] = 0) -> None:
        self.axis = _check_axis(axis)

    def __call__(self, w: Tensor) -> Tensor:
        x = array_of(w)
        return _write(w, x / (EPSILON + _norms(x, self.axis)))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class NonNeg(Constraint):
    """Make the weights non-negative: negative entries become 0."""

    def __call__(self, w: Tensor) -> Tensor:
        x = array_of(w)
        return _write(w, x * (x >= 0))


def apply_constraint(parameters: Tensor | Iterable[Tensor], constraint: Constraint) -> None:
    """Apply ``constraint`` in place to each of ``parameters`` (a Tensor or an iterable of them)."""
    if not callable(constraint):
        raise TypeError(f"apply_constraint: expected a constraint (callable), got {type(constraint).__name__}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    for p in parameters:
        constraint(p)
