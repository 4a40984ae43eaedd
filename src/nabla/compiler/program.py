"""A traced program: straight-line Python over arrays, built instruction by instruction, then pruned
(dead-code elimination) and compiled into one function with :func:`compile` (Python's own).

Each :class:`Instr` is one line of generated code with the names it defines and uses. Names are
``a<i>`` (the array of argument ``i``), ``v<k>``/``g<k>`` (arrays made by the program), ``f<k>`` (the
op instance whose ``forward`` made ``v<k>``, kept because its ``backward`` needs what it saved) and
globals bound to objects (``C``: op classes, ``E``: tensors from outside, ``K``: constants, ``O``:
optimizers). Replaying the function runs NumPy (or CuPy) kernels with no Tensor, graph node or
graph walk in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Instr:
    """One line of the program. ``effect``: kept even when nothing reads what it defines (a write to a
    parameter, an optimizer step, a ``.grad`` assignment). ``grad_mode``: the grad mode it ran under."""

    code: str
    defs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    effect: bool = False
    grad_mode: bool = False
    kind: str = "forward"  # forward | backward | effect
    ufunc: tuple[str, str, tuple[str, ...]] | None = None  # (module, ufunc, operands): can take out= (buffers.py)
    write: tuple[str, str] | None = None  # (destination tensor, source name) of ``X._data[...] = v``
    label: str = ""  # what it does, for pictures (nabla.viz.draw_graph on a compiled function)


@dataclass
class Program:
    """The instructions, the globals they refer to, the argument names and the output expressions."""

    instrs: list[Instr] = field(default_factory=list)
    bindings: dict[str, Any] = field(default_factory=dict)
    n_args: int = 0
    guards: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    epilogue: list[str] = field(default_factory=list)
    params: list[str] | None = None  # set: the function takes these names (a backward program) instead of A<i>

    def prune(self) -> int:
        """Dead-code elimination: drop every instruction whose definitions nothing live reads; returns
        how many were dropped. Effects and the outputs are the roots of liveness."""
        live = set()
        for expr in self.outputs + self.epilogue:
            live.update(names_in(expr))
        kept: list[Instr] = []
        for ins in reversed(self.instrs):
            if ins.effect or any(d in live for d in ins.defs):
                kept.append(ins)
                live.update(ins.uses)
        dropped = len(self.instrs) - len(kept)
        kept.reverse()
        self.instrs = kept
        return dropped

    def source(self) -> str:
        """The generated function's source: guards, then the instructions (switching grad mode where
        it changes), then the epilogue, returning the outputs as a tuple."""
        if self.params is not None:
            lines = [f"def _program({', '.join(self.params)}):"]
        else:
            lines = [f"def _program({', '.join(f'A{i}' for i in range(self.n_args))}):"]
            for i in range(self.n_args):
                lines.append(f"    a{i} = A{i}._data")
        if self.guards:
            cond = " or ".join(f"({g})" for g in self.guards)
            lines.append(f"    if {cond}: raise _GuardFailed()")
        mode = None
        for ins in self.instrs:
            if ins.grad_mode != mode:
                lines.append(f"    _MODE.enabled = {ins.grad_mode}")
                mode = ins.grad_mode
            for line in ins.code.split("\n"):
                lines.append("    " + line)
        for line in self.epilogue:
            lines.append("    " + line)
        outs = ", ".join(self.outputs)
        lines.append(f"    return ({outs}{',' if len(self.outputs) == 1 else ''})")
        return "\n".join(lines) + "\n"

    def build(self) -> Any:
        """Compile the source into a function whose globals are the bindings."""
        src = self.source()
        namespace = dict(self.bindings)
        exec(compile(src, "<nabla.compile program>", "exec"), namespace)  # our own generated code
        fn = namespace["_program"]
        fn.__source__ = src
        return fn


def names_in(expr: str) -> set[str]:
    """The identifiers in a generated expression (they are plain names, attribute accesses and calls)."""
    out = set()
    word = []
    for ch in expr + " ":
        if ch.isalnum() or ch == "_":
            word.append(ch)
        else:
            if word and not word[0].isdigit():
                out.add("".join(word))
            word = []
    return out
