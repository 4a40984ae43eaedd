"""``nabla.summary(model, input_shape)``: a Keras-style table of layers, output shapes and parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import no_grad
from ..creation import zeros
from ..tensor import Tensor
from .module import Module


def _shape_text(out: Any, batch: int) -> str:
    def one(t: Tensor) -> str:
        dims = ["None" if i == 0 and batch_free else str(n) for i, n in enumerate(t.shape)]
        return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"

    batch_free = batch == 1
    if isinstance(out, Tensor):
        return one(out)
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_text(o, batch) for o in out) + "]"
    return type(out).__name__


def summary(
    model: Module,
    input_shape: Sequence[int] | Sequence[Sequence[int]],
    dtype: Any = None,
    device: Any = None,
    print_fn: Any = print,
) -> str:
    """Run one forward pass on zeros of ``(1, *input_shape)`` and tabulate every layer.

    ``input_shape`` excludes the batch dimension (shown as ``None``); give a list of shapes for a
    model with several inputs. The model runs in eval mode under ``no_grad`` (BatchNorm statistics are
    untouched) and goes back to its previous mode. Returns the table and prints it with ``print_fn``
    (pass ``print_fn=None`` to only return it).
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    shapes = [input_shape] if input_shape and isinstance(input_shape[0], int) else list(input_shape)
    if not shapes or not all(all(isinstance(n, int) and n > 0 for n in s) for s in shapes):
        raise ValueError(f"summary: input_shape must be positive ints without the batch dimension, got {input_shape!r}")
    inputs = [zeros((1, *s), dtype=dtype, device=device) for s in shapes]

    rows: list[tuple[str, str, int]] = []
    handles = []
    for name, m in model.named_modules():
        own = sum(p.numel() for p in m._parameters.values() if p is not None)
        if m is model or (m._modules and not own):
            continue

        def hook(mod: Module, args: tuple, out: Any, name: str = name, own: int = own) -> None:
            rows.append((f"{name} ({type(mod).__name__})", _shape_text(out, 1), own))

        handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    header = ("Layer (type)", "Output Shape", "Param #")
    body = [(n, s, f"{c:,}") for n, s, c in rows]
    widths = [max(len(r[i]) for r in [header, *body]) + 2 for i in range(3)]
    width = sum(widths)
    line = lambda r: r[0].ljust(widths[0]) + r[1].ljust(widths[1]) + r[2].rjust(widths[2] - 2)  # noqa: E731
    text = [f'Model: "{type(model).__name__}"', "=" * width, line(header), "=" * width]
    text += [line(r) for r in body]
    text += [
        "=" * width,
        f"Input shape: {', '.join(_shape_text(i, 1) for i in inputs)}   Output shape: {_shape_text(out, 1)}",
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        "=" * width,
    ]
    result = "\n".join(text)
    if print_fn is not None:
        print_fn(result)
    return result
