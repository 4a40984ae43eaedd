"""The nested-structure codec of nabla's safetensors files.

A state dict is a tree: dicts (keys str, int, float, bool or None), lists, tuples, plain values and
Tensor leaves. :func:`encode` turns it into a JSON document, collecting the Tensor leaves under their
dotted names (the names a PyTorch ``state_dict()`` uses); :func:`decode_structure` rebuilds the tree
from that document and the loaded tensors. The grammar: JSON ``null``/``true``/``false``/numbers/
strings are those values; a JSON array is a Python ``list``; every other node is an object with a
single key: ``{"tensor": name}``, ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` and
``{"float": "nan" | "inf" | "-inf"}`` (JSON has no such numbers).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor

FORMAT_VERSION = 1  # of the structure document; a newer one is refused with "upgrade nabla"


def encode(obj: Any, parts: list[str], where: str, tensors: dict, owners: dict, active: set, path: str) -> Any:
    """The JSON node for ``obj``; Tensor leaves go into ``tensors`` under their dotted name."""
    if isinstance(obj, Tensor):
        name = ".".join(parts)
        if name == "__metadata__":
            raise ValueError(
                f"nabla.save: {path!r}: the tensor at {where} would be stored as '__metadata__', a name the "
                "safetensors format reserves; rename that key"
            )
        if name in tensors:
            raise ValueError(
                f"nabla.save: {path!r}: the tensors at {owners[name]} and {where} would both be stored under "
                f"the name {name!r} (nested keys are joined with '.'); rename one of the keys"
            )
        arr = backend.transfer(obj._data, backend.CPU)
        tensors[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
        owners[name] = where
        return {"tensor": name}
    node = encode_scalar(obj)
    if node is not _NOT_SCALAR:
        return node
    if isinstance(obj, (Mapping, list, tuple)):
        if id(obj) in active:
            raise ValueError(f"nabla.save: {path!r}: the object at {where} contains itself; it cannot be saved")
        active.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                items = []
                for k, v in obj.items():
                    key = encode_key(k, where, path)
                    items.append([key, encode(v, parts + [str(k)], f"{where}[{k!r}]", tensors, owners, active, path)])
                return {"dict": items}
            items = [
                encode(v, parts + [str(i)], f"{where}[{i}]", tensors, owners, active, path) for i, v in enumerate(obj)
            ]
            return items if isinstance(obj, list) else {"tuple": items}
        finally:
            active.discard(id(obj))
    raise TypeError(f"nabla.save: {path!r}: cannot store {type_name(obj)} at {where}; {hint(obj)}")


def encode_float(x: float) -> Any:
    return x if math.isfinite(x) else {"float": repr(x)}  # repr gives 'nan', 'inf', '-inf'


_NOT_SCALAR = object()


def encode_scalar(x: Any) -> Any:
    """The JSON node for a plain value (None, bool, str, int, float, or a NumPy scalar of a bool, int or
    float kind, stored as the Python number), or ``_NOT_SCALAR`` for anything else. Values and dict
    keys both go through here."""
    if isinstance(x, numpy.generic) and x.dtype.kind in "biuf":
        x = x.item()
    if x is None or isinstance(x, bool):
        return x
    if isinstance(x, str):
        return str(x)
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return encode_float(float(x))
    return _NOT_SCALAR


def encode_key(k: Any, where: str, path: str) -> Any:
    node = encode_scalar(k)
    if node is not _NOT_SCALAR:
        return node
    raise TypeError(
        f"nabla.save: {path!r}: the dict at {where} has a key {k!r} of type {type_name(k)}; "
        "keys must be str, int, float, bool or None"
    )


def type_name(obj: Any) -> str:
    t = type(obj)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def hint(obj: Any) -> str:
    if backend.is_array(obj):  # NumPy or CuPy
        return "wrap the array in a tensor: nabla.tensor(array)"
    if type(obj).__module__.startswith("torch"):
        return "convert it to a nabla tensor first: nabla.tensor(t.detach().cpu().numpy())"
    return (
        "only nabla Tensors and plain values (None, bool, int, float, str, and lists/tuples/dicts of those) "
        "can be saved; convert it to one of those (e.g. a str or a number) or leave it out"
    )


def decode_structure(structure: str, tensors: dict[str, Tensor], path: str) -> Any:
    def corrupt(why: str) -> ValueError:
        return ValueError(
            f"nabla.load: {path!r}: the nabla structure stored in the file's metadata is corrupted ({why}); "
            "save the file again"
        )

    try:
        doc = json.loads(structure)
    except (ValueError, RecursionError) as e:
        raise corrupt(f"not valid JSON: {e}") from None
    if not isinstance(doc, dict) or "tree" not in doc or not isinstance(doc.get("format_version"), int):
        raise corrupt("no format_version/tree")
    if doc["format_version"] > FORMAT_VERSION:
        raise ValueError(
            f"nabla.load: {path!r} was written by a newer nabla (structure format {doc['format_version']}, this "
            f"nabla reads up to {FORMAT_VERSION}); upgrade nabla"
        )
    used: set[str] = set()

    def scalar(node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and len(node) == 1 and node.get("float") in ("nan", "inf", "-inf"):
            return float(node["float"])
        raise corrupt(f"bad dict key {node!r}")

    def decode(node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [decode(v) for v in node]
        if isinstance(node, dict) and len(node) == 1:
            (tag, value), = node.items()
            if tag == "tensor" and isinstance(value, str):
                if value not in tensors:
                    raise corrupt(f"it refers to a tensor {value!r} that the file does not hold")
                used.add(value)
                return tensors[value]
            if tag == "tuple" and isinstance(value, list):
                return tuple(decode(v) for v in value)
            if tag == "dict" and isinstance(value, list):
                out = {}
                for pair in value:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise corrupt(f"bad dict item {pair!r}")
                    out[scalar(pair[0])] = decode(pair[1])
                return out
            if tag == "float" and value in ("nan", "inf", "-inf"):
                return float(value)
        raise corrupt(f"unknown node {str(node)[:80]!r}")

    try:
        obj = decode(doc["tree"])
    except RecursionError:
        raise corrupt("nested too deeply") from None
    unused = sorted(set(tensors) - used)
    if unused:
        raise corrupt(f"the file holds tensors the structure does not mention: {unused[:5]}")
    return obj
