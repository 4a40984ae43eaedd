"""Hyperparameter search on Optuna: each trial is a normal nabla training run of a zoo model.

:func:`search` samples a configuration per trial (Optuna's TPE sampler), trains the model on most of
the training part of the data set and validates on the rest after every epoch; the validation
metric goes to Optuna's pruner (median or Hyperband), which stops unpromising trials early. The
held-out test part is never looked at while searching: at the end the best configuration and the
default one (the data set's recipe with the model's default arguments) are trained on the whole
training part and compared on it.

Several processes (``jobs``) or machines share one study through Optuna's storage (an SQLAlchemy
URL: ``sqlite:///study.db`` on one machine, PostgreSQL for many).
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import json
import math
import shlex
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from ..data import DataLoader, Subset
from ..train import Callback
from .space import TRAIN_SETTINGS, Param, parse_param

__all__ = ["search", "TuneResult", "OptunaPruning", "PRUNERS"]

PRUNERS = ("median", "hyperband", "none")


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError("nabla.tune needs Optuna: pip install 'nabla[tune]'") from None
    return optuna


class OptunaPruning(Callback):
    """Report ``monitor`` to an Optuna ``trial`` after every epoch and stop training when the trial's
    pruner says so (``pruned_at`` is then the epoch). The caller raises ``optuna.TrialPruned`` after
    ``fit`` returns, so the trainer's callbacks still see the end of training."""

    def __init__(self, trial: Any, monitor: str = "val_accuracy") -> None:
        self.trial = trial
        self.monitor = monitor
        self.pruned_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"OptunaPruning: {self.monitor!r} is not in the epoch's logs (have: "
                           f"{', '.join(sorted(logs or {}))}); validation data is needed for val_ metrics")
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            self.trainer.stop_training = True


@dataclass
class TuneResult:
    """What a search found: the study, the best configuration and how it compares with the default."""

    study: Any
    model: str
    dataset: str
    monitor: str
    direction: str
    params: list[Param]
    command: str
    default_value: float | None
    epochs: int
    seconds: float
    data_flags: list[str] = field(default_factory=list)
    test: dict[str, float] = field(default_factory=dict)  # "tuned"/"default" test metric, when measured

    @property
    def best_params(self) -> dict[str, Any]:
        return _decode(self.study.best_trial, self.params)

    @property
    def best_value(self) -> float:
        return float(self.study.best_value)

    def counts(self) -> dict[str, int]:
        """Trials by state, and the epochs they ran against the epochs a full run of each would take."""
        states: dict[str, int] = {}
        run = 0
        finished = 0
        for t in self.study.trials:
            states[t.state.name.lower()] = states.get(t.state.name.lower(), 0) + 1
            if t.state.is_finished():
                run += int(t.user_attrs.get("epochs_run", 0))
                finished += 1
        return {**states, "epochs_run": run, "epochs_budget": finished * self.epochs}

    def beats_default(self) -> bool | None:
        if self.default_value is None or not math.isfinite(self.default_value):
            return None
        better = self.best_value > self.default_value if self.direction == "maximize" else \
            self.best_value < self.default_value
        return bool(better)

    def verdict(self) -> str:
        d, b = self.default_value, self.best_value
        if d is None:
            return f"best {self.monitor} {b:.4f} (no default run to compare with)"
        if self.beats_default():
            return f"the best trial beats the default configuration: {self.monitor} {b:.4f} vs {d:.4f}"
        return (f"could not beat the default configuration: best trial {self.monitor} {b:.4f} vs default {d:.4f} "
                "(try more trials, other ranges, or more epochs)")

    def table(self, limit: int | None = None) -> str:
        """The trials as a text table, best first (finished trials), then the others."""
        names = [p.name for p in self.params]
        rows = []
        for t in self.study.trials:
            values = _decode(t, self.params) if t.params else {}
            rows.append([str(t.number), t.state.name.lower(), "" if t.value is None else f"{t.value:.4f}",
                         str(t.user_attrs.get("epochs_run", "")), f"{t.user_attrs.get('seconds', 0.0):.1f}"]
                        + [_show(values.get(n, "")) for n in names])
        sign = -1 if self.direction == "maximize" else 1
        rows.sort(key=lambda r: (r[2] == "", sign * float(r[2]) if r[2] else 0.0))
        head = ["trial", "state", self.monitor, "epochs", "seconds"] + names
        rows = rows[:limit] if limit else rows
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``trials.csv``, ``best.json`` and Optuna's plots (``history.png``, ``importances.png``,
        ``contour.png``) to ``out``; returns the files written (a plot that cannot be drawn, e.g. the
        importances of a single parameter, is skipped with the reason in ``best.json``)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        names = [p.name for p in self.params]
        with open(out / "trials.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["trial", "state", "value", "epochs_run", "seconds"] + names)
            for t in self.study.trials:
                values = _decode(t, self.params) if t.params else {}
                w.writerow([t.number, t.state.name.lower(), t.value, t.user_attrs.get("epochs_run"),
                            t.user_attrs.get("seconds")] + [_show(values.get(n, "")) for n in names])
        written = [out / "trials.csv"]
        skipped = _plots(self.study, out, written)
        report = {"model": self.model, "dataset": self.dataset, "monitor": self.monitor,
                  "direction": self.direction, "best_params": {k: _jsonable(v) for k, v in self.best_params.items()},
                  "best_value": self.best_value, "default_value": self.default_value,
                  "beats_default": self.beats_default(), "command": self.command, "test": self.test,
                  "trials": self.counts(), "epochs": self.epochs, "seconds": round(self.seconds, 2),
                  "plots_skipped": skipped}
        (out / "best.json").write_text(json.dumps(report, indent=2) + "\n")
        written.append(out / "best.json")
        return written


def _jsonable(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, tuple):
        return ",".join(map(str, v)) + ("," if len(v) == 1 else "")
    return str(v)


def _decode(trial: Any, params: list[Param]) -> dict[str, Any]:
    """The trial's configuration with choices stored by index (tuples) turned back into values."""
    out = {}
    for p in params:
        if p.name not in trial.params:
            continue
        v = trial.params[p.name]
        if p.kind == "choice" and not all(c is None or isinstance(c, (bool, int, float, str)) for c in p.choices):
            v = p.choices[v]
        out[p.name] = v
    return out


def _plots(study: Any, out: Path, written: list[Path]) -> dict[str, str]:
    """Optuna's matplotlib plots as PNGs; ``{name: why it was skipped}`` for those that cannot be drawn."""
    import matplotlib

    optuna = _optuna()
    vis = optuna.visualization.matplotlib
    skipped = {}
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    plt.switch_backend("Agg")
    try:
        for name, draw in (("history", vis.plot_optimization_history), ("importances", vis.plot_param_importances),
                           ("contour", vis.plot_contour)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Optuna marks the matplotlib plots experimental
                    axes = draw(study)
            except (ValueError, RuntimeError, ZeroDivisionError) as e:
                skipped[name] = str(e)
                continue
            ax = numpy.ravel(axes)[0] if isinstance(axes, numpy.ndarray) else axes
            fig = ax.figure
            if not fig.axes or all(not a.has_data() for a in fig.axes):
                skipped[name] = "nothing to draw (too few finished trials or parameters)"
                plt.close(fig)
                continue
            if len(fig.axes) > 2:  # a grid of panels (contour of 3+ parameters): give each room
                k = math.ceil(math.sqrt(len(fig.axes)))
                fig.set_size_inches(3.6 * k + 1, 3.2 * k)
            fig.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
            plt.close(fig)
            written.append(out / f"{name}.png")
    finally:
        with contextlib.suppress(Exception):
            plt.switch_backend(backend)
    return skipped


# ------------------------------------------------------------------------------------------- one run


@dataclass
class _Problem:
    """What every trial shares: the data (split once) and how to build and train the model."""

    model: str
    dataset: str
    spec: Any
    train: Any
    val: Any
    test: Any
    full_train: Any
    epochs: int | None
    seed: int
    device: Any

    def run(self, values: dict[str, Any], callbacks: list | None = None, final: bool = False) -> tuple[Any, Any]:
        """Train one configuration; returns ``(history, trainer)``. ``final``: on the whole training part,
        validated on the test part."""
        from .. import manual_seed
        from ..models import build_model
        from ..train.recipes import make_trainer, resolve_settings

        settings = resolve_settings(self.dataset, self.model, epochs=self.epochs,
                                    **{k: v for k, v in values.items() if k in TRAIN_SETTINGS})
        model_args = _model_args(self.model, {k: v for k, v in values.items() if k not in TRAIN_SETTINGS})
        manual_seed(self.seed)
        model = build_model(self.model, self.spec.input_shape, self.spec.outputs, data_args=self.spec.model_args,
                            **model_args)
        trainer, cbs, _ = make_trainer(model, self.spec.task, optimizer=settings["optimizer"], lr=settings["lr"],
                                       schedule=settings["schedule"], epochs=settings["epochs"], device=self.device)
        train, val = (self.full_train, self.test) if final else (self.train, self.val)
        loader = DataLoader(train, batch_size=settings["batch_size"], shuffle=True)
        val_loader = DataLoader(val, batch_size=max(settings["batch_size"], 256))
        n_params = sum(p.numel() for p in model.parameters())
        with _blas_threads(1 if n_params < 1_000_000 else None):
            history = trainer.fit(loader, epochs=settings["epochs"], val_data=val_loader,
                                  callbacks=cbs + list(callbacks or []), verbose=0)
        return history, trainer

    def settings(self, values: dict[str, Any]) -> dict[str, Any]:
        from ..train.recipes import resolve_settings

        return resolve_settings(self.dataset, self.model, epochs=self.epochs,
                                **{k: v for k, v in values.items() if k in TRAIN_SETTINGS})


def _blas_threads(n: int | None) -> Any:
    if n is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


def _model_args(model: str, values: dict[str, Any]) -> dict[str, Any]:
    """Model arguments, with a lone number given for an argument whose default is a sequence (``hidden=256``
    for ``hidden=(128, 64)``) made a one-element tuple."""
    from ..models.registry import get_builder

    sig = inspect.signature(get_builder(model)).parameters
    out = {}
    for k, v in values.items():
        default = sig[k].default if k in sig else None
        out[k] = (v,) if isinstance(default, (tuple, list)) and isinstance(v, (int, float)) else v
    return out


def _problem(model: str, dataset: str, data_dir: str | None, split: str | None, holdout: int | None,
             epochs: int | None, val_fraction: float, seed: int, device: Any) -> _Problem:
    from ..data.datasets import load_dataset

    train, test, spec = load_dataset(dataset, data_dir, split=split, holdout=holdout)
    n = len(train)
    n_val = max(1, int(round(n * val_fraction)))
    if n - n_val < 1:
        raise ValueError(f"{dataset}: {n} training samples are too few to hold out a validation part")
    order = numpy.random.default_rng(seed).permutation(n)
    return _Problem(model, dataset, spec, Subset(train, order[n_val:].tolist()), Subset(train, order[:n_val].tolist()),
                    test, train, epochs, seed, device)


def _command(model: str, dataset: str, data_flags: list[str], settings: dict[str, Any], values: dict[str, Any]) -> str:
    parts = ["nabla", "train", model, "--dataset", dataset, *data_flags,
             "--epochs", str(settings["epochs"]), "--batch-size", str(settings["batch_size"]),
             "--optimizer", str(settings["optimizer"]), "--schedule", str(settings["schedule"])]
    if settings.get("lr") is not None:
        parts += ["--lr", f"{settings['lr']:.6g}"]
    for k, v in values.items():
        if k not in TRAIN_SETTINGS:
            parts += ["-a", f"{k}={_show(v)}"]
    return shlex.join(parts)


# ------------------------------------------------------------------------------------------- search


def search(model: str, dataset: str, params: list[Param | str], *, trials: int = 20, epochs: int | None = None,
           data_dir: str | None = None, split: str | None = None, holdout: int | None = None,
           storage: str | None = None, study_name: str | None = None, jobs: int = 1, pruner: str = "median",
           seed: int = 0, val_fraction: float = 0.2, compare_default: bool = True, final: bool = False,
           device: Any = None, log: Any = None) -> TuneResult:
    """Search ``params`` (:class:`Param` or ``--param`` strings) for the best ``model`` on ``dataset``.

    ``trials`` trials run (shared by ``jobs`` processes, which need a ``storage`` URL); each trains for
    ``epochs`` (default: the data set's recipe) on ``1 - val_fraction`` of the training part and is
    judged on the rest by validation accuracy (classification) or loss (other tasks), reported after
    every epoch to the ``pruner`` (``median``, ``hyperband`` or ``none``). With ``compare_default`` the
    default configuration is trained the same way first; with ``final`` the best and the default are
    then trained on the whole training part and measured on the test part (``result.test``).
    """
    optuna = _optuna()
    params = [parse_param(p) if isinstance(p, str) else p for p in params]
    if not params:
        raise ValueError("search: give at least one parameter to search (e.g. lr=log:1e-4:1e-1)")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ValueError(f"search: a parameter is given twice: {', '.join(names)}")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"search: trials must be a positive int, got {trials!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"search: jobs must be a positive int, got {jobs!r}")
    if jobs > 1 and storage is None:
        raise ValueError("search: jobs > 1 share the study through a storage; pass storage='sqlite:///study.db'")
    if pruner not in PRUNERS:
        raise ValueError(f"search: unknown pruner {pruner!r}; valid: {', '.join(PRUNERS)}")
    from ..models import list_models

    if model not in list_models():
        raise ValueError(f"unknown model {model!r}; valid names: {', '.join(list_models())}")
    say = (lambda msg: print(msg, file=log, flush=True)) if log is not None else (lambda msg: None)
    start = time.perf_counter()
    problem = _problem(model, dataset, data_dir, split, holdout, epochs, val_fraction, seed, device)
    settings = problem.settings({})
    epochs = settings["epochs"]
    classification = problem.spec.task == "classification"
    monitor, direction = ("val_accuracy", "maximize") if classification else ("val_loss", "minimize")

    default_value = None
    if compare_default:
        t0 = time.perf_counter()
        history, _ = problem.run({})
        default_value = float(history.history[monitor][-1])
        say(f"default configuration: {monitor} {default_value:.4f} ({time.perf_counter() - t0:.1f} s)")

    def objective(trial: Any) -> float:
        values = {p.name: p.suggest(trial) for p in params}
        t0 = time.perf_counter()
        pruning = OptunaPruning(trial, monitor)
        history, _ = problem.run(values, [pruning])
        trial.set_user_attr("epochs_run", len(history.epoch))
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
        value = float(history.history[monitor][-1])
        state = "pruned at epoch " + str(pruning.pruned_at + 1) if pruning.pruned_at is not None else "done"
        say(f"trial {trial.number}: {monitor} {value:.4f} ({state}, {time.perf_counter() - t0:.1f} s) "
            + " ".join(f"{k}={_show(v)}" for k, v in values.items()))
        if pruning.pruned_at is not None:
            raise optuna.TrialPruned()
        return value

    study_name = study_name or f"{model}-{dataset}"
    make_pruner = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
                   "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs),
                   "none": lambda: optuna.pruners.NopPruner()}[pruner]
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def load(worker: int) -> Any:
        return optuna.create_study(storage=storage, study_name=study_name, load_if_exists=True, direction=direction,
                                   sampler=optuna.samplers.TPESampler(seed=seed + worker), pruner=make_pruner())

    study = load(0)
    done_states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    target = len([t for t in study.trials if t.state in done_states]) + trials
    stop_at = optuna.study.MaxTrialsCallback(target, states=done_states)
    if jobs == 1:
        study.optimize(objective, n_trials=trials, callbacks=[stop_at], catch=(FloatingPointError,))
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")  # the workers inherit the loaded data and the objective

        def work(worker: int) -> None:
            load(worker).optimize(objective, n_trials=trials, callbacks=[stop_at], catch=(FloatingPointError,))

        procs = [ctx.Process(target=work, args=(w,), name=f"nabla-tune-{w}") for w in range(1, jobs)]
        for p in procs:
            p.start()
        try:
            work(0)
        finally:
            for p in procs:
                p.join()
        failed = [p.name for p in procs if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"search: worker process(es) {', '.join(failed)} failed; see their output above")
        study = load(0)
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise RuntimeError(f"search: no trial completed ({len(study.trials)} ran; all pruned or failed)")

    data_flags = []
    if data_dir:
        data_flags += ["--data-dir", str(data_dir)]
    if split:
        data_flags += ["--split", split]
    if holdout:
        data_flags += ["--holdout", str(holdout)]
    best = _decode(study.best_trial, params)
    command = _command(model, dataset, data_flags, problem.settings(best), best)
    result = TuneResult(study, model, dataset, monitor, direction, params, command, default_value, epochs,
                        time.perf_counter() - start, data_flags)
    if final:
        for name, values in (("default", {}), ("tuned", best)):
            history, _ = problem.run(values, final=True)
            result.test[name] = float(history.history[monitor][-1])
        say(f"test part: tuned {result.test['tuned']:.4f}, default {result.test['default']:.4f}")
        result.seconds = time.perf_counter() - start
    return result
