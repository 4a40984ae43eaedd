"""Callbacks for :meth:`Trainer.fit` (Keras' names and behaviour, minus its known bugs).

A callback sees ``self.trainer`` (and ``self.model``); it stops training by setting
``self.trainer.stop_training = True``. ``logs`` of ``on_epoch_end`` hold ``loss``, the metrics and
their ``val_`` versions.
"""

from __future__ import annotations

import copy
import csv
import math
import sys
from typing import Any

from ..tensor import Tensor

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "CSVLogger", "TerminateOnNaN", "ProgressBar", "format_seconds"]


class Callback:
    """Base class: override the hooks you need. ``order`` sorts callbacks (stable, low first).

    A callback with state worth resuming defines ``state_dict()``/``load_state_dict()``; training
    checkpoints (``BackupAndRestore``, ``nabla train --resume``) store and restore it.
    """

    trainer: Any = None
    order: int = 0

    def set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer

    @property
    def model(self) -> Any:
        return None if self.trainer is None else self.trainer.model

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


def _mode(mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    m = monitor.lower()
    if m.startswith("val_"):
        m = m[4:]
    return "max" if any(k in m for k in ("acc", "f1", "precision", "recall", "r2", "auc")) else "min"


class _Monitor(Callback):
    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = _mode(mode, monitor)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def _value(self, logs: dict | None) -> float | None:
        v = (logs or {}).get(self.monitor)
        if v is None:
            import warnings
            warnings.warn(f"{type(self).__name__}: monitored value {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(sorted(logs or {}))})", RuntimeWarning, stacklevel=3)
            return None
        return float(v)

    def _improved(self, v: float) -> bool:
        if math.isnan(v):
            return False
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


def _snapshot(model: Any) -> dict:
    return {k: v.detach().clone() if isinstance(v, Tensor) else copy.deepcopy(v)
            for k, v in model.state_dict().items()}


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.
    With ``restore_best_weights`` the best epoch's weights are put back when training ends — whether
    it was stopped early or ran out of epochs (Keras only restores in the first case)."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 0, min_delta: float = 0,
                 restore_best_weights: bool = False) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        v = self._value(logs)
        if v is None:
            return
        if self._improved(v):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights:
                self.best_weights = _snapshot(self.model)
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights, "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.best_epoch, self.stopped_epoch = state["best_epoch"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class ModelCheckpoint(_Monitor):
    """Save the model's state dict (``nabla.save``) to ``path`` after each epoch, or — with
    ``save_best_only`` — only when ``monitor`` improved. ``path`` may hold ``{epoch}`` and log keys,
    e.g. ``"ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"`` (``epoch`` counts from 1)."""

    def __init__(self, path: str, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto") -> None:
        super().__init__(monitor, mode)
        self.path = str(path)
        self.save_best_only = save_best_only
        self.saved: list[str] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from ..io import save

        if self.save_best_only:
            v = self._value(logs)
            if v is None or not self._improved(v):
                return
            self.best = v
        path = self.path.format(epoch=epoch + 1, **(logs or {}))
        save(self.model.state_dict(), path)
        self.saved.append(path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "saved": list(self.saved)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.saved = state["best"], list(state["saved"])


class LearningRateScheduler(Callback):
    """Step a ``nabla.optim.lr_scheduler`` scheduler once per epoch (``ReduceLROnPlateau`` gets the
    ``monitor`` value of the epoch's logs). ``logs["lr"]`` records the lr used in the epoch."""

    def __init__(self, scheduler: Any, monitor: str = "val_loss") -> None:
        self.scheduler = scheduler
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        from ..optim.lr_scheduler import ReduceLROnPlateau as _Plateau

        if logs is not None:
            logs["lr"] = self.scheduler.optimizer.param_groups[0]["lr"]
        if isinstance(self.scheduler, _Plateau):
            logs = logs or {}
            key = self.monitor if self.monitor in logs else "loss"
            if key not in logs:
                raise KeyError(f"LearningRateScheduler: {self.monitor!r} is not in the logs")
            self.scheduler.step(float(logs[key]))
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.state_dict() if self.scheduler is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("scheduler") is not None and self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])


class ReduceLROnPlateau(LearningRateScheduler):
    """``LearningRateScheduler(nabla.optim.lr_scheduler.ReduceLROnPlateau(...))`` on the trainer's
    optimizer, built when training begins."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__(None, monitor)
        self.kwargs = dict(mode=_mode(mode, monitor), factor=factor, patience=patience, threshold=min_delta,
                           threshold_mode="abs", cooldown=cooldown, min_lr=min_lr)

    def on_train_begin(self, logs: dict | None = None) -> None:
        from ..optim.lr_scheduler import ReduceLROnPlateau as _Plateau

        self.scheduler = _Plateau(self.trainer.optimizer, **self.kwargs)


class CSVLogger(Callback):
    """Write one CSV row per epoch (``epoch`` then the log keys) to ``path``."""

    def __init__(self, path: str, separator: str = ",", append: bool = False) -> None:
        self.path = str(path)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._writer = None
        self._keys = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self._writer is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [logs.get(k, "") for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite."""

    def __init__(self) -> None:
        self.terminated_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.terminated_at = (self._epoch, batch)
            self.trainer.stop_training = True


def format_seconds(seconds: float) -> str:
    """``0.4s``, ``42s``, ``3m05s``, ``1h02m``: a duration at a glance."""
    if seconds < 9.95:
        return f"{max(seconds, 0.0):.1f}s"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _wrap(groups: list[list[str]], width: int, sep: str = " - ", indent: int = 4) -> list[str]:
    """Join the pieces of ``groups`` with ``sep`` into lines of at most ``width`` columns: a group that
    does not fit on the current line starts a new one (so the validation metrics stay together), a
    piece is never split, continuation lines are indented."""
    lines, line = [], ""
    for group in groups:
        joined = sep.join(group)
        if line and len(line) + len(sep) + len(joined) > width and indent + len(joined) <= width:
            lines.append(line)
            line = ""
        for piece in group:
            if line and len(line) + len(sep) + len(piece) > width:
                lines.append(line)
                line = ""
            line = f"{line}{sep}{piece}" if line.strip() else " " * indent * bool(lines) + piece
    if line:
        lines.append(line)
    return lines


class ProgressBar(Callback):
    """Keras-style progress: a tqdm bar per epoch with the running loss and the epoch's time left, then
    the epoch's summary — time, the run's ETA and every log (validation metrics included) — wrapped to
    the terminal's width so nothing is cut. Off a terminal (CI logs) only the summary lines are printed,
    one line per epoch. When the first epoch shows the run will take over ``estimate_after`` seconds,
    one line says so early (per epoch and in all), so a long run is never a surprise. ``bar=False``
    (Keras' ``fit(verbose=2)``) prints only the summaries on a terminal too: one per epoch, no bar.
    (``leave`` is kept for older callers: the bar itself is always cleared for the summary.)"""

    def __init__(self, file: Any = None, leave: bool = True, estimate_after: float = 60.0,
                 clock: Any = None, bar: bool = True) -> None:
        import time

        self.file = file
        self.leave = leave
        self.bar = bar
        self.estimate_after = estimate_after
        self.clock = clock or time.monotonic
        self._bar = None

    def _out(self) -> Any:
        return self.file if self.file is not None else sys.stderr

    def _tty(self) -> bool:
        out = self._out()
        return bool(hasattr(out, "isatty") and out.isatty())

    def _width(self) -> int:
        import shutil

        if not self._tty():
            return 10_000  # a log: one line per epoch
        try:
            import os

            return os.get_terminal_size(self._out().fileno()).columns - 1  # the last column would wrap
        except (OSError, ValueError, AttributeError):
            return shutil.get_terminal_size().columns - 1

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._epoch_seconds: list[float] = []
        self._estimated = False

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        from tqdm.auto import tqdm

        self._epoch_start = self.clock()
        self._epoch_index = epoch
        self._steps = 0
        self._bar = tqdm(total=getattr(self.trainer, "steps_per_epoch", None),
                         desc=f"Epoch {epoch + 1}/{getattr(self.trainer, 'epochs', '?')}",
                         file=self._out(), leave=False, disable=not (self.bar and self._tty()), dynamic_ncols=True,
                         bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                         "[{elapsed}<{remaining}{postfix}]")
        self._loss, self._n = 0.0, 0

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._bar is None:
            return
        loss = (logs or {}).get("loss")
        if loss is not None:
            self._loss += float(loss)
            self._n += 1
        self._steps += 1
        self._bar.update(1)
        if not self._bar.disable and self._n:
            self._bar.set_postfix_str(f"loss {self._loss / self._n:.4f}", refresh=False)
        if not self._estimated and not self._epoch_seconds:
            self._maybe_estimate()

    def _maybe_estimate(self) -> None:
        """During the first epoch: once a few seconds have passed, say how long the run will take if
        that is over ``estimate_after`` seconds."""
        steps = getattr(self.trainer, "steps_per_epoch", None)
        elapsed = self.clock() - self._epoch_start
        if not steps or elapsed < 5.0:
            return
        self._estimated = True
        per_epoch = elapsed / self._steps * steps
        epochs_left = (getattr(self.trainer, "epochs", None) or self._epoch_index + 1) - self._epoch_index
        total = per_epoch * epochs_left - elapsed
        if total < self.estimate_after:
            return
        text = (f"estimate: about {format_seconds(per_epoch)} per epoch, {format_seconds(total)} more for "
                f"{epochs_left} epoch{'s' if epochs_left != 1 else ''} (Ctrl-C stops; the last finished epoch "
                "is kept if the run saves checkpoints)")
        self._print(text)

    def _print(self, text: str) -> None:
        lines = _wrap([text.split(" ")], self._width(), sep=" ", indent=2)
        if self._bar is not None and not self._bar.disable:
            for line in lines:
                self._bar.write(line, file=self._out())
        else:
            print("\n".join(lines), file=self._out(), flush=True)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        seconds = self.clock() - self._epoch_start
        self._epoch_seconds.append(seconds)
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()
        epochs = getattr(self.trainer, "epochs", None)
        head = [f"Epoch {epoch + 1}/{epochs if epochs is not None else '?'}", format_seconds(seconds)]
        if epochs is not None and epoch + 1 < epochs:
            recent = self._epoch_seconds[-5:]
            head.append(f"ETA {format_seconds(sum(recent) / len(recent) * (epochs - epoch - 1))}")
        shown = [(k, f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}") for k, v in (logs or {}).items()]
        train = [t for k, t in shown if not k.startswith("val_")]
        groups = [head, train, [t for k, t in shown if k.startswith("val_")]]
        print("\n".join(_wrap([g for g in groups if g], self._width())), file=self._out(), flush=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
