"""Adam and AdamW (one implementation: AdamW is Adam with decoupled weight decay)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..tensor import array_of, from_array
from .optimizer import Optimizer, array_module, check_adam_family


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with the AMSGrad variant and L2 or decoupled weight decay.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`:

    .. code-block:: text

        g_t <- -g_t                                         if maximize
        if weight_decay != 0:
            theta_{t-1} <- theta_{t-1} * (1 - lr * weight_decay)   if decoupled_weight_decay (AdamW)
            g_t <- g_t + weight_decay * theta_{t-1}                otherwise (L2 penalty)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t          first moment,  m_0 = 0
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2        second moment, v_0 = 0
        vmax_t <- max(vmax_{t-1}, v_t)                      if amsgrad (then vmax_t replaces v_t below)
        theta_t <- theta_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (vmax, amsgrad only).

    Args:
        params: parameters, or parameter groups (dicts).
        lr: learning rate (default 1e-3).
        betas: (beta1, beta2), the decay rates of the two moments (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default 1e-8).
        weight_decay: weight decay coefficient (default 0).
        amsgrad: use the maximum of past second moments (Reddi et al., 2018).
        maximize: maximize the objective instead of minimizing.
        decoupled_weight_decay: decay the weights directly instead of adding an L2 term to the
            gradient (Loshchilov & Hutter, 2019); this is :class:`AdamW`.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_adam_family(group)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, amsgrad = group["lr"], group["betas"], group["eps"], group["amsgrad"]
        buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if amsgrad else ("exp_avg", "exp_avg_sq")
        for x, g, state, step in self._adam_updates(group, buffers):
            xp = array_module(x)
            m, v = array_of(state["exp_avg"]), array_of(state["exp_avg_sq"])
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            g2 = g * g
            g2 *= 1 - beta2
            v += g2
            if amsgrad:
                if "max_exp_avg_sq" not in state:  # amsgrad switched on after the first step
                    state["max_exp_avg_sq"] = from_array(xp.zeros_like(x))
                vmax = array_of(state["max_exp_avg_sq"])
                xp.maximum(vmax, v, out=vmax)
                denom = xp.sqrt(vmax)
            else:
                denom = xp.sqrt(v)
            denom /= (1 - beta2 ** step) ** 0.5
            denom += eps
            upd = m / denom  # (no out=: a 0-d parameter's temporaries are NumPy scalars)
            upd *= lr / (1 - beta1 ** step)
            x -= upd


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    The same update as :class:`Adam` with ``decoupled_weight_decay=True``:

    .. code-block:: text

        theta_{t-1} <- theta_{t-1} * (1 - lr * weight_decay)
        m_t, v_t (and vmax_t) as in Adam, from the raw gradient g_t
        theta_t <- theta_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    State: ``step``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad only).
    Defaults as Adam's, except ``weight_decay=1e-2``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, decoupled_weight_decay=True)
