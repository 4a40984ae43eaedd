"""``nabla export``: a checkpoint written by ``nabla train`` as an ONNX model (for onnxruntime and friends)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UsageError, positive_int, restore_model


def add_parser(subparsers) -> None:
    e = subparsers.add_parser("export", help="export a checkpoint as an ONNX model",
                              description="Write the model of a checkpoint written by 'nabla train' as an ONNX file "
                              "(one traced forward pass; parameters as initializers) and check it with onnx.checker. "
                              "The batch axis is dynamic; for token models the sequence axis is too. Run it with "
                              "onnxruntime: InferenceSession(PATH).run(None, {'input': x}). Needs the onnx package "
                              "(pip install 'nabla[onnx]').")
    e.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by 'nabla train' (e.g. runs/mlp-digits/checkpoint.safetensors)")
    e.add_argument("--onnx", required=True, metavar="PATH", help="the .onnx file to write")
    e.add_argument("--opset", type=positive_int, default=None,
                   help="ONNX opset version, 13..21 (default 17)")
    e.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                   help="batch size of the example input traced (default 1; the exported batch axis is dynamic)")
    e.add_argument("--seq-len", type=positive_int, default=None, metavar="T",
                   help="token models: length of the example sequence (default: the data set's)")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from .. import onnx as nabla_onnx
    except ImportError as err:
        raise UsageError(f"nabla export needs the onnx package ({err}); install it with pip install 'nabla[onnx]'") \
            from None
    import numpy

    from .. import tensor

    out = Path(args.onnx)
    if out.suffix != ".onnx":
        raise UsageError(f"--onnx {args.onnx}: the file name should end in .onnx")
    if not out.parent.is_dir():
        raise UsageError(f"--onnx {args.onnx}: no such folder {out.parent} (create it first)")
    model, meta, spec = restore_model(args.checkpoint)
    shape = tuple(spec.input_shape)
    tokens = spec.task in ("language_model", "seq2seq") or "vocab_size" in (spec.model_args or {})  # token ids
    if spec.task == "seq2seq":
        raise UsageError(f"{meta['model']} is a seq2seq model (two inputs and a decoding loop); export supports "
                         "single-input models: classifiers, regressors and language models")
    dynamic = {0: "batch"}
    if tokens:
        if args.seq_len is not None:
            shape = (args.seq_len,) + shape[1:]
        x = numpy.zeros((args.batch_size,) + shape, dtype=numpy.int64)
        dynamic[1] = "sequence"
    else:
        if args.seq_len is not None:
            raise UsageError(f"--seq-len is for token models; {meta['model']} on {meta['dataset']} takes {shape}")
        x = numpy.random.default_rng(0).standard_normal((args.batch_size,) + shape).astype(numpy.float32)
    kwargs = {} if args.opset is None else {"opset": args.opset}
    try:
        proto = nabla_onnx.export(model, tensor(x), out, input_names=["input"], output_names=["output"],
                                  dynamic_axes={"input": dynamic}, **kwargs)
    except ValueError as err:
        raise UsageError(str(err)) from None
    except nabla_onnx.UnsupportedOpError as err:
        raise RuntimeError(str(err)) from None
    print(f"wrote {out} ({meta['model']} trained on {meta['dataset']}: input {['N', *shape]} "
          f"{x.dtype}, {len(proto.graph.node)} nodes, opset {proto.opset_import[0].version})")
    return 0
