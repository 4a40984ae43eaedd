"""The ``nabla`` command: train, evaluate and use models from the zoo on named data sets.

    nabla train mlp --dataset digits                 # progress bar, then runs/mlp-digits/{checkpoint,metrics,curves}
    nabla train mlp --dataset mnist --data-dir DIR --split test --holdout 2000
    nabla train mlp --dataset digits --resume        # carry on from runs/mlp-digits/checkpoint.safetensors
    nabla evaluate runs/mlp-digits/checkpoint.safetensors
    nabla predict runs/mlp-digits/checkpoint.safetensors samples.npy
    nabla models | nabla datasets | nabla playground

Exit codes: 0 success, 1 failure while running (missing data, a broken file), 2 bad usage.
``python -m nabla`` is the same command.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

__all__ = ["main", "build_parser"]

CHECKPOINT = "checkpoint.safetensors"
TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 64, "schedule": "constant"}  # a data set may recommend others


class UsageError(Exception):
    """Bad arguments: reported with exit code 2."""


# ----------------------------------------------------------------------------------- argument types


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def _save_freq(text: str) -> "str | int":
    return "epoch" if text == "epoch" else _positive_int(text)


def _model_arg(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. hidden=256,128 or dropout=0.2), got {text!r}")
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value  # a bare word: a string such as activation=tanh
    if isinstance(parsed, list):
        parsed = tuple(parsed)
    return key, parsed


# ----------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nabla", description="nabla: train and use deep-learning models from the "
                                "command line.", epilog="Run 'nabla COMMAND -h' for a command's options.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model from the zoo on a data set",
                       description="Train MODEL on --dataset with a progress bar; write the checkpoint, "
                       "metrics.json and curves.png (loss and accuracy per epoch) to --out.")
    t.add_argument("model", metavar="MODEL", help="a model name (see 'nabla models')")
    t.add_argument("--dataset", required=True, metavar="NAME", help="a data set name (see 'nabla datasets')")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"passes over the training data (default {TRAIN_DEFAULTS['epochs']}, or the data set's own)")
    t.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"samples per step (default {TRAIN_DEFAULTS['batch_size']}, or the data set's own)")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: the data set's own, else the optimizer's: 1e-3 for adam, 1e-2 "
                   "for sgd)")
    t.add_argument("--optimizer", default="adam", help="adam, adamw, sgd, rmsprop, adagrad, adamax, nadam")
    t.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                   help="learning-rate schedule over the epochs (default: the data set's own, else constant)")
    t.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    t.add_argument("--data-dir", default=None, metavar="DIR", help="folder holding the data set's files")
    t.add_argument("--split", choices=("train", "test"), default=None,
                   help="draw training and held-out data from this part of the data set (needs --holdout)")
    t.add_argument("--holdout", type=_positive_int, default=None, metavar="N",
                   help="hold out the last N samples (of --split, else of the training part) for evaluation")
    t.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/MODEL-DATASET)")
    t.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help=f"carry on from a checkpoint (default --out/{CHECKPOINT})")
    t.add_argument("--save-every", type=_save_freq, default="epoch", metavar="N",
                   help="also checkpoint every N batches (default: after each epoch)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--arg", "-a", dest="model_args", type=_model_arg, action="append", default=[],
                   metavar="KEY=VALUE", help="a model argument, e.g. -a hidden=256,128 -a dropout=0.1")
    t.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="BLAS threads (default: 1 for models under 1M parameters, whose matrices are too small "
                   "to split, else the BLAS default)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress output")

    e = sub.add_parser("evaluate", help="evaluate a checkpoint on a data set",
                       description="Loss and metrics of a checkpoint written by 'nabla train'. By default on "
                       "the held-out data the run was evaluated on.")
    e.add_argument("checkpoint", metavar="CHECKPOINT")
    e.add_argument("--dataset", default=None, metavar="NAME", help="default: the data set it was trained on")
    e.add_argument("--data-dir", default=None, metavar="DIR")
    e.add_argument("--split", choices=("train", "test"), default=None)
    e.add_argument("--holdout", type=_positive_int, default=None, metavar="N")
    e.add_argument("--model", default=None, metavar="MODEL", help="rebuild this model instead of the recorded one")
    e.add_argument("--batch-size", type=_positive_int, default=256)
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", action="store_true", help="print the results as JSON")

    pr = sub.add_parser("predict", help="predict with a checkpoint",
                        description="Predict classes (or values) for INPUT: a .npy or .csv file of samples "
                        "(one sample, a batch, or flat rows) or an image file (.png, .jpg). For a language model, "
                        "INPUT is the prompt (a text file, or the text itself) and the continuation is printed.")
    pr.add_argument("checkpoint", metavar="CHECKPOINT")
    pr.add_argument("input", metavar="INPUT")
    pr.add_argument("--top-k", type=_positive_int, default=None,
                    help="classes listed per sample (default 3); for a language model, sample among the k likeliest")
    pr.add_argument("--length", type=_positive_int, default=300, help="language models: characters to generate")
    pr.add_argument("--temperature", type=float, default=0.8, help="language models: sampling temperature "
                    "(0 = always the likeliest)")
    pr.add_argument("--seed", type=int, default=0, help="language models: random seed for sampling")
    pr.add_argument("--json", action="store_true", help="print the predictions as JSON")

    sub.add_parser("models", help="list the model zoo")
    sub.add_parser("datasets", help="list the data sets")

    pg = sub.add_parser("playground", help="start the playground web app")
    pg.add_argument("--host", default="127.0.0.1")
    pg.add_argument("--port", type=_positive_int, default=8000)
    pg.add_argument("--db", default=None, metavar="URL", help="database URL (default: SQLite in the user data folder)")
    return p


# ----------------------------------------------------------------------------------------- commands


def _load_data(name: str, data_dir: "str | None", split: "str | None", holdout: "int | None"):
    from .data.datasets import DATASETS, load_dataset

    if name not in DATASETS:
        raise UsageError(f"unknown data set {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    try:
        return load_dataset(name, data_dir, split=split, holdout=holdout)
    except FileNotFoundError as err:
        hint = ""
        d = Path(data_dir) if data_dir else None
        if split is None and d is not None and any(d.glob("t10k-*")) and not any(d.glob("train-*")):
            hint = (f"\nOnly the test part is in {d}: train on most of it and evaluate on the rest with "
                    "--split test --holdout 2000")
        raise FileNotFoundError(f"{err}{hint}") from None


def _check_model(name: str) -> None:
    from .models import list_models

    if name not in list_models():
        raise UsageError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")


def _build(name: str, spec: Any, model_args: dict) -> Any:
    from .models import build_model

    try:
        return build_model(name, spec.input_shape, spec.outputs, data_args=spec.model_args, **model_args)
    except (ValueError, TypeError) as err:
        raise UsageError(f"cannot build {name} for {spec.name}: {err}") from None


def _loss_and_metrics(spec: Any) -> tuple[Any, list[str]]:
    if spec.task in ("language_model", "seq2seq"):
        from .functional import sequence_cross_entropy

        return sequence_cross_entropy, ["accuracy"]
    return ("cross_entropy", ["accuracy"]) if spec.task == "classification" else ("mse", ["mae", "r2"])


def cmd_train(args: argparse.Namespace) -> int:
    import nabla
    from .data import DataLoader
    from .train import BackupAndRestore, PerceptronTrainer, Trainer, plot_history
    from .train.keras import OPTIMIZERS, get_loss, get_optimizer
    from .train.perceptron import is_perceptron

    _check_model(args.model)
    if args.optimizer.lower() not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {args.optimizer!r}; valid names: {', '.join(sorted(OPTIMIZERS))}")
    if args.split is not None and args.holdout is None:
        raise UsageError(f"--split {args.split} needs --holdout N: without it the model would be evaluated on "
                         "the data it trained on")
    device = _device(args.device)
    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    resume = None
    if args.resume is not None:
        resume = Path(args.resume) if args.resume else out / CHECKPOINT
        if not resume.exists():
            raise UsageError(f"--resume: no checkpoint at {resume}")
    model_args = dict(args.model_args)

    nabla.manual_seed(args.seed)
    train, test, spec = _load_data(args.dataset, args.data_dir, args.split, args.holdout)
    for key, value in {**TRAIN_DEFAULTS, "lr": None, **(spec.train_defaults or {})}.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    model = _build(args.model, spec, model_args)
    loss_name, metrics = _loss_and_metrics(spec)
    callbacks: list[Any] = []
    if is_perceptron(model):
        if spec.task != "classification" or spec.num_classes != 2:
            raise UsageError(f"the perceptron separates two classes; {spec.name} has "
                             f"{spec.num_classes or 'no'} classes (try mlp)")
        trainer: Any = PerceptronTrainer(model, lr=args.lr or 0.1, device=device)
    else:
        opt = get_optimizer(args.optimizer.lower(), model.parameters(), args.lr)
        trainer = Trainer(model, opt, get_loss(loss_name), metrics, device=device)  # (a callable passes through)
        if args.schedule == "cosine":  # stepped once per epoch, down to 0 at the last one
            from .optim.lr_scheduler import CosineAnnealingLR
            from .train import LearningRateScheduler

            callbacks.append(LearningRateScheduler(CosineAnnealingLR(opt, T_max=args.epochs)))
    meta = {"model": args.model, "model_args": model_args, "dataset": spec.name, "task": spec.task,
            "input_shape": list(spec.input_shape), "num_classes": spec.num_classes, "split": args.split,
            "holdout": args.holdout, "classes": list(getattr(test, "classes", []) or []),
            "vocab": list(getattr(train, "itos", []) or []), "data_dir": args.data_dir}
    if spec.task == "seq2seq":
        meta.update(src_vocab=list(test.src_vocab.itos), tgt_vocab=list(test.tgt_vocab.itos),
                    target_length=int(test.tensors[-1].shape[1]))
    out.mkdir(parents=True, exist_ok=True)
    callbacks.append(BackupAndRestore(out / CHECKPOINT, save_freq=args.save_every, meta=meta, restore=resume is not None,
                              resume_from=resume))
    backup = callbacks[-1]
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, prefetch=1)  # next batch cut while the model steps
    val_loader = DataLoader(test, batch_size=max(args.batch_size, 256))
    log = sys.stderr
    n_params = sum(p.numel() for p in model.parameters())
    if not args.quiet:
        print(f"nabla train: {args.model} ({n_params:,} parameters) on {spec.name}: {len(train):,} training "
              f"samples, {len(test):,} held out; {args.epochs} epochs, batch {args.batch_size}, "
              f"{'perceptron rule' if is_perceptron(model) else args.optimizer}"
              f"{', cosine schedule' if args.schedule == 'cosine' else ''}, device {device}", file=log)
    start = time.perf_counter()
    threads = args.threads or (1 if n_params < 1_000_000 else None)
    try:
        with _blas_threads(threads):
            history = trainer.fit(loader, epochs=args.epochs, val_data=val_loader, callbacks=callbacks,
                                  verbose=0 if args.quiet else 1)
    except KeyboardInterrupt:
        print(f"\ninterrupted; carry on with: nabla train {args.model} --dataset {args.dataset} --out {out} --resume",
              file=log)
        return 130
    seconds = time.perf_counter() - start
    if backup.resumed_from is not None and not args.quiet:
        print(f"(resumed from epoch {backup.resumed_from[0]}, batch {backup.resumed_from[1]})", file=log)
    final = trainer.evaluate(val_loader)
    final.update(_exact_match(model, test, spec))
    report = {
        "model": args.model, "dataset": spec.name, "model_args": model_args,
        "config": {**{k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "optimizer", "schedule", "device",
                                                     "seed", "split", "holdout", "save_every")}, "threads": threads},
        "parameters": n_params,
        "train_samples": len(train), "test_samples": len(test),
        "epochs_run": len(history.epoch), "seconds": round(seconds, 3),
        "history": history.history, "test": final,
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2, default=_json_default) + "\n")
    if history.epoch:
        plot_history(history, out / "curves.png", title=f"{args.model} on {spec.name}")
    summary = ", ".join(f"test {k}: {v:.4f}" for k, v in final.items())
    print(f"{summary} ({seconds:.1f} s)")
    print(f"wrote {out / CHECKPOINT}, {out / 'metrics.json'}" + (f", {out / 'curves.png'}" if history.epoch else ""))
    return 0


def _blas_threads(n: "int | None") -> Any:
    """Limit BLAS to ``n`` threads while training: on small matrices OpenBLAS' extra threads only
    spin-wait (measured 3x slower for the digits MLP on a busy 2-core machine)."""
    import contextlib

    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


def _json_default(o: Any) -> Any:
    if isinstance(o, tuple):
        return list(o)
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def _device(text: str) -> Any:
    from . import backend

    try:
        return backend.to_device(text)
    except (ValueError, TypeError, RuntimeError) as err:
        raise UsageError(f"--device: {err}") from None


def _restore_model(path: str, model_name: "str | None" = None) -> tuple[Any, dict, Any]:
    """The model of a ``nabla train`` checkpoint (rebuilt from its recorded name and arguments)."""
    from .data.datasets.registry import get_spec
    from .train import load_checkpoint

    try:
        state = load_checkpoint(path)
    except ValueError as err:
        raise UsageError(f"{err}. 'nabla evaluate' and 'nabla predict' need a checkpoint written by 'nabla train'") \
            from None
    meta = state.get("meta") or {}
    if "model" not in meta:
        raise UsageError(f"{path}: the checkpoint does not record which model it holds (it was not written by "
                         "'nabla train')")
    spec = dataclasses.replace(get_spec(meta["dataset"]), input_shape=tuple(meta["input_shape"]),
                               num_classes=meta["num_classes"])
    name = model_name or meta["model"]
    _check_model(name)
    model = _build(name, spec, dict(meta.get("model_args") or {}))
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise UsageError(f"{path} holds a {meta['model']} trained on {meta['dataset']}, which does not fit {name}: "
                         f"{err}") from None
    model.eval()
    return model, meta, spec


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import DataLoader
    from .train import PerceptronTrainer, Trainer
    from .train.keras import get_loss
    from .train.perceptron import is_perceptron

    model, meta, spec = _restore_model(args.checkpoint, args.model)
    dataset = args.dataset or meta["dataset"]
    if args.data_dir is None and dataset == meta["dataset"]:
        args.data_dir = meta.get("data_dir")
    split, holdout = args.split, args.holdout
    if dataset == meta["dataset"] and split is None and holdout is None:
        split, holdout = meta.get("split"), meta.get("holdout")  # the data the run held out
    _, test, dspec = _load_data(dataset, args.data_dir, split, holdout)
    if tuple(dspec.input_shape) != tuple(spec.input_shape) or (spec.task not in ("language_model", "seq2seq")
                                                                and dspec.outputs != spec.outputs):
        raise UsageError(f"the checkpoint's model takes {spec.name} samples {spec.input_shape} with {spec.outputs} "
                         f"outputs; {dspec.name} has {dspec.input_shape} and {dspec.outputs}")
    device = _device(args.device)
    loss_name, metrics = _loss_and_metrics(dspec)
    if is_perceptron(model):
        trainer: Any = PerceptronTrainer(model, device=device)
    else:
        trainer = Trainer(model, None, get_loss(loss_name), metrics, device=device)
    results = trainer.evaluate(DataLoader(test, batch_size=args.batch_size))
    results.update(_exact_match(model, test, dspec))
    results = {"samples": len(test), **results}
    if args.json:
        print(json.dumps({"checkpoint": args.checkpoint, "dataset": dataset, **results}, indent=2))
    else:
        print(f"{meta['model']} on {dataset} ({len(test):,} samples): "
              + ", ".join(f"{k}: {v:.4f}" for k, v in results.items() if k != "samples"))
    return 0


def _read_input(path: str, spec: Any):
    import numpy

    from .data.datasets.registry import as_array_batch

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
            raise UsageError(f"image {path} is {img.shape[-2]}x{img.shape[-1]} with {img.shape[0]} channel(s); the model "
                             f"takes {spec.input_shape} ({spec.name}): resize it first")
        x = img
    else:
        raise UsageError(f"cannot read {path!r}: use a .npy, .csv or image (.png/.jpg) file")
    if x.dtype.kind not in "fiu":
        raise UsageError(f"{path}: expected numbers, got an array of {x.dtype}")
    try:
        return as_array_batch(numpy.asarray(x, dtype=numpy.float32), spec)
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_predict(args: argparse.Namespace) -> int:
    import numpy

    from . import no_grad, tensor
    from .train.perceptron import is_perceptron

    model, meta, spec = _restore_model(args.checkpoint)
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
            print(f"{r['index']}: {r['class']}  (" + ", ".join(f"{t['class']}: {t['probability']:.3f}" for t in r["top"]) + ")")
        else:
            print(f"{r['index']}: {r['class']}")
    return 0


def _exact_match(model: Any, test: Any, spec: Any) -> dict:
    """For seq2seq: the fraction of held-out targets that greedy decoding gets exactly right."""
    if spec.task != "seq2seq" or not hasattr(model, "greedy_decode"):
        return {}
    from .models.seq2seq import exact_match

    return {"exact_match": exact_match(model, test.pairs, test.src_vocab, test.tgt_vocab)}


def _translate(model: Any, meta: dict, args: argparse.Namespace) -> int:
    """seq2seq: decode each line of INPUT (a text file, or the text itself)."""
    import numpy

    from . import tensor

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


def cmd_models(args: argparse.Namespace) -> int:
    from .models import describe_model, list_models

    names = list_models()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {describe_model(name)}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .data.datasets import DATASETS

    width = max(map(len, DATASETS))
    for name in sorted(DATASETS):
        s = DATASETS[name]
        kind = f"{s.num_classes} classes" if s.num_classes else "regression"
        print(f"{name:<{width}}  {'x'.join(map(str, s.input_shape)):<7} {kind:<11} {s.description}; needs: {s.source}")
    return 0


def cmd_playground(args: argparse.Namespace) -> int:
    try:
        from .playground import serve
    except ImportError as err:
        print(f"nabla playground: needs the web app's dependencies ({err}); pip install 'nabla[playground]'",
              file=sys.stderr)
        return 1
    serve(host=args.host, port=args.port, db=args.db)
    return 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "models": cmd_models,
            "datasets": cmd_datasets, "playground": cmd_playground}


def main(argv: "Sequence[str] | None" = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # `nabla models | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except UsageError as err:
        print(f"nabla {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, ImportError, OSError) as err:
        print(f"nabla {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
