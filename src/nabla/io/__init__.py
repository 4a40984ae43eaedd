"""Serialization: ``save``/``load`` of state dicts in the safetensors format (never pickle).

``nabla.io.save(state_dict, "model.safetensors")`` writes tensors under flat, dotted names (the names a
PyTorch model's ``state_dict()`` uses) and the rest of the structure as JSON in the file's header;
``nabla.io.load(path, map_location=None)`` gives it back. See :mod:`nabla.io.safetensors_io`.
"""

from .safetensors_io import load, save

__all__ = ["save", "load"]
