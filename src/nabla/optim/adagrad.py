"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of, from_array
from .optimizer import Optimizer, array_module, check_number


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`:

    .. code-block:: text

        g_t <- -g_t                                       if maximize
        g_t <- g_t + weight_decay * theta_{t-1}           if weight_decay != 0
        clr <- lr / (1 + (t - 1) * lr_decay)
        s_t <- s_{t-1} + g_t^2                            s_0 = initial_accumulator_value
        theta_t <- theta_{t-1} - clr * g_t / (sqrt(s_t) + eps)

    State: ``step`` (t), ``sum`` (s).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        lr_decay: learning-rate decay per step (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator for numerical stability (default 1e-10).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number("lr", group["lr"], label="learning rate")
        check_number("lr_decay", group["lr_decay"])
        check_number("weight_decay", group["weight_decay"])
        check_number("initial_accumulator_value", group["initial_accumulator_value"])
        check_number("eps", group["eps"], label="epsilon value")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        init = group["initial_accumulator_value"]
        for x, g, state in self._updates(group):
            xp = array_module(x)
            if not state:
                state["step"] = 0
                state["sum"] = from_array(xp.full_like(x, init))
            step = state["step"] = state["step"] + 1
            clr = lr / (1 + (step - 1) * lr_decay)
            s = array_of(state["sum"])
            s += g * g
            denom = xp.sqrt(s)
            denom += eps
            upd = g / denom
            upd *= clr
            x -= upd
