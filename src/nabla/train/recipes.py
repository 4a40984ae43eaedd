"""Training recipes: how ``nabla train`` trains a model on a data set when the user does not say.

One home for the choices that are about *training*, not about the data or the model:

* :data:`RECIPES` — per data set, the epochs, batch size, learning rate and schedule measured to work
  there (``DEFAULT_RECIPE`` elsewhere); a setting the user gives wins (:func:`resolve_settings`);
* :func:`learning_rate` — the one place the learning rate is decided: the user's, else the recipe's,
  else the optimizer's own default (Keras' 1e-2 for SGD, the class default otherwise); the perceptron
  rule has its own step size;
* :func:`loss_and_metrics` — the loss and metrics for a task;
* :func:`make_trainer` — the trainer and schedule callbacks for a model: the perceptron rule for a
  step-output perceptron (it has no gradient), gradient descent for everything else
  (:func:`make_evaluator`: the same without an optimizer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Recipe", "RECIPES", "DEFAULT_RECIPE", "PERCEPTRON_LR", "SCHEDULES", "recipe_for", "resolve_settings",
           "learning_rate", "set_learning_rate", "loss_and_metrics", "make_trainer", "make_evaluator"]

SCHEDULES = ("constant", "cosine")
PERCEPTRON_LR = 0.1  # the perceptron rule's step size: its updates are +-x, so the scale only sets the margin


@dataclass(frozen=True)
class Recipe:
    """Training settings for one data set. ``lr=None``: the optimizer's own default."""

    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    schedule: str = "constant"  # or "cosine": decay to 0 over the epochs, stepped once per epoch
    optimizer: str = "adam"


DEFAULT_RECIPE = Recipe()
_IMAGES = Recipe(lr=2e-3, schedule="cosine")  # measured: LeNet-5 on 8,000 MNIST images 97.4% -> 98.3-98.7%

RECIPES: dict[str, Recipe] = {
    "digits": Recipe(epochs=30, batch_size=32, lr=3e-3),  # the demo: MLP >= 97% in under a minute
    "mnist": _IMAGES,
    "fashion_mnist": _IMAGES,
    "tinyshakespeare": Recipe(epochs=5, batch_size=32, lr=2e-3),
    "dates": Recipe(epochs=3, batch_size=64, lr=3e-3),
    "reviews": Recipe(epochs=3, batch_size=32, lr=1e-3),
}


# Models whose training is about the model, not the data set: they take these on any data set.
_AUTOENCODERS = Recipe(epochs=10, batch_size=128, lr=1e-3)  # PyTorch's VAE example: Adam 1e-3, batch 128
# DCGAN's Adam lr 2e-4 (betas 0.5, 0.999 set by the model); batch 16, not DCGAN's 64-128: 5 epochs of 8,000 MNIST
# images are then 2,500 steps, not 625; the samples' Inception Score after 5 epochs rises with the steps
# (bench_generative.py gan; docs/generative.md)
_GANS = Recipe(epochs=5, batch_size=16, lr=2e-4)
MODEL_RECIPES: dict[str, Recipe] = {"ae": _AUTOENCODERS, "dae": _AUTOENCODERS, "vae": _AUTOENCODERS,
                                    "gan": _GANS, "dcgan": _GANS, "cgan": _GANS}


def recipe_for(dataset: str, model: str | None = None) -> Recipe:
    """The recipe for ``model`` if it has its own, else for ``dataset`` (else the default recipe)."""
    if model in MODEL_RECIPES:
        return MODEL_RECIPES[model]
    return RECIPES.get(dataset, DEFAULT_RECIPE)


def resolve_settings(dataset: str, model: str | None = None, **given: Any) -> dict[str, Any]:
    """The recipe's settings for ``dataset`` (or ``model``, see :data:`MODEL_RECIPES`) with those the user gave (not
    ``None``) put over them:
    ``resolve_settings("digits", epochs=5)`` -> ``{"epochs": 5, "batch_size": 32, "lr": 0.003, ...}``.
    Unknown names are an error (a typo would otherwise be ignored)."""
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(given) - fields)
    if unknown:
        raise TypeError(f"resolve_settings: unknown setting(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(sorted(fields))}")
    settings = dataclasses.asdict(recipe_for(dataset, model))
    settings.update({k: v for k, v in given.items() if v is not None})
    if settings["schedule"] not in SCHEDULES:
        raise ValueError(f"unknown schedule {settings['schedule']!r}; valid: {', '.join(SCHEDULES)}")
    return settings


def learning_rate(optimizer: str, lr: float | None, perceptron: bool = False) -> float | None:
    """The learning rate to train with: ``lr`` when given; else the perceptron rule's step size, or
    ``None`` for a gradient optimizer, which then keeps its own default (see ``get_optimizer``)."""
    if lr is not None:
        return float(lr)
    return PERCEPTRON_LR if perceptron else None


def set_learning_rate(trainer: Any, lr: float) -> None:
    """Train on with ``lr`` from the next step (every optimizer group; the perceptron rule's step size)."""
    if trainer.optimizer is not None:
        opts = trainer.optimizer.values() if isinstance(trainer.optimizer, dict) else [trainer.optimizer]
        for group in (g for opt in opts for g in opt.param_groups):
            group["lr"] = float(lr)
    elif hasattr(trainer, "lr"):
        trainer.lr = float(lr)
    else:
        raise ValueError(f"set_learning_rate: {type(trainer).__name__} has no optimizer or lr to set")


def loss_and_metrics(task: str) -> tuple[Any, list[str]]:
    """The loss (a name for ``get_loss``, or a callable) and the metric names for a data set's task."""
    if task in ("language_model", "seq2seq"):
        from ..nn.functional import sequence_cross_entropy

        return sequence_cross_entropy, ["accuracy"]
    if task == "classification":
        return "cross_entropy", ["accuracy"]
    if task == "regression":
        return "mse", ["mae", "r2"]
    raise ValueError(f"unknown task {task!r}; valid: classification, regression, language_model, seq2seq")


def make_trainer(model: Any, task: str, *, optimizer: str = "adam", lr: float | None = None,
                 schedule: str = "constant", epochs: int = 1, device: Any = None,
                 compile: bool = False) -> tuple[Any, list[Any], float]:
    """``(trainer, callbacks, lr)`` to train ``model`` for ``task``: the perceptron rule for a step-output
    perceptron, else ``optimizer`` on the task's loss with the ``schedule`` callback. ``lr`` is the
    user's (or recipe's) rate or ``None``; the returned ``lr`` is the one actually used. ``compile``:
    the trainer's steps run through ``nabla.compile``."""
    from .callbacks import LearningRateScheduler
    from .keras import get_loss, get_optimizer
    from .perceptron import PerceptronTrainer, is_perceptron
    from .trainer import Trainer

    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(SCHEDULES)}")
    if is_perceptron(model):
        if task != "classification":
            raise ValueError(f"the perceptron rule separates two classes; a {task} task needs another model "
                             "(try mlp)")
        rate = learning_rate(optimizer, lr, perceptron=True)
        return PerceptronTrainer(model, lr=rate, device=device), [], rate
    # A model with its own train_step (the generative ones) has its own loss and logs; one with
    # configure_optimizers(lr) its own optimizers (a GAN: a dict, one per network).
    own_step = hasattr(model, "train_step")
    loss, metrics = (None, []) if own_step else loss_and_metrics(task)
    if hasattr(model, "configure_optimizers"):
        opt = model.configure_optimizers(lr=learning_rate(optimizer, lr))
    else:
        opt = get_optimizer(optimizer, model.parameters(), learning_rate(optimizer, lr))
    opts = list(opt.values()) if isinstance(opt, dict) else [opt]
    callbacks: list[Any] = []
    if schedule == "cosine":  # stepped once per epoch, down to 0 at the last one
        from ..optim.lr_scheduler import CosineAnnealingLR

        callbacks += [LearningRateScheduler(CosineAnnealingLR(o, T_max=epochs)) for o in opts]
    trainer = Trainer(model, opt, None if own_step else get_loss(loss), metrics, device=device,  # (a callable passes)
                      compile=compile)
    return trainer, callbacks, float(opts[0].param_groups[0]["lr"])


def make_evaluator(model: Any, task: str, device: Any = None) -> Any:
    """A trainer that only evaluates ``model`` on ``task``'s loss and metrics (no optimizer)."""
    from .keras import get_loss
    from .perceptron import PerceptronTrainer, is_perceptron
    from .trainer import Trainer

    if is_perceptron(model):
        return PerceptronTrainer(model, device=device)
    if hasattr(model, "eval_step"):  # the model reports its own loss and logs (e.g. a VAE's elbo)
        return Trainer(model, None, None, [], device=device)
    loss, metrics = loss_and_metrics(task)
    return Trainer(model, None, get_loss(loss), metrics, device=device)
