"""Export nabla models to ONNX (run them in onnxruntime, TensorRT, a browser...).

``nabla.onnx.export(model, example_inputs, path, dynamic_axes=...)`` traces one forward pass and
writes the ops as ONNX nodes; see ``docs/onnx.md`` for what exports. Needs the ``onnx`` package
(``pip install nabla[onnx]``).
"""

from .export import DEFAULT_OPSET, UnsupportedOpError, export
from .ops import CONVERTERS, register

__all__ = ["CONVERTERS", "DEFAULT_OPSET", "UnsupportedOpError", "export", "register"]
