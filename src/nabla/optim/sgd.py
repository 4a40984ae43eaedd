"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of, from_array
from .optimizer import Optimizer, array_module, check_number


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`:

    .. code-block:: text

        g_t <- -g_t                                      if maximize
        g_t <- g_t + weight_decay * theta_{t-1}          if weight_decay != 0
        if momentum != 0:
            b_t <- g_t                                   at the first step
            b_t <- momentum * b_{t-1} + (1 - dampening) * g_t   afterwards
            g_t <- g_t + momentum * b_t                  if nesterov
            g_t <- b_t                                   otherwise
        theta_t <- theta_{t-1} - lr * g_t

    State: ``momentum_buffer`` (:math:`b_t`, only when momentum != 0).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        momentum: momentum factor (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty coefficient (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number("lr", group["lr"], label="learning rate")
        check_number("momentum", group["momentum"])
        check_number("dampening", group["dampening"])
        check_number("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"Invalid nesterov=True: Nesterov momentum requires a momentum > 0 and zero dampening "
                             f"(got momentum={group['momentum']}, dampening={group['dampening']})")

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov = group["nesterov"]
        for x, g, state in self._updates(group):
            xp = array_module(x)
            if momentum != 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    state["momentum_buffer"] = from_array(xp.array(g, copy=True))
                    b = array_of(state["momentum_buffer"])
                else:
                    b = array_of(buf)
                    b *= momentum
                    if dampening == 0:
                        b += g
                    else:
                        b += (1 - dampening) * g
                g = g + momentum * b if nesterov else b
            x -= lr * g
