"""Model arguments on the command line (``-a KEY=VALUE``), read against the builder's signature.

Each value is converted to the type the builder declares (its annotation, else its default's type):
``bool`` takes true/false (yes/no, 1/0), ``int`` and ``float`` numbers, a sequence of ints a comma list
(``hidden=64`` is one layer, ``hidden=256,128`` two, ``hidden=`` none), ``X | None`` also ``none``.
Arguments the data set decides (``num_classes``, ``in_features``, ...) cannot be given: they would not
fit the data. ``nabla models NAME`` prints the same table the checks use.
"""

from __future__ import annotations

import ast
import inspect
import types
import typing
from collections.abc import Sequence
from typing import Any, Union

from .common import UsageError

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}
# What build_model derives from the data set for a builder that declares it (see nabla.models.registry).
DATA_DECIDED = ("num_classes", "in_features", "in_channels", "input_size", "input_shape", "vocab_size", "block_size")


def _builder(model: str) -> Any:
    from ..models.registry import get_builder

    return get_builder(model)


def parameters(model: str) -> list[tuple[str, Any, Any]]:
    """``(name, type, default)`` of each argument of ``model``'s builder (``inspect.Parameter.empty``
    for no default; the type resolved from the annotation, else the default's type, else ``None``)."""
    fn = _builder(model)
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):  # an annotation that does not resolve: fall back on the defaults
        hints = {}
    out = []
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        kind = hints.get(name)
        if kind is None and p.default is not p.empty and p.default is not None:
            kind = type(p.default)
        out.append((name, kind, p.default))
    return out


def type_name(kind: Any) -> str:
    """A short readable name for an annotation: ``int``, ``sequence of int``, ``float or none``."""
    if kind is None:
        return "any"
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or none" if type(None) in args else "")
    if origin in (tuple, list, Sequence, typing.Sequence) or kind in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        return f"sequence of {type_name(inner[0])}" if inner else "sequence"
    if origin is typing.Literal:
        return " | ".join(map(repr, args))
    return getattr(kind, "__name__", str(kind))


def _convert(text: str, kind: Any) -> Any:
    """``text`` as a value of ``kind``; ``ValueError`` with what was expected."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (Union, types.UnionType):
        if type(None) in args and text.strip().lower() in ("none", "null"):
            return None
        for a in args:
            if a is not type(None):
                try:
                    return _convert(text, a)
                except ValueError:
                    pass
        raise ValueError(f"expected {type_name(kind)}, got {text!r}")
    if kind is bool:
        word = text.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if kind is str:
        return text
    if origin in (tuple, list, Sequence, typing.Sequence) or kind in (tuple, list):
        inner = [a for a in args if a is not Ellipsis]
        items = [t for t in text.strip("()[] ").split(",") if t.strip()]
        try:
            return tuple(_convert(t.strip(), inner[0]) if inner else ast.literal_eval(t.strip()) for t in items)
        except (ValueError, SyntaxError):
            raise ValueError(f"expected a comma-separated list ({type_name(kind)}), e.g. 256,128; got {text!r}") \
                from None
    if origin is typing.Literal:
        for a in args:
            if str(a) == text:
                return a
        raise ValueError(f"expected one of {', '.join(map(str, args))}, got {text!r}")
    try:  # no usable annotation: a Python literal, else the word itself
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return tuple(value) if isinstance(value, list) else value


def parse_model_args(model: str, pairs: Sequence[tuple[str, str]], data_args: dict | None = None) -> dict[str, Any]:
    """``-a`` ``(key, text)`` pairs as typed keyword arguments for ``model``'s builder; a
    :class:`UsageError` names the argument, what it expects and what ``model`` takes."""
    params = {name: (kind, default) for name, kind, default in parameters(model)}
    decided = set(DATA_DECIDED) | set(data_args or {})
    settable = [n for n in params if n not in decided]
    out: dict[str, Any] = {}
    for key, text in pairs:
        if key in decided and key in params:
            raise UsageError(f"-a {key}=...: {key} is set from the data set, not by hand (choose another --dataset); "
                             f"{model} takes: {', '.join(settable) or 'no other arguments'}")
        if key not in params:
            raise UsageError(f"model {model!r} has no argument {key!r}; it takes: {', '.join(settable) or 'none'} "
                             f"(see 'nabla models {model}')")
        try:
            out[key] = _convert(text, params[key][0])
        except ValueError as err:
            raise UsageError(f"-a {key}={text}: {err}") from None
    return out


def describe_arguments(model: str, data_args: dict | None = None) -> list[tuple[str, str, str]]:
    """``(name, type, default)`` rows for ``nabla models NAME``; data-decided arguments say so."""
    from ..data.datasets import DATASETS

    decided = set(DATA_DECIDED) | set(data_args or {})
    some = {k for spec in DATASETS.values() for k in (spec.model_args or {})}  # set by the data sets that have them
    rows = []
    for name, kind, default in parameters(model):
        if name in decided:
            shown = "from the data set"
        elif name in some:
            owners = sorted(n for n, spec in DATASETS.items() if name in (spec.model_args or {}))
            shown = f"{default} (on {', '.join(owners)}: from the data set)"
        elif default is inspect.Parameter.empty:
            shown = "required"
        elif isinstance(default, tuple):
            shown = ",".join(map(str, default)) if default else "(empty)"
        else:
            shown = str(default).lower() if isinstance(default, bool) else str(default)
        rows.append((name, type_name(kind), shown))
    return rows
