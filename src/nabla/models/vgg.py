"""VGG (Simonyan & Zisserman, 2014): stacks of 3x3 convolutions between 2x2 max pools.

Configurations "A" (VGG-11) and "D" (VGG-16), each with or without BatchNorm after every
convolution, in torchvision's layout and key names (``features.N``, ``classifier.N``) and
initialisation (conv: He normal, fan_out; linear: N(0, 0.01)). ImageNet configuration
(``input_size`` > 64): adaptive average pooling to 7x7 and a 4096-4096 classifier, 138,357,544
parameters for VGG-16 with 1000 classes, as torchvision. Small-input variant (28x28 / 32x32, the
usual CIFAR VGG): the pools use ``ceil_mode`` (so 28 -> 14 -> 7 -> 4 -> 2 -> 1 as 32 -> 16 -> ... -> 1),
average pooling to 1x1 and a 512-512 classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ._cnn import check_args, init_like_torchvision
from .registry import register_model

CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


def make_features(cfg: Sequence[int | str], in_channels: int, batch_norm: bool, ceil_mode: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    c = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(c, int(v), 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(int(v)))
        layers.append(nn.ReLU())
        c = int(v)
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` -> ``avgpool`` -> flatten -> ``classifier`` (torchvision's layout)."""

    def __init__(self, cfg: str, batch_norm: bool, num_classes: int = 1000, in_channels: int = 3,
                 input_size: int = 224, dropout: float = 0.5, name: str = "vgg") -> None:
        super().__init__()
        small = check_args(name, num_classes, in_channels, input_size, 8 if input_size <= 64 else 32)
        self.features = make_features(CONFIGS[cfg], in_channels, batch_norm, ceil_mode=small)
        side, hidden = (1, 512) if small else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.classifier = nn.Sequential(
            nn.Linear(512 * side * side, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        init_like_torchvision(self)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _builder(name: str, cfg: str, batch_norm: bool):
    def build(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> nn.Module:
        return VGG(cfg, batch_norm, num_classes, in_channels, input_size, dropout, name)

    layers = {"A": 11, "D": 16}[cfg]
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"VGG-{layers}{' with BatchNorm' if batch_norm else ''}: {layers - 3} 3x3 convolutions in 5 stages and a "
        "3-layer classifier; torchvision's ImageNet layout, or the small-input (CIFAR) variant for input_size <= 64."
    )
    return register_model(name)(build)


vgg11 = _builder("vgg11", "A", False)
vgg11_bn = _builder("vgg11_bn", "A", True)
vgg16 = _builder("vgg16", "D", False)
vgg16_bn = _builder("vgg16_bn", "D", True)
