"""Record a forward pass as a list of op calls, for export.

nabla's autograd graph keeps, per node, only the parents that require grad, so it cannot tell an
exporter about constant operands (a causal mask, a batch-norm scale) or the keyword arguments an op
was called with. The tracer therefore wraps :meth:`nabla.autograd.Function.apply` for the length of
one forward pass and records every call that reads a graph input or a parameter (directly or
through earlier recorded calls): the Function class, its input tensors, its keyword arguments, the
graph node when one was recorded (what ``forward`` stored on it; None inside ``no_grad``) and the
output. Parameters are traced so that a slice of a position table can follow a dynamic input
length. Other calls (on tensors made inside ``forward`` from constants only) are not recorded:
their results are folded into the exported graph as values. Comparisons, which make bool tensors
without a graph node, are recorded as :class:`Compare`.

The innermost module running an op is remembered, so an op that cannot be exported is reported with
the layer that called it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from nabla import Tensor
from nabla.autograd import Function


@dataclass
class Call:
    """One recorded op call: ``op`` applied to ``inputs`` with ``kwargs`` gave ``output``."""

    op: type
    inputs: tuple[Tensor, ...]
    kwargs: dict[str, Any]
    node: Any
    output: Tensor
    layer: str | None


@dataclass
class Trace:
    """The calls of one forward pass, in execution order, and the ids of the traced tensors."""

    calls: list[Call] = field(default_factory=list)
    traced: set[int] = field(default_factory=set)
    arrays: dict[int, Tensor] = field(default_factory=dict)  # id(t._data) -> t, for ops given raw arrays
    keep: list[Any] = field(default_factory=list)  # keeps ids unique while the trace lives

    def mark(self, t: Tensor) -> None:
        self.traced.add(id(t))
        self.arrays[id(t._data)] = t
        self.keep.append(t)

    def depends(self, args: tuple, kwargs: dict) -> bool:
        """Whether a call reads a traced tensor, as an input or as a raw array argument (embedding indices)."""
        return any(id(a) in self.traced for a in args) or any(id(v) in self.arrays for v in kwargs.values())

    def is_traced(self, t: Any) -> bool:
        return isinstance(t, Tensor) and id(t) in self.traced


def trace(fn: Any, inputs: tuple[Tensor, ...], model: Any = None) -> tuple[Trace, Any]:
    """Run ``fn(*inputs)`` recording every op that depends on ``inputs``; return the trace and the result.

    When ``model`` (an ``nn.Module``) is given, its submodules get forward hooks for the length of
    the trace so each call knows its innermost layer.
    """
    rec = Trace()
    for t in inputs:
        rec.mark(t)
    if model is not None:  # ops on parameters are recorded too: a slice of a table can follow an input's length
        for t in list(model.parameters()) + list(model.buffers()):
            rec.mark(t)
    stack: list[str] = []
    original = Function.__dict__["apply"]

    thread = threading.get_ident()

    def traced_apply(cls: type, *args: Tensor, **kwargs: Any) -> Tensor:
        out = original.__func__(cls, *args, **kwargs)
        if threading.get_ident() == thread and rec.depends(args, kwargs):  # other threads' ops are not ours
            # out._ctx: the graph node (what forward stored on it), None when recording was off there
            rec.calls.append(Call(cls, args, dict(kwargs), out._ctx, out, stack[-1] if stack else None))
            rec.mark(out)
            rec.keep.extend(args)
            rec.keep.extend(kwargs.values())
        return out

    handles = []
    if model is not None:
        for name, mod in model.named_modules():
            label = f"{name or 'model'} ({type(mod).__name__})"
            handles.append(mod.register_forward_pre_hook(lambda m, a, label=label: stack.append(label)))
            handles.append(mod.register_forward_hook(lambda m, a, o: _pop(stack)))
    Function.apply = classmethod(traced_apply)  # type: ignore[method-assign]
    restore_compare = _trace_comparisons(rec, thread, stack)
    try:
        result = fn(*inputs)
    finally:
        Function.apply = original  # type: ignore[method-assign]
        if restore_compare is not None:
            restore_compare()
        for h in handles:
            h.remove()
    return rec, result


def _pop(stack: list) -> None:
    """Leave a layer (returns None: a forward hook's return value would replace the layer's output)."""
    if stack:
        stack.pop()


class Compare:
    """The op recorded for a comparison (``x > 0``, ``eq``, ``logical_and``...): comparisons give bool
    tensors without a graph node (they have no gradient), so the tracer records them separately."""


def _trace_comparisons(rec: Trace, thread: int, stack: list) -> Any:
    """Record comparisons on traced tensors (for ``where``/``masked_fill`` conditions); return an undo.

    All of nabla's binary comparisons go through ``nabla.ops.comparison._compare``; if that ever moves,
    comparisons are not recorded and export's verification reports the frozen condition instead.
    """
    try:
        from nabla.ops import comparison
    except ImportError:  # pragma: no cover - reorganised
        return None
    original = getattr(comparison, "_compare", None)
    if original is None:  # pragma: no cover - reorganised
        return None

    def traced_compare(a: Any, b: Any, op: str, fn: Any) -> Tensor:
        out = original(a, b, op, fn)
        if threading.get_ident() == thread and rec.depends((a, b), {}):
            rec.calls.append(Call(Compare, (a, b), {"op": op}, None, out, stack[-1] if stack else None))
            rec.mark(out)
            rec.keep.extend((a, b))
        return out

    comparison._compare = traced_compare
    return lambda: setattr(comparison, "_compare", original)
