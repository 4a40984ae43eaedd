"""The layering rules of docs/architecture.md, checked on the source so they stay true (issue 11).

* ``import nabla.nn`` does not import ``nabla.train`` (nn sits below train), and ``import nabla`` loads
  none of the heavy layers (data, models, train, io, playground): they load on first use.
* no module but ``backend.py`` imports CuPy (``cupy`` or ``cupyx``).
* the module-level import graph of ``src/nabla`` has at most one cycle: the Tensor <-> ops core.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nabla

SRC = Path(nabla.__file__).parent


def _modules() -> dict[str, tuple[Path, bool]]:
    """``{"nabla.ops.math": (path, is_package)}`` for every module under src/nabla."""
    out = {}
    for f in SRC.rglob("*.py"):
        parts = list(f.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def _import_time_edges(mods: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """Module -> the nabla modules it imports when it loads (module-level statements, also inside a
    top-level ``if``/``try``; imports inside functions run later and make no load-time cycle). A
    package's implicit import of its parents is not an edge."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, (path, is_pkg) in mods.items():
        for node in ast.parse(path.read_text()).body:
            for st in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
                if isinstance(st, ast.Import):
                    edges[m].update(a.name for a in st.names if a.name in mods)
                elif isinstance(st, ast.ImportFrom):
                    if st.level:
                        base = m.split(".") if is_pkg else m.split(".")[:-1]
                        base = base[: len(base) - (st.level - 1)]
                        target = ".".join(base + ([st.module] if st.module else []))
                    else:
                        target = st.module or ""
                    for a in st.names:
                        if f"{target}.{a.name}" in mods:
                            edges[m].add(f"{target}.{a.name}")
                        elif target in mods:
                            edges[m].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for v in edges:
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_nn_does_not_import_train_and_nabla_loads_heavy_layers_lazily():
    code = (
        "import sys, nabla.nn\n"
        "assert 'nabla.train' not in sys.modules, 'import nabla.nn loaded nabla.train'\n"
        "heavy = sorted(m for m in ('nabla.data', 'nabla.models', 'nabla.train', 'nabla.io', 'nabla.playground')"
        " if m in sys.modules)\n"
        "assert not heavy, f'import nabla loaded {heavy}'\n"
        "import nabla\n"
        "assert nabla.models.list_models() and 'nabla.models' in sys.modules  # first use loads it\n"
        "assert callable(nabla.save) and 'nabla.io' in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_keras_methods_load_train_on_first_use():
    code = (
        "import sys, numpy, nabla\n"
        "m = nabla.nn.Linear(2, 1)\n"
        "assert 'nabla.train' not in sys.modules\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "assert 'nabla.train' in sys.modules\n"
        "x = numpy.ones((4, 2), numpy.float32); y = numpy.ones((4, 1), numpy.float32)\n"
        "h = m.fit(x, y, epochs=2, verbose=0)\n"
        "assert len(h.history['loss']) == 2\n"
        "assert tuple(m.predict(x, verbose=0).shape) == (4, 1)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def _nodes_outside_backend():
    """``(where, node)`` for every syntax node of every nabla module but ``backend.py``."""
    for name, (path, _) in _modules().items():
        if name != "nabla.backend":
            for node in ast.walk(ast.parse(path.read_text())):
                yield f"{path.relative_to(SRC.parent)}:{getattr(node, 'lineno', '?')}", node


def test_only_backend_imports_cupy():
    offenders = []
    for where, node in _nodes_outside_backend():
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        if {"cupy", "cupyx"} & set(roots):
            offenders.append(where)
    assert not offenders, f"CuPy imported outside backend.py (use nabla.backend): {offenders}"


def test_only_backend_recognises_cupy_arrays():
    """``type(x).__module__.startswith("cupy")`` outside the backend is CuPy knowledge leaking out: ask
    ``backend.is_array`` (NumPy, fake-device or CuPy array) instead."""
    offenders = [where for where, node in _nodes_outside_backend()
                 if isinstance(node, ast.Constant) and node.value in ("cupy", "cupyx")]
    assert not offenders, f"CuPy named outside backend.py (use nabla.backend.is_array): {offenders}"


def test_backend_is_array_covers_the_fake_device():
    import numpy

    from nabla import backend, fake_device

    assert backend.is_array(numpy.zeros(3)) and backend.is_array(fake_device.to_device(numpy.zeros(3)))
    assert not backend.is_array([1.0, 2.0]) and not backend.is_array(1.0) and not backend.is_array(numpy.float32(1))


def test_import_graph_has_at_most_the_core_cycle():
    cycles = _cycles(_import_time_edges(_modules()))
    assert len(cycles) <= 1, f"import cycles besides the Tensor <-> ops core: {cycles}"
    for cycle in cycles:
        assert "nabla.tensor" in cycle and "nabla.ops" in cycle, f"a cycle outside the Tensor <-> ops core: {cycle}"
        outside = [m for m in cycle if not (m in ("nabla.tensor", "nabla.autograd", "nabla.creation", "nabla.ops")
                                            or m.startswith("nabla.ops."))]
        assert not outside, f"the core cycle pulls in modules above ops: {outside}"


def test_cycle_finder_finds_a_cycle():
    """The checker itself: a two-module loop is reported, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_optimizers_do_not_reach_into_tensor_internals():
    """Optimizers write parameters through nabla.tensor's updating helpers (which bump the version)."""
    offenders = []
    for path in sorted((SRC / "optim").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("_data", "_version", "_wrap"):
                offenders.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not offenders, f"use nabla.tensor.array_of / from_array / updating instead: {offenders}"
