"""The ONNX graph under construction: node names, constants as initializers, value lookups."""

from __future__ import annotations

from typing import Any

import numpy
from onnx import helper, numpy_helper

from nabla import Tensor

from .trace import Trace


class Builder:
    """Collects nodes and initializers; maps traced tensors to their ONNX value names.

    ``value(x)`` gives the name of a traced tensor (a graph input or an op's output) or, for anything
    else (a parameter, a buffer, a constant array or number), an initializer holding its value;
    ``dtype`` converts a constant so both operands of an ONNX op agree, as NumPy's promotion did.
    A parameter keeps its state-dict name (``fc1.weight``) as its initializer's name.
    """

    def __init__(self, rec: Trace, opset: int, names: dict[int, str] | None = None) -> None:
        self.rec, self.opset = rec, opset
        self.names: dict[int, str] = {}  # id(tensor) -> ONNX name
        self.param_names = names or {}  # id(parameter) -> its state-dict name
        self.nodes: list = []
        self.initializers: list = []
        self._consts: dict[tuple, str] = {}
        self._count = 0
        self.dynamic: dict[int, tuple[str, int]] = {}  # traced size of a dynamic input axis -> (input, axis)
        self._dims: dict[int, str] = {}

    def run_time_size(self, size: int) -> str | None:
        """A 1-element int64 value holding, at run time, the dynamic input axis traced with ``size``
        (None when no dynamic axis had that size)."""
        if size not in self.dynamic:
            return None
        if size not in self._dims:
            name, axis = self.dynamic[size]
            shape = self.node("Shape", [name])
            self._dims[size] = self.node("Gather", [shape, self.value(numpy.array([axis], dtype=numpy.int64))], axis=0)
        return self._dims[size]

    def ints(self, items: list) -> str:
        """A 1-D int64 value from ints and 1-element ONNX values (a constant when all are ints)."""
        if all(isinstance(v, (int, numpy.integer)) for v in items):
            return self.value(numpy.array(items, dtype=numpy.int64))
        parts = [v if isinstance(v, str) else self.value(numpy.array([v], dtype=numpy.int64)) for v in items]
        return self.node("Concat", parts, axis=0)

    def fresh(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def traced(self, x: Any) -> bool:
        return (isinstance(x, Tensor) and id(x) in self.names) or id(x) in self.rec.arrays

    @staticmethod
    def onnx_type(dtype: Any) -> int:
        return helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))

    def value(self, x: Any, dtype: Any = None) -> str:
        """The ONNX name for ``x``; constants are cast to ``dtype`` when given (and not bool/int data)."""
        if isinstance(x, Tensor) and id(x) in self.names:
            return self.names[id(x)]
        if not isinstance(x, Tensor) and id(x) in self.rec.arrays and id(self.rec.arrays[id(x)]) in self.names:
            return self.names[id(self.rec.arrays[id(x)])]
        arr = x._data if isinstance(x, Tensor) else x
        arr = numpy.asarray(arr.get() if hasattr(arr, "get") else arr)  # CuPy arrays come back from the GPU
        if dtype is not None and arr.dtype != numpy.dtype(dtype):
            arr = arr.astype(dtype)
        key = (id(x), arr.dtype.str) if isinstance(x, Tensor) else None
        if key is not None and key in self._consts:
            return self._consts[key]
        stem = self.param_names.get(id(x)) if isinstance(x, Tensor) else None
        name = stem if stem and stem not in self._consts.values() else self.fresh(stem or "const")
        self.initializers.append(numpy_helper.from_array(numpy.array(arr, order="C"), name))
        if key is not None:
            self._consts[key] = name
            self.rec.keep.append(x)
        return name

    def scalar(self, v: float, dtype: Any) -> str:
        return self.value(numpy.asarray(v, dtype=dtype))

    def node(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def bind(self, t: Tensor, name: str) -> None:
        self.names[id(t)] = name

