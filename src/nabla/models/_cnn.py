"""Shared argument checks and initialisation for the convolutional models of the zoo.

Every CNN builder takes ``num_classes``, ``in_channels`` and ``input_size`` (the image side, as
``registry.build_model`` passes it). ``input_size <= SMALL_INPUT`` selects the model's small-input
(28x28 / 32x32, MNIST / CIFAR) variant, anything larger the ImageNet configuration, whose
parameter count and state-dict keys equal torchvision's.
"""

from __future__ import annotations

from .. import nn

SMALL_INPUT = 64


def check_args(model: str, num_classes: int, in_channels: int, input_size: int, minimum: int) -> bool:
    """Validate the common arguments; return True for the small-input variant."""
    for name, v in (("num_classes", num_classes), ("in_channels", in_channels), ("input_size", input_size)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{model}: {name} must be a positive int, got {v!r}")
    if input_size < minimum:
        raise ValueError(
            f"{model}: input_size {input_size} is too small; this network needs images of at least "
            f"{minimum}x{minimum} (its pooling stages would shrink smaller ones to nothing)"
        )
    return input_size <= SMALL_INPUT


def init_like_torchvision(model: nn.Module, linear_std: float | None = 0.01) -> None:
    """torchvision's initialisation for VGG / ResNet: conv weights ``kaiming_normal_(fan_out, relu)``
    with zero biases, BatchNorm weight 1 and bias 0, and (unless ``linear_std`` is None) Linear
    weights ``N(0, linear_std)`` with zero biases."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)
