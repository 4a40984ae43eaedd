"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of
from .optimizer import Optimizer, array_module, check_adam_family


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7.1).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`:

    .. code-block:: text

        g_t <- -g_t                                       if maximize
        g_t <- g_t + weight_decay * theta_{t-1}           if weight_decay != 0
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t        m_0 = 0
        u_t <- max(beta2 * u_{t-1}, |g_t| + eps)          u_0 = 0
        theta_t <- theta_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    State: ``step`` (t), ``exp_avg`` (m), ``exp_inf`` (u).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 2e-3).
        betas: (beta1, beta2) (default (0.9, 0.999)).
        eps: added inside the infinity norm for numerical stability (default 1e-8).
        weight_decay: L2 penalty coefficient (default 0).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_adam_family(group)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        for x, g, state, step in self._adam_updates(group, ("exp_avg", "exp_inf")):
            xp = array_module(x)
            m, u = array_of(state["exp_avg"]), array_of(state["exp_inf"])
            m *= beta1
            m += (1 - beta1) * g
            u *= beta2
            norm = xp.abs(g)
            norm += eps
            xp.maximum(u, norm, out=u)
            upd = m / u
            upd *= lr / (1 - beta1 ** step)
            x -= upd
