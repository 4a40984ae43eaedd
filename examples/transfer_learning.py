"""Transfer learning with ResNet-18: load weights PyTorch saved, freeze the backbone, train a new head.

The weights: any torchvision ResNet-18 state dict in the safetensors format. In PyTorch::

    import torchvision, safetensors.torch
    net = torchvision.models.resnet18(weights="IMAGENET1K_V1")
    safetensors.torch.save_file(net.state_dict(), "resnet18.safetensors")

then ``python examples/transfer_learning.py --weights resnet18.safetensors``. nabla's ``resnet18``
has torchvision's layout and key names, so the file loads as it is (``nabla.load`` reads
safetensors, never pickles). Offline, without ``--weights``, the script saves a freshly initialised
ResNet-18 and loads that instead: every step is the same, only the features are random
convolution features (even those give the new head ~96% test accuracy on scikit-learn's digits;
measured: 1,797 images through the frozen backbone in ~5 s of CPU, the head in ~1 s).

The recipe:

1. ``model = nabla.models.resnet18(); model.load_state_dict(nabla.load(path))``
2. freeze and replace the head: ``model.requires_grad_(False); model.fc = nn.Linear(512, num_classes)``
   (a new layer's parameters require grad, the old ones stay frozen);
3. ``model.eval()``: frozen BatchNorm layers normalise with their running statistics;
4. train only the head: ``optim.Adam(model.fc.parameters())``. Nothing before ``fc`` learns, so the
   512-d features can be computed once under ``no_grad`` and the head trained on them — the same
   result as running the whole network every step, far faster. :func:`fine_tune_end_to_end` shows
   the slow way and checks that only ``fc`` changes.

Data: the 8x8 digits, upsampled to 32x32 (bilinear), repeated to 3 channels and normalised with
ImageNet's channel statistics, as a torchvision model expects.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import nabla
import nabla.nn.functional as F
from nabla import models, nn, optim

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(1, 3, 1, 1)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(1, 3, 1, 1)


def digits_as_rgb(size: int = 32, seed: int = 0):
    """scikit-learn's digits as (N, 3, size, size) ImageNet-normalised float32, split 80/20."""
    train, test = nabla.data.datasets.digits(seed=seed)
    out = []
    for ds in (train, test):
        x, y = ds.tensors
        with nabla.no_grad():
            big = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        rgb = (np.repeat(big.numpy(), 3, axis=1) - IMAGENET_MEAN) / IMAGENET_STD
        out += [rgb.astype(np.float32), y.numpy()]
    return tuple(out)


def load_backbone(path: str, num_classes: int) -> nn.Module:
    """resnet18 with the weights in ``path``, every parameter frozen, and a new trainable ``fc`` head."""
    model = models.resnet18()
    model.load_state_dict(nabla.load(path))
    model.requires_grad_(False)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    model.eval()
    return model


def features(model: nn.Module, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """The 512-d input of ``fc`` (the frozen backbone's output), computed once under no_grad."""
    head, model.fc = model.fc, nn.Identity()
    try:
        with nabla.no_grad():
            return np.concatenate([model(nabla.tensor(x[i:i + batch_size])).numpy()
                                   for i in range(0, len(x), batch_size)])
    finally:
        model.fc = head


def train_head(head: nn.Linear, f_train: np.ndarray, y_train: np.ndarray, epochs: int = 100, lr: float = 1e-2,
               seed: int = 0) -> None:
    """Adam on the head alone, over cached features (mini-batches of 128)."""
    opt = optim.Adam(head.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(f_train))
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            loss = F.cross_entropy(head(nabla.tensor(f_train[idx])), nabla.tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()


def accuracy(model: nn.Module, f: np.ndarray, y: np.ndarray) -> float:
    with nabla.no_grad():
        return float((model(nabla.tensor(f)).argmax(1).numpy() == y).mean())


def fine_tune_end_to_end(model: nn.Module, x: np.ndarray, y: np.ndarray, steps: int = 3, lr: float = 1e-2) -> list[str]:
    """A few Adam steps through the whole (frozen) network; returns the state-dict keys that changed."""
    before = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    opt = optim.Adam(model.fc.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.cross_entropy(model(nabla.tensor(x)), nabla.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = model.state_dict()
    return sorted(k for k in before if not np.array_equal(before[k], after[k].detach().numpy()))


def run(weights: str | None = None, epochs: int = 100, size: int = 32, seed: int = 0, verbose: bool = True) -> dict:
    """The whole recipe; returns the head's test accuracy and which keys end-to-end fine-tuning changed."""
    nabla.manual_seed(seed)
    x_train, y_train, x_test, y_test = digits_as_rgb(size, seed)
    with tempfile.TemporaryDirectory() as tmp:
        if weights is None:  # offline stand-in for a PyTorch checkpoint: same format, same keys
            weights = os.path.join(tmp, "resnet18.safetensors")
            nabla.save(models.resnet18().state_dict(), weights)
        model = load_backbone(weights, num_classes=10)
    t0 = time.perf_counter()
    f_train, f_test = features(model, x_train), features(model, x_test)
    if verbose:
        n, dt = len(f_train) + len(f_test), time.perf_counter() - t0
        print(f"features of {n} images through the frozen backbone: {dt:.1f} s")
    train_head(model.fc, f_train, y_train, epochs=epochs, seed=seed)
    acc = accuracy(model.fc, f_test, y_test)
    if verbose:
        print(f"new head trained on frozen features: test accuracy {acc:.1%}")
    changed = fine_tune_end_to_end(model, x_train[:32], y_train[:32])
    if verbose:
        print(f"end-to-end steps with the backbone frozen changed only: {changed}")
    return {"accuracy": acc, "changed": changed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", help="a torchvision resnet18 state dict saved with safetensors.torch.save_file")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--size", type=int, default=32, help="upsample the 8x8 digits to this side")
    args = ap.parse_args()
    run(args.weights, args.epochs, args.size)


if __name__ == "__main__":
    main()
