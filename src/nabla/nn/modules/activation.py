"""``torch.nn.modules.activation``'s path for code that imports from it; the classes are :mod:`nabla.nn`'s."""

from ..layers.activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ..layers.attention import MultiheadAttention

__all__ = [
    "ReLU", "Sigmoid", "Tanh", "ELU", "GELU", "LeakyReLU", "Softplus", "MultiheadAttention", "Softmax", "LogSoftmax",
]
