"""What the ``nabla`` commands share: the usage error (exit 2), argument types, and the helpers that load a
data set, build or restore a zoo model and pick the loss for a task."""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

CHECKPOINT = "checkpoint.safetensors"


class UsageError(Exception):
    """Bad arguments or input: reported as one line on stderr with exit code 2."""


# ----------------------------------------------------------------------------------- argument types


def positive_int(text: str) -> int:
    """argparse type: a whole number > 0."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def save_freq(text: str) -> str | int:
    """argparse type: ``epoch`` or a number of batches."""
    return "epoch" if text == "epoch" else positive_int(text)


def model_arg(text: str) -> tuple[str, str]:
    """argparse type: ``KEY=VALUE``; the value is converted later, against the model's signature
    (see :mod:`nabla.cli.model_args`)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. hidden=256,128 or dropout=0.2), got {text!r}")
    return key, value


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``2 epochs``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# ----------------------------------------------------------------------------------------- helpers


def load_data(name: str, data_dir: str | None, split: str | None, holdout: int | None):
    """``(train, test, spec)`` of a named data set; unknown names are usage errors."""
    from ..data.datasets import DATASETS, load_dataset

    if name not in DATASETS:
        raise UsageError(f"unknown data set {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    if data_dir is not None and not Path(data_dir).is_dir():  # never create a folder the user mistyped
        raise UsageError(f"--data-dir {data_dir}: no such folder (create it to download {name} into it, or leave "
                         "--data-dir out to use the default data folder)")
    try:
        return load_dataset(name, data_dir, split=split, holdout=holdout)
    except ValueError as err:
        if "leaves nothing to train on" in str(err):  # --holdout N >= the samples there: bad input
            raise UsageError(f"--holdout: {err}") from None
        raise
    except FileNotFoundError as err:
        hint = ""
        d = Path(data_dir) if data_dir else None
        if split is None and d is not None and any(d.glob("t10k-*")) and not any(d.glob("train-*")):
            hint = (f"\nOnly the test part is in {d}: train on most of it and evaluate on the rest with "
                    "--split test --holdout 2000")
        raise FileNotFoundError(f"{err}{hint}") from None


def check_model(name: str) -> None:
    from ..models import list_models

    if name not in list_models():
        raise UsageError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")


def build(name: str, spec: Any, model_args: dict) -> Any:
    """Build zoo model ``name`` for data set ``spec`` with the user's ``-a`` arguments."""
    from ..models import build_model

    try:
        return build_model(name, spec.input_shape, spec.outputs, data_args=spec.model_args, **model_args)
    except (ValueError, TypeError) as err:
        raise UsageError(f"cannot build {name} for {spec.name}: {err}") from None


def device(text: str) -> Any:
    from .. import backend

    try:
        return backend.to_device(text)
    except (ValueError, TypeError, RuntimeError) as err:
        raise UsageError(f"--device: {err}") from None


def json_default(o: Any) -> Any:
    if isinstance(o, tuple):
        return list(o)
    if hasattr(o, "item"):
        return o.item()
    return str(o)


def restore_model(path: str, model_name: str | None = None) -> tuple[Any, dict, Any]:
    """The model of a ``nabla train`` checkpoint (rebuilt from its recorded name and arguments)."""
    from ..data.datasets.registry import get_spec
    from ..train import load_checkpoint

    p = Path(path)
    if p.is_dir():  # a run folder
        p = p / CHECKPOINT
    if not p.is_file():
        raise UsageError(f"no checkpoint at {path} (give the checkpoint.safetensors or the folder that 'nabla train "
                         "--out' wrote)")
    try:
        state = load_checkpoint(p)
    except ValueError as err:
        raise UsageError(f"{err}. 'nabla evaluate' and 'nabla predict' need a checkpoint written by 'nabla train'") \
            from None
    meta = state.get("meta") or {}
    missing = [k for k in ("model", "dataset", "input_shape", "num_classes") if k not in meta]
    if missing:
        raise UsageError(f"{path}: the checkpoint does not record its {', '.join(missing)} (it was not written by "
                         "'nabla train')")
    spec = dataclasses.replace(get_spec(meta["dataset"]), input_shape=tuple(meta["input_shape"]),
                               num_classes=meta["num_classes"])
    name = model_name or meta["model"]
    check_model(name)
    model = build(name, spec, dict(meta.get("model_args") or {}))
    try:
        model.load_state_dict(state["model"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise UsageError(f"{path} holds a {meta['model']} trained on {meta['dataset']}, which does not fit {name}: "
                         f"{err}") from None
    model.eval()
    return model, meta, spec


def exact_match(model: Any, test: Any, spec: Any) -> dict:
    """For seq2seq: the fraction of held-out targets that greedy decoding gets exactly right."""
    if spec.task != "seq2seq" or not hasattr(model, "greedy_decode"):
        return {}
    from ..models.seq2seq import exact_match as _exact_match

    return {"exact_match": _exact_match(model, test.pairs, test.src_vocab, test.tgt_vocab)}
