"""``torch.nn.modules.dropout``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d

__all__ = [
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
]
