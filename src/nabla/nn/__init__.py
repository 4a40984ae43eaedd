"""Neural-network building blocks with PyTorch's names: ``nabla.nn.Module``, ``nn.Linear``, ...

Layers, losses and initializers arrive module by module; see docs/architecture.md.
"""

from .containers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter
from .summary import summary

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "summary"]
