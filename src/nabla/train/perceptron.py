"""Rosenblatt's perceptron rule as a :class:`Trainer`: the model ends in a step, which has no
gradient, so the update is the classic ``w += lr * (y - y_hat) * x`` instead of backpropagation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import no_grad
from ..nn import Linear, Module
from .trainer import Trainer, _split, _to

__all__ = ["PerceptronTrainer", "is_perceptron"]


def _error_rate(output: Any, target: Any) -> Any:
    """Mean squared error of 0/1 outputs against 0/1 targets: the fraction misclassified."""
    return ((output - target.reshape(output.shape).float()) ** 2).mean()


def is_perceptron(model: Module) -> bool:
    """A model with one Linear layer and a single 0/1 output through a step (``nabla.models.perceptron``)."""
    from ..nn import Step

    mods = list(model.modules())
    return any(isinstance(m, Step) for m in mods) and sum(isinstance(m, Linear) for m in mods) == 1


class PerceptronTrainer(Trainer):
    """Train a perceptron (``Linear(in, 1)`` followed by ``Step``) with the perceptron rule, averaged over
    each batch. ``loss`` is the fraction of misclassified samples; ``lr`` is the rule's step size."""

    def __init__(self, model: Module, lr: float = 0.1, metrics: Sequence[Any] = ("accuracy",), device: Any = None):
        if not is_perceptron(model):
            raise ValueError("PerceptronTrainer: the model must have exactly one Linear layer and end in a Step "
                             "(nabla.models.perceptron(in_features, num_classes=2))")
        if not lr > 0:
            raise ValueError(f"PerceptronTrainer: lr must be > 0, got {lr}")
        super().__init__(model, None, _error_rate, metrics, device)
        self.linear = next(m for m in model.modules() if isinstance(m, Linear))
        if self.linear.out_features != 1:
            raise ValueError(
                f"PerceptronTrainer: the Linear layer must have one output, got {self.linear.out_features}"
            )
        self.lr = float(lr)

    def train_step(self, batch: Any) -> dict[str, Any]:
        inputs, target = _split(_to(batch, self.device))
        with no_grad():
            x = inputs[0].reshape(inputs[0].shape[0], -1)
            output = self.model(*inputs)
            err = target.reshape(output.shape).float() - output  # +1: missed a 1, -1: missed a 0, 0: right
            n = x.shape[0]
            self.linear.weight += (self.lr / n) * (err.T @ x)
            self.linear.bias += (self.lr / n) * err.sum(0)
        return {"loss": float((err ** 2).mean().item()), "output": output, "target": target}
