"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of
from .optimizer import Optimizer, array_module, check_adam_family, check_number


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), as PyTorch implements it (with the 0.96 momentum-decay schedule).

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`:

    .. code-block:: text

        g_t <- -g_t                                           if maximize
        if weight_decay != 0:
            theta_{t-1} <- theta_{t-1} * (1 - lr * weight_decay)   if decoupled_weight_decay
            g_t <- g_t + weight_decay * theta_{t-1}                otherwise
        mu_t     <- beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        mu_{t+1} <- beta1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
        P_t <- P_{t-1} * mu_t                                  P_0 = 1   (mu_product)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t             m_0 = 0
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2           v_0 = 0
        d_t <- sqrt(v_t / (1 - beta2^t)) + eps
        theta_t <- theta_{t-1} - lr * (1 - mu_t) / (1 - P_t) * g_t / d_t
                               - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / d_t

    State: ``step`` (t), ``mu_product`` (P), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 2e-3).
        betas: (beta1, beta2) (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        momentum_decay: the momentum-decay rate psi (default 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW does (NAdamW).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_adam_family(group)
        check_number("momentum_decay", group["momentum_decay"])

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        psi = group["momentum_decay"]
        for x, g, state, step in self._adam_updates(group, ("exp_avg", "exp_avg_sq"), first={"mu_product": 1.0}):
            xp = array_module(x)
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            mu_product = state["mu_product"] = state["mu_product"] * mu
            m, v = array_of(state["exp_avg"]), array_of(state["exp_avg_sq"])
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            g2 = g * g
            g2 *= 1 - beta2
            v += g2
            denom = xp.sqrt(v / (1 - beta2 ** step))
            denom += eps
            upd = g / denom
            upd *= lr * (1.0 - mu) / (1.0 - mu_product)
            x -= upd
            upd = m / denom
            upd *= lr * mu_next / (1.0 - mu_product * mu_next)
            x -= upd
