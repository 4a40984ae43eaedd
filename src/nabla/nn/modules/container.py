"""``torch.nn.modules.container``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..containers import ModuleDict, ModuleList, Sequential

__all__ = [
    "Sequential", "ModuleList", "ModuleDict",
]
