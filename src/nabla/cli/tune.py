"""``nabla tune``: hyperparameter search on Optuna; prints the best configuration as a ``nabla train`` command,
a table of the trials, and writes the table, best.json and Optuna's plots to --out."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from .common import UsageError, check_model, positive_int


def add_parser(subparsers) -> None:
    from ..tune.space import FORMS

    p = subparsers.add_parser(
        "tune", help="search hyperparameters with Optuna (each trial a training run)",
        description="Search the --param space for MODEL on --dataset: each trial trains on 80%% of the training "
        "part and is judged on the other 20%% (accuracy for classification, else loss) after every epoch; the "
        "pruner stops poor trials early. Then the best and the default configuration are trained on the whole "
        "training part and compared on the test part. Writes trials.csv, best.json and the plots history.png, "
        "importances.png and contour.png to --out.",
        epilog="--param forms: " + "; ".join(FORMS) + ". lr, batch_size, epochs, optimizer and schedule are "
        "training settings; other names are model arguments (as nabla train -a NAME=VALUE).")
    p.add_argument("model", metavar="MODEL", help="a model name (see 'nabla models')")
    p.add_argument("--dataset", required=True, metavar="NAME", help="a data set name (see 'nabla datasets')")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=SPEC", required=True,
                   help="a dimension of the search, e.g. lr=log:1e-4:1e-1, dropout=0:0.5, hidden=choice:128,256,512 "
                   "(repeat for more)")
    p.add_argument("--trials", type=positive_int, default=20, help="trials to run (default 20)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs per trial (default: the data set's recipe, as nabla train)")
    p.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median",
                   help="stop unpromising trials early (default median)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="share the study through a database, e.g. sqlite:///study.db or postgresql://... (default: "
                   "in memory; with --jobs > 1, sqlite:///OUT/study.db)")
    p.add_argument("--study", default=None, metavar="NAME", help="study name in the storage (default MODEL-DATASET)")
    p.add_argument("--jobs", type=positive_int, default=1, help="worker processes sharing the study (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampler, the split and every trial (default 0)")
    p.add_argument("--data-dir", default=None, metavar="DIR", help="folder holding the data set's files")
    p.add_argument("--split", choices=("train", "test"), default=None,
                   help="draw training and test data from this part of the data set (needs --holdout)")
    p.add_argument("--holdout", type=positive_int, default=None, metavar="N",
                   help="hold out the last N samples (of --split, else of the training part) as the test part")
    p.add_argument("--no-final", dest="final", action="store_false",
                   help="skip training the best and the default configuration on the whole training part")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/tune-MODEL-DATASET)")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-trial lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.datasets import DATASETS
    from ..tune import parse_param, search

    check_model(args.model)
    if args.dataset not in DATASETS:
        raise UsageError(f"unknown data set {args.dataset!r}; valid names: {', '.join(sorted(DATASETS))}")
    if args.split is not None and args.holdout is None:
        raise UsageError(f"--split {args.split} needs --holdout N")
    try:
        params = [parse_param(text) for text in args.params]
    except ValueError as err:
        raise UsageError(str(err)) from None
    names = [p.name for p in params]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"--param {', '.join(dupes)} given more than once")
    from ..models.registry import get_builder
    from ..tune import TRAIN_SETTINGS

    accepted = inspect.signature(get_builder(args.model)).parameters
    unknown = [n for n in names if n not in TRAIN_SETTINGS and n not in accepted]
    if unknown:
        raise UsageError(f"--param {', '.join(unknown)}: not a training setting ({', '.join(TRAIN_SETTINGS)}) nor an "
                         f"argument of {args.model} ({', '.join(accepted)})")
    out = Path(args.out or f"runs/tune-{args.model}-{args.dataset}")
    storage = args.storage
    if args.jobs > 1 and storage is None:
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{(out / 'study.db').resolve()}"
    log = None if args.quiet else sys.stderr
    if log is not None:
        print(f"nabla tune: {args.model} on {args.dataset}, {args.trials} trials, pruner {args.pruner}"
              + (f", {args.jobs} processes" if args.jobs > 1 else "") + (f", storage {storage}" if storage else ""),
              file=log)
    try:
        result = search(args.model, args.dataset, params, trials=args.trials, epochs=args.epochs,
                        data_dir=args.data_dir, split=args.split, holdout=args.holdout, storage=storage,
                        study_name=args.study, jobs=args.jobs, pruner=args.pruner, seed=args.seed,
                        final=args.final, log=log)
    except TypeError as err:  # a model argument of the wrong kind (the builder's own message)
        raise UsageError(f"cannot build {args.model}: {err}") from None
    files = result.write(out)
    counts = result.counts()
    print(result.table(limit=15))
    saved = counts["epochs_budget"] - counts["epochs_run"]
    print(f"\n{counts.get('complete', 0)} trials completed, {counts.get('pruned', 0)} pruned, "
          f"{counts.get('fail', 0)} failed; {counts['epochs_run']} of {counts['epochs_budget']} epochs run "
          f"(pruning saved {saved}, {saved / max(counts['epochs_budget'], 1):.0%}); {result.seconds:.1f} s")
    print(result.verdict())
    if result.test:
        print(f"on the test part (trained on the whole training part): tuned {result.monitor[4:]} "
              f"{result.test['tuned']:.4f}, default {result.test['default']:.4f}")
    print(f"best configuration:\n  {result.command}")
    print("wrote " + ", ".join(str(f) for f in files))
    return 0
