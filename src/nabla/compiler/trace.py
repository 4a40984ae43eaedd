"""Tracing: run the user's function eagerly once while recording what it does as a :class:`Program`.

While a :class:`Tracer` is active, a few entry points of nabla are swapped for recording versions:

* ``Function.apply`` — every op's ``forward`` becomes an instruction ``f = C.__new__(C); v = f.forward(...)``;
* ``autograd.backward`` (``loss.backward()``) — the backward pass is emitted node by node: ops with a
  ``compiled_backward`` kernel (arrays in, arrays out) call it; others call their Tensor-level ``backward``
  on the replayed op instance under ``no_grad``; then each leaf's ``.grad`` is assigned or accumulated;
* ``Optimizer.step`` / ``zero_grad``, ``Module.zero_grad`` — recorded as calls (effects);
* in-place updates outside the graph (``p -= lr * p.grad`` under ``no_grad``) — recorded as writes.

What cannot be replayed faithfully — reading a tensor's value in Python (``.item()``, ``if t:``), random
numbers drawn outside an op, hooks, ``create_graph``, PyTorch-style custom Functions in a backward — makes
the tracer *give up* (``self.broken`` names the reason): recording stops, the call finishes eagerly, and
the caller runs this variant eagerly from then on. It never changes what the call computes.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .. import autograd, backend, ops
from ..autograd import Function, _mode, _topological_order
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .program import Instr, Program

_lock = threading.Lock()
_active: Tracer | None = None

# The originals of everything the tracer swaps (restored on exit).
_ORIG_APPLY = Function.__dict__["apply"]
_ORIG_BACKWARD = autograd.backward
_ORIG_GRAD = autograd.grad
_ORIG_OPT_STEP = Optimizer.step
_ORIG_OPT_ZERO = Optimizer.zero_grad
_ORIG_MOD_ZERO = Module.zero_grad
_ORIG_INPLACE = ops.inplace
_ORIG_FOR_DEVICE = backend.Generator.for_device
_VALUE_READS = ("item", "numpy", "tolist", "__bool__", "__float__", "__int__", "__index__", "__array__")
_ORIG_READS = {name: Tensor.__dict__[name] for name in _VALUE_READS if name in Tensor.__dict__}


class _Present:
    """The ``parents`` entry a replayed op instance gets for an input that needs a gradient (the
    backward methods only test ``is not None``)."""

    def __repr__(self) -> str:
        return "<input that needs grad>"


PRESENT = _Present()


def _where() -> str:
    """``file:line`` of the first frame outside nabla (where the user's code did the unsupported thing)."""
    f = sys._getframe(2)
    while f is not None:
        name = f.f_code.co_filename
        if "/nabla/" not in name.replace("\\", "/"):
            return f"{name}:{f.f_lineno}"
        f = f.f_back
    return "?"


class Tracer:
    """Records one call of the user's function into a :class:`Program` (see the module docstring)."""

    def __init__(self, args: list[Tensor], grad_mode: bool) -> None:
        self.program = Program(n_args=len(args))
        self.broken: str | None = None
        self.suspended = 0  # > 0 while nabla's own code runs on the trace's behalf (not recorded)
        self.in_forward = 0
        self.names: dict[int, str] = {}  # id(Tensor) -> expression for its array
        self.arrays: dict[int, str] = {}  # id(array) -> name, for arrays the program made
        self.keep: list[Any] = []  # everything registered, so no id is reused while tracing
        self.vals: dict[str, Any] = {}  # name or expression -> this call's array
        self.objects: dict[int, str] = {}  # id(object) -> global name
        self.externals: dict[int, Tensor] = {}
        self.nodes: dict[Function, tuple[str, tuple[str, ...], str]] = {}  # node -> (instance, inputs, output)
        self.counter = 0
        self.leaves: dict[int, tuple[Tensor, str, Tensor]] = {}  # id(leaf) -> (leaf, its ref, delivered grad)
        self.delivered: dict[int, Instr] = {}  # id(leaf) -> the instruction that assigns its .grad
        self.backward_calls = 0
        self.effects: list[Any] = []  # optimizers whose step/zero_grad the program calls
        self.grad_mode = grad_mode
        self.keep_args = list(args)
        for i, t in enumerate(args):
            self._register(t, f"a{i}")
            self.objects[id(t)] = f"A{i}"

    # ---------------------------------------------------------------------------------- naming

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def bind(self, obj: Any, prefix: str = "K") -> str:
        """A global name for ``obj`` in the program (the same object always gets the same name)."""
        name = self.objects.get(id(obj))
        if name is None:
            name = self.fresh(prefix)
            self.objects[id(obj)] = name
            self.program.bindings[name] = obj
            self.keep.append(obj)
        return name

    def _register(self, t: Tensor, name: str) -> None:
        self.names[id(t)] = name
        self.vals[name] = t._data
        self.arrays[id(t._data)] = name
        self.keep.append(t)
        self.keep.append(t._data)

    def ref(self, t: Tensor) -> str:
        """The expression for ``t``'s array: a program name, or ``E._data`` for a tensor from outside
        (read when the instruction runs, so in-place updates between replays are seen)."""
        name = self.names.get(id(t))
        if name is not None:
            return name
        name = self.arrays.get(id(t._data))  # a new Tensor around an array the program made (detach, ...)
        if name is None:
            name = f"{self.bind(t, 'E')}._data"
            self.externals[id(t)] = t
            self.vals[name] = t._data
        self.names[id(t)] = name
        self.keep.append(t)
        return name

    def obj(self, t: Tensor) -> str:
        """The expression for the Tensor object itself (an argument ``A<i>`` or a bound global)."""
        return self.objects.get(id(t)) or self.bind(t, "E")

    def value_expr(self, v: Any) -> str:
        """A keyword argument of an op: arrays the program made by name, anything else bound as is."""
        if backend.is_array(v):
            name = self.arrays.get(id(v))
            if name is not None:
                return name
        if v is None or isinstance(v, (bool, int, float, str)):
            return repr(v)
        return self.bind(v)

    def emit(self, code: str, defs: tuple = (), uses: tuple = (), effect: bool = False, kind: str = "forward",
             grad_mode: bool | None = None) -> None:
        self.program.instrs.append(Instr(code, tuple(defs), tuple(uses), effect,
                                         _mode.enabled if grad_mode is None else grad_mode, kind))

    def give_up(self, reason: str) -> None:
        if self.broken is None:
            self.broken = f"{reason} (at {_where()})"

    # ------------------------------------------------------------------------------- recording

    def record_forward(self, cls: type, inputs: tuple, kwargs: dict, out: Tensor) -> None:
        ins = [self.ref(t) for t in inputs]
        kwx = {k: self.value_expr(v) for k, v in kwargs.items()}
        k = self.fresh("")
        v = f"v{k}"
        inline = getattr(cls, "compiled_forward", None)
        node = out._ctx
        if inline is not None:
            # The op's forward written as one expression; what its backward needs (shapes, kwargs) does not
            # change between calls, so the trace-time instance serves every replay.
            if callable(inline):
                call = inline(ins, kwx)
            else:
                mod = backend.array_module(out._data)
                call = inline.format(*ins, xp=self.bind(mod, "X"), special=self.bind(backend.special(out._data), "X"),
                                     **kwx)
            f = None
            if node is not None:
                inst = cls.__new__(cls)
                inst.__dict__.update({n: x for n, x in node.__dict__.items()
                                      if n not in ("inputs", "versions", "out", "hooks", "retained")})
                f = self.bind(inst, "F")
            defs: tuple = (v,)
        else:
            c = self.bind(cls, "C")
            f = f"f{k}"
            call = f"{f}.forward({', '.join(ins)}{''.join(f', {n}={x}' for n, x in kwx.items())})"
            defs = (f, v)
        if out._data.ndim == 0:
            call = f"_asarray({call})"  # NumPy ufuncs return scalars for 0-d results; apply() makes them arrays
        uses = list(ins) + [n for x in kwx.values() for n in _kw_names(x)]
        self.emit(f"{v} = {call}" if inline is not None else f"{f} = {c}.__new__({c}); {v} = {call}", defs, uses)
        self.program.instrs[-1].label = f"{cls.__name__}\n{tuple(out._data.shape)}"
        uf = getattr(cls, "compiled_ufunc", None)
        if uf is not None and out._data.ndim:
            mod = backend.special(out._data) if uf.startswith("special.") else backend.array_module(out._data)
            self.program.instrs[-1].ufunc = (self.bind(mod, "X"), uf.split(".")[-1], tuple(ins))
        self._register(out, v)
        if node is not None:
            self.nodes[node] = (f, tuple(ins), v)

    def backward(self, tensors: list[Tensor], grads: list[Tensor], retain_graph: bool,
                 symbolic: list[str] | None = None) -> dict[Tensor, str] | None:
        """Emit (and run, for this call's values) the backward pass from ``tensors``.

        ``symbolic``: the names the root gradients will have (parameters of a separate backward program,
        see api.py's graph variants): the graph is left intact and, instead of assigning ``.grad``, the
        leaves' gradient names are returned."""
        from ..autograd import _CustomNode

        self.backward_calls += symbolic is None
        node_grads: dict[Function, str] = {}
        leaf_grads: dict[Tensor, str] = {}
        values: dict[str, Any] = {}
        start = []

        def add(store: dict, key: Any, name: str, value: Any) -> None:
            prev = store.get(key)
            if prev is None:
                store[key] = name
                values[name] = value
            else:
                acc = self.fresh("s")
                values[acc] = values[prev] + value
                self.vals[acc] = values[acc]
                self.emit(f"{acc} = {prev} + {name}", (acc,), (prev, name), kind="backward", grad_mode=False)
                self.program.instrs[-1].label = "accumulate +"
                self.program.instrs[-1].ufunc = (self.bind(backend.array_module(value), "X"), "add", (prev, name))
                store[key] = acc

        for i, (r, g) in enumerate(zip(tensors, grads)):
            gname = self.ref(g) if symbolic is None else symbolic[i]
            gval = g._data
            if r._ctx is None:
                add(leaf_grads, r, gname, gval)
            else:
                start.append(r._ctx)
                add(node_grads, r._ctx, gname, gval)
        order = _topological_order(start)
        for node in order:  # everything that makes the trace give up is checked before anything changes
            if "hooks" in node.__dict__ or "retained" in node.__dict__:
                self.give_up("a tensor hook or retain_grad() in the graph")
            elif node not in self.nodes or isinstance(node, _CustomNode):
                self.give_up(f"backward through {node.name()}, which was not recorded by this trace")
            for p in node.parents:
                if isinstance(p, Tensor) and (p._hooks or getattr(p, "_post_hooks", None)):
                    self.give_up("a gradient hook on a parameter (e.g. DistributedDataParallel's)")
        if self.broken:
            return None
        for node in order:
            gname = node_grads.pop(node, None)
            if gname is None:
                continue
            state = node.__dict__
            info = self.nodes[node]
            if "versions" in state or "out" in state:
                node._check_versions()
            f, ins, v = info
            parents = node.parents
            needs = tuple(p is not None for p in parents)
            in_vals = [self._value_of(n, values) for n in ins]
            out_val = self._value_of(v, values)
            gval = values.get(gname)
            if gval is None:
                gval = self._value_of(gname, values)
            k = self.fresh("")
            outs = [f"b{k}_{i}" for i in range(len(needs))]
            cls = type(node)
            # only what the op's backward reads: the inputs if it saves them, the output if it saves it
            ins_arg = ins if cls.save_inputs else tuple("None" for _ in ins)
            out_arg = v if cls.save_output else "None"
            if hasattr(cls, "compiled_backward"):
                n = self.bind(needs)
                res = node.compiled_backward(gval, tuple(in_vals), out_val, needs)
                call = (f"{f}.compiled_backward({gname}, ({', '.join(ins_arg)}{',' if len(ins) == 1 else ''}), "
                        f"{out_arg}, {n})")
            else:
                pat = tuple(PRESENT if x else None for x in needs)
                n = self.bind(pat)
                self.suspended += 1
                run_on = node
                if symbolic is not None:  # leave the caller's graph as it is: run a copy of the node
                    run_on = cls.__new__(cls)
                    run_on.__dict__.update(node.__dict__)
                try:
                    res = generic_backward(run_on, gval, tuple(in_vals), out_val, pat)
                finally:
                    self.suspended -= 1
                call = (f"_generic_backward({f}, {gname}, ({', '.join(ins_arg)}{',' if len(ins) == 1 else ''}), "
                        f"{out_arg}, {n})")
            lhs = ", ".join(outs) + ("," if len(outs) == 1 else "")
            read = [x for x in (*ins_arg, out_arg) if x != "None"]
            self.emit(f"{lhs} = {call}", tuple(outs), (f, gname, *read), kind="backward", grad_mode=False)
            self.program.instrs[-1].label = f"{cls.__name__} backward" + ("" if hasattr(cls, "compiled_backward")
                                                                          else "\n(Tensor-level)")
            for p, name, val in zip(parents, outs, res):
                if p is None or val is None:
                    continue
                values[name] = val
                self.vals[name] = val
                add(node_grads if isinstance(p, Function) else leaf_grads, p, name, val)
            if not retain_graph and symbolic is None:
                node.parents = None
                state.clear()
        if symbolic is not None:
            return leaf_grads
        handed: set[int] = set()
        for leaf, name in leaf_grads.items():
            self._deliver(leaf, name, values[name], handed)
        return None

    def _value_of(self, name: str, values: dict) -> Any:
        return values[name] if name in values else self.vals[name]

    def _deliver(self, leaf: Tensor, name: str, value: Any, handed: set[int]) -> None:
        """``leaf.grad = g`` (or ``leaf.grad + g``), as ``autograd._deliver`` does, recorded."""
        base = value.base
        owner = id(value if base is None else base)
        expr = name
        if owner in handed or (base is not None and not getattr(value.flags, "writeable", True)):
            value = value.copy()
            expr = f"{name}.copy()"
        handed.add(owner)
        if value.dtype != leaf.dtype:
            value = value.astype(leaf.dtype)
            expr = f"{expr}.astype({self.bind(leaf.dtype)})"
        L = self.obj(leaf)
        d = self.fresh("d")
        prev = leaf.grad
        final = value if prev is None else prev._data + value
        self.vals[d] = final
        self.emit(f"_t = {L}.grad\n{d} = {expr} if _t is None else _t._data + {expr}\n{L}.grad = _wrap({d})",
                  (d,), (name,), effect=True, kind="effect", grad_mode=False)
        self.delivered[id(leaf)] = self.program.instrs[-1]
        self.program.instrs[-1].label = f".grad of {L} {tuple(leaf.shape)}"
        leaf.grad = Tensor._wrap(final)
        self._register(leaf.grad, d)
        self.leaves[id(leaf)] = (leaf, L, leaf.grad)

    def finish_leaves(self) -> None:
        """After the call: a leaf whose ``.grad`` the function reset (``p.grad = None``) or replaced gets
        the same final ``.grad`` on replay."""
        calls = any(ins.kind == "effect" and ins.code.startswith("O") for ins in self.program.instrs)
        for leaf, L, delivered in self.leaves.values():
            g = leaf.grad
            if g is delivered:
                continue
            if g is None:
                self.program.epilogue.append(f"{L}.grad = None")
                if not calls:  # nothing reads .grad before the epilogue resets it: skip the store
                    ins = self.delivered[id(leaf)]
                    ins.code = ins.code.rsplit("\n", 1)[0]
            else:
                self.program.epilogue.append(f"{L}.grad = _wrap({self.ref(g)})")

    def effect_call(self, target: Any, code: str, run: Any) -> Any:
        """Record ``code`` (a call on ``target``, bound as ``O``) as an effect and run ``run()`` unrecorded."""
        o = self.bind(target, "O")
        self.emit(code.replace("{O}", o), (), (o,), effect=True, kind="effect")
        self.program.instrs[-1].label = f"{type(target).__name__}.{code.split('.', 1)[1].split('(')[0]}()"
        if target not in self.effects:
            self.effects.append(target)
        self.suspended += 1
        try:
            return run()
        finally:
            self.suspended -= 1

    def write(self, x: Tensor, out: Tensor) -> None:
        """Record ``x[...] = out`` (an in-place update outside the graph) and bump x's version."""
        src = self.ref(out)
        if id(x) in self.names and not self.names[id(x)].endswith("._data"):
            dst = self.names[id(x)]
            self.emit(f"{dst}[...] = {src}", (), (dst, src), effect=True, kind="effect")
        else:
            X = self.obj(x)
            self.emit(f"{X}._data[...] = {src}; {X}._version[0] += 1", (), (X, src), effect=True, kind="effect")
            self.program.instrs[-1].write = (X, src)
        self.program.instrs[-1].label = f"write into {self.obj(x) if id(x) not in self.names else self.names[id(x)]}"


def _kw_names(expr: str) -> list[str]:
    """The program names (``v3``, ``d7``, ...) in a keyword argument's expression."""
    return [tok for tok in expr.replace(",", " ").replace("=", " ").split() if tok[:1] in "vdsb" and tok[1:2].isdigit()]


def generic_backward(fn: Function, g: Any, ins: tuple, out: Any, parents: tuple) -> tuple:
    """Run an op's Tensor-level ``backward`` on arrays: the replayed instance gets the inputs and output
    it would have saved, and its gradients come back as arrays (``None`` where there is none)."""
    fn.parents = parents
    cls = type(fn)
    if cls.save_inputs:
        fn.inputs = tuple([Tensor._wrap(a) for a in ins])
    if cls.save_output:
        fn.out = (out, [0], 0)
    prev = _mode.enabled
    _mode.enabled = False
    try:
        r = fn.backward(Tensor._wrap(g))
    finally:
        _mode.enabled = prev
    if type(r) is not tuple:
        r = (r,)
    return tuple([None if t is None else t._data for t in r])


# ----------------------------------------------------------------------------------- the hooks


def _traced_apply(cls: type, *inputs: Tensor, **kwargs: Any) -> Tensor:
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_APPLY.__func__(cls, *inputs, **kwargs)
    tr.in_forward += 1
    try:
        out = _ORIG_APPLY.__func__(cls, *inputs, **kwargs)
    finally:
        tr.in_forward -= 1
    if not tr.broken:
        tr.record_forward(cls, inputs, kwargs, out)
    return out


def _traced_backward(tensors: Any, grad_tensors: Any = None, retain_graph: Any = None, create_graph: bool = False):
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_BACKWARD(tensors, grad_tensors, retain_graph, create_graph)
    if create_graph or retain_graph:
        tr.give_up("backward(create_graph=True or retain_graph=True)")
        return _ORIG_BACKWARD(tensors, grad_tensors, retain_graph, create_graph)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    for t in tensors:
        if not t.requires_grad:
            tr.give_up("backward() on a tensor that does not require grad")
            return _ORIG_BACKWARD(tensors, grad_tensors, retain_graph, create_graph)
    grads = []
    for t, g in zip(tensors, grad_tensors):
        g = autograd._check_root_grad(t, g, "backward")
        if id(g) not in tr.names and id(g._data) not in tr.arrays:
            tr.names[id(g)] = tr.bind(g._data, "K")  # the implicit ones (or a constant gradient)
            tr.keep.append(g)
        grads.append(g)
    prev = _mode.enabled
    _mode.enabled = False
    try:
        tr.backward(tensors, grads, False)
    finally:
        _mode.enabled = prev
    if tr.broken:  # it gave up before changing anything: this call's backward runs eagerly
        return _ORIG_BACKWARD(tensors, grad_tensors, retain_graph, create_graph)
    return None


def _traced_grad(*args: Any, **kwargs: Any):
    tr = _active
    if tr is not None and not tr.suspended:
        tr.give_up("autograd.grad()")
    return _ORIG_GRAD(*args, **kwargs)


def _traced_opt_step(self: Optimizer, closure: Any = None) -> Any:
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_OPT_STEP(self, closure)
    if closure is not None or type(self).step is not _traced_opt_step:
        tr.give_up(f"{type(self).__name__}.step with a closure")
        return _ORIG_OPT_STEP(self, closure)
    return tr.effect_call(self, "{O}.step()", lambda: _ORIG_OPT_STEP(self))


def _traced_opt_zero(self: Optimizer, set_to_none: bool = True) -> None:
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_OPT_ZERO(self, set_to_none)
    return tr.effect_call(self, f"{{O}}.zero_grad({bool(set_to_none)})", lambda: _ORIG_OPT_ZERO(self, set_to_none))


def _traced_mod_zero(self: Module, set_to_none: bool = True) -> None:
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_MOD_ZERO(self, set_to_none)
    return tr.effect_call(self, f"{{O}}.zero_grad({bool(set_to_none)})", lambda: _ORIG_MOD_ZERO(self, set_to_none))


def _traced_inplace(x: Tensor, fn: Any, other: Any, op: str) -> Tensor:
    tr = _active
    if tr is None or tr.broken or tr.suspended:
        return _ORIG_INPLACE(x, fn, other, op)
    recording = _mode.enabled and (x.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
    if recording:
        tr.give_up(f"an in-place op ({op}) on a tensor that is part of the graph")
        return _ORIG_INPLACE(x, fn, other, op)
    prev = _mode.enabled
    _mode.enabled = False
    try:
        alias = Tensor._wrap(x._data)
        tr.names[id(alias)] = tr.ref(x)
        tr.keep.append(alias)
        out = fn(alias, other)
        if out._data.shape != x._data.shape or out.dtype != x.dtype:
            return _ORIG_INPLACE(x, fn, other, op)  # the eager path raises the right error / casts
        tr.write(x, out)
        x._data[...] = out._data
        x._version[0] += 1
    finally:
        _mode.enabled = prev
    return x


def _traced_for_device(self: Any, d: Any) -> Any:
    tr = _active
    if tr is not None and not tr.suspended and not tr.in_forward:
        tr.give_up("random numbers drawn outside an op (nabla.rand/randn/... inside the compiled function)")
    return _ORIG_FOR_DEVICE(self, d)


def _value_read(name: str) -> Any:
    orig = _ORIG_READS[name]

    def read(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        tr = _active
        if tr is not None and not tr.suspended:
            tr.give_up(f"Tensor.{name}() reads a tensor's value in Python")
        return orig(self, *args, **kwargs)

    read.__name__ = name
    return read


_PATCHES = [
    (Function, "apply", classmethod(_traced_apply), _ORIG_APPLY),
    (autograd, "backward", _traced_backward, _ORIG_BACKWARD),
    (autograd, "grad", _traced_grad, _ORIG_GRAD),
    (Optimizer, "step", _traced_opt_step, _ORIG_OPT_STEP),
    (Optimizer, "zero_grad", _traced_opt_zero, _ORIG_OPT_ZERO),
    (Module, "zero_grad", _traced_mod_zero, _ORIG_MOD_ZERO),
    (ops, "inplace", _traced_inplace, _ORIG_INPLACE),
    (backend.Generator, "for_device", _traced_for_device, _ORIG_FOR_DEVICE),
] + [(Tensor, name, _value_read(name), orig) for name, orig in _ORIG_READS.items()]


class tracing:
    """``with tracing(tracer):`` swap the recording entry points in (one trace at a time, process-wide)."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __enter__(self) -> Tracer:
        global _active
        _lock.acquire()
        _active = self.tracer
        for owner, name, new, _ in _PATCHES:
            setattr(owner, name, new)
        return self.tracer

    def __exit__(self, *exc: Any) -> None:
        global _active
        for owner, name, _, orig in _PATCHES:
            setattr(owner, name, orig)
        _active = None
        _lock.release()
