"""Transfer learning: a ResNet-18 state dict written by PyTorch (torchvision's layout and key names,
random init, via safetensors.torch.save_file) loads into nabla's resnet18, gives PyTorch's logits,
and fine-tuning a new head on the frozen backbone changes only the head."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import nabla
from nabla import models, nn

# ---------------------------------------------------------------- torchvision's resnet18, in plain torch
# (torchvision itself does not install beside the CPU build of torch here; this mirrors
# torchvision/models/resnet.py: same modules, same attribute names, so the same state-dict keys)


class TorchBasicBlock(torch.nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(planes)
        self.relu = torch.nn.ReLU(inplace=True)
        self.conv2 = torch.nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchResNet18(torch.nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(64)
        self.relu = torch.nn.ReLU(inplace=True)
        self.maxpool = torch.nn.MaxPool2d(3, 2, 1)
        self.inplanes = 64
        self.layer1 = self._make_layer(64, 1)
        self.layer2 = self._make_layer(128, 2)
        self.layer3 = self._make_layer(256, 2)
        self.layer4 = self._make_layer(512, 2)
        self.avgpool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(512, num_classes)

    def _make_layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = torch.nn.Sequential(torch.nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                             torch.nn.BatchNorm2d(planes))
        layers = [TorchBasicBlock(self.inplanes, planes, stride, downsample), TorchBasicBlock(planes, planes)]
        self.inplanes = planes
        return torch.nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.fixture(scope="module")
def torch_checkpoint(tmp_path_factory):
    """A randomly initialised torchvision-layout ResNet-18 with non-trivial BatchNorm statistics, saved by PyTorch."""
    torch.manual_seed(0)
    net = TorchResNet18()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)
    net.eval()
    path = tmp_path_factory.mktemp("ckpt") / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return net, path


def test_pytorch_checkpoint_loads_and_gives_the_same_logits(torch_checkpoint):
    net, path = torch_checkpoint
    model = models.resnet18()
    state = nabla.load(path)
    assert list(state) != [] and set(state) == set(model.state_dict())  # torchvision's key names
    model.load_state_dict(state)
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with nabla.no_grad():
        ours = model(nabla.tensor(x)).numpy()
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    assert ours.shape == (2, 1000)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    assert int(model.bn1.num_batches_tracked.item()) == 7


def test_frozen_backbone_new_head_only_head_changes(torch_checkpoint):
    _, path = torch_checkpoint
    model = models.resnet18()
    model.load_state_dict(nabla.load(path))
    model.requires_grad_(False)  # freeze the backbone ...
    model.fc = nn.Linear(512, 4)  # ... and replace the head (new parameters require grad)
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    model.eval()  # frozen BatchNorm: use (and keep) the running statistics
    opt = nabla.optim.Adam(model.fc.parameters(), lr=1e-2)
    rng = np.random.default_rng(1)
    x = nabla.tensor(rng.standard_normal((8, 3, 48, 48)).astype(np.float32))
    y = nabla.tensor(rng.integers(0, 4, 8))
    losses = []
    for _ in range(5):
        loss = nabla.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert losses[-1] < losses[0]
    after = model.state_dict()
    changed = sorted(k for k in before if not np.array_equal(before[k], after[k].detach().numpy()))
    assert changed == ["fc.bias", "fc.weight"]
    assert all(p.grad is None for name, p in model.named_parameters() if not name.startswith("fc."))


@pytest.mark.slow
def test_transfer_learning_example_runs():
    """examples/transfer_learning.py: offline stand-in checkpoint, head on frozen features, only fc changes."""
    import runpy
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "transfer_learning.py"
    mod = runpy.run_path(str(example), run_name="transfer_example")
    result = mod["run"](epochs=40, verbose=False)
    assert result["changed"] == ["fc.bias", "fc.weight"]
    assert result["accuracy"] >= 0.9
