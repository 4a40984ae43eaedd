"""The model zoo's registry: names the ``nabla train`` command and users can ask for."""

from __future__ import annotations

from typing import Any, Callable

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


def get_model(name: str, **kwargs: Any) -> Module:
    """Build the registered model ``name`` with its keyword arguments."""
    fn = _MODELS.get(name)
    if fn is None:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    return fn(**kwargs)
