"""Training checkpoints: everything needed to carry on a run exactly where it stopped.

A checkpoint is one safetensors file (``nabla.save``, atomic, no pickle) holding a dict::

    {"format": "nabla.checkpoint", "version": 1,
     "model": model.state_dict(), "optimizer": optimizer.state_dict() | {name: ...} (a dict of them) | None,
     "epoch": epochs finished, "step": batches finished in the current epoch (0 at epoch ends),
     "rng": nabla.get_rng_state(), "epoch_rng": the RNG state when the current epoch began,
     "running": {"loss": sum of batch losses so far this epoch, "batches": their count},
     "history": {"epoch": [...], "history": {...}},
     "callbacks": {callback class name #i: its state_dict()},
     "meta": {...anything the caller adds, e.g. the model's name and arguments...}}

Resuming (:class:`BackupAndRestore`, or ``nabla train --resume``) puts every piece back, replays the
interrupted epoch's shuffle from ``epoch_rng``, skips the batches already done and restores ``rng``:
on the CPU the resumed run's weights are bit-identical to an uninterrupted run's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import backend
from ..io import load, save
from .callbacks import Callback

__all__ = ["save_checkpoint", "load_checkpoint", "restore_checkpoint", "BackupAndRestore", "FORMAT"]

FORMAT = "nabla.checkpoint"
_VERSION = 1


def _stateful_callbacks(callbacks: Any) -> dict[str, Any]:
    """``{"ClassName#position": callback}`` for the callbacks whose state a checkpoint carries."""
    return {f"{type(cb).__name__}#{i}": cb for i, cb in enumerate(callbacks or ())
            if hasattr(cb, "state_dict") and not isinstance(cb, BackupAndRestore)}


def _optimizer_state(optimizer: Any) -> Any:
    """The optimizer's state dict; for a dict of optimizers (a model with its own step), one per name."""
    if isinstance(optimizer, dict):
        return {name: opt.state_dict() for name, opt in optimizer.items()}
    return optimizer.state_dict() if optimizer is not None else None


def save_checkpoint(path: str | os.PathLike[str], trainer: Any, epoch: int, step: int = 0,
                    meta: dict | None = None, logs: tuple[int, dict] | None = None) -> None:
    """Write ``trainer``'s full training state (model, optimizer, callbacks, history, RNG) to ``path``.

    ``epoch`` counts the epochs finished, ``step`` the batches finished in the next one; ``logs``
    (``(epoch, logs)``) adds an epoch that just ended but is not in ``trainer.history`` yet.
    In a data-parallel run (``mpiexec -n N``) only rank 0 writes; the others hold the same state.
    """
    from .. import distributed

    if distributed.launched() > 1 and not distributed.is_main_process():
        return
    hist = {"epoch": list(trainer.history.epoch), "history": {k: list(v) for k, v in trainer.history.history.items()}}
    if logs is not None:
        e, epoch_logs = logs
        n_before = len(hist["epoch"])
        hist["epoch"].append(int(e))
        for k, v in epoch_logs.items():
            hist["history"].setdefault(k, [None] * n_before).append(v)
    running = getattr(trainer, "_running", {"loss": 0.0, "batches": 0}) if step else {"loss": 0.0, "batches": 0}
    state = {
        "format": FORMAT,
        "version": _VERSION,
        "model": trainer.model.state_dict(),
        "optimizer": _optimizer_state(trainer.optimizer),
        "epoch": int(epoch),
        "step": int(step),
        "world_size": distributed.world_size(),  # the ranks that shared each step (resuming may use another count)
        "rng": backend.get_rng_state(),
        "epoch_rng": getattr(trainer, "_epoch_rng", None) if step else None,
        "running": dict(running),
        "stopped": bool(getattr(trainer, "stop_training", False)),
        "history": hist,
        "callbacks": {k: cb.state_dict() for k, cb in _stateful_callbacks(getattr(trainer, "callbacks", ())).items()},
        "meta": dict(meta or {}),
    }
    save(state, path)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (a clear error for any other file)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        keys = sorted(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{str(path)!r} is not a nabla training checkpoint (it holds {keys}); a plain state dict "
                         "loads with nabla.load(path) and model.load_state_dict(...)")
    if state.get("version", 0) > _VERSION:
        raise ValueError(f"{str(path)!r} was written by a newer nabla (checkpoint version {state['version']})")
    return state


def restore_checkpoint(state: dict[str, Any], trainer: Any, rng: bool = True) -> None:
    """Load a :func:`load_checkpoint` dict into ``trainer`` (model, optimizer, callbacks, history) and,
    with ``rng``, set up the resume point so :meth:`Trainer.fit` continues where the run stopped."""
    from .trainer import History

    try:
        trainer.model.load_state_dict(state["model"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise ValueError(f"the checkpoint does not fit this model: {e}") from None
    saved_opt = state.get("optimizer")
    if isinstance(trainer.optimizer, dict) and saved_opt is not None:  # one per network (e.g. a GAN's two)
        missing = sorted(set(trainer.optimizer) - set(saved_opt))
        if missing:
            raise ValueError(f"the checkpoint holds optimizer(s) {sorted(saved_opt)}, not {', '.join(missing)}")
        for name, opt in trainer.optimizer.items():
            opt.load_state_dict(saved_opt[name])
    elif trainer.optimizer is not None and saved_opt is not None:
        trainer.optimizer.load_state_dict(saved_opt)
    saved_cbs = state.get("callbacks") or {}
    for key, cb in _stateful_callbacks(getattr(trainer, "callbacks", ())).items():
        if key in saved_cbs:
            cb.load_state_dict(saved_cbs[key])
    h = History()
    hist = state.get("history") or {}
    h.epoch = list(hist.get("epoch", []))
    h.history = {k: list(v) for k, v in (hist.get("history") or {}).items()}
    trainer.history = h
    if rng:
        trainer._resume = {
            "epoch": int(state["epoch"]),
            "step": int(state.get("step", 0)),
            "rng": state["rng"],
            "epoch_rng": state.get("epoch_rng"),
            "running": state.get("running") or {"loss": 0.0, "batches": 0},
            "stopped": bool(state.get("stopped", False)),
            "world_size": int(state.get("world_size", 1)),
        }


class BackupAndRestore(Callback):
    """Keep a checkpoint of the whole training state at ``path`` and resume from it.

    When training begins and ``path`` exists (an earlier run was interrupted — even by SIGKILL; the
    file is written atomically), everything is restored and :meth:`Trainer.fit` carries on from the
    saved epoch and batch. ``save_freq`` is ``"epoch"`` (after each epoch) or an int (also every that
    many batches). ``meta`` is stored alongside (e.g. what model this is). ``restore=False`` only
    saves; ``resume_from`` restores from another file than the one written; ``on_restore(trainer)`` runs
    after a restore (e.g. to train on with a changed learning rate). Keras' name and behaviour; unlike
    Keras, a mid-epoch resume replays the same shuffle and random draws.
    """

    order = 100  # after the other callbacks: save what they have updated, restore after they reset

    def __init__(self, path: str | os.PathLike[str], save_freq: str | int = "epoch",
                 delete_on_end: bool = False, meta: dict | None = None, restore: bool = True,
                 resume_from: str | os.PathLike[str] | None = None,
                 on_restore: Callable[[Any], None] | None = None) -> None:
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.path = Path(path)
        self.save_freq = save_freq
        self.delete_on_end = delete_on_end
        self.meta = dict(meta or {})
        self.restore = restore
        self.resume_from = Path(resume_from) if resume_from is not None else self.path
        self.on_restore = on_restore
        self.resumed_from: tuple[int, int] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._steps = 0
        if self.restore and self.resume_from.exists():
            state = load_checkpoint(self.resume_from)
            restore_checkpoint(state, self.trainer)
            self.resumed_from = (int(state["epoch"]), int(state.get("step", 0)))
            if self.on_restore is not None:
                self.on_restore(self.trainer)

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps += 1
        if self.save_freq != "epoch" and self._steps % self.save_freq == 0:
            save_checkpoint(self.path, self.trainer, self.trainer._epoch, batch + 1, self.meta)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        save_checkpoint(self.path, self.trainer, epoch + 1, 0, self.meta, logs=(epoch, dict(logs or {})))

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_on_end and self.path.exists() and not self.trainer.stop_training:
            self.path.unlink()
