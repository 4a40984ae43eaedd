"""The model zoo's registry: names the ``nabla train`` command and users can ask for.

A builder takes keyword arguments only. :func:`build_model` fits one to a data set by passing the
arguments the builder declares among ``num_classes`` (the output width: classes, or 1 for
regression), ``in_features`` (flattened sample size), ``in_channels`` (``input_shape[0]``),
``input_size`` (``input_shape[-1]``, the image side) and ``input_shape``, and for 1-D inputs
(token sequences) ``vocab_size`` (= ``num_classes``) and ``block_size`` (the sequence length); a
builder for images should declare ``in_channels`` and, if it has a small-input variant, ``input_size``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from ..nn import Module

_MODELS: dict[str, Callable[..., Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., Module]], Callable[..., Module]]:
    """Decorator: make a model-building function available as ``get_model(name, ...)``."""

    def add(fn: Callable[..., Module]) -> Callable[..., Module]:
        if name in _MODELS:
            raise ValueError(f"register_model: a model named {name!r} is already registered")
        _MODELS[name] = fn
        return fn

    return add


def list_models() -> list[str]:
    return sorted(_MODELS)


def get_builder(name: str) -> Callable[..., Module]:
    """The function registered as ``name`` (its signature lists the model's arguments)."""
    fn = _MODELS.get(name)
    if fn is None:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    return fn


def data_arguments(input_shape: tuple[int, ...], num_classes: int, data_args: dict | None = None) -> dict[str, Any]:
    """The arguments :func:`build_model` derives from the data (passed to builders that declare them)."""
    derived = {"num_classes": num_classes, "in_features": int(math.prod(input_shape)),
               "in_channels": int(input_shape[0]), "input_size": int(input_shape[-1]),
               "input_shape": tuple(input_shape)}
    if len(input_shape) == 1:  # token sequences: the vocabulary is the output width, the length the context
        derived.update(vocab_size=num_classes, block_size=int(input_shape[0]))
    derived.update(data_args or {})
    return derived


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the registered model ``name`` with its keyword arguments."""
    fn = _MODELS.get(name)
    if fn is None:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    return fn(**kwargs)


def describe_model(name: str) -> str:
    """The first sentence of the builder's docstring, on one line."""
    fn = _MODELS[name]
    para = " ".join((inspect.getdoc(fn) or "").split("\n\n", 1)[0].split())
    return para.split(". ", 1)[0].rstrip(".").replace("``", "")


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, data_args: dict | None = None,
                **kwargs: Any) -> Module:
    """Build ``name`` for samples of ``input_shape`` and ``num_classes`` outputs; ``data_args`` are more
    facts about the data (e.g. ``src_vocab``), passed when the builder declares them; ``kwargs`` (e.g.
    from ``nabla train --arg``) override and must be arguments the builder accepts."""
    fn = _MODELS.get(name)
    if fn is None:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kwargs if k not in params and not takes_any]
    if unknown:
        accepted = [k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        raise ValueError(f"model {name!r} has no argument(s) {', '.join(unknown)}; it takes: {', '.join(accepted)}")
    derived = data_arguments(input_shape, num_classes, data_args)
    args = {k: v for k, v in derived.items() if k in params and k not in kwargs}
    args.update(kwargs)
    return fn(**args)
