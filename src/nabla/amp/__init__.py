"""Mixed precision: ``autocast`` (float16 matrix products, float32 where range matters) and ``GradScaler``
(dynamic loss scaling), with PyTorch's names (``torch.amp``). See ``nabla/mixed_precision.py``."""

from ..mixed_precision import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
