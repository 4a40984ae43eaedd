"""GoogLeNet / Inception v1 (Szegedy et al., 2014) in torchvision's layout.

Each Inception block runs four branches on the same input and concatenates them along the
channels: a 1x1 convolution; 1x1 then 3x3; 1x1 then a second 3x3 (torchvision's version, which
keeps a 3x3 where the paper has 5x5 — pytorch/vision issue 906 — and this is what its parameter
count and checkpoints assume); and 3x3 max pooling then 1x1. Every convolution is
``BasicConv2d``: conv (no bias) -> BatchNorm (eps 0.001) -> ReLU.

ImageNet configuration (``input_size`` > 64): 7x7/2 stem, 6,624,904 parameters for 1000 classes
without the auxiliary heads, torchvision's keys (``conv1.conv.weight``, ``inception3a.branch2.1.bn.weight``,
``fc.weight``, ...). Small-input variant (28x28 / 32x32): a 3x3/1 stem and no first max pool, so the
Inception stages run on 16x16, 8x8 and 4x4 maps. ``aux_logits=True`` adds the two auxiliary
classifiers (after 4a and 4d); in training mode the model then returns ``GoogLeNetOutputs(logits,
aux_logits2, aux_logits1)`` (combine them in the loss, e.g. ``loss + 0.3 * (aux1 + aux2)``), in
evaluation mode only the logits.
"""

from __future__ import annotations

from typing import NamedTuple

from .. import nn
from ..ops import cat
from ..ops.pool import adaptive_avg_pool2d
from ._cnn import check_args
from .registry import register_model


class GoogLeNetOutputs(NamedTuple):
    logits: object
    aux_logits2: object
    aux_logits1: object


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm(eps=0.001) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()


class Inception(nn.Module):
    """Four parallel branches concatenated on the channel axis: out = ch1x1 + ch3x3 + ch5x5 + pool_proj channels."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive average pool to 4x4, 1x1 conv to 128, 2048-1024-classes with dropout."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.conv(adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(self.dropout(self.fc1(x).relu()))


class GoogLeNet(nn.Module):
    """Stem, Inception 3a-3b, 4a-4e, 5a-5b with max pools between stages, global average pool, dropout, fc."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, aux_logits: bool = False,
                 dropout: float = 0.2, dropout_aux: float = 0.7) -> None:
        super().__init__()
        small = check_args("googlenet", num_classes, in_channels, input_size, 8 if input_size <= 64 else 65)
        if small:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=3, padding=1)
            self.maxpool1 = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.aux_logits = aux_logits
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():  # torchvision: truncated N(0, 0.01) at +-2 (i.e. 200 std: a plain normal)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if self.aux_logits and self.training:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


@register_model("googlenet")
def googlenet(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, aux_logits: bool = False,
              dropout: float = 0.2) -> nn.Module:
    """GoogLeNet (Inception v1): nine Inception blocks of parallel 1x1/3x3/pool branches; torchvision's layout.

    ``input_size`` <= 64 selects the small-input variant; ``aux_logits`` adds the auxiliary heads.
    """
    return GoogLeNet(num_classes, in_channels, input_size, aux_logits, dropout)
