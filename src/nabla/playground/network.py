"""One playground run: the network, its optimizer and loss, one epoch of training, and a frame for the page.

Built from nabla's public API only (``nabla.nn``, ``nabla.optim``). :func:`build_model` gives a plain
``nn.Sequential`` — per hidden layer ``Linear``, optional ``BatchNorm1d``, the activation, optional
``Dropout`` — and a final ``Linear``: ``classes`` logits (cross-entropy) or one output (MSE). The code
that "export" writes (:mod:`.export`) builds and trains the very same network step for step.
"""

from __future__ import annotations

import base64
import math
import time
from typing import Any

import numpy

import nabla
from nabla import nn, optim

from .config import ExperimentConfig
from .datasets import EXTENT, Data, features

__all__ = ["ACTIVATION_MODULES", "Run", "build_model", "build_optimizer", "regularization_penalty"]

ACTIVATION_MODULES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Identity",
                      "leaky_relu": "LeakyReLU", "elu": "ELU"}
OPTIMIZER_CALLS = {  # name -> (class in nabla.optim, extra keyword arguments)
    "sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}), "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}), "adamw": ("AdamW", {}), "adagrad": ("Adagrad", {}), "adamax": ("Adamax", {}),
    "nadam": ("NAdam", {}),
}
BOUNDARY_GRID = 40  # cells per side of the decision-boundary heat map
NEURON_GRID = 16  # cells per side of each neuron's heat map
HISTORY_LIMIT = 400  # loss-curve points kept per run (older ones are thinned)


def build_model(n_inputs: int, layers: tuple[int, ...] | list[int], activation: str, outputs: int,
                batch_norm: bool = False, dropout: float = 0.0, seed: int = 0) -> nn.Sequential:
    """The network: ``[Linear, (BatchNorm1d), activation, (Dropout)] * len(layers) + [Linear]``.

    Weights are Xavier-uniform and biases zero, drawn from a generator seeded with ``seed``, so the
    same settings always start from the same weights.
    """
    modules: list[nn.Module] = []
    width = n_inputs
    for n in layers:
        modules.append(nn.Linear(width, n))
        if batch_norm:
            modules.append(nn.BatchNorm1d(n))
        modules.append(getattr(nn, ACTIVATION_MODULES[activation])())
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
        width = n
    modules.append(nn.Linear(width, outputs))
    model = nn.Sequential(*modules)
    gen = nabla.Generator(seed)
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, generator=gen)
            nn.init.zeros_(m.bias)
    return model


def build_optimizer(name: str, params: Any, lr: float) -> optim.Optimizer:
    """The optimizer called ``name`` (``"momentum"`` is SGD with momentum 0.9) at learning rate ``lr``."""
    cls, kwargs = OPTIMIZER_CALLS[name]
    return getattr(optim, cls)(params, lr=lr, **kwargs)


def regularization_penalty(model: nn.Module, kind: str) -> nabla.Tensor | None:
    """``sum |w|`` (L1) or ``sum w^2 / 2`` (L2) over the Linear weights (not biases), or None."""
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    if kind == "l1":
        return optim.l1_penalty(weights)
    if kind == "l2":
        return sum((w * w).sum() for w in weights) * 0.5
    return None


def _q8(a: numpy.ndarray) -> str:
    """Values in [0, 1] as base64 of uint8 (0..255): a 40x40 map costs 2 KB of JSON, not 20."""
    return base64.b64encode(numpy.clip(numpy.round(a * 255), 0, 255).astype(numpy.uint8).tobytes()).decode()


def _grid(n: int) -> numpy.ndarray:
    # cell centres, row-major from the top-left (x1 = -E .. E, x2 = E .. -E), as the canvas draws them
    c = (numpy.arange(n) + 0.5) / n * 2 * EXTENT - EXTENT
    x1, x2 = numpy.meshgrid(c, -c)
    return numpy.stack([x1.ravel(), x2.ravel()], axis=1).astype(numpy.float32)


class Run:
    """A training run: state that lives in one worker, advanced one epoch at a time."""

    def __init__(self, config: ExperimentConfig, data: Data) -> None:
        self.config = config
        self.data = data
        self.x_train = nabla.from_numpy(features(data.x_train, config.features))
        self.y_train = nabla.from_numpy(data.y_train)
        self.x_test = nabla.from_numpy(features(data.x_test, config.features))
        self.y_test = nabla.from_numpy(data.y_test)
        self.grid = nabla.from_numpy(features(_grid(BOUNDARY_GRID), config.features))
        self.neuron_grid = nabla.from_numpy(features(_grid(NEURON_GRID), config.features))
        if data.problem == "regression":
            lo, hi = float(data.y_train.min()), float(data.y_train.max())
            self.y_range = (lo, hi if hi > lo else lo + 1.0)
        self.reset()

    def reset(self) -> None:
        c = self.config
        self.model = build_model(len(c.features), c.layers, c.activation, self.data.outputs, c.batch_norm,
                                 c.dropout, c.seed)
        self.optimizer = build_optimizer(c.optimizer, self.model.parameters(), c.learning_rate)
        self.loss_fn = nn.MSELoss() if self.data.problem == "regression" else nn.CrossEntropyLoss()
        self.rng = numpy.random.default_rng(c.seed)
        self.linears = [m for m in self.model if isinstance(m, nn.Linear)]
        self.epoch = 0
        self.steps = 0
        self.diverged: str | None = None
        self.history: list[list[float]] = []  # [epoch, train loss, test loss]
        self._grad_sum = numpy.zeros(len(self.linears))
        self._grad_count = 0
        self._last_grad_norms = [0.0] * len(self.linears)
        self.train_time = 0.0
        self._plan: tuple | None = None  # (order, batch starts, next batch) of an epoch half done

    # ------------------------------------------------------------------------------------ training

    def _targets(self, y: nabla.Tensor) -> nabla.Tensor:
        return y.reshape(-1, 1) if self.data.problem == "regression" else y

    def train_epoch(self) -> bool:
        """One pass over the shuffled training points in mini-batches; False once the run diverged.

        Finishes the epoch a :meth:`train_slice` left half done, if any."""
        while True:
            ok, finished = self.train_slice(math.inf)
            if not ok:
                return False
            if finished:
                return True

    def train_slice(self, budget: float) -> tuple[bool, bool]:
        """Train mini-batches of the current epoch for about ``budget`` seconds (at least one batch).

        Returns ``(ok, epoch_finished)``; ``ok`` is False once the run diverged. The epoch's shuffled
        order and position are kept between calls, so slices add up to exactly the epochs
        :meth:`train_epoch` would run. The training pool uses slices so that one run with huge
        epochs (batch size 1, 2,000 points) cannot hold a worker for seconds at a time while other
        runs wait (time-fair sharing, see ``training.py``).
        """
        if self.diverged:
            return False, False
        t0 = time.perf_counter()
        c = self.config
        n = self.x_train.shape[0]
        if self._plan is None:
            bs = min(c.batch_size, n)
            # a batch of one cannot be batch-normalised: fold a lone last sample into the previous batch
            order = self.rng.permutation(n)
            starts = list(range(0, n, bs))
            if c.batch_norm and len(starts) > 1 and n - starts[-1] == 1:
                starts.pop()
            self._plan = (order, starts, 0)
        order, starts, k = self._plan
        self.model.train()
        while k < len(starts):
            s = starts[k]
            e = starts[k + 1] if k + 1 < len(starts) else n
            k += 1
            idx = order[s:e]
            if c.batch_norm and len(idx) < 2:
                continue
            out = self.model(self.x_train[idx])
            loss = self.loss_fn(out, self._targets(self.y_train[idx]))
            penalty = regularization_penalty(self.model, c.regularization) if c.reg_rate > 0 else None
            if penalty is not None:
                loss = loss + c.reg_rate * penalty
            value = loss.item()
            if not math.isfinite(value):
                self._plan = None
                self._diverge(f"the loss became {value} at epoch {self.epoch + 1}")
                return False, False
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.steps += 1
            self._grad_sum += [float(numpy.linalg.norm(m.weight.grad.detach().numpy())) for m in self.linears]
            self._grad_count += 1
            if k < len(starts) and time.perf_counter() - t0 >= budget:
                self._plan = (order, starts, k)
                self.train_time += time.perf_counter() - t0
                return True, False
        self._plan = None
        self.epoch += 1
        self.train_time += time.perf_counter() - t0
        if not all(numpy.isfinite(p.detach().numpy()).all() for p in self.model.parameters()):
            self._diverge(f"a weight became infinite or NaN at epoch {self.epoch}")
            return False, True
        return True, True

    def _diverge(self, why: str) -> None:
        self.diverged = f"Training diverged: {why}. Lower the learning rate, then reset."

    # ------------------------------------------------------------------------------------ evaluation

    def losses(self) -> tuple[float, float, float | None, float | None]:
        """(train loss, test loss, train accuracy, test accuracy) in eval mode (accuracy None for regression)."""
        self.model.eval()
        out = []
        with nabla.no_grad():
            for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test)):
                pred = self.model(x)
                loss = float(self.loss_fn(pred, self._targets(y)).item())
                acc = None
                if self.data.problem != "regression":
                    acc = float((pred.numpy().argmax(1) == y.numpy()).mean())
                out.append((loss, acc))
        return out[0][0], out[1][0], out[0][1], out[1][1]

    def boundary(self) -> dict[str, Any]:
        """The output over the input plane: P(class 1), or class + confidence, or the scaled prediction."""
        self.model.eval()
        with nabla.no_grad():
            out = self.model(self.grid).numpy().astype(numpy.float64)
        if self.data.problem == "regression":
            lo, hi = self.y_range
            return {"kind": "regression", "lo": lo, "hi": hi, "values": _q8((out[:, 0] - lo) / (hi - lo))}
        z = out - out.max(1, keepdims=True)
        p = numpy.exp(z)
        p /= p.sum(1, keepdims=True)
        if self.data.problem == "classification":
            return {"kind": "binary", "values": _q8(p[:, 1])}
        cls = p.argmax(1).astype(numpy.uint8)
        return {"kind": "multiclass", "classes": int(self.data.classes),
                "labels": base64.b64encode(cls.tobytes()).decode(), "values": _q8(p.max(1))}

    def boundary_values(self) -> numpy.ndarray:
        """The boundary map as floats in [0, 1] per cell (for the saved thumbnail)."""
        self.model.eval()
        with nabla.no_grad():
            out = self.model(self.grid).numpy().astype(numpy.float64)
        if self.data.problem == "regression":
            lo, hi = self.y_range
            return numpy.clip((out[:, 0] - lo) / (hi - lo), 0, 1).reshape(BOUNDARY_GRID, BOUNDARY_GRID)
        z = out - out.max(1, keepdims=True)
        p = numpy.exp(z)
        p /= p.sum(1, keepdims=True)
        if self.data.problem == "classification":
            return p[:, 1].reshape(BOUNDARY_GRID, BOUNDARY_GRID)
        return (p.argmax(1) / max(self.data.classes - 1, 1)).reshape(BOUNDARY_GRID, BOUNDARY_GRID)

    def neurons(self) -> list[list[str]]:
        """Each hidden neuron's output over the plane, per layer, scaled to [0, 1] by its largest |value|."""
        self.model.eval()
        maps: list[list[str]] = []
        act_name = ACTIVATION_MODULES[self.config.activation]
        with nabla.no_grad():
            h = self.neuron_grid
            for m in self.model:
                h = m(h)
                if type(m).__name__ == act_name:
                    a = h.numpy().astype(numpy.float64)
                    scale = numpy.abs(a).max(0)
                    scale[scale == 0] = 1.0
                    maps.append([_q8((a[:, j] / scale[j] + 1) / 2) for j in range(a.shape[1])])
        return maps

    def take_grad_norms(self) -> list[float]:
        """Mean weight-gradient norm per Linear layer since the last call (first hidden layer first); the
        previous numbers again when no step was taken since."""
        if self._grad_count == 0:  # no step since: the last numbers still hold
            return list(self._last_grad_norms)
        out = (self._grad_sum / self._grad_count).tolist()
        self._last_grad_norms = out
        self._grad_sum[:] = 0
        self._grad_count = 0
        return out

    def frame(self, status: str, full: bool = True) -> dict[str, Any]:
        """What the page draws now: losses, curves point, gradient norms and (if ``full``) heat maps."""
        frame: dict[str, Any] = {"type": "frame", "status": "diverged" if self.diverged else status,
                                 "epoch": self.epoch, "steps": self.steps, "train_time": round(self.train_time, 4)}
        if self.diverged:
            frame["message"] = self.diverged
            return frame
        train_loss, test_loss, train_acc, test_acc = self.losses()
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            self._diverge(f"the loss became {train_loss if not math.isfinite(train_loss) else test_loss} "
                          f"at epoch {self.epoch}")
            frame.update(status="diverged", message=self.diverged)
            return frame
        point = [self.epoch, train_loss, test_loss]
        if not self.history or self.history[-1][0] != self.epoch:
            self.history.append(point)
            if len(self.history) > HISTORY_LIMIT:
                self.history = self.history[::2]
        frame.update(train_loss=train_loss, test_loss=test_loss, train_acc=train_acc, test_acc=test_acc,
                     point=point, grad_norms=self.take_grad_norms())
        if full:
            frame["boundary"] = self.boundary()
            frame["neurons"] = self.neurons()
        return frame

    def metrics(self) -> dict[str, Any]:
        """Final numbers saved with an experiment."""
        if self.diverged:
            return {"epoch": self.epoch, "diverged": True}
        train_loss, test_loss, train_acc, test_acc = self.losses()
        return {"epoch": self.epoch, "train_loss": train_loss, "test_loss": test_loss,
                "train_acc": train_acc, "test_acc": test_acc}
