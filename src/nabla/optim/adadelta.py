"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of, from_array
from .optimizer import Optimizer, array_module, check_number


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`:

    .. code-block:: text

        g_t <- -g_t                                           if maximize
        g_t <- g_t + weight_decay * theta_{t-1}               if weight_decay != 0
        v_t <- rho * v_{t-1} + (1 - rho) * g_t^2              v_0 = 0 (square_avg)
        dx_t <- sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t   the unit-corrected step
        u_t <- rho * u_{t-1} + (1 - rho) * dx_t^2             u_0 = 0 (acc_delta)
        theta_t <- theta_{t-1} - lr * dx_t

    The ratio of the two RMS values gives the update the units of the parameter, so ``lr = 1``
    (the default, as in the paper and PyTorch) needs no tuning in many cases.

    State: ``step`` (t), ``square_avg`` (v), ``acc_delta`` (u).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: scale applied to the step (default 1.0).
        rho: decay rate of both running averages (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty coefficient (default 0).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number("lr", group["lr"], label="learning rate")
        check_number("rho", group["rho"], high=1.0, high_open=False)
        check_number("eps", group["eps"], label="epsilon value")
        check_number("weight_decay", group["weight_decay"])

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        for x, g, state in self._updates(group):
            xp = array_module(x)
            if not state:
                state["step"] = 0
                state["square_avg"] = from_array(xp.zeros_like(x))
                state["acc_delta"] = from_array(xp.zeros_like(x))
            state["step"] += 1
            v, u = array_of(state["square_avg"]), array_of(state["acc_delta"])
            v *= rho
            v += (1 - rho) * (g * g)
            delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
            u *= rho
            u += (1 - rho) * (delta * delta)
            x -= lr * delta
