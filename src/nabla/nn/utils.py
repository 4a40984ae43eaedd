"""Training utilities under PyTorch's names: ``nn.utils.clip_grad_norm_`` and friends.

The implementations live in ``nabla.optim.clip`` next to the optimizers that use them.
"""

from ..optim.clip import clip_grad_norm_, clip_grad_value_, l1_penalty

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty"]

import sys as _sys

from .layers import rnn_packing as rnn

_sys.modules[__name__ + ".rnn"] = rnn  # so `from nabla.nn.utils.rnn import pack_padded_sequence` works too

__all__ += ["rnn"]
