"""``nabla.compile``: trace a function once, replay it as a flat program of array operations.

A call is matched to a *variant* by its guards: the tensor arguments' shapes, dtypes, devices and
``requires_grad``, the other arguments' values, grad mode, and the ``training`` flag of every module the
traced call ran. A new combination is traced (the call itself runs eagerly while it is recorded); the
second call of a variant replays the program *and* runs eagerly from the same state, and keeps the program
only if both agree (see ``check.py``); later calls replay it. A variant the tracer cannot follow (Python
decisions on tensor values, random draws outside ops, hooks, ...) runs eagerly, with one warning saying why
— or raises :class:`CompileError` with ``fullgraph=True``.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from typing import Any

import numpy

from ..autograd import Function, _mode
from ..nn.module import Module
from ..tensor import Tensor
from . import trace as _trace
from .buffers import reuse_buffers
from .check import Snapshot, differences
from .program import Program, names_in


class CompileError(RuntimeError):
    """``fullgraph=True`` and the function cannot be compiled (the message says why and where)."""


class _GuardFailed(Exception):
    """A tensor from outside the function changed shape, dtype or ``requires_grad``: trace again."""


_TENSOR = object()  # placeholder for a tensor in a flattened argument structure


def _flatten(obj: Any, tensors: list[Tensor]) -> Any:
    """A hashable description of ``obj`` with each Tensor replaced by a placeholder (appended to ``tensors``)."""
    if isinstance(obj, Tensor):
        tensors.append(obj)
        return _TENSOR
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_flatten(o, tensors) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _flatten(v, tensors)) for k, v in obj.items()))
    if isinstance(obj, numpy.ndarray):
        raise TypeError("a NumPy array argument (pass it as a nabla Tensor: its values are data, not a constant)")
    hash(obj)  # TypeError for an unhashable argument
    return obj


def _unflatten(spec: Any, it: Any) -> Any:
    if spec is _TENSOR:
        return next(it)
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] in ("list", "tuple", "dict"):
        kind, items = spec
        if kind == "dict":
            return {k: _unflatten(v, it) for k, v in items}
        vals = [_unflatten(s, it) for s in items]
        return vals if kind == "list" else tuple(vals)
    return spec


class _Variant:
    """One traced program and the guards it was traced under."""

    def __init__(self) -> None:
        self.fn: Any = None
        self.program: Program | None = None
        self.modules: list[Module] = []
        self.flags: tuple[bool, ...] = ()
        self.out_spec: Any = None
        self.eager_reason: str | None = None  # set: this variant runs eagerly
        self.checked = False
        self.snapshot_tensors: list[Tensor] = []
        self.snapshot_names: list[str] = []
        self.optimizers: list[Any] = []
        self.dropped = 0
        self.reused = 0
        self.n_out = 0
        self.backward_fn: Any = None  # a graph variant's backward program (see CompiledFunction._graph_program)
        self.backward_program: Program | None = None
        self.root = 0
        self.leaves: list[tuple[str, Any]] = []

    def matches(self) -> bool:
        for m, f in zip(self.modules, self.flags):
            if m.training != f:
                return False
        return True


class CompiledFunction:
    """The callable ``nabla.compile(fn)`` returns (see the module docstring). ``stats`` counts what happened."""

    def __init__(self, fn: Any, fullgraph: bool = False, check: bool = True, cache_size: int = 8,
                 reuse_buffers: bool = True) -> None:
        if not callable(fn):
            raise TypeError(f"nabla.compile: expected a function or a Module, got {type(fn).__name__}")
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"nabla.compile: cache_size must be a positive int, got {cache_size!r}")
        self.fn = fn
        self.fullgraph = fullgraph
        self.check = check
        self.cache_size = cache_size
        self.reuse = reuse_buffers
        self.variants: OrderedDict[Any, list[_Variant]] = OrderedDict()
        self.stats = {"traces": 0, "replays": 0, "eager_calls": 0, "checks": 0, "check_failures": 0}
        self._warned: set[str] = set()
        functools.update_wrapper(self, fn, updated=())

    # -------------------------------------------------------------------------------- calling

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tensors: list[Tensor] = []
        try:
            spec = _flatten((args, kwargs), tensors)
        except TypeError as e:
            return self._eager(f"an argument that cannot be a guard: {e}", args, kwargs)
        key = (spec, tuple((t._data.shape, t._data.dtype.str, t.device, t.requires_grad) for t in tensors),
               _mode.enabled)
        variants = self.variants.get(key)
        if variants is not None:
            for v in variants:
                if v.matches():
                    if v.eager_reason is not None:
                        self.stats["eager_calls"] += 1
                        return self.fn(*args, **kwargs)
                    if not v.checked and self.check:
                        return self._check(v, tensors, args, kwargs)
                    try:
                        return self._replay(v, tensors)
                    except _GuardFailed:
                        variants.remove(v)
                        break
        n = sum(len(vs) for vs in self.variants.values())
        if n >= self.cache_size:
            return self._eager(f"more than cache_size={self.cache_size} variants (argument shapes, dtypes, "
                               "modes) were traced; raise cache_size or keep shapes fixed", args, kwargs)
        return self._trace(key, tensors, args, kwargs)

    def _eager(self, reason: str, args: tuple, kwargs: dict) -> Any:
        if self.fullgraph:
            raise CompileError(f"nabla.compile({self._name()}): {reason}")
        self._warn(reason)
        self.stats["eager_calls"] += 1
        return self.fn(*args, **kwargs)

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"nabla.compile({self._name()}) runs eagerly: {reason}", RuntimeWarning, stacklevel=4)

    def _name(self) -> str:
        return getattr(self.fn, "__qualname__", None) or type(self.fn).__name__

    # -------------------------------------------------------------------------------- tracing

    def _trace(self, key: Any, tensors: list[Tensor], args: tuple, kwargs: dict) -> Any:
        self.stats["traces"] += 1
        tracer = _trace.Tracer(tensors, _mode.enabled)
        modules: dict[int, Module] = {}
        orig_call = Module.__call__

        def call(m: Module, *a: Any, **k: Any) -> Any:  # every module the traced call runs
            modules.setdefault(id(m), m)
            return orig_call(m, *a, **k)

        with _trace.tracing(tracer):
            Module.__call__ = call
            try:
                result = self.fn(*args, **kwargs)
            finally:
                Module.__call__ = orig_call
        v = _Variant()
        v.modules = list(modules.values())
        v.flags = tuple(m.training for m in v.modules)
        self.variants.setdefault(key, []).append(v)
        if tracer.broken is None:
            try:
                self._finish(v, tracer, result)
            except _NotTraceable as e:
                tracer.broken = str(e)
        if tracer.broken is not None:
            v.eager_reason = tracer.broken
            if self.fullgraph:
                raise CompileError(f"nabla.compile({self._name()}): cannot compile: {tracer.broken}")
            self._warn(tracer.broken)
        return result

    def _finish(self, v: _Variant, tracer: _trace.Tracer, result: Any) -> None:
        """Turn a finished trace into the variant's program: outputs, guards, pruning, code."""
        outs: list[Tensor] = []
        try:
            v.out_spec = _flatten(result, outs)
        except TypeError as e:
            raise _NotTraceable(f"the function returns {e}") from None
        prog = tracer.program
        for t in outs:
            prog.outputs.append(tracer.ref(t))
        v.n_out = len(outs)
        needs_graph = [i for i, t in enumerate(outs) if t.requires_grad and t._ctx is not None]
        if needs_graph and tracer.backward_calls == 0:
            self._graph_program(v, tracer, outs, needs_graph)
        tracer.finish_leaves()
        v.dropped = prog.prune()
        if self.reuse:
            externals = [t._data for t in tracer.externals.values()] + [t._data for t in tracer.keep_args]
            v.reused = reuse_buffers(prog, tracer.vals, externals)
        used = set()
        for text in [ins.code for ins in prog.instrs] + prog.epilogue + prog.outputs:
            used.update(names_in(text))
        for tid, t in tracer.externals.items():
            name = tracer.objects[tid]
            if name in used:  # only what the pruned program still reads
                prog.guards.append(f"{name}._data.shape != {tuple(t._data.shape)!r} or {name}.requires_grad is not "
                                   f"{t.requires_grad}")
        prog.bindings.update(_asarray=numpy.asarray, _wrap=Tensor._wrap, _MODE=_mode, _GuardFailed=_GuardFailed,
                             _generic_backward=_trace.generic_backward)
        v.fn = prog.build()
        v.program = prog
        # what the first replay's check compares: every tensor the program can change
        seen: dict[int, tuple[Tensor, str]] = {}
        for i, t in enumerate(tracer.program.bindings.values()):
            if isinstance(t, Tensor):
                seen.setdefault(id(t), (t, f"tensor {i}"))
        for m in v.modules:
            for name, t in list(m.named_parameters()) + list(m.named_buffers()):
                seen[id(t)] = (t, f"{type(m).__name__}.{name}")
        for o in tracer.effects:
            if hasattr(o, "param_groups"):
                v.optimizers.append(o)
                for g in o.param_groups:
                    for p in g["params"]:
                        seen.setdefault(id(p), (p, "an optimized parameter"))
            elif isinstance(o, Module):
                for name, p in o.named_parameters():
                    seen.setdefault(id(p), (p, f"{type(o).__name__}.{name}"))
        v.snapshot_tensors = [t for t, _ in seen.values()]
        v.snapshot_names = [n for _, n in seen.values()]

    def _graph_program(self, v: _Variant, tracer: _trace.Tracer, outs: list[Tensor], needs: list[int]) -> None:
        """A forward whose output needs grad (``nabla.compile(model)`` in training, backward called outside):
        emit its backward as a second program, run by one graph node, :class:`CompiledBackward`."""
        if len(needs) != 1:
            raise _NotTraceable(f"it returns {len(needs)} tensors that require grad; a compiled forward can return "
                                "one (compile the whole training step instead)")
        root = outs[needs[0]]
        prog = tracer.program
        n_fwd = len(prog.instrs)
        prev = _mode.enabled
        _mode.enabled = False
        try:
            leaves = tracer.backward([root], [Tensor._wrap(root._xp.ones(root.shape, dtype=root.dtype))],
                                     retain_graph=True, symbolic=["G"])
        finally:
            _mode.enabled = prev
        if tracer.broken or leaves is None:
            raise _NotTraceable(tracer.broken or "its backward cannot be traced")
        bwd = Program(instrs=prog.instrs[n_fwd:], bindings=prog.bindings, n_args=0)
        prog.instrs = prog.instrs[:n_fwd]
        bwd.outputs = [leaves[t] for t in leaves]
        bwd.prune()
        used: set[str] = set()
        for text in [ins.code for ins in bwd.instrs] + bwd.outputs:
            used.update(names_in(text))
        defined = {d for ins in prog.instrs for d in ins.defs} | {f"a{i}" for i in range(prog.n_args)}
        saved = sorted((used & defined) - {d for ins in bwd.instrs for d in ins.defs})
        bwd.params = ["G", *saved]
        prog.outputs += saved
        bwd.bindings = dict(prog.bindings)
        bwd.bindings.update(_asarray=numpy.asarray, _MODE=_mode, _generic_backward=_trace.generic_backward)
        v.backward_fn = bwd.build()
        v.backward_program = bwd
        v.root = needs[0]
        v.leaves = []
        for t in leaves:
            name = tracer.objects.get(id(t), "")
            v.leaves.append(("arg", int(name[1:])) if name.startswith("A") else ("ext", t))

    # ------------------------------------------------------------------------------- replaying

    def _replay(self, v: _Variant, tensors: list[Tensor]) -> Any:
        prev = _mode.enabled
        try:
            arrays = v.fn(*tensors)
        finally:
            _mode.enabled = prev
        self.stats["replays"] += 1
        outs = [Tensor._wrap(a) for a in arrays[:v.n_out]]
        if v.backward_fn is not None:  # one graph node for the whole compiled forward
            node = CompiledBackward.__new__(CompiledBackward)
            node.program, node.saved = v.backward_fn, arrays[v.n_out:]
            node.parents = tuple([(t._ctx or t) if t.requires_grad else None
                                  for t in (tensors[x] if kind == "arg" else x for kind, x in v.leaves)])
            out = outs[v.root]
            out.requires_grad, out._ctx = True, node
        return _unflatten(v.out_spec, iter(outs))

    def _check(self, v: _Variant, tensors: list[Tensor], args: tuple, kwargs: dict) -> Any:
        """Replay and run eagerly from the same state; keep the program only if both agree."""
        self.stats["checks"] += 1
        watched = v.snapshot_tensors + [t for t in tensors if id(t) not in {id(s) for s in v.snapshot_tensors}]
        names = v.snapshot_names + [f"argument tensor {i}" for i in range(len(watched) - len(v.snapshot_tensors))]
        before = Snapshot(watched, v.optimizers)
        try:
            compiled_out = self._replay(v, tensors)
        except _GuardFailed:
            before.restore()
            raise
        except Exception as e:  # a program that cannot run is a bug in tracing: eager is the answer
            before.restore()
            v.eager_reason = f"the compiled program failed ({type(e).__name__}: {e})"
            self._warn(v.eager_reason)
            return self.fn(*args, **kwargs)
        after_compiled = Snapshot(watched, v.optimizers, rng=False)
        flat_c: list[Tensor] = []
        _flatten(compiled_out, flat_c)
        before.restore()
        result = self.fn(*args, **kwargs)
        after_eager = Snapshot(watched, v.optimizers, rng=False)
        flat_e: list[Tensor] = []
        try:
            _flatten(result, flat_e)
        except TypeError:
            flat_e = []
        diff = differences(after_compiled, after_eager, [t._data for t in flat_c], [t._data for t in flat_e], names)
        if diff is None and len(flat_c) != len(flat_e):
            diff = "the outputs differ in structure"
        if diff is None and v.backward_fn is not None:
            diff = _gradient_difference(v, tensors, flat_c[v.root], flat_e[v.root])
        if diff is None:
            v.checked = True
        else:
            self.stats["check_failures"] += 1
            v.eager_reason = (f"its first replay did not match eager execution ({diff}); something the function "
                              "computes is not an op the tracer sees (a value computed outside nabla's ops, a "
                              "random draw, or a Python value that changes between calls)")
            if self.fullgraph:
                raise CompileError(f"nabla.compile({self._name()}): {v.eager_reason}")
            self._warn(v.eager_reason)
        return result

    # ------------------------------------------------------------------------------ inspection

    def programs(self) -> list[str]:
        """The generated source of every compiled variant (for reading and for the docs); a compiled forward
        whose output needs grad has two: the forward and, after it, its backward."""
        out = []
        for vs in self.variants.values():
            for v in vs:
                if v.program is not None:
                    out.append(v.program.source())
                    if v.backward_program is not None:
                        out.append(v.backward_program.source())
        return out


def _gradient_difference(v: _Variant, tensors: list[Tensor], compiled: Tensor, eager: Tensor) -> str | None:
    """For a compiled forward: the gradients its backward program gives vs eager autograd's (both graphs kept)."""
    from ..autograd import grad

    leaves = [tensors[x] if kind == "arg" else x for kind, x in v.leaves]
    g = Tensor._wrap(compiled._xp.ones(compiled.shape, dtype=compiled.dtype))
    gc = grad(compiled, leaves, g, retain_graph=True, allow_unused=True)
    ge = grad(eager, leaves, g, retain_graph=True, allow_unused=True)
    for i, (a, b) in enumerate(zip(gc, ge)):
        if (a is None) != (b is None):
            return f"the gradient of input {i} is {'missing' if a is None else 'present'} in the compiled backward"
        if a is not None:
            x, y = a.numpy(), b.numpy()
            if x.shape != y.shape or not numpy.allclose(x, y, rtol=1e-4 if x.dtype != numpy.float64 else 1e-9,
                                                       atol=1e-6 if x.dtype != numpy.float64 else 1e-12):
                return f"the gradient of input {i} (shape {y.shape}) differs from eager autograd's"
    return None


class _NotTraceable(Exception):
    pass


class CompiledBackward(Function):
    """The graph node of a compiled forward's output: its backward runs the traced backward program on the
    values the forward program saved, and hands each parameter (and input) that needs grad its gradient."""

    def name(self) -> str:
        return "CompiledBackward"

    def backward(self, g: Tensor) -> tuple:
        if _mode.enabled:
            raise RuntimeError("nabla.compile: a second derivative (create_graph=True) through a compiled forward "
                               "is not supported; call the function uncompiled for it")
        grads = self.program(g._data, *self.saved)
        return tuple([None if a is None else Tensor._wrap(a) for a in grads])


def compile(fn: Any = None, *, fullgraph: bool = False, check: bool = True, cache_size: int = 8,
            reuse_buffers: bool = True) -> Any:
    """Compile ``fn`` (a function or a Module) into a replayed program of array operations.

    ``fn`` may be a forward pass under ``no_grad`` or a whole training step (forward, ``loss.backward()``,
    ``optimizer.step()``). Also a decorator: ``@nabla.compile`` or ``@nabla.compile(fullgraph=True)``.

    Args:
        fn: what to compile.
        fullgraph: raise :class:`CompileError` instead of running eagerly when a call cannot be compiled.
        check: check the first replay of every variant against eager execution (recommended; see check.py).
        cache_size: how many variants (argument shapes, dtypes, modes) to keep before running eagerly.
        reuse_buffers: let elementwise instructions write into dead temporaries (see buffers.py).
    """
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, check=check, cache_size=cache_size,
                                 reuse_buffers=reuse_buffers)
    return CompiledFunction(fn, fullgraph=fullgraph, check=check, cache_size=cache_size, reuse_buffers=reuse_buffers)
