"""Keras-style ``compile`` / ``fit`` / ``evaluate`` / ``predict`` for any ``nn.Module``.

Importing this module binds the four functions onto ``nn.Module`` as methods (``model.fit(x, y)``):
``train`` knows ``nn``, ``nn`` does not know ``train``. (Before ``nabla.train`` is imported,
``nabla/__init__.py`` binds forwarders that import it on first use.) The compiled state is a
:class:`Trainer` kept on the model as ``model._trainer``.

``verbose`` takes Keras' values: 0 silent; 1 or ``"auto"`` a progress bar (``fit``), 2 one summary line
per epoch and no bar (``fit``); 1 or 2 one result line (``evaluate``). Defaults: ``fit`` 1, ``evaluate``
and ``predict`` 0 (nabla's quiet default).

The Keras loss names ``"categorical_crossentropy"``, ``"sparse_categorical_crossentropy"`` and
``"binary_crossentropy"`` take probabilities, as in Keras (see ``keras_losses.py``; pass e.g.
``CategoricalCrossentropy(from_logits=True)`` for logits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy

from .. import optim
from ..data.dataset import Dataset, Subset, TensorDataset
from ..data.loader import DataLoader
from ..nn import losses
from ..nn.module import Module
from ..tensor import Tensor
from .keras_losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from .trainer import History, Trainer

__all__ = ["compile", "fit", "evaluate", "predict", "get_optimizer", "get_loss", "OPTIMIZERS", "LOSSES"]

OPTIMIZERS: dict[str, Any] = {
    "sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad,
    "rmsprop": optim.RMSprop, "adamax": optim.Adamax, "nadam": optim.NAdam,
}
_DEFAULT_LR = {"sgd": 1e-2}  # Keras' default; the other optimizers keep their own

LOSSES: dict[str, Callable[[], Any]] = {
    "cross_entropy": losses.CrossEntropyLoss,  # logits, as PyTorch
    # Keras' names take probabilities (from_logits=False), as in Keras
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "nll": losses.NLLLoss,
    "mse": losses.MSELoss, "mean_squared_error": losses.MSELoss,
    "mae": losses.L1Loss, "l1": losses.L1Loss, "mean_absolute_error": losses.L1Loss,
    "huber": losses.HuberLoss,
    "bce": losses.BCELoss,
    "bce_with_logits": losses.BCEWithLogitsLoss,
    "kl_div": losses.KLDivLoss,
}


def get_optimizer(optimizer: Any, params: Any, lr: float | None = None) -> optim.Optimizer:
    """An optimizer from a name (``"adam"``, ``"sgd"``, ...), an Optimizer class, or an instance
    (returned as is; ``lr``, when given, overrides its groups' learning rate)."""
    if isinstance(optimizer, optim.Optimizer):
        if lr is not None:
            for g in optimizer.param_groups:
                g["lr"] = lr
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, optim.Optimizer):
        return optimizer(params) if lr is None else optimizer(params, lr=lr)
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name, an Optimizer class or instance, got {type(optimizer).__name__}")
    key = optimizer.strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid names: {', '.join(sorted(OPTIMIZERS))}")
    if lr is None:
        lr = _DEFAULT_LR.get(key)
    return OPTIMIZERS[key](params) if lr is None else OPTIMIZERS[key](params, lr=lr)


def get_loss(loss: Any) -> Callable:
    """A loss from a name (``"cross_entropy"``, ``"mse"``, ``"bce"``, ``"bce_with_logits"``, ``"mae"``,
    ...), a loss Module class, or any callable ``loss(output, target)`` (returned as is)."""
    if isinstance(loss, str):
        key = loss.strip().lower()
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; valid names: {', '.join(sorted(LOSSES))}")
        return LOSSES[key]()
    if isinstance(loss, type):
        return loss()
    if callable(loss):
        return loss
    raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")


def compile(model: Any, optimizer: Any = "adam", loss: Any = "cross_entropy", metrics: Sequence[Any] | None = None,
            lr: float | None = None, device: Any = None, jit_compile: bool = False) -> Trainer:
    """Attach a :class:`Trainer` (optimizer, loss and metrics resolved from names) to ``model``.
    ``jit_compile=True`` (Keras' name) runs its steps through :func:`nabla.compile`."""
    if isinstance(metrics, str):
        metrics = [metrics]
    trainer = Trainer(model, get_optimizer(optimizer, model.parameters(), lr), get_loss(loss), metrics or (),
                      device=device, compile=jit_compile)
    object.__setattr__(model, "_trainer", trainer)
    return trainer


def _trainer(model: Any, what: str) -> Trainer:
    t = model.__dict__.get("_trainer")
    if t is None:
        raise RuntimeError(f"{what}: call model.compile(optimizer=..., loss=...) first")
    return t


def _dataset(x: Any, y: Any = None) -> Any:
    """A Dataset (or DataLoader, kept) from arrays/Tensors ``x``(, ``y``), or ``x`` itself."""
    if isinstance(x, (Dataset, DataLoader)):
        if y is not None:
            raise ValueError("y must be None when x is a Dataset or DataLoader")
        return x
    if isinstance(x, (Tensor, numpy.ndarray, list)):
        return TensorDataset(x) if y is None else TensorDataset(x, y)
    if isinstance(x, tuple) and y is None:
        return TensorDataset(*x)
    return x  # any iterable of batches


def _split_off(data: Any, fraction: float) -> tuple[Any, Any]:
    """(train, validation): the last ``fraction`` of the samples (taken before shuffling, as Keras)."""
    if not 0 <= fraction < 1:
        raise ValueError(f"validation_split must lie in [0, 1), got {fraction}")
    if isinstance(data, DataLoader) or not hasattr(data, "__len__"):
        raise ValueError("validation_split needs array/Tensor or Dataset input, not a DataLoader")
    n = len(data)
    n_val = int(n * fraction)
    if n_val == 0 or n_val == n:
        raise ValueError(f"validation_split={fraction} leaves an empty train or validation set ({n} samples)")
    if isinstance(data, TensorDataset):
        cut = n - n_val
        return TensorDataset(*(t[:cut] for t in data.tensors)), TensorDataset(*(t[cut:] for t in data.tensors))
    return Subset(data, range(n - n_val)), Subset(data, range(n - n_val, n))


def _verbose(verbose: Any, what: str) -> int:
    """Keras' ``verbose``: 0, 1, 2 or "auto" (= 1)."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise ValueError(f"{what}: verbose must be 0 (silent), 1, 2 or 'auto', got {verbose!r}")
    return verbose


def fit(model: Any, x: Any, y: Any = None, epochs: int = 1, batch_size: int = 32, validation_data: Any = None,
        validation_split: float = 0.0, callbacks: Sequence[Any] | None = None, shuffle: bool = True,
        verbose: Any = 1) -> History:
    """Train the compiled model on ``x``/``y`` (arrays/Tensors) or a Dataset/DataLoader ``x``; returns a
    :class:`History`. ``verbose``: 0 silent; 1 or "auto" a progress bar; 2 one line per epoch (no bar)."""
    verbose = _verbose(verbose, "fit")
    trainer = _trainer(model, "fit")
    data = _dataset(x, y)
    val = None
    if validation_split:
        if validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        data, val = _split_off(data, validation_split)
    elif validation_data is not None:
        val = _dataset(*validation_data) if isinstance(validation_data, tuple) else _dataset(validation_data)
    return trainer.fit(data, epochs=epochs, val_data=val, callbacks=callbacks or (), verbose=verbose,
                       batch_size=batch_size, shuffle=shuffle)


def evaluate(model: Any, x: Any, y: Any = None, batch_size: int = 32, verbose: Any = 0) -> dict[str, Any]:
    """Mean loss and metrics of the compiled model on ``x``/``y`` (eval mode, no gradients).
    ``verbose`` 1, 2 or "auto" prints them on one line (``loss: 0.1234 - accuracy: 0.9750``), 0 is silent."""
    verbose = _verbose(verbose, "evaluate")
    logs = _trainer(model, "evaluate").evaluate(_dataset(x, y), batch_size=batch_size)
    if verbose:
        print(" - ".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in logs.items()))
    return logs


def predict(model: Any, x: Any, batch_size: int = 32, verbose: Any = 0) -> Tensor:
    """Outputs of ``model`` for ``x``, batched (eval mode, no gradients; works without ``compile``).
    ``verbose`` is accepted as in Keras (0, 1, 2 or "auto"); prediction prints nothing."""
    _verbose(verbose, "predict")
    t = model.__dict__.get("_trainer") or Trainer(model, None, None)
    return t.predict(_dataset(x), batch_size=batch_size)


KERAS_METHODS = {"compile": compile, "fit": fit, "evaluate": evaluate, "predict": predict}
for _name, _fn in KERAS_METHODS.items():  # model.fit(...) etc.: bound here, so that nn never imports train
    setattr(Module, _name, _fn)
del _name, _fn
