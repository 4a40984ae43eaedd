"""Containers: Sequential, ModuleList, ModuleDict."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .module import Module


class _IndexedModules(Module):
    """List behaviour shared by Sequential and ModuleList: children named "0", "1", ... in order."""

    def append(self, module: Module) -> Any:
        n = len(self._modules)
        self.add_module(str(n), _as_module(module, n, f"{type(self).__name__}.append"))
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return self._slice(items[idx])
        try:
            return items[idx][1]
        except IndexError:
            raise IndexError(f"{type(self).__name__} index {idx} is out of range for {len(items)} modules") from None

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[idx]
        self.add_module(key, _as_module(module, idx, type(self).__name__))

    def _slice(self, items: list) -> Module:  # pragma: no cover - overridden
        raise NotImplementedError


class Sequential(_IndexedModules):
    """Modules applied one after another: ``Sequential(Linear(2, 8), Tanh(), Linear(8, 1))``.

    Also accepts one ``OrderedDict`` of named modules. Children are named "0", "1", ... otherwise.
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, m in modules[0].items():
                self.add_module(name, _as_module(m, name, "Sequential"))
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), _as_module(m, i, "Sequential"))

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def _slice(self, items: list) -> Sequential:
        return Sequential(OrderedDict(items))


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the parent model sees (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or []:
            self.append(m)

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def _slice(self, items: list) -> ModuleList:
        return ModuleList(m for _, m in items)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your model's forward")


class ModuleDict(Module):
    """A dict of named modules, registered with the parent."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        for name, m in (modules or {}).items():
            self[name] = m

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r}; it has {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _as_module(module, key, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): index it in your model's forward")


def _as_module(m: Any, where: Any, owner: str) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{owner}: item {where!r} is a {type(m).__name__}, not an nn.Module")
    return m
