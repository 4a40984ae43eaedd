"""``nabla train``: train a zoo model on a named data set with a progress bar; write the checkpoint,
metrics.json and curves.png."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .common import (
    CHECKPOINT,
    UsageError,
    build,
    check_model,
    device,
    exact_match,
    json_default,
    load_data,
    loss_and_metrics,
    model_arg,
    positive_float,
    positive_int,
    save_freq,
)

TRAIN_DEFAULTS = {"epochs": 10, "batch_size": 64, "schedule": "constant"}  # a data set may recommend others


def add_parser(subparsers) -> None:
    t = subparsers.add_parser("train", help="train a model from the zoo on a data set",
                              description="Train MODEL on --dataset with a progress bar; write the checkpoint, "
                              "metrics.json and curves.png (loss and accuracy per epoch) to --out.")
    t.add_argument("model", metavar="MODEL", help="a model name (see 'nabla models')")
    t.add_argument("--dataset", required=True, metavar="NAME", help="a data set name (see 'nabla datasets')")
    t.add_argument("--epochs", type=positive_int, default=None,
                   help=f"passes over the training data (default {TRAIN_DEFAULTS['epochs']}, or the data set's own)")
    t.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"samples per step (default {TRAIN_DEFAULTS['batch_size']}, or the data set's own)")
    t.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: the data set's own, else the optimizer's: 1e-3 for adam, 1e-2 "
                   "for sgd)")
    t.add_argument("--optimizer", default="adam", help="adam, adamw, sgd, rmsprop, adagrad, adamax, nadam")
    t.add_argument("--schedule", choices=("constant", "cosine"), default=None,
                   help="learning-rate schedule over the epochs (default: the data set's own, else constant)")
    t.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    t.add_argument("--data-dir", default=None, metavar="DIR", help="folder holding the data set's files")
    t.add_argument("--split", choices=("train", "test"), default=None,
                   help="draw training and held-out data from this part of the data set (needs --holdout)")
    t.add_argument("--holdout", type=positive_int, default=None, metavar="N",
                   help="hold out the last N samples (of --split, else of the training part) for evaluation")
    t.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/MODEL-DATASET)")
    t.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help=f"carry on from a checkpoint (default --out/{CHECKPOINT})")
    t.add_argument("--save-every", type=save_freq, default="epoch", metavar="N",
                   help="also checkpoint every N batches (default: after each epoch)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--arg", "-a", dest="model_args", type=model_arg, action="append", default=[],
                   metavar="KEY=VALUE", help="a model argument, e.g. -a hidden=256,128 -a dropout=0.1")
    t.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="BLAS threads (default: 1 for models under 1M parameters, whose matrices are too small "
                   "to split, else the BLAS default)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    t.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import manual_seed
    from ..data import DataLoader
    from ..train import BackupAndRestore, PerceptronTrainer, Trainer, plot_history
    from ..train.keras import OPTIMIZERS, get_loss, get_optimizer
    from ..train.perceptron import is_perceptron

    check_model(args.model)
    if args.optimizer.lower() not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {args.optimizer!r}; valid names: {', '.join(sorted(OPTIMIZERS))}")
    if args.split is not None and args.holdout is None:
        raise UsageError(f"--split {args.split} needs --holdout N: without it the model would be evaluated on "
                         "the data it trained on")
    dev = device(args.device)
    out = Path(args.out or f"runs/{args.model}-{args.dataset}")
    resume = None
    if args.resume is not None:
        resume = Path(args.resume) if args.resume else out / CHECKPOINT
        if not resume.exists():
            raise UsageError(f"--resume: no checkpoint at {resume}")
    model_args = dict(args.model_args)

    manual_seed(args.seed)
    train, test, spec = load_data(args.dataset, args.data_dir, args.split, args.holdout)
    for key, value in {**TRAIN_DEFAULTS, "lr": None, **(spec.train_defaults or {})}.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    model = build(args.model, spec, model_args)
    loss_name, metrics = loss_and_metrics(spec)
    callbacks: list[Any] = []
    if is_perceptron(model):
        if spec.task != "classification" or spec.num_classes != 2:
            raise UsageError(f"the perceptron separates two classes; {spec.name} has "
                             f"{spec.num_classes or 'no'} classes (try mlp)")
        trainer: Any = PerceptronTrainer(model, lr=args.lr or 0.1, device=dev)
    else:
        opt = get_optimizer(args.optimizer.lower(), model.parameters(), args.lr)
        trainer = Trainer(model, opt, get_loss(loss_name), metrics, device=dev)  # (a callable passes through)
        if args.schedule == "cosine":  # stepped once per epoch, down to 0 at the last one
            from ..optim.lr_scheduler import CosineAnnealingLR
            from ..train import LearningRateScheduler

            callbacks.append(LearningRateScheduler(CosineAnnealingLR(opt, T_max=args.epochs)))
    meta = {"model": args.model, "model_args": model_args, "dataset": spec.name, "task": spec.task,
            "input_shape": list(spec.input_shape), "num_classes": spec.num_classes, "split": args.split,
            "holdout": args.holdout, "classes": list(getattr(test, "classes", []) or []),
            "vocab": list(getattr(train, "itos", []) or []), "data_dir": args.data_dir}
    if spec.task == "seq2seq":
        meta.update(src_vocab=list(test.src_vocab.itos), tgt_vocab=list(test.tgt_vocab.itos),
                    target_length=int(test.tensors[-1].shape[1]))
    out.mkdir(parents=True, exist_ok=True)
    callbacks.append(BackupAndRestore(out / CHECKPOINT, save_freq=args.save_every, meta=meta,
                                      restore=resume is not None, resume_from=resume))
    backup = callbacks[-1]
    loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, prefetch=1)  # next batch cut meanwhile
    val_loader = DataLoader(test, batch_size=max(args.batch_size, 256))
    log = sys.stderr
    n_params = sum(p.numel() for p in model.parameters())
    if not args.quiet:
        print(f"nabla train: {args.model} ({n_params:,} parameters) on {spec.name}: {len(train):,} training "
              f"samples, {len(test):,} held out; {args.epochs} epochs, batch {args.batch_size}, "
              f"{'perceptron rule' if is_perceptron(model) else args.optimizer}"
              f"{', cosine schedule' if args.schedule == 'cosine' else ''}, device {dev}", file=log)
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
    final.update(exact_match(model, test, spec))
    report = {
        "model": args.model, "dataset": spec.name, "model_args": model_args,
        "config": {**{k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "optimizer", "schedule", "device",
                                                     "seed", "split", "holdout", "save_every")}, "threads": threads},
        "parameters": n_params,
        "train_samples": len(train), "test_samples": len(test),
        "epochs_run": len(history.epoch), "seconds": round(seconds, 3),
        "history": history.history, "test": final,
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2, default=json_default) + "\n")
    if history.epoch:
        plot_history(history, out / "curves.png", title=f"{args.model} on {spec.name}")
    summary = ", ".join(f"test {k}: {v:.4f}" for k, v in final.items())
    print(f"{summary} ({seconds:.1f} s)")
    print(f"wrote {out / CHECKPOINT}, {out / 'metrics.json'}" + (f", {out / 'curves.png'}" if history.epoch else ""))
    return 0


def _blas_threads(n: int | None) -> Any:
    """Limit BLAS to ``n`` threads while training: on small matrices OpenBLAS' extra threads only
    spin-wait (measured 3x slower for the digits MLP on a busy 2-core machine)."""
    import contextlib

    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")
