"""``nabla.onnx.export``: a model's forward pass as an ONNX file, checked with ``onnx.checker``."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy
import onnx
from onnx import helper

from nabla import Tensor, enable_grad, no_grad

from .graph import Builder
from .ops import CONVERTERS
from .trace import trace

DEFAULT_OPSET = 17


class UnsupportedOpError(NotImplementedError):
    """An op in the traced forward pass has no ONNX converter (or not for these arguments)."""


def _as_inputs(example_inputs: Any) -> tuple[Tensor, ...]:
    items = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    out = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            t = Tensor._wrap(x._data)
        elif isinstance(x, numpy.ndarray):
            t = Tensor._wrap(x)
        else:
            raise TypeError(
                f"onnx.export: example input {i} must be a nabla Tensor or a NumPy array, got {type(x).__name__}"
            )
        if t._data.dtype.kind == "f":
            t.requires_grad = True  # so every op on it records its node
        out.append(t)
    if not out:
        raise ValueError("onnx.export: example_inputs is empty; pass the tensor(s) forward() takes")
    return tuple(out)


def _outputs(result: Any) -> list[Tensor]:
    items = result if isinstance(result, (tuple, list)) else (result,)
    if not all(isinstance(t, Tensor) for t in items):
        kinds = ", ".join(type(t).__name__ for t in items)
        raise TypeError(f"onnx.export: forward must return a Tensor or a tuple of Tensors, got ({kinds})")
    return list(items)


def _names(given: Sequence[str] | None, n: int, stem: str, what: str) -> list[str]:
    if given is None:
        return [f"{stem}{i}" if n > 1 else stem for i in range(n)]
    given = list(given)
    if len(given) != n or len(set(given)) != n:
        raise ValueError(f"onnx.export: {what} must be {n} distinct names, got {given}")
    return given


def _value_info(name: str, t: Tensor, dynamic: dict[int, str]) -> Any:
    shape = [dynamic.get(i, s) for i, s in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, Builder.onnx_type(t._data.dtype), shape)


def export(
    model: Any,
    example_inputs: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_axes: dict[str, dict[int, str] | Sequence[int]] | None = None,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> onnx.ModelProto:
    """Trace ``model(*example_inputs)`` once (in eval mode) and write it as an ONNX model to ``path``.

    ``model`` is an ``nn.Module`` (or any callable on Tensors). Parameters and buffers become
    initializers under their state-dict names; values computed from them alone are folded into
    constants. ``dynamic_axes`` maps an input or output name to the axes (a list, or ``{axis: name}``)
    whose size may differ at run time, e.g. ``{"input": {0: "batch"}}``. Returns the ``ModelProto``
    (also written to ``path`` when given), checked by ``onnx.checker.check_model``.

    With ``verify`` (and onnxruntime installed) the exported model is run on the example inputs and
    must reproduce nabla's outputs (within 1e-4 relative + 1e-5 absolute), else ``RuntimeError``:
    a converter bug is caught at export time, not in production.

    Raises :class:`UnsupportedOpError` naming the op and the layer that ran it when an op has no
    converter. Ops whose result depends on the *values* of the inputs through Python control flow
    are recorded for the example inputs only (as in ``torch.onnx.export``'s tracer).
    """
    if not isinstance(opset, int) or not 13 <= opset <= 21:
        raise ValueError(f"onnx.export: opset must be an int in 13..21, got {opset!r}")
    inputs = _as_inputs(example_inputs)
    is_module = hasattr(model, "named_parameters") and hasattr(model, "eval")
    was_training = bool(getattr(model, "training", False))
    if is_module:
        model.eval()
    try:
        with enable_grad():
            rec, result = trace(model, inputs, model if is_module else None)
    finally:
        if is_module and was_training:
            model.train()
    outputs = _outputs(result)
    in_names = _names(input_names, len(inputs), "input", "input_names")
    out_names = _names(output_names, len(outputs), "output", "output_names")
    dyn = {}
    for key, axes in (dynamic_axes or {}).items():
        if key not in in_names + out_names:
            raise ValueError(f"onnx.export: dynamic_axes names {key!r}, which is not an input or output; "
                             f"inputs {in_names}, outputs {out_names}")
        dyn[key] = dict(axes) if isinstance(axes, dict) else {int(a): f"{key}_dim{a}" for a in axes}

    sizes = {t.shape[a]: n for t, key in zip(inputs, in_names) for a, n in dyn.get(key, {}).items()}
    for t, key in zip(outputs, out_names):  # an output not listed follows the inputs' dynamic sizes
        if key not in dyn and sizes:
            dyn[key] = {a: sizes[s] for a, s in enumerate(t.shape) if s in sizes}
    params = {}
    if is_module:
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            params[id(t)] = name
    g = Builder(rec, opset, params)
    for t, key in zip(inputs, in_names):
        for a in dyn.get(key, {}):
            g.dynamic.setdefault(t.shape[a], (key, a))
    for t, name in zip(inputs, in_names):
        g.bind(t, name)
    for call in rec.calls:
        convert = CONVERTERS.get(call.op.__name__)
        where = f" in layer {call.layer}" if call.layer else ""
        if convert is None:
            raise UnsupportedOpError(
                f"onnx.export: op {call.op.__name__} (from {call.op.__module__}){where} has no ONNX converter; "
                f"supported ops: {', '.join(sorted(CONVERTERS))}. Register one with nabla.onnx.register"
            )
        try:
            out = convert(g, call)
        except NotImplementedError as e:
            raise UnsupportedOpError(f"onnx.export: op {call.op.__name__}{where} cannot be exported: {e}") from None
        g.bind(call.output, out)
    for t, name in zip(outputs, out_names):
        if id(t) not in g.names:
            raise ValueError(f"onnx.export: output {name!r} does not depend on the inputs; nothing to export")
        g.nodes.append(helper.make_node("Identity", [g.names[id(t)]], [name], name=f"{name}_out"))

    graph = helper.make_graph(
        g.nodes,
        type(model).__name__,
        [_value_info(n, t, dyn.get(n, {})) for t, n in zip(inputs, in_names)],
        [_value_info(n, t, dyn.get(n, {})) for t, n in zip(outputs, out_names)],
        g.initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="nabla")
    proto.ir_version = min(proto.ir_version, 9)  # readable by onnxruntime >= 1.17
    onnx.checker.check_model(proto, full_check=True)
    if verify:
        _verify(proto, model, inputs, in_names, outputs, out_names)
    if path is not None:
        onnx.save(proto, os.fspath(path))
    return proto


def _host(a: Any) -> numpy.ndarray:
    return numpy.asarray(a.get() if hasattr(a, "get") else a)


def _perturbed(x: numpy.ndarray, rng: numpy.random.Generator) -> numpy.ndarray:
    """Other values of the same shape and dtype: noise for floats, other ids in the seen range for ints."""
    if x.dtype.kind == "f":
        scale = float(numpy.std(x)) or 1.0
        return numpy.asarray(x + 0.5 * scale * rng.standard_normal(x.shape), dtype=x.dtype)
    if x.dtype.kind in "iu" and x.size:
        return numpy.asarray(rng.integers(int(x.min()), int(x.max()) + 1, x.shape), dtype=x.dtype)
    return x


def _verify(proto: onnx.ModelProto, model: Any, inputs: tuple, in_names: list, outputs: list,
            out_names: list) -> None:
    """Run the model in onnxruntime on the traced inputs, then on perturbed ones; both must match nabla.

    The second run catches a forward pass that reads its input's values through something the tracer
    cannot see (``.numpy()``/``._data`` and NumPy, Python branches on values): the recorded graph
    reproduces the example, but not other inputs.
    """
    try:
        import onnxruntime
    except ImportError:
        return
    try:
        sess = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as err:  # e.g. no CPU kernel for a float64 Conv: the file is valid ONNX all the same
        warnings.warn(f"onnx.export: onnxruntime cannot load the model to verify it ({err}); not verified",
                      stacklevel=3)
        return
    _compare(sess, [_host(t._data) for t in inputs], in_names, [_host(t._data) for t in outputs], out_names,
             "on the example inputs (a converter bug, please report it)")
    rng = numpy.random.default_rng(0)
    others = [_perturbed(_host(t._data), rng) for t in inputs]
    if all(numpy.array_equal(a, _host(t._data)) for a, t in zip(others, inputs)):
        return
    was_training = bool(getattr(model, "training", False))
    if was_training:
        model.eval()
    try:
        with no_grad():
            result = model(*[Tensor._wrap(t._xp.asarray(a)) for a, t in zip(others, inputs)])
    finally:
        if was_training:
            model.train()
    refs = [_host(t._data) for t in _outputs(result)]
    _compare(sess, others, in_names, refs, out_names,
             "on other input values of the same shape: forward reads its inputs' values through something the "
             "tracer cannot record (NumPy on .numpy() or ._data, Python branches on values), so the graph only "
             "holds for the example")


def _compare(sess: Any, feeds: list, in_names: list, refs: list, out_names: list, what: str) -> None:
    got = sess.run(out_names, dict(zip(in_names, feeds)))
    for name, ref, out in zip(out_names, refs, got):
        if out.shape != ref.shape or not numpy.allclose(out, ref, rtol=1e-4, atol=1e-5, equal_nan=True):
            diff = float(numpy.abs(out - ref).max()) if out.shape == ref.shape else float("nan")
            raise RuntimeError(
                f"onnx.export: onnxruntime's {name!r} differs from nabla's {what} (shape {out.shape} vs "
                f"{ref.shape}, max abs diff {diff:.3g}); export(..., verify=False) writes the file anyway"
            )
