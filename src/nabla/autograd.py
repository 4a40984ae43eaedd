"""Reverse-mode automatic differentiation: graph nodes, the backward pass, grad mode, gradcheck.

A differentiable op is a :class:`Function` subclass with ``forward`` on raw arrays and ``backward``
on Tensors. Because ``backward`` is written with nabla's own ops, running it with grad mode on
records a graph of the backward pass itself, which is how ``create_graph=True`` gives higher-order
gradients. With ``create_graph=False`` it runs under ``no_grad`` and costs no graph bookkeeping.

The graph is made of nodes (one ``Function`` object per op call). A node's ``parents`` are, per input,
the input's creating node, the input itself when it is a leaf that requires grad, or ``None``.
Pointing at nodes (not tensors) keeps the graph right when a tensor is later changed in place.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from numpy import asarray as _numpy_asarray, generic as _numpy_scalar

from .tensor import Tensor

# --------------------------------------------------------------------------------------- grad mode


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops record a graph for backward in this thread."""
    return _mode.enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn graph recording on or off: as a function call, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        _mode.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self.prev


class no_grad(contextlib.ContextDecorator):
    """Context manager / decorator: ops inside record no graph (inference, optimizer updates)."""

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = False

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self.prev


class enable_grad(contextlib.ContextDecorator):
    """Context manager / decorator: record the graph again inside a ``no_grad`` block."""

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = True

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self.prev


class inference_mode(contextlib.ContextDecorator):
    """``torch.inference_mode``: like :class:`no_grad` when ``mode`` is True (the default), nothing when False.

    PyTorch's version also skips version counting for speed; nabla's tensors carry no such cost worth
    removing, so here it is exactly ``no_grad`` (tensors made inside can later join a graph).
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # bare ``@inference_mode`` on a function, as PyTorch allows
            return cls(True)(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        if self.mode:
            _mode.enabled = False

    def __exit__(self, *exc: Any) -> None:
        _mode.enabled = self.prev


# ---------------------------------------------------------------------------------------- Function


class Function:
    """One op call in the graph: ``forward`` on arrays, ``backward`` on Tensors.

    Subclasses set class flags:

    * ``save_inputs`` - keep the input tensors for backward (``self.inputs``); their versions are
      checked so an in-place change after the op raises instead of giving a wrong gradient;
    * ``save_output`` - keep the output array for backward (``self.saved_output()``);
    * ``is_view`` - the output array may share memory with the first input (reshape, slicing).

    Anything else backward needs (shapes, masks, axes) is stored on ``self`` by ``forward``.
    ``backward(grad)`` returns one gradient (or ``None``) per input, as a tuple when there are several.

    PyTorch's style works too, for user code: a subclass whose ``forward`` and ``backward`` are
    ``@staticmethod``s taking a ``ctx`` (Tensors in, Tensors out; ``ctx.save_for_backward``,
    ``ctx.saved_tensors``, ``ctx.needs_input_grad``) gets :func:`_apply_with_ctx` as its ``apply``.
    """

    __slots__ = ("parents", "__dict__")

    save_inputs = False
    save_output = False
    is_view = False

    # Per-node state, set on the instance only when used (class defaults keep apply() cheap).
    inputs: tuple[Tensor, ...] | None = None
    versions: tuple[int, ...] | None = None
    out: tuple | None = None
    hooks: dict | None = None
    retained: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):  # PyTorch's ctx style
            if not isinstance(inspect.getattr_static(cls, "backward", None), staticmethod):
                raise TypeError(
                    f"{cls.__name__}: forward is a @staticmethod (PyTorch's style), so backward must be one too: "
                    "@staticmethod def backward(ctx, *grad_outputs)"
                )
            cls.apply = classmethod(_apply_with_ctx)  # type: ignore[assignment]

    def forward(self, *arrays: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad: Tensor) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @classmethod
    def apply(cls, *inputs: Tensor, **kwargs: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and, when grad is on, link the result into the graph."""
        fn = cls.__new__(cls)
        first = inputs[0]
        n = len(inputs)
        if n == 1:
            data = fn.forward(first._data, **kwargs)
            needs = first.requires_grad
        elif n == 2:
            second = inputs[1]
            data = fn.forward(first._data, second._data, **kwargs)
            needs = first.requires_grad or second.requires_grad
        else:
            data = fn.forward(*[t._data for t in inputs], **kwargs)
            needs = any([t.requires_grad for t in inputs])
        if isinstance(data, _numpy_scalar):  # NumPy ufuncs turn 0-d results into scalars
            data = _numpy_asarray(data)
        out = Tensor.__new__(Tensor)
        out._data = data
        out.grad = None
        out._hooks = None
        if cls.is_view:
            out._version = first._version
            out._base = first if first._base is None else first._base
        else:
            out._version = [0]
            out._base = None
        if needs and _mode.enabled:
            if n == 1:
                fn.parents = (first._ctx or first,)
            else:
                fn.parents = tuple([(t._ctx or t) if t.requires_grad else None for t in inputs])
            if cls.save_inputs:
                fn.inputs = inputs
                fn.versions = tuple([t._version[0] for t in inputs])
            if cls.save_output:
                fn.out = (data, out._version, out._version[0])
            out.requires_grad = True
            out._ctx = fn
        else:
            out.requires_grad = False
            out._ctx = None
        return out

    def saved_output(self) -> Tensor:
        """The op's output as a Tensor; linked to this node when the backward pass is recorded."""
        data = self.out[0]
        t = Tensor._wrap(data)
        if _mode.enabled:
            t.requires_grad = True
            t._ctx = self
        return t

    def _check_versions(self) -> None:
        """Raise if a saved input or output was changed in place since this op ran."""
        if self.versions is not None:
            for i, (t, v) in enumerate(zip(self.inputs, self.versions)):
                if t._version[0] != v:
                    name = type(self).__name__
                    raise RuntimeError(_modified_message(name, f"input {i}", t.shape, v, t._version[0]))
        if self.out is not None:
            data, box, v = self.out
            if box[0] != v:
                raise RuntimeError(_modified_message(type(self).__name__, "output", tuple(data.shape), v, box[0]))

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def name(self) -> str:
        """The node's name, e.g. ``MulBackward`` (PyTorch appends a number: ``MulBackward0``)."""
        return f"{type(self).__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """Per input, ``(node, 0)``: the node that made it, an :class:`AccumulateGrad` for a leaf that
        requires grad, or ``(None, 0)``; empty once backward has freed the graph. Walk it to see the graph."""
        if self.parents is None:
            return ()
        return tuple((AccumulateGrad(p) if isinstance(p, Tensor) else p, 0) for p in self.parents)


class AccumulateGrad:
    """Where a leaf's gradient goes (``grad_fn.next_functions`` shows one per leaf input): ``.variable``."""

    next_functions: tuple = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _modified_message(op: str, which: str, shape: tuple, saved: int, now: int) -> str:
    return (
        f"{op}: its {which} (shape {tuple(shape)}) is needed for the backward pass but was modified "
        f"by an in-place operation after the op used it (version {saved}, now {now}). Use the "
        "out-of-place form (`x = x * y` instead of `x *= y`) or `.clone()` the tensor before changing it."
    )


# ------------------------------------------------------------------ PyTorch-style custom functions


class FunctionCtx:
    """The ``ctx`` a PyTorch-style :class:`Function` gets: keep what backward needs on it.

    ``ctx.save_for_backward(*tensors)`` keeps tensors (checked for in-place changes when read back
    through ``ctx.saved_tensors``); any other attribute (``ctx.k = 3``) is kept as it is.
    ``ctx.needs_input_grad`` says, per argument of ``forward``, whether a gradient is wanted.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self._non_differentiable: set[int] = set()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: argument {i} is a {type(t).__name__}; only Tensors (or None) can be "
                    "saved this way, keep other values as attributes (ctx.name = value)"
                )
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version[0] for t in tensors)

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._version[0] != v:
                raise RuntimeError(_modified_message("save_for_backward", f"saved tensor {i}", t.shape, v,
                                                     t._version[0]))
        return self._saved

    def mark_non_differentiable(self, *outputs: Tensor) -> None:
        """These outputs get no gradient (e.g. indices); backward receives zeros for them."""
        self._non_differentiable.update(id(t) for t in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward gets ``None`` (not zeros) for outputs that received no gradient."""
        self.materialize_grads = bool(value)


def _apply_with_ctx(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``F.apply(*args)`` for a PyTorch-style Function: run ``forward(ctx, *args)`` without recording,
    then link the outputs into the graph through one :class:`_CustomNode` whose backward calls
    ``cls.backward(ctx, *grad_outputs)``."""
    if kwargs:
        raise TypeError(f"{cls.__name__}.apply takes positional arguments only (as in PyTorch), got {sorted(kwargs)}")
    needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    ctx = FunctionCtx(needs)
    prev = _mode.enabled
    _mode.enabled = False
    try:
        if isinstance(inspect.getattr_static(cls, "setup_context", None), staticmethod):
            result = cls.forward(*args)
            cls.setup_context(ctx, args, result)
        else:
            result = cls.forward(ctx, *args)
    finally:
        _mode.enabled = prev
    single = isinstance(result, Tensor)
    outs = (result,) if single else result
    if not isinstance(outs, tuple) or not all(isinstance(o, Tensor) or o is None for o in outs):
        raise TypeError(
            f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, got {type(result).__name__}"
        )
    if not (prev and any(needs)):
        return result
    diff = [i for i, o in enumerate(outs)
            if o is not None and o.dtype.kind == "f" and id(o) not in ctx._non_differentiable]
    if not diff:
        return result
    node = _CustomNode.__new__(_CustomNode)
    node.fn_name = cls.__name__
    tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    node.parents = tuple((args[i]._ctx or args[i]) if needs[i] else None for i in tensor_pos)
    node.fn_cls, node.ctx, node.n_args, node.tensor_pos = cls, ctx, len(args), tensor_pos
    node.in_shapes = [args[i].shape for i in tensor_pos]
    node.layout = [(i, outs[i].shape, outs[i].dtype) for i in diff]
    node.n_outs = len(outs)
    node.out_meta = [None if o is None else (o.shape, o._data.dtype, o._xp) for o in outs]
    new = [None if o is None else Tensor._wrap(o._data) for o in outs]  # fresh objects: an input returned
    if len(diff) == 1:                                                  # as it is keeps its own history
        t = new[diff[0]]
        t.requires_grad, t._ctx = True, node
    else:
        # Several differentiable outputs: the node's one output is their flattened concatenation, and
        # each output is a slice of it, so backward receives all output gradients at once.
        xp = outs[diff[0]]._xp
        dtype = outs[diff[0]].dtype
        for i in diff[1:]:
            dtype = xp.promote_types(dtype, outs[i].dtype)
        packed = Tensor._wrap(xp.concatenate([outs[i]._data.reshape(-1).astype(dtype) for i in diff]))
        packed.requires_grad, packed._ctx = True, node
        start = 0
        for i in diff:
            n = outs[i]._data.size
            new[i] = packed[start:start + n].reshape(outs[i].shape).to(outs[i].dtype)
            start += n
    if ctx._saved:  # a saved output is the graph-linked one (so a recorded backward can differentiate it)
        swap = {id(o): t for o, t in zip(outs, new) if o is not None}
        ctx.save_for_backward(*[swap.get(id(t), t) for t in ctx._saved])
    return new[0] if single else tuple(new)


class _CustomNode(Function):
    """The graph node of one PyTorch-style Function call (see :func:`_apply_with_ctx`)."""

    __slots__ = ("fn_name",)

    def name(self) -> str:
        return f"{self.fn_name}Backward"

    def backward(self, g: Tensor) -> Any:
        ctx = self.ctx
        grads: list[Any] = [None] * self.n_outs
        if len(self.layout) == 1:
            grads[self.layout[0][0]] = g
        else:
            start = 0
            for i, shape, dtype in self.layout:
                n = 1
                for s in shape:
                    n *= s
                grads[i] = g[start:start + n].reshape(shape).to(dtype)
                start += n
        if ctx.materialize_grads:
            for i, meta in enumerate(self.out_meta):
                if grads[i] is None and meta is not None:
                    grads[i] = Tensor._wrap(meta[2].zeros(meta[0], dtype=meta[1]))
        result = self.fn_cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        name = self.fn_name
        if len(result) < self.n_args or any(r is not None for r in result[self.n_args:]):
            raise RuntimeError(
                f"{name}.backward returned {len(result)} gradients but forward took {self.n_args} arguments; "
                "return one gradient (or None) per forward argument"
            )
        out = []
        for k, (i, shape) in enumerate(zip(self.tensor_pos, self.in_shapes)):
            gi = result[i]
            if gi is not None and self.parents[k] is not None:
                if not isinstance(gi, Tensor):
                    raise TypeError(f"{name}.backward: gradient {i} must be a Tensor or None, got {type(gi).__name__}")
                if gi.shape != shape:
                    raise RuntimeError(
                        f"{name}.backward returned a gradient of shape {gi.shape} for argument {i}, "
                        f"which has shape {shape}; gradients must have their input's shape"
                    )
            out.append(gi)
        return tuple(out)


def once_differentiable(fn: Callable) -> Callable:
    """Decorator for a PyTorch-style ``backward`` that cannot itself be differentiated: it runs without
    recording even under ``create_graph=True``, so its gradients carry no graph."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with no_grad():
            return fn(ctx, *grads)

    return wrapper


# ----------------------------------------------------------------------------------- backward pass


def _topological_order(roots: Iterable[Function]) -> list[Function]:
    """Nodes reachable from ``roots``, each before every node it feeds (iterative DFS, no recursion).

    Nodes are used as dict/set keys directly: they hash by identity, which is what we want.
    """
    order: list[Function] = []
    seen: set[Function] = set()
    stack: list = []
    for r in roots:
        stack.append(r)
    # A node is pushed once to expand it and, marked by a following None, once more to emit it.
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())
            continue
        if node in seen:
            continue
        seen.add(node)
        parents = node.parents
        if parents is None:
            raise RuntimeError(
                f"trying to backward through the graph a second time ({node!r}): its saved tensors "
                "were freed after the first backward. Pass retain_graph=True to the first backward() "
                "if you need to run backward twice, or recompute the forward pass."
            )
        stack.append(node)
        stack.append(None)
        for p in parents:
            if p is not None and p not in seen and not isinstance(p, Tensor):  # Parameters too
                stack.append(p)
    order.reverse()
    return order


def _node_extras(node: Function, g: Tensor, create_graph: bool, wanted: dict, captured: list) -> Tensor:
    """Hooks, retain_grad and autograd.grad captures for one node (the rare path of the loop)."""
    if node.hooks:
        for hook in list(node.hooks.values()):
            r = hook(g)
            if r is not None:
                g = r
    if node.retained is not None:
        t = node.retained()
        if t is not None and t._ctx is node:
            gg = g if create_graph else g.detach()
            t.grad = gg if t.grad is None else t.grad + gg
    i = wanted.get(node)
    if i is not None:
        captured[i] = g
    return g


def _accumulate(store: dict, key: Any, g: Tensor) -> None:
    prev = store.get(key)
    store[key] = g if prev is None else prev + g


def _deliver(leaf: Tensor, g: Tensor, wanted: dict, captured: list, accumulate: bool, create_graph: bool,
             handed: set[int]) -> None:
    """Hand a leaf its finished gradient: its hooks, an ``autograd.grad`` capture, ``.grad`` accumulation,
    then its post-accumulate hooks."""
    if leaf._hooks:
        for hook in leaf._hooks.values():
            r = hook(g)
            if r is not None:
                g = r
    i = wanted.get(leaf)
    if i is not None:
        captured[i] = g
    if not accumulate:
        return
    if not create_graph:
        # A leaf gets its own writable array: one backward can hand the same array to two
        # leaves (``a + b``), and a broadcast gradient is a read-only view.
        arr = g._data
        base = arr.base
        owner = id(arr if base is None else base)
        if owner in handed or (base is not None and not getattr(arr.flags, "writeable", True)):
            arr = arr.copy()
        handed.add(owner)
        g = Tensor._wrap(arr)
    if g.dtype != leaf.dtype:
        g = g.to(leaf.dtype)
    leaf.grad = g if leaf.grad is None else leaf.grad + g
    post = getattr(leaf, "_post_hooks", None)
    if post:
        for hook in list(post.values()):
            hook(leaf)


def _last_consumers(order: list[Function]) -> dict[Function, list[Tensor]]:
    """``{node: leaves}``: for each leaf with post-accumulate hooks, the last node in ``order`` that
    feeds it a gradient (after that node runs, the leaf's gradient is complete)."""
    last: dict[Tensor, Function] = {}
    for node in order:
        for p in node.parents or ():
            if isinstance(p, Tensor) and getattr(p, "_post_hooks", None):
                last[p] = node
    out: dict[Function, list[Tensor]] = {}
    for leaf, node in last.items():
        out.setdefault(node, []).append(leaf)
    return out


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
    accumulate: bool = True,
) -> list[Tensor | None] | None:
    """The backward pass shared by ``Tensor.backward`` and :func:`grad`.

    With ``accumulate`` the gradients of leaves go into their ``.grad``; with ``inputs`` the gradients
    with respect to those tensors are returned instead (leaves or not).
    """
    node_grads: dict[Function, Tensor] = {}
    leaf_grads: dict[Tensor, Tensor] = {}  # Tensors hash by identity too (__hash__ = object.__hash__)
    start: list[Function] = []
    for r, g in zip(roots, root_grads):
        if r._ctx is None:
            _accumulate(leaf_grads, r, g)
        else:
            start.append(r._ctx)
            _accumulate(node_grads, r._ctx, g)

    wanted: dict = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            wanted[t._ctx if t._ctx is not None else t] = i
    captured: list[Tensor | None] = [None] * (len(inputs) if inputs is not None else 0)

    prev_mode = _mode.enabled
    _mode.enabled = create_graph
    pop = node_grads.pop
    handed: set[int] = set()
    try:
        order = _topological_order(start)
        # Leaves with post-accumulate hooks (DistributedDataParallel's) are handed their gradient as soon
        # as the last node feeding them has run, so the hooks overlap with the rest of the backward pass.
        early = _last_consumers(order) if accumulate and _post_hook_count else None
        for node in order:
            g = pop(node, None)
            if g is None:
                continue
            state = node.__dict__
            if wanted or "hooks" in state or "retained" in state:
                g = _node_extras(node, g, create_graph, wanted, captured)
            if "versions" in state or "out" in state:
                node._check_versions()
            grads = node.backward(g)
            if type(grads) is not tuple:
                grads = (grads,)
            for p, pg in zip(node.parents, grads):
                if p is None or pg is None:
                    continue
                store = node_grads if isinstance(p, Function) else leaf_grads
                prev = store.get(p)
                store[p] = pg if prev is None else prev + pg
            if early is not None and node in early:
                for leaf in early[node]:
                    if leaf in leaf_grads:
                        _deliver(leaf, leaf_grads.pop(leaf), wanted, captured, accumulate, create_graph, handed)
            if not retain_graph:
                node.parents = None
                state.clear()

        for leaf, g in leaf_grads.items():
            _deliver(leaf, g, wanted, captured, accumulate, create_graph, handed)
    finally:
        _mode.enabled = prev_mode
    return captured if inputs is not None else None


def _check_root_grad(t: Tensor, g: Tensor | None, where: str) -> Tensor:
    if g is None:
        if t.numel() != 1:
            raise RuntimeError(
                f"{where}: grad can be implicitly created only for scalar outputs, but the output has "
                f"shape {t.shape}. Reduce it first (e.g. `loss.sum().backward()`) or pass "
                "`gradient=` (a tensor of the output's shape)."
            )
        return Tensor._wrap(t._xp.ones(t.shape, dtype=t.dtype))
    if not isinstance(g, Tensor):
        g = Tensor(g, dtype=t.dtype, device=t.device)
    if g.shape != t.shape:
        raise ValueError(f"{where}: gradient has shape {g.shape} but the output has shape {t.shape}")
    if g.device != t.device:
        raise RuntimeError(f"{where}: gradient is on {g.device} but the output is on {t.device}")
    return g


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate into the leaves' ``.grad`` the gradients of ``tensors`` (see ``Tensor.backward``)."""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError(
                "backward: the tensor does not require grad and has no graph. Create the inputs with "
                "requires_grad=True (or call .requires_grad_()), and make sure the computation did "
                "not run under no_grad()."
            )
    grads = [_check_root_grad(t, g, "backward") for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(tensors, grads, retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is left untouched).

    ``create_graph=True`` records the backward pass, so the result can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor with requires_grad=True")
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("grad: an output does not require grad (it does not depend on the inputs)")
    grads = [_check_root_grad(t, g, "grad") for t, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=False)
    assert result is not None
    for i, r in enumerate(result):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(result)


# ------------------------------------------------------------------------------------------- hooks


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` takes the hook off again."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def register_hook(t: Tensor, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
    if not callable(hook):
        raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
    if t._ctx is None:
        if t._hooks is None:
            t._hooks = {}
        store = t._hooks
    else:
        if t._ctx.hooks is None:
            t._ctx.hooks = {}
        store = t._ctx.hooks
    handle = RemovableHandle(store)
    store[handle.id] = hook
    return handle


_post_hook_count = 0  # live post-accumulate hooks: run_backward looks for their leaves only while > 0


class _PostHookHandle(RemovableHandle):
    def remove(self) -> None:
        global _post_hook_count
        if self.hooks.pop(self.id, None) is not None:
            _post_hook_count -= 1


def register_post_accumulate_grad_hook(t: Tensor, hook: Callable[[Tensor], None]) -> RemovableHandle:
    """Call ``hook(t)`` once ``t.grad`` holds this backward pass's gradient (PyTorch's name). Only
    for leaves; the hook runs as soon as no later node can add to the gradient, while the rest of the
    backward pass still runs (what data-parallel training overlaps its communication with)."""
    global _post_hook_count
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: expected a callable, got {type(hook).__name__}")
    if t._ctx is not None or not t.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: only leaf tensors that require grad accumulate "
                           "a .grad; use register_hook on a computed tensor")
    store = getattr(t, "_post_hooks", None)
    if store is None:
        store = t._post_hooks = {}
    handle = _PostHookHandle(store)
    store[handle.id] = hook
    _post_hook_count += 1
    return handle


# ----------------------------------------------------------------------------------------- gradcheck


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Tensor | Sequence[Tensor]],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare backprop's Jacobian of ``fn`` with central finite differences, in float64.

    ``inputs`` are the arguments of ``fn``; the Tensors among them with ``requires_grad=True`` are
    checked (they should be float64: float32 differences are too coarse). Every output element is
    back-propagated (one row of the Jacobian each) and every input element perturbed by ``±eps``
    (one column each), so keep shapes small. Returns True, or raises :class:`GradcheckError` naming the
    input, the element and both values (returns False instead when ``raise_exception=False``).
    """
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    targets = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    if not targets:
        raise ValueError("gradcheck: no input is a Tensor with requires_grad=True")
    for t in targets:
        if t.dtype.kind != "f":
            raise TypeError("gradcheck: inputs must be floating tensors")

    def outputs() -> list[Tensor]:
        out = fn(*args)
        return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]

    with enable_grad():
        outs = outputs()
    analytic = [[] for _ in targets]  # per input: list of rows (one per output element)
    for out in outs:
        if out.dtype.kind != "f":
            continue
        flat_n = out.numel()
        for k in range(flat_n):
            seed = out._xp.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[k] = 1
            with enable_grad():
                gs = grad(out, targets, Tensor._wrap(seed), retain_graph=True, allow_unused=True)
            for i, g in enumerate(gs):
                row = g._data.reshape(-1) if g is not None else targets[i]._xp.zeros(targets[i].numel())
                analytic[i].append(row.astype("float64"))

    for i, t in enumerate(targets):
        flat = t._data.reshape(-1)
        for j in range(t.numel()):
            orig = flat[j].item()
            flat[j] = orig + eps
            with no_grad():
                plus = [o._data.astype("float64").reshape(-1) for o in outputs() if o.dtype.kind == "f"]
            flat[j] = orig - eps
            with no_grad():
                minus = [o._data.astype("float64").reshape(-1) for o in outputs() if o.dtype.kind == "f"]
            flat[j] = orig
            col = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
            numeric = t._xp.concatenate(col) if col else t._xp.zeros(0)
            ana = t._xp.asarray([row[j] for row in analytic[i]]) if analytic[i] else t._xp.zeros(0)
            bad = abs(numeric - ana) > atol + rtol * abs(numeric)
            if bad.any():
                k = int(bad.argmax())
                msg = (
                    f"gradcheck: Jacobian mismatch for input {i} "
                    f"(shape {t.shape}), element {j}, output element {k}: backward gives "
                    f"{float(ana[k]):.8g}, finite differences give {float(numeric[k]):.8g} "
                    f"(atol={atol}, rtol={rtol}, eps={eps})"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True
