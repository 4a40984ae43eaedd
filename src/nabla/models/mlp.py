"""Fully connected models: the classic perceptron and the multi-layer perceptron."""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from .registry import register_model

_ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
    "gelu": nn.GELU, "step": nn.Step,
}


@register_model("perceptron")
def perceptron(in_features: int = 2, num_classes: int = 2) -> nn.Module:
    """Rosenblatt's perceptron: one linear layer; one output with a step for two classes, else one per class.

    With a step activation the output is 0/1 and the gradient is zero (train it with the perceptron
    rule, or drop the step and use a loss on the logits); for ``num_classes > 2`` the logits are
    returned (argmax picks the class).
    """
    _check(in_features, num_classes)
    if num_classes == 2:
        return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 1), nn.Step())
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, num_classes))


@register_model("mlp")
def mlp(
    in_features: int = 64,
    num_classes: int = 10,
    hidden: Sequence[int] = (128, 64),
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
) -> nn.Module:
    """Multi-layer perceptron. Flatten, then ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` per
    hidden size, then a Linear to ``num_classes`` logits (use cross-entropy on them; ``num_classes=1`` for
    regression)."""
    _check(in_features, num_classes, least=1)
    if activation not in _ACTIVATIONS:
        raise ValueError(f"mlp: unknown activation {activation!r}; valid names: {', '.join(sorted(_ACTIVATIONS))}")
    if not 0 <= dropout < 1:
        raise ValueError(f"mlp: dropout must lie in [0, 1), got {dropout}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_features
    for h in hidden:
        if not isinstance(h, int) or h <= 0:
            raise ValueError(f"mlp: hidden sizes must be positive ints, got {list(hidden)}")
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(_ACTIVATIONS[activation]())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def _check(in_features: int, num_classes: int, least: int = 2) -> None:
    if not isinstance(in_features, int) or in_features <= 0:
        raise ValueError(f"in_features must be a positive int, got {in_features!r}")
    if not isinstance(num_classes, int) or num_classes < least:
        raise ValueError(f"num_classes must be an int >= {least}, got {num_classes!r}")
