"""Weight penalties to add to a loss: ``l1_penalty`` (Keras' ``l1`` regularizer).

(L2 is the optimizers' ``weight_decay``; also importable from ``nabla.optim``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from ...tensor import Tensor


def l1_penalty(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """``sum(|p|)`` over all entries of all ``parameters``: a differentiable scalar to add to a loss.

    ``loss = criterion(out, y) + 1e-4 * l1_penalty(model.parameters())`` (Keras' ``l1`` regularizer).
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    total = None
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"l1_penalty: parameters must be Tensors, got a {type(p).__name__}")
        term = p.abs().sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("l1_penalty: got no parameters")
    return total
