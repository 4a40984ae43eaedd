"""``nabla predict``: classes, values, a translation or a continuation from a checkpoint and an input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import UsageError, positive_int, restore_model

INPUT_HELP = """\
INPUT, for a classifier or a regression model, is one of:
  .npy        a NumPy array: one sample (the data set's sample shape, e.g. 1x8x8 or 8x8 for digits),
              a batch (N, 1, 8, 8) or (N, 8, 8), or flat rows (N, 64)
  .csv .txt   numbers, one sample per row, flattened (64 values a row for digits); comma-separated for
              .csv, whitespace for .txt; a header row (column names) is skipped
  .png .jpg   one image of the data set's size (8x8 for digits, 28x28 for mnist), grey or colour
See 'nabla datasets' for each data set's sample shape. For a language model, INPUT is the prompt (a
text file, or the text itself) and the continuation is printed; for seq2seq, each line is translated."""


def add_parser(subparsers) -> None:
    pr = subparsers.add_parser("predict", help="predict with a checkpoint",
                               description="Predict classes (or values) for the samples in INPUT with a checkpoint "
                               "written by 'nabla train': the top classes and their probabilities per sample.",
                               epilog=INPUT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    pr.add_argument("checkpoint", metavar="CHECKPOINT",
                    help="a checkpoint written by 'nabla train' (or the run's folder)")
    pr.add_argument("input", metavar="INPUT", help="the samples to predict: .npy, .csv/.txt or an image (see below)")
    pr.add_argument("--top-k", type=positive_int, default=None,
                    help="classes listed per sample (default 3); for a language model, sample among the k likeliest")
    pr.add_argument("--length", type=positive_int, default=300, help="language models: characters to generate")
    pr.add_argument("--temperature", type=float, default=0.8, help="language models: sampling temperature "
                    "(0 = always the likeliest)")
    pr.add_argument("--seed", type=int, default=0, help="language models: random seed for sampling")
    pr.add_argument("--json", action="store_true", help="print the predictions as JSON")
    pr.set_defaults(func=run)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _read_table(p: Path) -> Any:
    """Numbers from a .csv (commas) or .txt (whitespace) file, one sample per row; a first row that is
    not numbers is a header and is skipped."""
    import numpy

    delimiter = "," if p.suffix.lower() == ".csv" else None
    try:
        lines = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise UsageError(f"{p} is not a text file of numbers") from None
    if not lines:
        raise UsageError(f"{p} is empty")
    rows = []
    for n, line in enumerate(lines, start=1):
        fields = [f.strip() for f in (line.split(delimiter) if delimiter else line.split())]
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            if n == 1:  # column names
                continue
            raise UsageError(f"{p}, row {n}: expected numbers, got {line[:60]!r}") from None
    if not rows:
        raise UsageError(f"{p} holds a header but no rows of numbers")
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise UsageError(f"{p}: rows have different numbers of values ({', '.join(map(str, sorted(widths)))}); "
                         "one flattened sample per row")
    return numpy.asarray(rows, dtype=numpy.float32)


def _read_image(p: Path, spec: Any) -> Any:
    """One image as a ``spec.input_shape`` array in [0, 1] (colour averaged to grey for one channel)."""
    import numpy
    from matplotlib.image import imread

    try:
        img = numpy.asarray(imread(p), dtype=numpy.float32)
    except Exception as err:  # PIL raises several kinds for a file that is not an image
        raise UsageError(f"{p} is not a readable {p.suffix.lstrip('.').upper()} image ({type(err).__name__}: "
                         f"{err}); give an image file, or the samples as .npy/.csv") from None
    if img.max() > 1.0:
        img = img / 255.0
    if img.ndim == 3:
        img = img[..., :3]
        img = img.mean(axis=2) if spec.input_shape[0] == 1 else img.transpose(2, 0, 1)
    if img.ndim == 2:
        img = img[None]
    if img.shape != tuple(spec.input_shape):
        raise UsageError(f"image {p} is {img.shape[-2]}x{img.shape[-1]} with {img.shape[0]} channel(s); "
                         f"the model takes {spec.input_shape} ({spec.name}): resize it first")
    return img


def _read_input(path: str, spec: Any) -> Any:
    """The samples in ``path`` as a float32 batch ``(N, *spec.input_shape)`` (see :data:`INPUT_HELP`)."""
    import numpy

    from ..data.datasets.registry import as_array_batch

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"input file {path!r} does not exist" if not p.exists() else f"{path!r} is not a file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            x = numpy.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise UsageError(f"{p} is not a readable .npy array ({err})") from None
    elif suffix in (".csv", ".txt"):
        x = _read_table(p)
    elif suffix in IMAGE_SUFFIXES:
        x = _read_image(p, spec)
    else:
        raise UsageError(f"cannot read {path!r}: use a .npy, .csv, .txt or image ({', '.join(IMAGE_SUFFIXES)}) file "
                         "(see 'nabla predict -h')")
    if x.dtype.kind not in "fiub":
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


