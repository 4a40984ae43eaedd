"""Handwritten digits with a small CNN: >= 98% test accuracy, and pictures of what the first layer learned.

scikit-learn's 8x8 digits (1,797 images) split 80/20. Three 3x3 convolutions (16, 32, 64 maps,
each with BatchNorm and ReLU; 2x2 max pooling after the second and the third) and a linear
classifier on the 64 x 2 x 2 result, with dropout. Training: Adam with a cosine learning-rate
schedule, and every batch shifted by up to one pixel in each direction (a cheap augmentation: on
8x8 images a digit written one pixel off is a new sample). The MLP of ``mlp_digits.py`` reaches
~97-98%; the CNN reaches 98.9-99.4% over seeds 0-3 (measured), because its weights are shared
across positions and the pooling tolerates small shifts.

At the end it saves ``first_layer.png`` in ``--out`` (default ``runs/cnn_digits``): one test image, the 16
learned 3x3 filters of the first layer, and the 16 feature maps they produce for that image
(``nabla.viz.plot_first_layer``).

Run: ``python examples/cnn_digits.py`` (needs scikit-learn: ``pip install -e ".[datasets]"``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import nabla
import nabla.nn.functional as F
from nabla import nn, optim, viz


def make_model(p: float = 0.3) -> nn.Module:
    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, 16),
        *block(16, 32), nn.MaxPool2d(2),  # 8x8 -> 4x4
        *block(32, 64), nn.MaxPool2d(2),  # 4x4 -> 2x2
        nn.Flatten(), nn.Dropout(p), nn.Linear(64 * 2 * 2, 10),
    )


def random_shift(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move each image by -1, 0 or +1 pixels vertically and horizontally (zeros fill the gap)."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dy, dx = rng.integers(0, 3, n), rng.integers(0, 3, n)
    out = np.empty_like(x)
    for a in range(3):
        for b in range(3):
            pick = (dy == a) & (dx == b)
            out[pick] = padded[pick, :, a:a + h, b:b + w]
    return out


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with nabla.no_grad():
        return float((model(nabla.tensor(x)).argmax(1).numpy() == y).mean())


def train(epochs: int = 20, batch_size: int = 64, lr: float = 3e-3, seed: int = 0, verbose: bool = False):
    """Train with a fixed seed; returns ``(model, test accuracy, test images, test labels)``."""
    nabla.manual_seed(seed)
    train_set, test_set = nabla.data.datasets.digits(seed=seed)
    x_train, y_train = (t.numpy() for t in train_set.tensors)
    x_test, y_test = (t.numpy() for t in test_set.tensors)
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            if len(idx) < 2:  # BatchNorm needs more than one sample per batch in training
                continue
            loss = F.cross_entropy(model(nabla.tensor(random_shift(x_train[idx], rng))), nabla.tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        schedule.step()
        if verbose and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(order):.4f}  test accuracy "
                  f"{accuracy(model, x_test, y_test):.2%}")
    return model, accuracy(model, x_test, y_test), x_test, y_test


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/cnn_digits"),
                    help="folder for the first layer's picture, first_layer.png (default runs/cnn_digits)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    model, acc, x_test, y_test = train(args.epochs, seed=args.seed, verbose=True)
    print(f"test accuracy {acc:.2%} in {time.perf_counter() - t0:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    path = viz.plot_first_layer(model, x_test[0], args.out / "first_layer.png",
                                title=f"a test digit (label {y_test[0]})")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
