"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012), in torchvision's single-tower form.

ImageNet configuration (``input_size`` > 64, 224x224 images): five convolutions (11x11 stride 4,
5x5, three 3x3) with three 3x3/2 max pools, adaptive average pooling to 6x6, and a
dropout-4096-4096 classifier: 61,100,840 parameters for 1000 classes, as torchvision's
``alexnet``, with the same state-dict keys (``features.0.weight`` ... ``classifier.6.bias``).

Small-input variant (28x28 / 32x32): the same five convolutions as 3x3 kernels at stride 1
(channels 64-192-384-256-256), three 2x2 max pools, adaptive average pooling to 2x2, and a
1024-1024 classifier (3.6M parameters for 10 classes); the keys are the same, only shapes differ.
"""

from __future__ import annotations

from .. import nn
from ._cnn import check_args
from .registry import register_model


class AlexNet(nn.Module):
    """``features`` -> ``avgpool`` -> flatten -> ``classifier`` (torchvision's layout)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                 dropout: float = 0.5) -> None:
        super().__init__()
        small = check_args("alexnet", num_classes, in_channels, input_size, 8 if input_size <= 64 else 63)
        if small:
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            )
            side, hidden = 2, 1024
        else:
            self.features = nn.Sequential(
                nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
            )
            side, hidden = 6, 4096
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * side * side, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register_model("alexnet")
def alexnet(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> nn.Module:
    """AlexNet: five convolutions and a dropout MLP head; torchvision's ImageNet layout, or a 3x3 small-input variant.

    ``input_size`` <= 64 selects the small-input (CIFAR / MNIST) variant; see ``nabla/models/alexnet.py``.
    """
    return AlexNet(num_classes, in_channels, input_size, dropout)
