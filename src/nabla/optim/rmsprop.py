"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of, from_array
from .optimizer import Optimizer, array_module, check_number


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, lecture 6e of "Neural Networks for Machine Learning", 2012).

    For each parameter :math:`\theta` with gradient :math:`g_t`:

    .. code-block:: text

        g_t <- -g_t                                       if maximize
        g_t <- g_t + weight_decay * theta_{t-1}           if weight_decay != 0
        v_t <- alpha * v_{t-1} + (1 - alpha) * g_t^2      v_0 = 0
        if centered:
            a_t <- alpha * a_{t-1} + (1 - alpha) * g_t    a_0 = 0
            d_t <- sqrt(v_t - a_t^2) + eps
        else:
            d_t <- sqrt(v_t) + eps
        if momentum > 0:
            b_t <- momentum * b_{t-1} + g_t / d_t         b_0 = 0
            theta_t <- theta_{t-1} - lr * b_t
        else:
            theta_t <- theta_{t-1} - lr * g_t / d_t

    State: ``step``, ``square_avg`` (v), ``grad_avg`` (a, centered only), ``momentum_buffer``
    (b, momentum > 0 only).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-2).
        alpha: smoothing constant (default 0.99).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        momentum: momentum factor (default 0).
        centered: normalize by an estimate of the gradient's variance instead of its second moment.
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_number("lr", group["lr"], label="learning rate")
        check_number("eps", group["eps"], label="epsilon value")
        check_number("momentum", group["momentum"])
        check_number("weight_decay", group["weight_decay"])
        check_number("alpha", group["alpha"])

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        centered = group["centered"]
        for x, g, state in self._updates(group):
            xp = array_module(x)
            if not state:
                state["step"] = 0
                state["square_avg"] = from_array(xp.zeros_like(x))
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = from_array(xp.zeros_like(x))
            if centered and "grad_avg" not in state:
                state["grad_avg"] = from_array(xp.zeros_like(x))
            state["step"] += 1
            v = array_of(state["square_avg"])
            v *= alpha
            g2 = g * g
            g2 *= 1 - alpha
            v += g2
            if centered:
                a = array_of(state["grad_avg"])
                a *= alpha
                a += (1 - alpha) * g
                denom = xp.sqrt(v - a * a)
            else:
                denom = xp.sqrt(v)
            denom += eps
            if momentum > 0:
                b = array_of(state["momentum_buffer"])
                b *= momentum
                b += g / denom
                x -= lr * b
            else:
                upd = g / denom
                upd *= lr
                x -= upd
