"""One converter per nabla op (``Function`` class): the ONNX nodes that compute the same thing.

A converter takes the graph builder and one recorded call (see ``trace.py``) and returns the ONNX
name of the call's output. Constant operands become initializers; what the op was called with
(axes, kernel geometry, shapes) comes from the call's keyword arguments. ``CONVERTERS`` maps the
Function class name to its converter; :func:`register` adds one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy
from onnx import TensorProto, helper, numpy_helper

from nabla import Tensor

from .graph import Builder
from .trace import Call

Converter = Callable[[Builder, Call], str]
CONVERTERS: dict[str, Converter] = {}


def register(*names: str) -> Callable[[Converter], Converter]:
    """Decorator: ``fn`` converts the ops (Function class names) ``names``."""

    def deco(fn: Converter) -> Converter:
        for n in names:
            CONVERTERS[n] = fn
        return fn

    return deco


def _host(a: Any) -> numpy.ndarray:
    """A NumPy copy of an array argument (CuPy arrays come back from the GPU)."""
    return numpy.asarray(a.get() if hasattr(a, "get") else a)


def _dtype(call: Call) -> numpy.dtype:
    return numpy.dtype(call.output._data.dtype)


# ------------------------------------------------------------------------------- elementwise

_UNARY = {
    "Neg": "Neg", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Tanh": "Tanh", "Sigmoid": "Sigmoid",
    "Relu": "Relu", "Abs": "Abs", "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Erf": "Erf", "Asin": "Asin",
    "Atan": "Atan", "Sinh": "Sinh", "Cosh": "Cosh",
}
_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Maximum": "Max"}


@register(*_UNARY)
def _unary(g: Builder, c: Call) -> str:
    return g.node(_UNARY[c.op.__name__], [g.value(c.inputs[0])])


@register(*_BINARY)
def _binary(g: Builder, c: Call) -> str:
    dt = _dtype(c)
    return g.node(_BINARY[c.op.__name__], [g.value(t, dt) for t in c.inputs])


@register("Clone", "ToDevice", "_Cut")
def _identity(g: Builder, c: Call) -> str:
    return g.node("Identity", [g.value(c.inputs[0])])


@register("Cast")
def _cast(g: Builder, c: Call) -> str:
    return g.node("Cast", [g.value(c.inputs[0])], to=g.onnx_type(_dtype(c)))


@register("Rsqrt")
def _rsqrt(g: Builder, c: Call) -> str:
    return g.node("Reciprocal", [g.node("Sqrt", [g.value(c.inputs[0])])])


@register("Log1p")
def _log1p(g: Builder, c: Call) -> str:
    return g.node("Log", [g.node("Add", [g.value(c.inputs[0]), g.scalar(1, _dtype(c))])])


@register("Expm1")
def _expm1(g: Builder, c: Call) -> str:
    return g.node("Sub", [g.node("Exp", [g.value(c.inputs[0])]), g.scalar(1, _dtype(c))])


@register("PowScalar")
def _pow_scalar(g: Builder, c: Call) -> str:
    return g.node("Pow", [g.value(c.inputs[0]), g.scalar(c.kwargs["p"], _dtype(c))])


@register("LeakyRelu")
def _leaky_relu(g: Builder, c: Call) -> str:
    return g.node("LeakyRelu", [g.value(c.inputs[0])], alpha=float(c.kwargs["slope"]))


@register("Elu")
def _elu(g: Builder, c: Call) -> str:
    return g.node("Elu", [g.value(c.inputs[0])], alpha=float(c.kwargs["alpha"]))


@register("Gelu")
def _gelu(g: Builder, c: Call) -> str:
    """exact: x/2 (1 + erf(x/sqrt 2)); tanh: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    dt, x = _dtype(c), g.value(c.inputs[0])
    if c.kwargs.get("approximate", "none") == "tanh":
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dt)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dt)])])
    else:
        t = g.node("Erf", [g.node("Mul", [x, g.scalar(1 / math.sqrt(2), dt)])])
    return g.node("Mul", [g.node("Mul", [x, g.scalar(0.5, dt)]), g.node("Add", [t, g.scalar(1, dt)])])


@register("Softplus")
def _softplus(g: Builder, c: Call) -> str:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    dt, x = _dtype(c), g.value(c.inputs[0])
    bx = g.node("Mul", [x, g.scalar(c.kwargs["beta"], dt)])
    soft = g.node("Div", [g.node("Softplus", [bx]), g.scalar(c.kwargs["beta"], dt)])
    big = g.node("Greater", [bx, g.scalar(c.kwargs["threshold"], dt)])
    return g.node("Where", [big, x, soft])


@register("Clamp")
def _clamp(g: Builder, c: Call) -> str:
    dt, out = _dtype(c), g.value(c.inputs[0])
    if c.kwargs.get("lo") is not None:
        out = g.node("Max", [out, g.value(c.kwargs["lo"], dt)])
    if c.kwargs.get("hi") is not None:
        out = g.node("Min", [out, g.value(c.kwargs["hi"], dt)])
    return out


@register("Where")
def _where(g: Builder, c: Call) -> str:
    dt, cond = _dtype(c), c.kwargs["cond"]
    cond = g.value(cond) if g.traced(cond) else g.value(_host(cond).astype(bool))
    return g.node("Where", [cond, g.value(c.inputs[0], dt), g.value(c.inputs[1], dt)])


_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater", "ge": "GreaterOrEqual",
            "ne": "Equal", "logical_and": "And", "logical_or": "Or"}


@register("Compare")
def _compare(g: Builder, c: Call) -> str:
    """A comparison (bool result); operands are brought to the tensors' common dtype, as nabla does."""
    op = c.kwargs["op"]
    if op not in _COMPARE:
        raise NotImplementedError(f"comparison {op!r}")
    tensors = [t for t in c.inputs if isinstance(t, Tensor)]
    dt = bool if op.startswith("logical") else numpy.result_type(*[t._data.dtype for t in tensors])
    out = g.node(_COMPARE[op], [g.value(t, dt) for t in c.inputs])
    return g.node("Not", [out]) if op == "ne" else out


@register("Mask")
def _mask(g: Builder, c: Call) -> str:
    """``x * mask`` with the fixed (boolean or scaled) mask recorded at trace time (NaN * 0 stays NaN)."""
    return g.node("Mul", [g.value(c.inputs[0]), g.value(_host(c.kwargs["mask"]), _dtype(c))])


# ------------------------------------------------------------------------------- linear algebra


@register("MatMul")
def _matmul(g: Builder, c: Call) -> str:
    return g.node("MatMul", [g.value(t) for t in c.inputs])


@register("Linear")
def _linear(g: Builder, c: Call) -> str:
    """x @ w.T + b: one Gemm for a 2-D input, MatMul then Add otherwise."""
    x, w = c.inputs[0], c.inputs[1]
    bias = [g.value(c.inputs[2])] if len(c.inputs) > 2 else []
    if x.ndim == 2:
        return g.node("Gemm", [g.value(x), g.value(w)] + bias, transB=1)
    wt = g.value(w._data.T.copy()) if not g.traced(w) else g.node("Transpose", [g.value(w)], perm=[1, 0])
    out = g.node("MatMul", [g.value(x), wt])
    return g.node("Add", [out] + bias) if bias else out


# ------------------------------------------------------------------------------- convolution, pooling


@register("Conv2d")
def _conv(g: Builder, c: Call) -> str:
    k = c.kwargs["geom"]
    return g.node(
        "Conv", [g.value(t) for t in c.inputs],
        kernel_shape=[k.kh, k.kw], strides=[k.sh, k.sw], dilations=[k.dh, k.dw],
        pads=[k.pt, k.pl, k.pb, k.pr], group=k.groups,
    )


def _pool_pad(g: Builder, x: str, k: Any, fill: float, dt: numpy.dtype) -> str:
    """Pad to nabla's padded size (Hp, Wp): both the padding and the extra rows ``ceil_mode`` reads."""
    bottom, right = k.Hp - k.H - k.ph, k.Wp - k.W - k.pw
    if not (k.ph or k.pw or bottom or right):
        return x
    pads = g.value(numpy.array([0, 0, k.ph, k.pw, 0, 0, bottom, right], dtype=numpy.int64))
    return g.node("Pad", [x, pads, g.scalar(fill, dt)], mode="constant")


@register("MaxPool2d")
def _max_pool(g: Builder, c: Call) -> str:
    k, dt = c.kwargs["geom"], _dtype(c)
    x = _pool_pad(g, g.value(c.inputs[0]), k, -numpy.inf, dt)
    return g.node("MaxPool", [x], kernel_shape=[k.kh, k.kw], strides=[k.sh, k.sw], dilations=[k.dh, k.dw])


@register("AvgPool2d")
def _avg_pool(g: Builder, c: Call) -> str:
    """Window sums (an AveragePool times the window size) times nabla's divisors."""
    k, dt = c.kwargs["geom"], _dtype(c)
    x = _pool_pad(g, g.value(c.inputs[0]), k, 0.0, dt)
    mean = g.node("AveragePool", [x], kernel_shape=[k.kh, k.kw], strides=[k.sh, k.sw])
    scale = _host(c.kwargs["scale"]).astype(numpy.float64) * (k.kh * k.kw)
    return g.node("Mul", [mean, g.value(scale.astype(dt))])


@register("Resample2d")
def _resample(g: Builder, c: Call) -> str:
    """mh @ x @ mw.T with the two fixed bin matrices (adaptive pooling, bilinear resizing)."""
    mh, mw = _host(c.kwargs["mh"]), _host(c.kwargs["mw"])
    t = g.node("MatMul", [g.value(c.inputs[0]), g.value(mw.T.copy())])
    return g.node("MatMul", [g.value(mh), t])


# ------------------------------------------------------------------------------- shapes


@register("Reshape")
def _reshape(g: Builder, c: Call) -> str:
    """Leading sizes equal to the input's are copied (0) and the first other size inferred (-1),
    so a batch or sequence axis exported as dynamic stays dynamic."""
    before, after = tuple(c.inputs[0].shape), tuple(c.output.shape)
    target, i = list(after), 0
    while i < min(len(before), len(after)) and before[i] == after[i]:
        target[i] = 0
        i += 1
    if i < len(after) and 0 not in after:
        target[i] = -1
    return g.node("Reshape", [g.value(c.inputs[0]), g.value(numpy.array(target, dtype=numpy.int64))])


@register("Permute")
def _permute(g: Builder, c: Call) -> str:
    return g.node("Transpose", [g.value(c.inputs[0])], perm=[int(p) for p in c.kwargs["perm"]])


@register("Transpose")
def _transpose(g: Builder, c: Call) -> str:
    n = c.inputs[0].ndim
    perm = list(range(n))
    a, b = c.kwargs["dim0"] % n, c.kwargs["dim1"] % n
    perm[a], perm[b] = perm[b], perm[a]
    return g.node("Transpose", [g.value(c.inputs[0])], perm=perm)


@register("Expand")
def _expand(g: Builder, c: Call) -> str:
    """Sizes the input already has are given as 1 (Expand broadcasts both ways), so they may vary."""
    before, after = tuple(c.inputs[0].shape), tuple(c.output.shape)
    lead = len(after) - len(before)
    target = [1 if i >= lead and before[i - lead] == s else s for i, s in enumerate(after)]
    return g.node("Expand", [g.value(c.inputs[0]), g.value(numpy.array(target, dtype=numpy.int64))])


@register("Cat")
def _cat(g: Builder, c: Call) -> str:
    dt = _dtype(c)
    return g.node("Concat", [g.value(t, dt) for t in c.inputs], axis=int(c.kwargs["dim"]))


@register("Pad")
def _pad(g: Builder, c: Call) -> str:
    widths = c.kwargs["widths"]
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    return g.node("Pad", [g.value(c.inputs[0]), g.value(numpy.array(pads, dtype=numpy.int64)),
                          g.scalar(c.kwargs["value"], _dtype(c))], mode="constant")


@register("Flip")
def _flip(g: Builder, c: Call) -> str:
    x = g.value(c.inputs[0])
    for d in c.kwargs["dims"]:
        x = g.node("Slice", [x] + [g.value(numpy.array([v], dtype=numpy.int64)) for v in (-1, -(2**62), d, -1)])
    return x


@register("GetItem", "GetItemView")
def _getitem(g: Builder, c: Call) -> str:
    """Basic indexing (ints, slices, None, Ellipsis) as Slice, Squeeze and Unsqueeze."""
    key = c.kwargs.get("key", c.kwargs.get("index"))
    key = key if isinstance(key, tuple) else (key,)
    if not all(k is None or k is Ellipsis or isinstance(k, (int, numpy.integer, slice)) for k in key):
        raise NotImplementedError("advanced (array or mask) indexing")
    ndim = c.inputs[0].ndim
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        e = key.index(Ellipsis)
        key = key[:e] + (slice(None),) * (ndim - used) + key[e + 1:]
    key = key + (slice(None),) * (ndim - sum(1 for k in key if k is not None))
    x, axis, squeeze, unsqueeze, out_axis = g.value(c.inputs[0]), 0, [], [], 0
    starts, ends, axes, steps = [], [], [], []
    for k in key:
        if k is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                size = c.inputs[0].shape[axis]
                lo, hi, st = k.indices(size)
                if st < 0 and hi < 0:
                    hi = -(2**62)
                run_time = g.run_time_size(hi - lo) if st == 1 and hi - lo != size else None
                if run_time is not None:  # table[:T] with T a dynamic input length: the end follows T
                    hi = run_time if lo == 0 else g.node("Add", [run_time, g.ints([lo])])
                elif st == 1 and hi == size:  # to the end, whatever the size at run time
                    hi = 2**62
                starts.append(lo)
                ends.append(hi)
                axes.append(axis)
                steps.append(st)
            out_axis += 1
        else:
            size = c.inputs[0].shape[axis]
            i = int(k) % size
            if size - i < i + 1:  # nearer the end: counted from it, so it holds when the size varies
                i -= size
            starts.append(i)
            ends.append(i + 1 if i != -1 else 2**62)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    if axes:
        x = g.node("Slice", [x] + [g.ints(v) for v in (starts, ends, axes, steps)])
    if squeeze:
        x = g.node("Squeeze", [x, g.value(numpy.array(squeeze, dtype=numpy.int64))])
    if unsqueeze:
        x = g.node("Unsqueeze", [x, g.value(numpy.array(unsqueeze, dtype=numpy.int64))])
    return x


# ------------------------------------------------------------------------------- reductions, softmax


def _axes(c: Call) -> list[int]:
    dims = c.kwargs.get("dims")
    n = c.inputs[0].ndim
    if dims is None:
        return list(range(n))
    return [int(d) % n for d in (dims if isinstance(dims, (tuple, list)) else (dims,))]


def _reduce(g: Builder, op: str, c: Call, axes: list[int], keepdim: bool) -> str:
    x = g.value(c.inputs[0])
    if op == "ReduceSum" or g.opset >= 18:
        return g.node(op, [x, g.value(numpy.array(axes, dtype=numpy.int64))], keepdims=int(keepdim))
    return g.node(op, [x], axes=axes, keepdims=int(keepdim))


@register("Sum")
def _sum(g: Builder, c: Call) -> str:
    return _reduce(g, "ReduceSum", c, _axes(c), c.kwargs["keepdim"])


@register("Mean")
def _mean(g: Builder, c: Call) -> str:
    return _reduce(g, "ReduceMean", c, _axes(c), c.kwargs["keepdim"])


@register("MaxAll")
def _max_all(g: Builder, c: Call) -> str:
    return _reduce(g, "ReduceMax" if c.kwargs["take_max"] else "ReduceMin", c, _axes(c), c.kwargs["keepdim"])


@register("MaxDim")
def _max_dim(g: Builder, c: Call) -> str:
    d = int(c.kwargs["dim"]) % c.inputs[0].ndim
    return _reduce(g, "ReduceMax" if c.kwargs["take_max"] else "ReduceMin", c, [d], c.kwargs["keepdim"])


@register("Softmax")
def _softmax(g: Builder, c: Call) -> str:
    return g.node("Softmax", [g.value(c.inputs[0])], axis=int(c.kwargs["dim"]))


@register("LogSoftmax")
def _log_softmax(g: Builder, c: Call) -> str:
    return g.node("LogSoftmax", [g.value(c.inputs[0])], axis=int(c.kwargs["dim"]))


# ------------------------------------------------------------------------------- normalisation, embedding


@register("LayerNorm")
def _layer_norm(g: Builder, c: Call) -> str:
    """LayerNormalization (opset 17) over the last ``k`` axes."""
    x, w, b = (g.value(t, _dtype(c)) for t in c.inputs)
    if g.opset < 17:
        raise NotImplementedError("layer_norm needs opset >= 17 (LayerNormalization); pass opset=17 or higher")
    return g.node("LayerNormalization", [x, w, b], axis=-int(c.kwargs["k"]), epsilon=float(c.kwargs["eps"]))


@register("Embedding")
def _embedding(g: Builder, c: Call) -> str:
    """Rows of the weight picked by the index array: Gather on axis 0.

    Index arrays made inside ``forward`` are constants of the traced shape; two common ones are
    rebuilt so a dynamic batch or sequence axis stays dynamic: positions ``arange(T)`` (the first T
    rows of the table) and one repeated id such as ``zeros_like(input_ids)`` (that row, expanded)."""
    raw = c.kwargs["idx"]
    if not g.traced(raw):
        arr = _host(raw)
        table = g.value(c.inputs[0])
        if arr.ndim == 1 and arr.size and (arr == numpy.arange(arr.size)).all() and g.run_time_size(arr.size):
            return g.node("Slice", [table, g.ints([0]), g.run_time_size(arr.size), g.ints([0])])
        if arr.size and (arr == arr.flat[0]).all() and any(g.run_time_size(n) for n in arr.shape):
            row = g.node("Gather", [table, g.value(numpy.asarray(int(arr.flat[0]), dtype=numpy.int64))], axis=0)
            dims = [g.run_time_size(n) or n for n in arr.shape] + [c.inputs[0].shape[1]]
            return g.node("Expand", [row, g.ints(dims)])
    idx = g.value(raw)
    if g.onnx_type(_host(c.kwargs["idx"]).dtype) != TensorProto.INT64:
        idx = g.node("Cast", [idx], to=TensorProto.INT64)
    return g.node("Gather", [g.value(c.inputs[0]), idx], axis=0)


# ------------------------------------------------------------------------------- attention


def _is_causal(blocked: Any) -> bool:
    """Whether ``blocked`` is the (L, L) causal mask (True above the diagonal), up to leading ones."""
    b = _host(blocked)
    if b.ndim < 2 or b.shape[-1] != b.shape[-2] or any(s != 1 for s in b.shape[:-2]):
        return False
    n = b.shape[-1]
    return bool((b.reshape(n, n) == numpy.triu(numpy.ones((n, n), dtype=bool), k=1)).all())


def _attend(g: Builder, q: str, k: str, v: str, ndim: int, c: Call, bias: Any) -> str:
    """``safe_softmax(q k^T * scale + bias, blocked -> -inf) * drop @ v`` (the last two axes)."""
    dt = _dtype(c)
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = g.node("Mul", [g.node("MatMul", [q, g.node("Transpose", [k], perm=perm)]), g.scalar(c.kwargs["scale"], dt)])
    if bias is not None:
        s = g.node("Add", [s, g.value(bias, dt)])
    blocked, causal = c.kwargs.get("blocked"), False
    if blocked is not None:
        if _is_causal(blocked):  # built at run time, so the sequence length may vary
            causal = True
            ones = g.node("ConstantOfShape", [g.node("Shape", [s])],
                          value=numpy_helper.from_array(numpy.ones(1, dtype=dt)))
            seen = g.node("Cast", [g.node("Trilu", [ones], upper=0)], to=TensorProto.BOOL)
            s = g.node("Where", [seen, s, g.scalar(-numpy.inf, dt)])
        else:
            s = g.node("Where", [g.value(_host(blocked).astype(bool)), g.scalar(-numpy.inf, dt), s])
    p = g.node("Softmax", [s], axis=-1)
    if blocked is not None and not causal:  # a row with every key blocked gives zeros, not NaN
        p = g.node("Where", [g.node("IsNaN", [p]), g.scalar(0, dt), p])
    if c.kwargs.get("drop") is not None:
        p = g.node("Mul", [p, g.value(c.kwargs["drop"], dt)])
    return g.node("MatMul", [p, v])


@register("ScaledDotProductAttention")
def _sdpa(g: Builder, c: Call) -> str:
    q, k, v = (g.value(t) for t in c.inputs[:3])
    bias = c.inputs[3] if len(c.inputs) > 3 else None
    return _attend(g, q, k, v, c.inputs[0].ndim, c, bias)


@register("PackedSelfAttention")
def _packed_attention(g: Builder, c: Call) -> str:
    """qkv (N, L, 3E) -> heads (3, N, H, L, D) -> attention -> (N, L, E)."""
    n, length, e3 = c.inputs[0].shape
    h = int(c.kwargs["heads"])
    d = e3 // (3 * h)
    x = g.node("Reshape", [g.value(c.inputs[0]), g.ints([0, 0, 3, h, d])])
    x = g.node("Transpose", [x], perm=[2, 0, 3, 1, 4])
    q, k, v = (g.node("Gather", [x, g.value(numpy.array(i, dtype=numpy.int64))], axis=0) for i in range(3))
    bias = c.inputs[1] if len(c.inputs) > 1 else None
    out = _attend(g, q, k, v, 4, c, bias)
    out = g.node("Transpose", [out], perm=[0, 2, 1, 3])
    return g.node("Reshape", [out, g.ints([0, 0, h * d])])


# ------------------------------------------------------------------------------- recurrent layers


def _recurrent(g: Builder, c: Call, op: str, n_states: int, order: list[int], **attrs: Any) -> str:
    """One direction of an LSTM / GRU / RNN layer as ONNX's op of the same name.

    nabla's result is (T + 1 + extra states, B, H): the outputs, then the final h (and c). ONNX wants
    the weights as (1, gates*H, in) in its own gate order (``order`` lists nabla's gate blocks in it),
    the two biases as one (1, 2*gates*H) and zero initial states may be left out (so B may vary).
    """
    x, states, params = c.inputs[0], c.inputs[1:1 + n_states], c.inputs[1 + n_states:]
    if any(g.names.get(id(p)) for p in params):
        raise NotImplementedError(f"{op} weights computed inside forward (only parameters export)")
    dt = _dtype(c)
    H = params[1].shape[1]
    blocks = len(order)

    def gates(a: Any) -> numpy.ndarray:
        a = _host(a._data).astype(dt)
        parts = numpy.split(a, blocks, axis=0)
        return numpy.concatenate([parts[i] for i in order], axis=0)[None]

    inputs = [g.value(x), g.value(gates(params[0])), g.value(gates(params[1]))]
    bias = numpy.concatenate([gates(params[2])[0], gates(params[3])[0]])[None] if len(params) > 2 else None
    inputs.append(g.value(bias) if bias is not None else "")
    lengths = c.kwargs.get("lengths")
    inputs.append(g.value(_host(lengths).astype(numpy.int32)) if lengths is not None else "")
    for s in states:
        zero = not g.traced(s) and not _host(s._data).any()
        inputs.append("" if zero else g.node("Unsqueeze", [g.value(s, dt), g.ints([0])]))
    while inputs[-1] == "":
        inputs.pop()
    outs = [g.fresh(op.lower() + "_y"), g.fresh(op.lower() + "_h")] + ([g.fresh("lstm_c")] if op == "LSTM" else [])
    g.nodes.append(helper.make_node(op, inputs, outs, name=outs[0], hidden_size=H,
                                    direction="reverse" if c.kwargs.get("reverse") else "forward", **attrs))
    return g.node("Concat", [g.node("Squeeze", [outs[0], g.ints([1])])] + outs[1:], axis=0)


@register("LSTMLayer")
def _lstm(g: Builder, c: Call) -> str:
    return _recurrent(g, c, "LSTM", 2, [0, 3, 1, 2])  # nabla i f g o -> ONNX i o f c


@register("GRULayer")
def _gru(g: Builder, c: Call) -> str:
    return _recurrent(g, c, "GRU", 1, [1, 0, 2], linear_before_reset=1)  # nabla r z n -> ONNX z r h


@register("RNNLayer")
def _rnn(g: Builder, c: Call) -> str:
    act = "Tanh" if c.kwargs.get("nonlinearity", "tanh") == "tanh" else "Relu"
    return _recurrent(g, c, "RNN", 1, [0], activations=[act])
