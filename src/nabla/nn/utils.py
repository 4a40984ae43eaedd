"""Training utilities under PyTorch's names: ``nn.utils.clip_grad_norm_`` and friends.

The implementations live in ``nabla.optim.clip`` next to the optimizers that use them.
"""

from ..optim.clip import clip_grad_norm_, clip_grad_value_, l1_penalty

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty"]
