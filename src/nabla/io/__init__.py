"""Serialization: ``save``/``load`` of state dicts in the safetensors format (never pickle).

``nabla.io.save(state_dict, "model.safetensors")`` writes tensors under flat, dotted names (the names a
PyTorch model's ``state_dict()`` uses) and the rest of the structure as JSON in the file's header;
``nabla.io.load(path, map_location=None)`` gives it back. ``safetensors_io.py`` is the file format,
``codec.py`` the nested-structure codec (the JSON in the header), ``atomic.py`` the crash-safe write.
"""

from .safetensors_io import load, save

__all__ = ["save", "load"]
