"""``nabla evaluate``: loss and metrics of a checkpoint written by ``nabla train``."""

from __future__ import annotations

import argparse
import json

from .common import UsageError, device, exact_match, load_data, positive_int, restore_model


def add_parser(subparsers) -> None:
    e = subparsers.add_parser("evaluate", help="evaluate a checkpoint on a data set",
                              description="Loss and metrics of a checkpoint written by 'nabla train'. By default on "
                              "the held-out data the run was evaluated on (same data set, folder, split and holdout).")
    e.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="a checkpoint written by 'nabla train' (e.g. runs/mlp-digits/checkpoint.safetensors)")
    e.add_argument("--dataset", default=None, metavar="NAME", help="default: the data set it was trained on")
    e.add_argument("--data-dir", default=None, metavar="DIR",
                   help="folder holding the data set's files (default: the one the run used)")
    e.add_argument("--split", choices=("train", "test"), default=None,
                   help="evaluate on this part of the data set (default: the run's held-out data)")
    e.add_argument("--holdout", type=positive_int, default=None, metavar="N",
                   help="evaluate on the last N samples of --split (default: the run's holdout)")
    e.add_argument("--model", default=None, metavar="MODEL", help="rebuild this model instead of the recorded one")
    e.add_argument("--batch-size", type=positive_int, default=256, help="samples per forward pass (default 256)")
    e.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    e.add_argument("--json", action="store_true", help="print the results as JSON")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data import DataLoader
    from ..train.recipes import make_evaluator

    model, meta, spec = restore_model(args.checkpoint, args.model)
    dataset = args.dataset or meta["dataset"]
    data_dir = args.data_dir
    if data_dir is None and dataset == meta["dataset"]:
        data_dir = meta.get("data_dir")
    split, holdout = args.split, args.holdout
    if dataset == meta["dataset"] and split is None and holdout is None:
        split, holdout = meta.get("split"), meta.get("holdout")  # the data the run held out
    _, test, dspec = load_data(dataset, data_dir, split, holdout)
    if tuple(dspec.input_shape) != tuple(spec.input_shape) or (spec.task not in ("language_model", "seq2seq")
                                                                and dspec.outputs != spec.outputs):
        raise UsageError(f"the checkpoint's model takes {spec.name} samples {spec.input_shape} with {spec.outputs} "
                         f"outputs; {dspec.name} has {dspec.input_shape} and {dspec.outputs}")
    dev = device(args.device)
    trainer = make_evaluator(model, dspec.task, device=dev)
    results = trainer.evaluate(DataLoader(test, batch_size=args.batch_size))
    results.update(exact_match(model, test, dspec))
    results = {"samples": len(test), **results}
    if args.json:
        print(json.dumps({"checkpoint": args.checkpoint, "dataset": dataset, **results}, indent=2))
    else:
        print(f"{meta['model']} on {dataset} ({len(test):,} samples): "
              + ", ".join(f"{k}: {v:.4f}" for k, v in results.items() if k != "samples"))
    return 0
