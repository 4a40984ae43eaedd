"""Argument checks shared by the functional layer: errors name the function and the argument."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


def check_tensor(x: Any, name: str, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def check_float(x: Any, name: str, op: str) -> Tensor:
    check_tensor(x, name, op)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating tensor, got {x.dtype}; convert it with .float()")
    return x
