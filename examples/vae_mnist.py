"""A variational autoencoder on MNIST: train it, measure it in nats, draw digits from it.

The network is PyTorch's example (784-400-20 encoder to a mean and a log-variance, 20-400-784 Bernoulli
decoder) trained the same way: Adam 1e-3, batch 128, 10 epochs, on the first 8,000 of MNIST's t10k
images; the last 2,000 are held out. It prints the held-out negative ELBO (nats per image; the loss)
and the importance-weighted log-likelihood estimate with k samples (a tighter bound), then writes into
``--out`` (default ``runs/vae_mnist``) ``vae_samples.png`` (64 digits from z ~ N(0, I)) and
``vae_reconstructions.png`` (held-out digits over their reconstructions). Measured (seeds 0-2, ~1 s an
epoch on one core): negative ELBO about 125 nats, within 0.5% of PyTorch's with the same recipe
(benchmarks/bench_generative.py).

Run: ``python examples/vae_mnist.py [--data-dir ../shared/datasets/mnist] [--epochs 10]``; without the
MNIST files it uses scikit-learn's 8x8 digits.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nabla
from nabla import models, optim
from nabla.data import DataLoader
from nabla.data.datasets import load_dataset
from nabla.train import Trainer, save_image_grid

DEFAULT_MNIST = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_MNIST)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--k", type=int, default=200, help="importance samples for the log-likelihood estimate")
    ap.add_argument("--out", type=Path, default=Path("runs/vae_mnist"), help="folder for the two pictures")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    nabla.manual_seed(args.seed)
    if (args.data_dir / "t10k-images-idx3-ubyte.gz").exists():
        train, test, spec = load_dataset("mnist", args.data_dir, split="test", holdout=2000)
    else:
        print(f"no MNIST in {args.data_dir}: using scikit-learn's 8x8 digits")
        train, test, spec = load_dataset("digits")
    model = models.build_model("vae", spec.input_shape, 10)  # 784-400-20 on MNIST
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=1e-3), None)  # the VAE brings its own loss
    start = time.perf_counter()
    trainer.fit(DataLoader(train, batch_size=128, shuffle=True), epochs=args.epochs,
                val_data=DataLoader(test, batch_size=500))
    seconds = time.perf_counter() - start

    x, _ = test.tensors
    model.eval()
    with nabla.no_grad():
        neg_elbo = float(model.loss(x)[0].item())
    ll = float(model.log_likelihood(x, k=args.k, generator=nabla.Generator(args.seed)).mean().item())
    print(f"held-out ({len(x)} images): negative ELBO {neg_elbo:.2f} nats, importance-weighted (k={args.k}) "
          f"-log p(x) {-ll:.2f} nats ({seconds:.0f} s of training)")
    args.out.mkdir(parents=True, exist_ok=True)
    save_image_grid(model.sample(64, seed=args.seed), args.out / "vae_samples.png")
    save_image_grid(model.progress_images(x[:32]), args.out / "vae_reconstructions.png")
    print(f"wrote {args.out / 'vae_samples.png'} and {args.out / 'vae_reconstructions.png'}")


if __name__ == "__main__":
    main()
