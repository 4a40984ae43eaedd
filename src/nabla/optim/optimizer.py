"""The optimizer base class: parameter groups, per-parameter state, zero_grad, step, state_dict.

Every optimizer updates parameters **in place on their arrays**, with the array namespace of the
parameter (NumPy or CuPy), and records no graph: an update is not part of the model. The writes go
through ``nabla.tensor.updating`` (here via :meth:`Optimizer._updates`), which bumps the parameter's
version counter, so a graph that saved the old value refuses to back-propagate through it.

A subclass gives ``__init__`` (validate the arguments, then ``super().__init__(params, defaults)``),
``_check_group(group)`` (the same validation for a group added later) and ``_step_group(group)``
(the update of one parameter group). Its docstring is its update rule.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor, array_of, from_array, updating, updating_with_grads

array_module = backend.array_module


class _Required:
    """Marks a hyperparameter that has no default and must be given (per group or for all)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


def check_number(name: str, value: Any, *, low: float = 0.0, high: float | None = None,
                 low_open: bool = False, high_open: bool = True, label: str | None = None) -> None:
    """Raise ``ValueError("Invalid <label>: <value>")`` unless ``low <= value (< or <=) high``.

    ``label`` defaults to ``"<name> value"`` (PyTorch's wording: "Invalid momentum value: -1").
    """
    label = label or f"{name} value"
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_real_scalar(value):
        raise TypeError(f"Invalid {label}: expected a number, got {type(value).__name__} ({value!r})")
    v = float(value)
    ok = (v > low if low_open else v >= low) if low is not None else True
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok or v != v:
        raise ValueError(f"Invalid {label}: {value}")


def _is_real_scalar(value: Any) -> bool:
    return hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iuf"


def check_adam_family(group: dict[str, Any]) -> None:
    """The hyperparameters Adam, AdamW, Adamax and NAdam share: lr, eps, betas, weight_decay."""
    check_number("lr", group["lr"], label="learning rate")
    check_number("eps", group["eps"], label="epsilon value")
    check_betas(group["betas"])
    check_number("weight_decay", group["weight_decay"])


def check_betas(betas: Any) -> None:
    """``betas`` must be a pair of numbers in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: expected a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        check_number("betas", b, low=0.0, high=1.0, label=f"beta parameter at index {i}")


class _Handle:
    """Returned by ``register_step_*_hook``; ``remove()`` takes the hook off."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups): each dict has ``"params"``
            and may override any hyperparameter for its parameters, e.g.
            ``[{"params": body}, {"params": head, "lr": 1e-2}]``.
        defaults: the hyperparameters a group takes when it does not give its own.

    ``param_groups`` is the list of groups (dicts; change ``group["lr"]`` to change the learning
    rate); ``state[p]`` is the per-parameter state (a dict of Tensors and numbers, created at the
    parameter's first step).
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._check_group(defaults)  # bad hyperparameters are reported before anything about params
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._step_pre_hooks: list[Callable] = []
        self._step_post_hooks: list[Callable] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts (parameter groups), "
                "got a single Tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, set):
            raise TypeError(f"{type(self).__name__}: parameters must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs, so state_dict could not match parameters up")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts (parameter groups), "
                f"got {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (did the model have parameters?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------------------------ groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. when unfreezing layers)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict with 'params', got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry: {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a set: the order of "
                            "a set changes between runs, so state_dict could not match parameters up")
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if p._ctx is not None:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of shape {p.shape} was "
                                 "computed by an op); optimize the leaf it came from, or .detach().requires_grad_()")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} is {p.dtype}; only floating-point tensors can be optimized")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears twice in one parameter group")
        group = dict(param_group)
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required optimization "
                                 f"parameter {key!r}")
            group.setdefault(key, default)
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyperparameters (subclasses: raise ValueError naming the argument)."""

    # ------------------------------------------------------------------------------ stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default), or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g._ctx is not None:  # a gradient recorded with create_graph: cut it loose
                        g = p.grad = g.detach()
                    with updating(g) as arr:
                        arr.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; parameters whose grad is None are skipped.

        ``closure`` (optional) re-evaluates the model and returns the loss; it runs with gradients
        on, before the update, and its loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for hook in self._step_pre_hooks:
            hook(self, (), {})
        for group in self.param_groups:
            self._step_group(group)
        for hook in self._step_post_hooks:
            hook(self, (), {})
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _updates(self, group: dict[str, Any]) -> Iterator[tuple[Any, Any, dict]]:
        """``for x, g, state in self._updates(group)``: the parameter array (write it in place), the
        gradient array and the state dict of every parameter of ``group`` that has a gradient; each
        parameter's version is bumped once the loop body has updated it.

        ``g`` is the gradient as SGD, Adagrad, RMSprop and Adadelta use it: sign flipped under the
        group's ``maximize``, plus the L2 term ``weight_decay * x`` when ``weight_decay != 0`` (a new
        array; the parameter's ``.grad`` is left as it is)."""
        maximize, weight_decay = group["maximize"], group["weight_decay"]
        state = self.state
        for p, x, g in updating_with_grads(group["params"]):
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * x
            yield x, g, state[p]

    def _adam_updates(self, group: dict[str, Any], buffers: tuple[str, ...],
                      first: dict[str, Any] | None = None) -> Iterator[tuple[Any, Any, dict, int]]:
        """:meth:`_updates` with what Adam, AdamW, NAdam and Adamax do first; yields ``(x, g, state, step)``.

        On a parameter's first step its state gets ``step = 0``, the entries of ``first`` and a zero
        array per name in ``buffers``; then the step count goes up by one, ``g`` flips sign under
        ``maximize``, and weight decay applies: decoupled (``x *= 1 - lr * weight_decay``, in place)
        when the group has ``decoupled_weight_decay``, otherwise as an L2 term (``g + weight_decay * x``,
        a new array). Written into the generator (not a helper called per parameter) because it runs
        once per parameter per step.
        """
        maximize, weight_decay = group["maximize"], group["weight_decay"]
        decoupled = group.get("decoupled_weight_decay", False)
        shrink = 1 - group["lr"] * weight_decay
        all_state = self.state
        for p, x, g in updating_with_grads(group["params"]):
            state = all_state[p]
            if not state:
                xp = array_module(x)
                state["step"] = 0
                state.update(first or {})
                for name in buffers:
                    state[name] = from_array(xp.zeros_like(x))
            step = state["step"] = state["step"] + 1
            if maximize:
                g = -g
            if weight_decay != 0:
                if decoupled:
                    x *= shrink
                else:
                    g = g + weight_decay * x
            yield x, g, state, step

    def register_step_pre_hook(self, hook: Callable) -> _Handle:
        """``hook(optimizer, args, kwargs)`` runs before every ``step``."""
        self._step_pre_hooks.append(hook)
        return _Handle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _Handle:
        """``hook(optimizer, args, kwargs)`` runs after every ``step`` (e.g. to apply weight constraints)."""
        self._step_post_hooks.append(hook)
        return _Handle(self._step_post_hooks, hook)

    # ------------------------------------------------------------------------------ state dict

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, in PyTorch's layout.

        ``{"state": {index: {name: value}}, "param_groups": [{..hyperparameters.., "params": [indices]}]}``
        where parameters are numbered 0, 1, ... in group order. State tensors are returned as they
        are (not copied), as in PyTorch; serialize or ``copy.deepcopy`` to keep a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (of an optimizer of the same kind over parameters of the same shapes).

        State tensors are copied, and moved to each parameter's device and floating dtype.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "(what state_dict() returns)")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has a different number of parameter groups: "
                f"{len(saved_groups)} saved, {len(self.param_groups)} in this optimizer"
            )
        for i, (mine, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: loaded state dict contains a parameter group that doesn't match "
                    f"the size of optimizer's group: group {i} has {len(saved['params'])} parameters saved, "
                    f"{len(mine['params'])} here"
                )
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                by_index[idx] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for idx, s in state_dict["state"].items():
            if idx not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter {idx}, which no group lists")
            p = by_index[idx]
            new_state[p] = {k: self._load_value(p, k, v) for k, v in s.items()}
        groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            g = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            g["params"] = mine["params"]
            groups.append(g)
        self.state = new_state
        self.param_groups = groups

    @staticmethod
    def _load_value(p: Tensor, key: str, value: Any) -> Any:
        if key == "step" and isinstance(value, Tensor):  # PyTorch keeps the step count in a tensor
            v = value.item()
            return int(v) if float(v).is_integer() else v
        if isinstance(value, Tensor):
            arr = backend.transfer(array_of(value), p.device)
            arr = arr.astype(p.dtype, copy=True) if arr.dtype.kind == "f" else arr.copy()
            if arr.shape != p.shape and arr.ndim != 0:
                raise ValueError(f"load_state_dict: state {key!r} has shape {arr.shape} but its parameter has "
                                 f"shape {p.shape}; was the state saved for another model?")
            return from_array(arr)
        return copy.deepcopy(value)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
