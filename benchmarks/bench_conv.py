"""Convolutional networks: one conv layer, LeNet-5 and ResNet-18 (CIFAR) training steps, nabla vs PyTorch.

* conv2d 3x3, 64 -> 64 channels, 32x32 maps, batch 32, padding 1, with bias: forward + backward of
  ``(conv2d(x, w, b) * g).sum()`` (gradients for x, w and b). Target <= 2x torch.
* LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2, 400-120-84-10,
  ReLU), batch 64 of 1x28x28, cross-entropy, SGD step. Target <= 1.5x.
* ResNet-18, CIFAR variant (3x3 stem without max-pool, BasicBlocks [2, 2, 2, 2] of 64-512 channels,
  BatchNorm in training mode, global average pool, 10 classes), batch 32 of 3x32x32, cross-entropy,
  SGD step. Target <= 2.5x.

The model code is shared (``lib`` = nabla or torch), the weights are PyTorch's initialisation copied
into nabla through ``load_state_dict``, and a few steps must give the same losses before timing.
The SGD update is hand-written for both (``timing.sgd_phases``).
"""

from __future__ import annotations

import numpy
from timing import sgd_phases

NAME = "conv"
SANITY_STEPS = 3
LR = 0.01


# ------------------------------------------------------------------------------------------ models


def lenet5(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def resnet18_cifar(lib, num_classes: int = 10):
    nn = lib.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            idt = x if self.downsample is None else self.downsample(x)
            return self.relu(out + idt)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            layers, cin = [], 64
            for i, cout in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
                cin = cout
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()


MODELS = {"lenet5": (lenet5, (64, 1, 28, 28)), "resnet18": (resnet18_cifar, (32, 3, 32, 32))}


def make_pair(name: str, seed: int = 0):
    """The same network in torch and nabla (torch's init copied over), plus one batch of data."""
    import torch

    import nabla

    build, shape = MODELS[name]
    torch.manual_seed(seed)
    t_model = build(torch)
    n_model = build(nabla)
    n_model.load_state_dict({k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()})
    rng = numpy.random.default_rng(seed + 1)
    x = rng.standard_normal(shape).astype(numpy.float32)
    y = rng.integers(0, 10, shape[0]).astype(numpy.int64)
    return n_model, t_model, x, y


def make_phases(lib, model, x_np, y_np, lr: float = LR):
    """forward / forward+backward / update / step callables for ``model`` in ``lib`` (see timing.sgd_phases)."""
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    loss_fn = lib.nn.functional.cross_entropy
    params = list(model.parameters())
    model.train()

    def forward():
        return loss_fn(model(x), y)

    return sgd_phases(lib, forward, params, lr)


# ------------------------------------------------------------------------------------ single layer


def conv_layer_pair(seed: int = 0):
    import torch
    import torch.nn.functional as TF

    import nabla
    import nabla.nn.functional as F

    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(numpy.float32) * 0.1 for s in ((32, 64, 32, 32), (64, 64, 3, 3), (64,))]
    g = rng.standard_normal((32, 64, 32, 32)).astype(numpy.float32)

    def make(lib, conv):
        x, w, b = (lib.tensor(a.copy(), requires_grad=True) for a in arrays)
        up = lib.tensor(g)

        def step():
            out = (conv(x, w, b, padding=1) * up).sum()
            out.backward()
            grads = (x.grad, w.grad, b.grad)
            x.grad = w.grad = b.grad = None
            return out, grads

        return step

    return make(nabla, F.conv2d), make(torch, TF.conv2d)


# ----------------------------------------------------------------------------------------------- run


def run(settings) -> list:
    import torch

    import nabla
    from timing import Row, compare

    rows = []
    sn, st = conv_layer_pair()
    (on, gn), (ot, gt) = sn(), st()
    diff = max(float(numpy.abs(a.numpy() - b.numpy()).max() / (numpy.abs(b.numpy()).max() + 1e-12))
               for a, b in zip(gn, gt))
    stats = compare({"nabla": sn, "torch": st}, settings.scaled(rounds=0.25, block=4))
    rows.append(Row(NAME, "conv2d 3x3 64->64, 32x32, batch 32: forward+backward", stats["nabla"], stats["torch"],
                    target=2.0, sanity=f"max relative gradient diff {diff:.1e}", sanity_ok=diff < 1e-4))

    for name, label, target, rounds in (("lenet5", "LeNet-5 train step (batch 64, 1x28x28, CE, SGD)", 1.5, 0.5),
                                        ("resnet18", "ResNet-18 CIFAR train step (batch 32, 3x32x32, CE, SGD)", 2.5, 0.15)):
        n_model, t_model, x, y = make_pair(name)
        pn = make_phases(nabla, n_model, x, y)
        pt = make_phases(torch, t_model, x, y)
        diff = 0.0
        for _ in range(SANITY_STEPS):
            diff = max(diff, abs(pn["step"]().item() - pt["step"]().item()))
        stats = compare({"nabla": pn["step"], "torch": pt["step"]}, settings.scaled(rounds=rounds, block=4))
        rows.append(Row(NAME, label, stats["nabla"], stats["torch"], target=target,
                        sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} SGD steps", sanity_ok=diff < 1e-3))
    return rows
