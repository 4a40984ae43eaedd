"""Gradient clipping, at PyTorch's home: ``nn.utils.clip_grad_norm_``, ``nn.utils.clip_grad_value_``.

Both change ``p.grad`` in place on its array (bumping its version), as ``torch.nn.utils`` does; call
them between ``loss.backward()`` and ``optimizer.step()``. (Also importable from ``nabla.optim``.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ... import backend
from ...tensor import Tensor, array_of, from_array, updating


def _grads(parameters: Tensor | Iterable[Tensor], where: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameters must be Tensors, got a {type(p).__name__}")
        if p.grad is not None:
            out.append(p.grad)
    return out


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients seen as one vector (``inf``: the
    largest absolute entry). Every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``.
    Returns the total norm (before clipping) as a 0-d Tensor. With ``error_if_nonfinite``, a NaN or
    infinite total norm raises ``RuntimeError`` instead of scaling the gradients by it.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)):
        raise TypeError(f"Invalid max_norm: expected a number, got {type(max_norm).__name__}")
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"Invalid norm_type: expected a number or inf, got {norm_type!r}") from None
    if norm_type <= 0 and not math.isinf(norm_type):
        raise ValueError(f"Invalid norm_type: expected a positive number or inf, got {norm_type}")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return from_array(backend.xp_for(backend.CPU).zeros((), backend.get_default_dtype()))
    arrays = [array_of(g) for g in grads]
    xp = backend.array_module(arrays[0])
    if norm_type == math.inf:
        total = xp.max(xp.stack([xp.max(xp.abs(a)) if a.size else xp.zeros((), a.dtype) for a in arrays]))
    elif norm_type == -math.inf:
        total = xp.min(xp.stack([xp.min(xp.abs(a)) if a.size else xp.zeros((), a.dtype) for a in arrays]))
    elif norm_type == 2.0:
        total = xp.sqrt(xp.sum(xp.stack([xp.vdot(a, a) for a in arrays])))
    elif norm_type == 1.0:
        total = xp.sum(xp.stack([xp.sum(xp.abs(a)) for a in arrays]))
    else:
        total = xp.sum(xp.stack([xp.sum(xp.abs(a) ** norm_type) for a in arrays])) ** (1.0 / norm_type)
    total = xp.asarray(total, dtype=arrays[0].dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({float(total)}), "
            "so it cannot be clipped. To scale the gradients by the non-finite norm anyway, pass "
            "error_if_nonfinite=False"
        )
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        with updating(g) as a:
            a *= coef.astype(a.dtype)
    return from_array(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` in place."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float)):
        raise TypeError(f"Invalid clip_value: expected a number, got {type(clip_value).__name__}")
    clip_value = float(clip_value)
    for g in _grads(parameters, "clip_grad_value_"):
        with updating(g) as a:
            backend.array_module(a).clip(a, -clip_value, clip_value, out=a)
