"""The training loop: :class:`Trainer` (fit / evaluate / predict with callbacks) and :class:`History`.

A batch is a tuple ``(inputs, targets)`` (more inputs: ``(x1, x2, ..., y)``) or a lone input tensor
for :meth:`Trainer.predict`. Subclasses customise a step by overriding :meth:`Trainer.train_step`
or :meth:`Trainer.eval_step`; both return a dict whose ``"loss"`` (a float) is averaged per epoch, as
are the numbers of its optional ``"logs"`` dict (``{"d_loss": ..., "elbo": ...}``).

A model can own its step instead (e.g. a GAN: two networks, two optimizers): when it defines
``train_step(batch, optimizer)`` and/or ``eval_step(batch)``, the Trainer calls them with the batch (on
the device) and its ``optimizer``, which may then be a dict of optimizers (checkpoints save them all).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import backend
from ..autograd import no_grad
from ..data.dataset import Dataset
from ..data.loader import DataLoader
from ..ops import cat
from ..tensor import Tensor
from .metrics import Metric, get_metric

__all__ = ["Trainer", "History"]


class History:
    """Per-epoch logs of a :meth:`Trainer.fit` run: ``history["loss"]``, ``history["val_accuracy"]``,
    ...; ``epoch`` lists the (0-based) epochs that ran."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def append(self, epoch: int, logs: dict[str, Any]) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _split(batch: Any) -> tuple[tuple, Any]:
    """``(inputs, target)`` of a batch: the last element of a tuple/list is the target."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return (batch[0],), None
        return tuple(batch[:-1]), batch[-1]
    return (batch,), None


def _to(x: Any, device: Any) -> Any:
    if device is None:
        return x
    if isinstance(x, Tensor):
        return x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_to(v, device) for v in x)
    if isinstance(x, dict):
        return {k: _to(v, device) for k, v in x.items()}
    return x


def as_loader(data: Any, batch_size: int = 32, shuffle: bool = False) -> Iterable:
    """A DataLoader for a Dataset; anything else iterable (a DataLoader, a list of batches) as is."""
    if isinstance(data, Dataset) or (hasattr(data, "__getitem__") and hasattr(data, "__len__")
                                      and not isinstance(data, (list, tuple, DataLoader))):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
    return data


class Trainer:
    """Train ``model`` with ``optimizer`` on ``loss_fn(output, target)``, tracking streaming
    ``metrics`` (names for :func:`get_metric`, classes or :class:`Metric` instances).

    ``compile=True`` runs the training and evaluation steps through :func:`nabla.compile` (traced once
    per batch shape, then replayed as a flat program; see docs/compile.md). A model with its own
    ``train_step`` (the generative ones) steps itself eagerly."""

    def __init__(self, model: Any, optimizer: Any, loss_fn: Callable, metrics: Sequence[Any] = (),
                 device: Any = None, compile: bool = False) -> None:
        self.model = model
        self.compile = bool(compile)
        self._compiled: dict[str, Any] = {}
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.metrics: list[Metric] = [get_metric(m) for m in (metrics or ())]
        self.device = device
        if device is not None:
            model.to(device)
        self.stop_training = False
        self.history = History()

    # ----------------------------------------------------------------------------- steps

    def forward(self, inputs: tuple) -> Any:
        return self.model(*inputs)

    def train_step(self, batch: Any) -> dict[str, Any]:
        """One optimisation step on ``batch``; returns ``{"loss": float, "output": ..., "target": ...}``
        (``output``/``target`` feed the metrics and are optional)."""
        own = getattr(self.model, "train_step", None)
        if own is not None:  # the model steps itself (see the module docstring)
            return own(_to(batch, self.device), self.optimizer)
        inputs, target = _split(_to(batch, self.device))
        step = self._step("train", self._optimize) if self.compile else self._optimize
        loss, output = step(inputs, target)
        return {"loss": float(loss.item()), "output": output, "target": target}

    def _optimize(self, inputs: tuple, target: Any) -> tuple[Tensor, Tensor]:
        """zero_grad, forward, loss, backward, step: the part of a training step that ``compile`` traces."""
        self.optimizer.zero_grad()
        output = self.forward(inputs)
        loss = self.loss_fn(output, target)
        loss.backward()
        self.optimizer.step()
        return loss.detach(), output.detach()

    def _evaluate(self, inputs: tuple, target: Any) -> tuple[Tensor, Tensor]:
        output = self.forward(inputs)
        return self.loss_fn(output, target), output

    def _step(self, name: str, fn: Callable) -> Any:
        step = self._compiled.get(name)
        if step is None:
            from ..compiler import compile as compile_fn

            step = self._compiled[name] = compile_fn(fn)
        return step

    def eval_step(self, batch: Any) -> dict[str, Any]:
        """Loss (and outputs for the metrics) of ``batch`` without updating the model."""
        own = getattr(self.model, "eval_step", None)
        if own is not None:
            return own(_to(batch, self.device))
        inputs, target = _split(_to(batch, self.device))
        step = self._step("eval", self._evaluate) if self.compile else self._evaluate
        loss, output = step(inputs, target)
        return {"loss": float(loss.item()), "output": output, "target": target}

    # ----------------------------------------------------------------------------- loops

    def _reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset()

    def _update_metrics(self, out: dict[str, Any]) -> None:
        if self.metrics and out.get("output") is not None and out.get("target") is not None:
            for m in self.metrics:
                m.update(out["output"], out["target"])

    def _results(self, prefix: str = "") -> dict[str, Any]:
        return {prefix + m.name: m.result() for m in self.metrics}

    def _run_epoch(self, loader: Iterable, callbacks: Sequence[Any], resume: dict | None = None) -> dict[str, Any]:
        """One pass over ``loader``. ``resume`` (from a mid-epoch checkpoint) replays the epoch's
        shuffle from its saved RNG state, skips the batches already done, then restores the RNG."""
        self.model.train()
        self._reset_metrics()
        total, n, skip, extra = 0.0, 0, 0, {}
        if resume is not None and resume["step"] and resume.get("epoch_rng") is not None:
            backend.set_rng_state(resume["epoch_rng"])
            skip = resume["step"]
            total, n = float(resume["running"]["loss"]), int(resume["running"]["batches"])
            extra = {k: float(v) for k, v in (resume["running"].get("logs") or {}).items()}
        self._epoch_rng = backend.get_rng_state()
        batches = iter(loader)
        if skip:
            for _ in range(skip):  # same draws (shuffle, augmentation) as the interrupted epoch
                next(batches)
            backend.set_rng_state(resume["rng"])
        for i, batch in enumerate(batches, start=skip):
            out = self.train_step(batch)
            loss = float(out["loss"])
            total += loss
            n += 1
            for k, v in (out.get("logs") or {}).items():
                extra[k] = extra.get(k, 0.0) + float(v)
            self._running = {"loss": total, "batches": n, "logs": dict(extra)}
            self._update_metrics(out)
            for cb in callbacks:
                cb.on_batch_end(i, {"loss": loss})
            if self.stop_training:
                break
        logs = {"loss": total / max(n, 1), **{k: v / max(n, 1) for k, v in extra.items()}}
        logs.update(self._results())
        return logs

    def fit(self, train_data: Any, epochs: int = 1, val_data: Any = None, callbacks: Sequence[Any] = (),
            verbose: int = 1, batch_size: int = 32, shuffle: bool = True) -> History:
        """Train for ``epochs`` epochs; ``train_data``/``val_data`` are DataLoaders (or Datasets, then
        batched with ``batch_size``, the training set shuffled when ``shuffle``). Returns a History."""
        from .. import distributed
        from .callbacks import CSVLogger, ModelCheckpoint, ProgressBar

        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        loader = as_loader(train_data, batch_size, shuffle)
        val_loader = None if val_data is None else as_loader(val_data, batch_size, False)
        callbacks = list(callbacks or ())
        ddp = None
        if distributed.launched() > 1:  # started by mpiexec -n N: data-parallel (see nabla.distributed.training)
            loader = distributed.shard_loader(loader)
            ddp = distributed.wrap(self)
            if not distributed.is_main_process():  # rank 0 alone prints and writes
                verbose = 0
                callbacks = [cb for cb in callbacks if not getattr(
                    cb, "rank_zero_only", isinstance(cb, (ProgressBar, CSVLogger, ModelCheckpoint)))]
        if verbose and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar(bar=verbose != 2))  # Keras: verbose=2 is one line per epoch
        callbacks.sort(key=lambda cb: getattr(cb, "order", 0))  # stable: checkpointing runs last
        self.callbacks = callbacks
        self.history = History()
        self.stop_training = False
        self.epochs = epochs
        self.steps_per_epoch = len(loader) if hasattr(loader, "__len__") else None
        self._resume = None
        for cb in callbacks:
            cb.set_trainer(self)
        for cb in callbacks:
            cb.on_train_begin({})
        resume, self._resume = self._resume, None  # set by BackupAndRestore when it restored a checkpoint
        start = 0
        if resume is not None:
            resume = distributed.rescale_resume(resume, distributed.world_size())  # saved by another rank count?
            start = resume["epoch"]
            self.stop_training = resume["stopped"]
            if not resume["step"]:
                backend.set_rng_state(resume["rng"])
        for epoch in range(start, epochs):
            if self.stop_training:
                break
            self._epoch = epoch
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            sampler = getattr(loader, "sampler", None)
            if hasattr(sampler, "set_epoch"):  # a DistributedSampler: this epoch's shuffle
                sampler.set_epoch(epoch)
            logs = self._run_epoch(loader, callbacks, resume if resume is not None and epoch == start else None)
            if ddp is not None:  # training logs averaged over the ranks, buffers from rank 0, replicas checked
                logs = distributed.end_epoch(ddp, logs)
            if val_loader is not None and not self.stop_training:
                logs.update({"val_" + k: v for k, v in self.evaluate(val_loader).items()})
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            self.history.append(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end({})
        if ddp is not None:
            ddp.remove_hooks()
        return self.history

    def evaluate(self, data: Any, batch_size: int = 32) -> dict[str, Any]:
        """Mean loss and the metrics over ``data`` (eval mode, no gradients)."""
        loader = as_loader(data, batch_size, False)
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        self._reset_metrics()
        total, count, extra = 0.0, 0, {}
        try:
            with no_grad():
                for batch in loader:
                    out = self.eval_step(batch)
                    _, target = _split(batch)
                    k = len(target) if isinstance(target, Tensor) and target.ndim > 0 else 1
                    total += float(out["loss"]) * k
                    count += k
                    for key, v in (out.get("logs") or {}).items():
                        extra[key] = extra.get(key, 0.0) + float(v) * k
                    self._update_metrics(out)
        finally:
            self.model.train(was_training)
        logs = {"loss": total / count if count else math.nan}
        logs.update({key: v / count for key, v in extra.items()})
        logs.update(self._results())
        return logs

    def predict(self, data: Any, batch_size: int = 32) -> Tensor:
        """The model's outputs over ``data``, concatenated along the batch (eval mode, no gradients).
        The batches may be ``(x, y)`` (``y`` is ignored) or lone inputs."""
        loader = as_loader(data, batch_size, False)
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        outs = []
        try:
            with no_grad():
                for batch in loader:
                    if isinstance(batch, (tuple, list)) and len(batch) > 1:
                        inputs = tuple(batch[:-1])
                    elif isinstance(batch, (tuple, list)):
                        inputs = tuple(batch)
                    else:
                        inputs = (batch,)
                    outs.append(self.forward(_to(inputs, self.device)))
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("predict: no data")
        return cat(outs, 0)
