"""``nabla train``: train a zoo model on a named data set with a progress bar; write the checkpoint,
metrics.json and curves.png to ``--out``.

A run never overwrites another silently: an ``--out`` that holds a run needs ``--resume`` (carry on)
or ``--force`` (replace it). The checkpoint records the run's settings (:data:`RUN_SETTINGS`), so
``nabla train --resume --out DIR`` needs nothing else; a setting given again on resume is applied and
recorded, or refused when it would change what the run is (:data:`ON_RESUME`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..distributed import abort_on_error, is_main_process, world_size
from .common import (
    CHECKPOINT,
    UsageError,
    build,
    check_model,
    device,
    exact_match,
    json_default,
    load_data,
    model_arg,
    plural,
    positive_float,
    positive_int,
    save_freq,
)

# What a run is: the checkpoint records these (resolved: the recipe's values where the user gave none).
RUN_SETTINGS = ("model", "dataset", "data_dir", "split", "holdout", "model_args", "epochs", "batch_size", "lr",
                "optimizer", "schedule", "seed", "save_every", "threads", "device")
# What a changed setting does on --resume. "refused": it would make a different run (other data, model,
# batches or random draws); "applied": the run carries on with it and the change is recorded.
ON_RESUME = {
    "model": "refused", "dataset": "refused", "split": "refused", "holdout": "refused", "model_args": "refused",
    "optimizer": "refused", "batch_size": "refused", "seed": "refused", "schedule": "refused",
    "epochs": "applied (more epochs carry on; not with a cosine schedule, which spans the first total)",
    "lr": "applied from the next step (not with a cosine schedule)",
    "data_dir": "applied (the files may have moved)", "save_every": "applied", "threads": "applied",
    "device": "applied",
}
OUTPUTS = (CHECKPOINT, "metrics.json", "curves.png")



def _flag(key: str) -> str:
    """How a run setting is spelled on the command line."""
    return {"model": "MODEL", "model_args": "-a"}.get(key, "--" + key.replace("_", "-"))


RESUME_HELP = ("On --resume the run's own settings are used; giving one again that differs: "
               + "; ".join(f"{_flag(k)}: {v}" for k, v in ON_RESUME.items() if v != "refused")
               + ". Any other (" + ", ".join(_flag(k) for k, v in ON_RESUME.items() if v == "refused")
               + ") is refused (exit 2): start a new run with another --out instead.")


def add_parser(subparsers) -> None:
    from ..train.recipes import DEFAULT_RECIPE, SCHEDULES

    t = subparsers.add_parser(
        "train", help="train a model from the zoo on a data set",
        description="Train MODEL on --dataset with a progress bar; write the checkpoint, metrics.json and "
        "curves.png (loss and accuracy per epoch) to --out. Settings not given come from the data set's "
        "training recipe (nabla.train.recipes). An --out that already holds a run is refused unless you "
        "--resume it or --force a new run over it.",
        epilog=RESUME_HELP)
    t.add_argument("model", metavar="MODEL", nargs="?", default=None,
                   help="a model name (see 'nabla models'); on --resume, default: the run's")
    t.add_argument("--dataset", default=None, metavar="NAME",
                   help="a data set name (see 'nabla datasets'); required unless resuming")
    t.add_argument("--epochs", type=positive_int, default=None, metavar="N",
                   help=f"total passes over the training data (default: the data set's recipe, else "
                   f"{DEFAULT_RECIPE.epochs}); on --resume, more than the run's carries it on")
    t.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help=f"samples per step (default: the data set's recipe, else {DEFAULT_RECIPE.batch_size})")
    t.add_argument("--lr", type=positive_float, default=None, metavar="RATE",
                   help="learning rate (default: the data set's recipe, else the optimizer's own: 1e-3 for adam, "
                   "1e-2 for sgd; 0.1 for the perceptron rule)")
    t.add_argument("--optimizer", default=None, type=str.lower, metavar="NAME",
                   help=f"adam, adamw, sgd, rmsprop, adagrad, adamax or nadam (default {DEFAULT_RECIPE.optimizer})")
    t.add_argument("--schedule", choices=SCHEDULES, default=None,
                   help="learning-rate schedule over the epochs (default: the data set's recipe, else constant)")
    t.add_argument("--device", default=None, help="cpu or cuda[:N] (default cpu)")
    t.add_argument("--compile", action="store_true",
                   help="trace the training step once per batch shape and replay it as a flat program of array "
                   "operations (nabla.compile): the same results, less Python per step (docs/compile.md)")
    t.add_argument("--data-dir", default=None, metavar="DIR",
                   help="an existing folder holding the data set's files (default: the user's data folder, "
                   "where missing files are downloaded)")
    t.add_argument("--split", choices=("train", "test"), default=None,
                   help="draw training and held-out data from this part of the data set (needs --holdout)")
    t.add_argument("--holdout", type=positive_int, default=None, metavar="N",
                   help="hold out the last N samples (of --split, else of the training part) for evaluation")
    t.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/MODEL-DATASET)")
    t.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT",
                   help=f"carry on the run in --out (from --out/{CHECKPOINT}, or from CHECKPOINT) with its recorded "
                   "settings; with no checkpoint there yet, start the run afresh")
    t.add_argument("--force", action="store_true",
                   help="start a new run even if --out holds one (its checkpoint, metrics and curves are replaced)")
    t.add_argument("--save-every", type=save_freq, default=None, metavar="N",
                   help="also checkpoint every N batches (default: after each epoch only)")
    t.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default 0)")
    t.add_argument("--arg", "-a", dest="model_args", type=model_arg, action="append", default=None,
                   metavar="KEY=VALUE", help="a model argument, e.g. -a hidden=256,128 -a dropout=0.1 (see 'nabla "
                   "models MODEL' for a model's arguments, types and defaults)")
    t.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="BLAS threads (default: 1 for models under 1M parameters, whose matrices are too small "
                   "to split, else the BLAS default)")
    t.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    t.set_defaults(func=run)


# ------------------------------------------------------------------------------------------ settings


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """The run settings the user typed (``None``: not given)."""
    return {k: getattr(args, k, None) for k in RUN_SETTINGS}


def _command_prefix() -> str:
    """How to call nabla again from this shell: ``nabla`` when it is on PATH, else this Python's ``-m nabla``."""
    exe = shutil.which("nabla")
    return "nabla" if exe else f"{shlex.quote(sys.executable)} -m nabla"


def _resume_command(out: Path, given: dict[str, Any]) -> str:
    """A command that carries this run on: with a checkpoint written, ``--resume --out`` is enough; before
    the first one, the whole command (``--resume`` then starts it afresh)."""
    if (out / CHECKPOINT).exists():
        return f"{_command_prefix()} train --resume --out {shlex.quote(str(out))}"
    words = [given["model"], "--dataset", given["dataset"], "--out", str(out), "--resume"]
    for key, value in given.items():
        if key in ("model", "dataset") or value is None:
            continue
        if key == "model_args":
            for k, v in value:
                words += ["-a", f"{k}={v}"]
        else:
            words += [f"--{key.replace('_', '-')}", str(value)]
    return f"{_command_prefix()} train " + shlex.join(words)


def _merge_resumed(saved: dict[str, Any], given: dict[str, Any], done: int) -> tuple[dict[str, Any], dict]:
    """The resumed run's settings: the checkpoint's, with the given ones applied or refused (see
    :data:`ON_RESUME`). Returns ``(settings, changes)``; ``changes`` maps a setting to ``[old, new]``."""
    settings, changes = dict(saved), {}
    for key, value in given.items():
        if value is None or key not in saved:
            continue
        old = saved[key]
        if key == "model_args":
            value = _typed_model_args(saved["model"], saved["dataset"], value)
            old = dict(old or {})
        if _same(old, value):
            continue
        flag = _flag(key)
        if ON_RESUME[key] == "refused":
            raise UsageError(f"--resume: this run was trained with {flag} {_show(old)}, not {_show(value)}; a run "
                             f"carries on with its own {flag}. Leave {flag} out to resume, or start a new run with "
                             "another --out")
        if key == "epochs" and value < done:
            raise UsageError(f"--resume: this run has already trained {plural(done, 'epoch')}; --epochs {value} asks "
                             f"for fewer. Give --epochs above {done} to train longer (nothing was changed)")
        if key in ("epochs", "lr") and saved.get("schedule") == "cosine":
            raise UsageError(f"--resume: this run's cosine schedule decays the learning rate over its "
                             f"{saved['epochs']} epochs from lr {saved['lr']}; {flag} {_show(value)} would bend "
                             f"it. Leave {flag} out to resume, or start a new run with another --out")
        settings[key] = value
        changes[key] = [old, value]
    return settings, changes


def _typed_model_args(model: str, dataset: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``-a`` pairs converted for ``model``'s builder (the data set's own model arguments are not settable)."""
    from ..data.datasets import DATASETS
    from .model_args import parse_model_args

    if dataset not in DATASETS:
        raise UsageError(f"unknown data set {dataset!r}; valid names: {', '.join(sorted(DATASETS))}")
    return parse_model_args(model, pairs, DATASETS[dataset].model_args)


def _same(a: Any, b: Any) -> bool:
    return json.loads(json.dumps(a, default=json_default)) == json.loads(json.dumps(b, default=json_default))


def _show(v: Any) -> str:
    if isinstance(v, dict):
        return " ".join(f"{k}={_show(x)}" for k, x in v.items()) or "(none)"
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    return str(v)


def _saved_settings(state: dict) -> dict[str, Any]:
    """The run settings a checkpoint records (older checkpoints: what their ``meta`` has; the recipe's
    values for the rest)."""
    from ..train.recipes import resolve_settings

    meta = state.get("meta") or {}
    run = dict(meta.get("run") or {})
    for key in ("model", "dataset", "data_dir", "split", "holdout", "model_args"):
        run.setdefault(key, meta.get(key))
    if not run.get("model") or not run.get("dataset"):
        raise UsageError("the checkpoint does not record its run's model and data set (it was not written by "
                         "'nabla train')")
    recipe = resolve_settings(run["dataset"], run["model"],
                              **{k: run.get(k) for k in ("epochs", "batch_size", "lr", "schedule", "optimizer")})
    defaults = {"seed": 0, "save_every": "epoch", "threads": None, "device": "cpu", "model_args": {}}
    return {**defaults, **{k: v for k, v in run.items() if v is not None or k in ("data_dir", "split", "holdout")},
            **recipe}


def _new_settings(args: argparse.Namespace) -> dict[str, Any]:
    """A new run's settings: the user's, else the data set's recipe, else the defaults."""
    from ..train.recipes import resolve_settings

    if not args.model or not args.dataset:
        raise UsageError("give MODEL and --dataset NAME (e.g. nabla train mlp --dataset digits), or --resume --out "
                         "DIR to carry on a run")
    return {"model": args.model, "dataset": args.dataset, "data_dir": args.data_dir, "split": args.split,
            "holdout": args.holdout, "model_args": None, "seed": 0 if args.seed is None else args.seed,
            "save_every": args.save_every or "epoch", "threads": args.threads, "device": args.device or "cpu",
            **resolve_settings(args.dataset, args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               schedule=args.schedule, optimizer=args.optimizer)}


@dataclass
class _Plan:
    """What ``nabla train`` will do: where, with which settings, carrying on which checkpoint."""

    out: Path
    settings: dict[str, Any]
    state: dict | None = None  # the checkpoint carried on
    resume_from: Path | None = None
    changes: dict = field(default_factory=dict)  # setting -> [old, new] applied on resume
    notice: str = ""


def _plan(args: argparse.Namespace, given: dict[str, Any]) -> _Plan:
    """Decide a new run or a resumed one; refuse to overwrite a run, or to resume it with settings that
    would make it another run."""
    from ..train import load_checkpoint

    if args.resume is not None and args.force:
        raise UsageError("--resume carries a run on and --force replaces it: give one of them")
    resume_from = None
    if args.resume:  # an explicit checkpoint (or run folder)
        resume_from = Path(args.resume)
        if resume_from.is_dir():
            resume_from = resume_from / CHECKPOINT
        if not resume_from.is_file():
            raise UsageError(f"--resume: no checkpoint at {resume_from}")
    if args.out:
        out = Path(args.out)
    elif resume_from is not None:
        out = resume_from.parent
    elif args.model and args.dataset:
        out = Path(f"runs/{args.model}-{args.dataset}")
    elif args.resume is not None:
        raise UsageError("--resume: say which run with --out DIR (or MODEL and --dataset for runs/MODEL-DATASET)")
    else:
        return _plan_new(args, Path("."))  # (raises: MODEL and --dataset missing)
    notice = ""
    if args.resume == "":  # the run in --out
        if (out / CHECKPOINT).is_file():
            resume_from = out / CHECKPOINT
        else:  # killed before its first checkpoint: start it (Keras' BackupAndRestore does the same)
            notice = f"--resume: no checkpoint in {out} yet; starting the run afresh"
            if not (args.model and args.dataset):
                raise UsageError(f"--resume: no checkpoint in {out} to take the run's settings from; give MODEL and "
                                 "--dataset to start it")
    if resume_from is None:
        return _plan_new(args, out, notice)
    state = load_checkpoint(resume_from)
    try:
        saved = _saved_settings(state)
    except UsageError as err:
        raise UsageError(f"{resume_from}: {err}") from None
    settings, changes = _merge_resumed(saved, given, int(state["epoch"]))
    if resume_from.resolve() != (out / CHECKPOINT).resolve():
        _refuse_overwrite(out, args.force)
    return _Plan(out, settings, state, resume_from, changes)


def _plan_new(args: argparse.Namespace, out: Path, notice: str = "") -> _Plan:
    settings = _new_settings(args)
    _refuse_overwrite(out, args.force, resuming=args.resume is not None)
    return _Plan(out, settings, notice=notice)


def _refuse_overwrite(out: Path, force: bool, resuming: bool = False) -> None:
    held = [f for f in (CHECKPOINT, "metrics.json") if (out / f).exists()]
    if not held or force:
        return
    if resuming and CHECKPOINT not in held:  # a finished run's metrics whose checkpoint was removed
        raise UsageError(f"--resume: {out} has metrics.json but no {CHECKPOINT} to carry on; start the run afresh "
                         "over it with --force (without --resume), or choose a new --out DIR")
    raise UsageError(f"{out} already holds a run ({', '.join(held)}). Carry it on with --resume "
                     f"(nabla train --resume --out {out}), replace it with --force, or choose a new --out DIR")


# -------------------------------------------------------------------------------------------- output


def _make_out(out: Path) -> list[Path]:
    """Create ``out`` (and missing parents); return the folders created, deepest first."""
    created = []
    for p in [out, *out.parents]:
        if p.exists():
            break
        created.append(p)
    out.mkdir(parents=True, exist_ok=True)
    return created


def _remove_if_empty(created: list[Path]) -> None:
    for p in created:
        try:
            p.rmdir()  # only an empty folder goes
        except OSError:
            break


# ----------------------------------------------------------------------------------------------- run


@abort_on_error(usage=(UsageError,))  # under mpiexec: a failing rank stops the others instead of leaving them waiting
def run(args: argparse.Namespace) -> int:
    from .. import manual_seed
    from ..data import DataLoader
    from ..train import BackupAndRestore
    from ..train.recipes import make_trainer, set_learning_rate

    given = _given(args)
    plan = _plan(args, given)
    quiet = args.quiet or not is_main_process()  # mpiexec -n N: rank 0 alone prints and writes
    s, out, state = plan.settings, plan.out, plan.state
    if state is not None and int(state["epoch"]) >= s["epochs"] and not int(state.get("step", 0)):
        print(f"nabla train: {out} has already trained {plural(int(state['epoch']), 'epoch')} of {s['epochs']}; "
              f"nothing to do (give --epochs above {state['epoch']} to train longer; no file was changed)",
              file=sys.stderr)
        return 0
    _check_settings(s, given)
    dev = device(s["device"])

    # ---- data, model, trainer
    manual_seed(s["seed"])
    train, test, spec = load_data(s["dataset"], s["data_dir"], s["split"], s["holdout"])
    model = build(s["model"], spec, s["model_args"])
    try:
        trainer, callbacks, s["lr"] = make_trainer(model, spec.task, optimizer=s["optimizer"], lr=s["lr"],
                                                   schedule=s["schedule"], epochs=s["epochs"], device=dev,
                                                   compile=bool(getattr(args, "compile", False)))
    except ValueError as err:
        raise UsageError(f"cannot train {s['model']} on {spec.name}: {err}") from None
    n_params = sum(p.numel() for p in model.parameters())
    threads = s["threads"] or (1 if n_params < 1_000_000 else None)
    changes = list(((state or {}).get("meta") or {}).get("run", {}).get("changes") or [])
    if plan.changes:
        changes.append({"at_epoch": int(state["epoch"]), "changed": plan.changes})
    lr = s["lr"]
    callbacks.append(BackupAndRestore(out / CHECKPOINT, save_freq=s["save_every"],
                                      meta=_checkpoint_meta(s, spec, train, test, changes),
                                      restore=state is not None, resume_from=plan.resume_from,
                                      on_restore=(lambda tr: set_learning_rate(tr, lr)) if "lr" in plan.changes
                                      else None))
    loader = DataLoader(train, batch_size=s["batch_size"], shuffle=True, prefetch=1)  # next batch cut meanwhile
    val_loader = DataLoader(test, batch_size=max(s["batch_size"], 256))
    if hasattr(model, "progress_images"):  # generative models: a PNG grid per epoch (reconstructions or samples)
        from ..train import ImageGrid

        callbacks.append(ImageGrid(out, *next(iter(DataLoader(test, batch_size=32)))))

    # ---- train
    if not quiet:
        _announce(plan, trainer, spec, n_params, len(train), len(test), dev)
    if args.force:
        for f in OUTPUTS:
            (out / f).unlink(missing_ok=True)
    created = _make_out(out)
    start = time.perf_counter()
    try:
        with _blas_threads(threads):
            history = trainer.fit(loader, epochs=s["epochs"], val_data=val_loader, callbacks=callbacks,
                                  verbose=0 if quiet else 1)
    except KeyboardInterrupt:
        _remove_if_empty(created)
        print(f"\ninterrupted; carry on with: {_resume_command(out, given)}", file=sys.stderr)
        return 130
    except BaseException:
        _remove_if_empty(created)
        raise
    seconds = time.perf_counter() - start
    final = trainer.evaluate(val_loader)
    final.update(exact_match(model, test, spec))
    if not is_main_process():
        return 0
    report = {
        "model": s["model"], "dataset": spec.name, "model_args": s["model_args"],
        "config": {**{k: s[k] for k in ("epochs", "batch_size", "lr", "optimizer", "schedule", "device", "seed",
                                        "split", "holdout", "save_every", "data_dir")}, "threads": threads,
                   "processes": world_size()},
        "resumed": changes, "parameters": n_params, "train_samples": len(train), "test_samples": len(test),
        "epochs_run": len(history.epoch), "seconds": round(seconds, 3), "history": history.history, "test": final,
    }
    _write_outputs(out, report, history, title=f"{s['model']} on {spec.name}")
    return 0


def _check_settings(s: dict[str, Any], given: dict[str, Any]) -> None:
    """Refuse settings that cannot work before anything is loaded; type a new run's ``-a`` arguments."""
    from ..train.keras import OPTIMIZERS

    if s["optimizer"] not in OPTIMIZERS:
        raise UsageError(f"unknown optimizer {s['optimizer']!r}; valid names: {', '.join(sorted(OPTIMIZERS))}")
    if s["split"] is not None and s["holdout"] is None:
        raise UsageError(f"--split {s['split']} needs --holdout N: without it the model would be evaluated on the "
                         "data it trained on")
    check_model(s["model"])
    if s["model_args"] is None:
        s["model_args"] = _typed_model_args(s["model"], s["dataset"], given["model_args"] or [])


def _checkpoint_meta(s: dict[str, Any], spec: Any, train: Any, test: Any, changes: list) -> dict[str, Any]:
    """What the checkpoint records beside the weights: how to rebuild the model and read its inputs
    (for evaluate and predict), and the run's settings (for --resume)."""
    meta = {"model": s["model"], "model_args": s["model_args"], "dataset": spec.name, "task": spec.task,
            "input_shape": list(spec.input_shape), "num_classes": spec.num_classes, "split": s["split"],
            "holdout": s["holdout"], "classes": list(getattr(test, "classes", []) or []),
            "vocab": list(getattr(train, "itos", []) or []), "data_dir": s["data_dir"],
            "run": {**{k: s[k] for k in RUN_SETTINGS}, "changes": changes}}
    if spec.task == "seq2seq":
        meta.update(src_vocab=list(test.src_vocab.itos), tgt_vocab=list(test.tgt_vocab.itos),
                    target_length=int(test.tensors[-1].shape[1]))
    return meta


def _announce(plan: _Plan, trainer: Any, spec: Any, n_params: int, n_train: int, n_test: int, dev: Any) -> None:
    """The run's first lines on stderr: what trains on what, how; and where a resumed run picks up."""
    s, state, log = plan.settings, plan.state, sys.stderr
    if plan.notice:
        print(plan.notice, file=log)
    rule = type(trainer.optimizer).__name__ if trainer.optimizer is not None else "perceptron rule"
    if isinstance(trainer.optimizer, dict):  # one per network (a GAN)
        rule = " + ".join(f"{type(o).__name__} ({k})" for k, o in trainer.optimizer.items())
    ranks = world_size()  # mpiexec -n N: each process steps on its own batch
    print(f"nabla train: {s['model']} ({n_params:,} parameters) on {spec.name}: {n_train:,} training samples, "
          f"{n_test:,} held out; {plural(s['epochs'], 'epoch')}, batch {s['batch_size']}"
          f"{f' on each of {ranks} processes' if ranks > 1 else ''}, {rule} lr {s['lr']:g}"
          f"{', cosine schedule' if s['schedule'] == 'cosine' else ''}, device {dev}", file=log)
    if state is not None:
        step = int(state.get("step", 0))
        changed = ", ".join(f"{_flag(k)} {_show(o)} -> {_show(n)}" for k, (o, n) in plan.changes.items())
        print(f"(resumed from epoch {int(state['epoch'])}" + (f", batch {step}" if step else "")
              + (f"; {changed}" if changed else "") + ")", file=log)


def _write_outputs(out: Path, report: dict[str, Any], history: Any, title: str) -> None:
    """metrics.json and curves.png next to the checkpoint, and the summary on stdout."""
    from ..train import plot_history

    (out / "metrics.json").write_text(json.dumps(report, indent=2, default=json_default) + "\n")
    if history.epoch:
        plot_history(history, out / "curves.png", title=title)
    summary = ", ".join(f"test {k}: {v:.4f}" for k, v in report["test"].items())
    print(f"{summary} ({report['seconds']:.1f} s)")
    print(f"wrote {out / CHECKPOINT}, {out / 'metrics.json'}" + (f", {out / 'curves.png'}" if history.epoch else ""))


def _blas_threads(n: int | None) -> Any:
    """Limit BLAS to ``n`` threads while training: on small matrices OpenBLAS' extra threads only
    spin-wait (measured 3x slower for the digits MLP on a busy 2-core machine)."""
    import contextlib

    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")
