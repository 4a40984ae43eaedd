"""ResNet (He et al., 2015): residual blocks, ``relu(F(x) + shortcut(x))``, in torchvision's layout.

``BasicBlock`` (two 3x3 convolutions; ResNet-18/34) and ``Bottleneck`` (1x1 reduce, 3x3, 1x1 expand
by 4; ResNet-50). The shortcut is the identity, or a strided 1x1 convolution + BatchNorm
(``downsample``) where the shape changes. ImageNet configuration (``input_size`` > 64): 7x7/2 stem
and 3x3/2 max pool, stages of 64-128-256-512 (x4 for Bottleneck) channels, global average pooling,
``fc``; parameter counts for 1000 classes equal torchvision's (resnet18 11,689,512, resnet34
21,797,672, resnet50 25,557,032), and so do the state-dict keys (``conv1.weight``,
``layer1.0.bn1.running_mean``, ``layer2.0.downsample.0.weight``, ``fc.bias``, ...), so torchvision
checkpoints load with ``load_state_dict``. Small-input variant (28x28 / 32x32, the usual CIFAR
ResNet): a 3x3/1 stem and no max pool (same keys; ``conv1.weight`` is 3x3). Initialisation as
torchvision (He normal, fan_out, for convolutions; ``zero_init_residual`` zeroes each block's last BN).
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ._cnn import check_args, init_like_torchvision
from .registry import register_model


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """3x3 conv-BN-ReLU, 3x3 conv-BN, plus the shortcut, then ReLU."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 conv-BN-ReLU (reduce), 3x3 conv-BN-ReLU (the stride sits here, torchvision's "v1.5"),
    1x1 conv-BN (x4 channels), plus the shortcut, then ReLU."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


Block = type[BasicBlock] | type[Bottleneck]


class ResNet(nn.Module):
    """Stem (``conv1``, ``bn1``, ``relu``, ``maxpool``), ``layer1``-``layer4``, ``avgpool``, ``fc``."""

    def __init__(self, block: Block, layers: Sequence[int], num_classes: int = 1000, in_channels: int = 3,
                 input_size: int = 224, zero_init_residual: bool = False, name: str = "resnet") -> None:
        super().__init__()
        small = check_args(name, num_classes, in_channels, input_size, 4 if input_size <= 64 else 33)
        if small:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small else nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes = 64
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_like_torchvision(self, linear_std=None)  # fc keeps nn.Linear's default, as torchvision
        if zero_init_residual:
            for m in self.modules():
                last = m.bn3 if isinstance(m, Bottleneck) else m.bn2 if isinstance(m, BasicBlock) else None
                if last is not None:
                    nn.init.zeros_(last.weight)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _builder(name: str, block: Block, layers: Sequence[int]):
    def build(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
              zero_init_residual: bool = False) -> nn.Module:
        return ResNet(block, layers, num_classes, in_channels, input_size, zero_init_residual, name)

    depth = name[len("resnet"):]
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"ResNet-{depth}: {block.__name__}s in stages {list(layers)} with identity / 1x1 shortcuts; torchvision's "
        "ImageNet layout, or the small-input (CIFAR) variant for input_size <= 64."
    )
    return register_model(name)(build)


resnet18 = _builder("resnet18", BasicBlock, (2, 2, 2, 2))
resnet34 = _builder("resnet34", BasicBlock, (3, 4, 6, 3))
resnet50 = _builder("resnet50", Bottleneck, (3, 4, 6, 3))
