"""The autograd graph behind a tensor, drawn with Graphviz: what ``backward()`` will walk.

``draw_graph(loss, "graph.svg")`` draws one box per recorded op (its ``Function`` class and, where
the graph kept it, the shape of its result), one ellipse per leaf tensor that requires grad (named
when ``names`` maps it, e.g. ``dict(model.named_parameters())``; green) and the output (blue).
Solid arrows are the forward data flow; dashed red arrows are the backward edges, from each node to
the parents its gradient is sent to, which is exactly what ``backward()`` traverses. Inputs that do
not require grad are not part of the graph and are not drawn. Uses the ``graphviz`` Python package,
which needs Graphviz's ``dot`` program (``apt-get install graphviz``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nabla import Tensor

_FORMATS = ("svg", "png", "pdf")


def _shape(t: Any) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


def _output_shapes(nodes: list) -> dict[int, str]:
    """Shapes of op results the graph still knows: a child's saved inputs, a node's saved output."""
    shapes: dict[int, str] = {}
    for node in nodes:
        if getattr(node, "out", None) is not None:
            shapes[id(node)] = _shape(node.out[0])
        inputs = getattr(node, "inputs", None)
        if inputs is None:  # ops that keep their inputs' shapes for backward (add, sub, reshape, sum...)
            known = node.__dict__.get("shapes") or ((node.__dict__["in_shape"],) if "in_shape" in node.__dict__ else ())
            inputs = [_Shaped(s) for s in known if isinstance(s, tuple)]
        for parent, t in zip(node.parents, inputs):
            if parent is not None and not isinstance(parent, Tensor):
                shapes.setdefault(id(parent), _shape(t))
    return shapes


class _Shaped:
    """A shape where a tensor is expected by :func:`_shape`."""

    def __init__(self, shape: tuple) -> None:
        self.shape = shape


def draw_graph(tensor: Any, path: str | os.PathLike[str], names: dict[str, Tensor] | None = None,
               backward_edges: bool = True) -> str:
    """Write the autograd graph that produced ``tensor`` to ``path`` (.svg, .png or .pdf); return the path.

    ``names`` (e.g. ``dict(model.named_parameters())``) labels leaves by name. ``backward_edges``
    adds the dashed red gradient edges (node -> parent) next to the forward arrows.

    ``tensor`` may also be a function compiled with :func:`nabla.compile` (called at least once): its
    latest program is drawn instead, one box per instruction (forward ops grey, backward steps red,
    effects such as ``.grad`` assignments and optimizer steps green), arrows following the arrays.
    """
    op = "draw_graph"
    from .compiler import CompiledFunction

    if isinstance(tensor, CompiledFunction):
        return _draw_program(tensor, Path(path), names)
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a nabla Tensor (e.g. a loss) or a nabla.compile'd function, "
                        f"got {type(tensor).__name__}")
    if not tensor.requires_grad:
        raise ValueError(f"{op}: the tensor {_shape(tensor)} has no graph (requires_grad=False): compute it from "
                         "tensors with requires_grad=True, outside nabla.no_grad()")
    path = Path(path)
    fmt, graphviz = _format_and_graphviz(path, op)
    leaf_names = {id(t): n for n, t in (names or {}).items()}
    dot = graphviz.Digraph("autograd", graph_attr={"rankdir": "BT", "fontname": "Helvetica", "fontsize": "11",
                                                   "label": "solid: forward data flow; dashed red: backward edges "
                                                            "(where each node sends its gradient)"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"})
    root = tensor._ctx if tensor._ctx is not None else tensor
    order, seen, stack = [], {id(root)}, [root]
    while stack:  # every node and leaf reachable from the output
        item = stack.pop()
        order.append(item)
        for parent in () if isinstance(item, Tensor) else item.parents:
            if parent is not None and id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    shapes = _output_shapes([n for n in order if not isinstance(n, Tensor)])
    for item in order:
        key = str(id(item))
        if isinstance(item, Tensor):
            label = f"{leaf_names.get(id(item), 'leaf')}\\n{_shape(item)}\\nrequires_grad"
            dot.node(key, label, shape="ellipse", style="filled", fillcolor="#d9f2d9")
            continue
        label = type(item).__name__
        if id(item) in shapes:
            label += f"\\n{shapes[id(item)]}"
        dot.node(key, label, shape="box", style="rounded,filled", fillcolor="#f2f2f2")
        for parent in item.parents:
            if parent is None:
                continue
            dot.edge(str(id(parent)), key)
            if backward_edges:
                dot.edge(key, str(id(parent)), style="dashed", color="#c0392b", constraint="false", arrowsize="0.6")
    dot.node("output", f"output\\n{_shape(tensor)}", shape="ellipse", style="filled", fillcolor="#d6e4f5")
    dot.edge(str(id(root)), "output")
    return _render(dot, fmt, path, graphviz)


def _format_and_graphviz(path: Path, op: str) -> tuple[str, Any]:
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"{op}: path {str(path)!r} must end in one of {', '.join('.' + f for f in _FORMATS)}")
    try:
        import graphviz
    except ImportError:
        raise ImportError("nabla.viz.draw_graph needs the graphviz package: pip install graphviz "
                          "(and Graphviz's dot program: apt-get install graphviz)") from None
    return fmt, graphviz


def _render(dot: Any, fmt: str, path: Path, graphviz: Any) -> str:
    """Run Graphviz on ``dot`` and write the picture to ``path``."""
    try:
        data = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("nabla.viz.draw_graph: Graphviz's 'dot' program was not found; install Graphviz "
                           "(apt-get install graphviz, brew install graphviz)") from None
    path.write_bytes(data)
    return str(path)


_KIND_COLORS = {"forward": "#f2f2f2", "backward": "#f9d6d5", "effect": "#d9f2d9"}


def _draw_program(compiled: Any, path: Path, names: dict[str, Tensor] | None) -> str:
    """The program of a compiled function (see :func:`draw_graph`)."""
    from .compiler.program import names_in

    op = "draw_graph"
    fmt, graphviz = _format_and_graphviz(path, op)
    variants = [v for vs in compiled.variants.values() for v in vs]
    built = [v for v in variants if v.program is not None]
    if not built:
        why = next((v.eager_reason for v in variants if v.eager_reason), None)
        raise ValueError(f"{op}: the compiled function has no program to draw: "
                         + (f"it runs eagerly ({why})" if why else "call it once first (it is traced then)"))
    v = built[-1]
    instrs = list(v.program.instrs) + (list(v.backward_program.instrs) if v.backward_program is not None else [])
    bindings = v.program.bindings
    tensor_names = {id(t): n for n, t in (names or {}).items()}
    dot = graphviz.Digraph("program", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "11",
                                                  "label": f"nabla.compile program: {len(instrs)} instructions "
                                                           "(grey forward, red backward, green effects)"},
                           node_attr={"fontname": "Helvetica", "fontsize": "10"})
    made: dict[str, str] = {}
    drawn: set[str] = set()
    for i, ins in enumerate(instrs):
        key = f"i{i}"
        dot.node(key, ins.label or ins.code.split("=", 1)[-1].strip()[:40], shape="box", style="rounded,filled",
                 fillcolor=_KIND_COLORS.get(ins.kind, "#ffffff"))
        for name in sorted(names_in(ins.code) - set(ins.defs)):
            src = made.get(name)
            if src is None and (name.startswith("E") or name[:1] == "a") and name[1:].isdigit():
                src = f"x{name}"
                if src not in drawn:
                    obj = bindings.get(name)
                    label = (tensor_names.get(id(obj)) or "tensor") if obj is not None else f"input {name[1:]}"
                    shape = tuple(obj.shape) if obj is not None else ""
                    dot.node(src, f"{label}\n{shape}", shape="ellipse", style="filled", fillcolor="#d6e4f5")
                    drawn.add(src)
            if src is not None:
                dot.edge(src, key)
        for d in ins.defs:
            made[d] = key
    return _render(dot, fmt, path, graphviz)
