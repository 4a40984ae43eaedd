"""``nabla predict``: classes, values, a translation or a continuation from a checkpoint and an input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import UsageError, positive_int, restore_model


def add_parser(subparsers) -> None:
    pr = subparsers.add_parser("predict", help="predict with a checkpoint",
                               description="Predict classes (or values) for INPUT: a .npy or .csv file of samples "
                               "(one sample, a batch, or flat rows) or an image file (.png, .jpg). For a language "
                               "model, INPUT is the prompt (a text file, or the text itself) and the continuation is "
                               "printed.")
    pr.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint written by 'nabla train'")
    pr.add_argument("input", metavar="INPUT", help="the samples to predict (see above)")
    pr.add_argument("--top-k", type=positive_int, default=None,
                    help="classes listed per sample (default 3); for a language model, sample among the k likeliest")
    pr.add_argument("--length", type=positive_int, default=300, help="language models: characters to generate")
    pr.add_argument("--temperature", type=float, default=0.8, help="language models: sampling temperature "
                    "(0 = always the likeliest)")
    pr.add_argument("--seed", type=int, default=0, help="language models: random seed for sampling")
    pr.add_argument("--json", action="store_true", help="print the predictions as JSON")
    pr.set_defaults(func=run)


def _read_input(path: str, spec: Any):
    import numpy

    from ..data.datasets.registry import as_array_batch

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"input file {path!r} does not exist")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        x = numpy.load(p, allow_pickle=False)
    elif suffix in (".csv", ".txt"):
        x = numpy.loadtxt(p, delimiter="," if suffix == ".csv" else None, ndmin=2)
    elif suffix in (".png", ".jpg", ".jpeg", ".bmp", ".gif"):
        from matplotlib.image import imread

        img = numpy.asarray(imread(p), dtype=numpy.float32)
        if img.dtype.kind != "f" or img.max() > 1.0:
            img = img / 255.0
        if img.ndim == 3:
            img = img[..., :3]
            img = img.mean(axis=2) if spec.input_shape[0] == 1 else img.transpose(2, 0, 1)
        if img.ndim == 2:
            img = img[None]
        if img.shape != tuple(spec.input_shape):
            raise UsageError(f"image {path} is {img.shape[-2]}x{img.shape[-1]} with {img.shape[0]} channel(s); "
                             f"the model takes {spec.input_shape} ({spec.name}): resize it first")
        x = img
    else:
        raise UsageError(f"cannot read {path!r}: use a .npy, .csv or image (.png/.jpg) file")
    if x.dtype.kind not in "fiu":
        raise UsageError(f"{path}: expected numbers, got an array of {x.dtype}")
    try:
        return as_array_batch(numpy.asarray(x, dtype=numpy.float32), spec)
    except ValueError as err:
        raise UsageError(str(err)) from None


def run(args: argparse.Namespace) -> int:
    import numpy

    from .. import no_grad, tensor
    from ..train.perceptron import is_perceptron

    model, meta, spec = restore_model(args.checkpoint)
    if spec.task == "language_model":
        return _generate(model, meta, args)
    if spec.task == "seq2seq":
        return _translate(model, meta, args)
    x = _read_input(args.input, spec)
    with no_grad():
        out = model(tensor(x)).numpy()
    classes = meta.get("classes") or [str(i) for i in range(spec.outputs)]
    rows = []
    for i, o in enumerate(out):
        if spec.task == "regression":
            rows.append({"index": i, "value": float(o.reshape(-1)[0])})
        elif is_perceptron(model):
            rows.append({"index": i, "class": classes[int(o.reshape(-1)[0])]})
        else:
            p = numpy.exp(o - o.max())
            p /= p.sum()
            top = numpy.argsort(-p)[: args.top_k or 3]
            rows.append({"index": i, "class": classes[int(top[0])],
                         "top": [{"class": classes[int(k)], "probability": round(float(p[k]), 6)} for k in top]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        if "value" in r:
            print(f"{r['index']}: {r['value']:.6g}")
        elif "top" in r:
            top = ", ".join(f"{t['class']}: {t['probability']:.3f}" for t in r["top"])
            print(f"{r['index']}: {r['class']}  ({top})")
        else:
            print(f"{r['index']}: {r['class']}")
    return 0


def _translate(model: Any, meta: dict, args: argparse.Namespace) -> int:
    """seq2seq: decode each line of INPUT (a text file, or the text itself)."""
    import numpy

    from .. import tensor

    src_itos, tgt_itos = meta["src_vocab"], meta["tgt_vocab"]
    stoi = {c: i for i, c in enumerate(src_itos)}
    p = Path(args.input)
    lines = [line for line in (p.read_text(encoding="utf-8") if p.is_file() else args.input).splitlines() if line]
    if not lines:
        raise UsageError("no input text")
    for line in lines:
        unknown = sorted({c for c in line if c not in stoi or stoi[c] < 2})
        if unknown:
            raise UsageError(f"{line!r}: characters outside the training vocabulary: {''.join(unknown)!r}")
    width = max(map(len, lines))
    src = numpy.zeros((len(lines), width), dtype=numpy.int64)
    for row, line in zip(src, lines):
        row[:len(line)] = [stoi[c] for c in line]
    ids, _ = model.greedy_decode(tensor(src), numpy.array([len(x) for x in lines]), max_len=meta["target_length"])
    rows = [{"input": line, "output": "".join(tgt_itos[int(i)] for i in r if int(i) > 1)}
            for line, r in zip(lines, ids.numpy())]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['input']} -> {r['output']}")
    return 0


def _generate(model: Any, meta: dict, args: argparse.Namespace) -> int:
    import nabla

    vocab = meta.get("vocab") or []
    if not vocab:
        raise UsageError(f"{args.checkpoint}: the checkpoint records no vocabulary")
    stoi = {c: i for i, c in enumerate(vocab)}
    p = Path(args.input)
    prompt = p.read_text(encoding="utf-8") if p.is_file() else args.input
    unknown = sorted({c for c in prompt if c not in stoi})
    if not prompt or unknown:
        raise UsageError(f"the prompt must be non-empty text of the training vocabulary; unknown characters: "
                         f"{''.join(unknown)!r}" if unknown else "the prompt is empty")
    if not hasattr(model, "generate"):
        raise UsageError(f"{meta['model']} has no generate() method")
    if args.temperature < 0:
        raise UsageError(f"--temperature must be >= 0, got {args.temperature}")
    nabla.manual_seed(args.seed)
    idx = nabla.tensor([[stoi[c] for c in prompt]], dtype=nabla.int64)
    with nabla.no_grad():
        out = model.generate(idx, args.length, temperature=args.temperature, top_k=args.top_k)
    print("".join(vocab[int(i)] for i in out.numpy()[0]))
    return 0


