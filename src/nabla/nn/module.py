"""Module: the base class of every layer and model, with PyTorch's interface.

A Module owns Parameters, buffers (non-learnable state such as BatchNorm's running mean) and child
Modules, found by attribute assignment. ``__call__`` runs forward hooks around ``forward`` and, when
something inside raises, prefixes the error with the failing module's path in the model
(``Linear at encoder.layers.2.linear1: ...``) so a shape mismatch says where it happened.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator
from typing import Any

from .. import backend
from ..autograd import RemovableHandle, no_grad
from ..tensor import Tensor
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _CallDepth(threading.local):
    depth = 0


_calls = _CallDepth()


class Module:
    """Base class for layers and models: subclass it, build children in ``__init__``, write ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in your Module")

    # --------------------------------------------------------------------------- attributes

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to parameter {name!r} of {type(self).__name__}: "
                    "wrap it as nn.Parameter(tensor) (or assign None)"
                )
            params[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} to buffer {name!r}: expected a Tensor or None")
            buffers[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} to submodule {name!r}: expected a Module or None"
                )
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got {type(param).__name__}")
        _check_name(name, self, "register_parameter")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register non-learnable state (moved by ``to()``, saved in ``state_dict`` when persistent)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        _check_name(name, self, "register_buffer")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        _check_name(name, self, "add_module")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        mod: Module = self
        for part in target.split(".") if target else []:
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"get_submodule: {type(mod).__name__} has no submodule {part!r} (in {target!r})")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------------------------ traversal

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:  # iterative pre-order: deep models never hit the recursion limit
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{n}" if name else n, m) for n, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn(m)`` on every submodule (children first, this module last), e.g.
        ``model.apply(init_weights)``; returns self."""
        if not callable(fn):
            raise TypeError(f"apply: expected a function of a module, got {type(fn).__name__}")
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _named_members(self, kind: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, kind).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------------------- modes

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter, e.g. a pretrained backbone in transfer learning."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor._wrap(p.grad._xp.zeros_like(p.grad._data))

    # ------------------------------------------------------------------- device and dtype

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move parameters and buffers in place: ``to(device)``, ``to(dtype)`` (floating ones only)."""
        dev = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, backend.device) or (isinstance(a, str) and a.split(":")[0] in backend.DEVICE_TYPES):
                dev = a
            else:
                dtype = a
        dev = backend.to_device(dev) if dev is not None else None
        dtype = backend.to_dtype(dtype) if dtype is not None else None
        if dtype is not None and dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed for a model, got {dtype}")

        def convert(t: Tensor) -> None:
            data = t._data
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            if dev is not None:
                data = backend.transfer(data, dev)
            if data is not t._data:
                t._data = data
                t._version[0] += 1
                if t.grad is not None:
                    g = t.grad._data
                    if dtype is not None:
                        g = g.astype(dtype)
                    if dev is not None:
                        g = backend.transfer(g, dev)
                    t.grad = Tensor._wrap(g)

        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None:
                        convert(p)
                for b in m._buffers.values():
                    if b is not None:
                        convert(b)
        return self

    def float(self) -> Module:
        return self.to(backend.float32)

    def double(self) -> Module:
        return self.to(backend.float64)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, index: int = 0) -> Module:
        return self.to(f"cuda:{index}")

    # ----------------------------------------------------------------------------- calling

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after forward; a returned value replaces the output."""
        if not callable(hook):
            raise TypeError("register_forward_hook: hook must be callable")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before forward; a returned tuple replaces the inputs."""
        if not callable(hook):
            raise TypeError("register_forward_pre_hook: hook must be callable")
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        _calls.depth += 1
        try:
            out = self.forward(*args, **kwargs)
        except (ValueError, TypeError, IndexError, RuntimeError, KeyError, AttributeError) as e:
            _locate(self, e)
            if _calls.depth == 1:  # the outermost module: say where it happened
                raise _with_location(e) from None
            raise
        finally:
            _calls.depth -= 1
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        return out

    # ------------------------------------------------------------------------- state dicts

    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (tensors share storage with the model)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mod_prefix, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            for name, p in mod._parameters.items():
                if p is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = p if keep_vars else p.detach()
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this model's parameters and buffers (in place).

        With ``strict`` a mismatch raises one error listing every missing, unexpected and mis-shaped key.
        Shapes must always match.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a dict of tensors, got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mis_shaped = []
        for k, target in own.items():
            if k in state_dict:
                src = state_dict[k]
                shape = tuple(src.shape) if hasattr(src, "shape") else None
                if shape != target.shape:
                    mis_shaped.append(f"{k}: checkpoint {shape}, model {target.shape}")
        if mis_shaped or (strict and (missing or unexpected)):
            lines = [f"load_state_dict: the state dict does not fit {type(self).__name__}:"]
            if missing:
                lines.append(f"  missing keys ({len(missing)}): {', '.join(missing)}")
            if unexpected:
                lines.append(f"  unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
            if mis_shaped:
                lines.append(f"  mis-shaped ({len(mis_shaped)}): " + "; ".join(mis_shaped))
            lines.append("Check that the checkpoint was saved from the same architecture, or pass strict=False "
                         "to skip missing and unexpected keys (shapes must still match).")
            raise RuntimeError("\n".join(lines))
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    src = state_dict[k]
                    arr = src._data if isinstance(src, Tensor) else src
                    target._data[...] = backend.transfer(
                        backend.array_module(target._data).asarray(arr) if not isinstance(src, Tensor) else arr,
                        target.device,
                    ).astype(target.dtype, copy=False)
                    target._version[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # Keras-style compile / fit / evaluate / predict are bound onto Module by nabla.train.keras (train
    # knows nn; nn does not know train). Until nabla.train is imported, nabla/__init__.py binds
    # forwarders that import it on first use.

    # ------------------------------------------------------------------------------- display

    def extra_repr(self) -> str:
        """One line of settings shown in the module's repr, e.g. ``in_features=2, out_features=8``."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("
        return head + "\n" + "\n".join(lines) + "\n)"


def _check_name(name: str, module: Module, op: str) -> None:
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{op}: name must be a non-empty string without '.', got {name!r}")
    if hasattr(type(module), name):
        raise KeyError(f"{op}: {name!r} is already an attribute of {type(module).__name__}")


def _locate(module: Module, e: BaseException) -> None:
    """Record where ``e`` happened: the innermost module and the child names on the way up."""
    info = getattr(e, "_nabla_where", None)
    if info is None:
        try:
            e._nabla_where = [module, [], module]  # innermost, path parts, last module seen
        except AttributeError:  # pragma: no cover - exceptions that refuse attributes
            pass
        return
    last = info[2]
    # Usually a direct child; a search also finds modules reached through an uncalled ModuleList.
    for name, child in module.named_modules():
        if child is last and name:
            info[1].insert(0, name)
            break
    info[2] = module


def _with_location(e: BaseException) -> BaseException:
    """The same exception type with the module path in front of the message."""
    info = getattr(e, "_nabla_where", None)
    if info is None:
        return e
    inner, path, _ = info
    where = f"{type(inner).__name__} at {'.'.join(path)}" if path else type(inner).__name__
    msg = str(e.args[0]) if len(e.args) == 1 else str(e)
    if msg.startswith(where + ":"):
        return e
    try:
        new = type(e)(f"{where}: {msg}")
    except Exception:
        return e
    new._nabla_where = info
    return new.with_traceback(e.__traceback__)
