"""Running code written for other frameworks on nabla: :mod:`nabla.compat.torch` (``import torch`` -> nabla)."""
