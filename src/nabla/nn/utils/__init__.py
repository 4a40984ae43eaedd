"""Training utilities under PyTorch's names and paths.

``nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` (``clip_grad.py``), ``nn.utils.rnn`` (packing
variable-length sequences: ``pack_padded_sequence``, ``pad_packed_sequence``, ``pad_sequence``), and
``l1_penalty`` (``regularization.py``).
"""

from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .regularization import l1_penalty

__all__ = ["clip_grad_norm_", "clip_grad_value_", "l1_penalty", "rnn"]
