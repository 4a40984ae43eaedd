"""Training-loop overhead: one MLP epoch on MNIST-sized data, with and without nabla's data pipeline.

Data: 60,000 random "images" stored as an ``ImageDataset`` (uint8, 1x28x28, converted to float32 in
[0, 1] per batch, as the MNIST loader does) with labels 0..9. Model: MLP 784-256-128-10, Adam,
cross-entropy, batch 64 (938 steps per epoch). All rows are nabla; one timed call is one epoch.

- **pure step** (the baseline): the same 938 training steps (zero_grad, forward, loss, backward,
  Adam step) over batches already cut, converted and wrapped as Tensors before timing — the model's
  work and nothing else.
- **Trainer.fit**: ``Trainer.fit(DataLoader(dataset, batch_size=64, shuffle=True), epochs=1)`` with
  the accuracy metric: a fresh shuffle, each batch gathered and converted, the loss read back every
  step, metrics, callbacks; epochs interleaved with the pure-step epochs (informational: two separate
  epochs differ by several % on this shared machine).
- **plain loop**: ``for x, y in DataLoader(...)`` with the step written out (level 3 of the
  training API); informational.

(``DataLoader(prefetch=1)`` measured the same as without within the noise here: cutting an MNIST batch
costs ~40 µs of a ~4 ms step, so there is nothing for a background thread to hide.)

- **same-epoch split** (the precise number, carrying the target): a Trainer whose ``train_step`` times
  itself, so one ``fit`` epoch yields both its wall time and the time spent in model steps; the rest
  is what the data pipeline and the loop add. Measured in the same epoch, machine noise hits both
  alike; the ratio is the median over epochs of epoch time / step time.

Sanity: the pure-step and Trainer losses of the first epoch from the same weights and batch order agree.
"""

from __future__ import annotations

import time

import numpy
from timing import Row, Stats, compare

import nabla
from nabla import nn, optim
from nabla.data import DataLoader
from nabla.data.datasets import ImageDataset
from nabla.train import Trainer

NAME = "loop"
N, BATCH = 60_000, 64
TARGET = 1.05


def make_data(seed: int = 0) -> ImageDataset:
    r = numpy.random.default_rng(seed)
    return ImageDataset(r.integers(0, 256, (N, 1, 28, 28), dtype=numpy.uint8), r.integers(0, 10, N))


def make_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def run(settings) -> list[Row]:
    data = make_data()
    nabla.manual_seed(0)
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    trainer = Trainer(model, opt, loss_fn, metrics=["accuracy"])

    order = numpy.random.default_rng(1).permutation(N)
    batches = [data._batch(order[i:i + BATCH]) for i in range(0, N, BATCH)]

    def pure_epoch():
        model.train()
        total = 0.0
        for x, y in batches:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += float(loss.item())
        return total

    loader = DataLoader(data, batch_size=BATCH, shuffle=True)

    def fit_epoch():
        return trainer.fit(loader, epochs=1, verbose=0)

    def plain_epoch():
        model.train()
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()

    # Sanity: same start, same batches -> the Trainer's epoch loss equals the pure loop's.
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ref = pure_epoch() / len(batches)
    model.load_state_dict(state)
    opt.state.clear()
    got = trainer.fit(batches, epochs=1, verbose=0).history["loss"][0]
    diff = abs(got - ref)

    epoch_settings = settings.scaled(rounds=0.2, block=0.0)  # one epoch per block; 12 blocks each in a full run
    stats = compare({"pure": pure_epoch, "fit": fit_epoch, "plain": plain_epoch}, epoch_settings)
    class TimedTrainer(Trainer):
        def train_step(self, batch):
            t0 = time.perf_counter()
            out = super().train_step(batch)
            self.step_time += time.perf_counter() - t0
            return out

    def split(prefetch: int) -> numpy.ndarray:
        timed = TimedTrainer(model, opt, loss_fn, metrics=["accuracy"])
        feed = DataLoader(data, batch_size=BATCH, shuffle=True, prefetch=prefetch)
        ratios = []
        for _ in range(max(3, epoch_settings.rounds // 2)):
            timed.step_time = 0.0
            t0 = time.perf_counter()
            timed.fit(feed, epochs=1, verbose=0)
            ratios.append((time.perf_counter() - t0) / timed.step_time)
        return numpy.asarray(ratios)

    ratios, ratios_pf = split(0), split(1)
    split_note = (f"same-epoch ratio epoch/steps: median {numpy.median(ratios):.3f} over {len(ratios)} epochs "
                  f"(range {ratios.min():.3f}-{ratios.max():.3f}); with prefetch=1: median "
                  f"{numpy.median(ratios_pf):.3f} (range {ratios_pf.min():.3f}-{ratios_pf.max():.3f})")
    print("  " + split_note)
    steps = numpy.full(len(ratios), stats["pure"].median)

    sanity = f"first-epoch mean loss, pure loop vs Trainer: diff {diff:.1e}"
    ok = diff < 1e-9
    per = f"per step: pure {stats['pure'].median / len(batches) * 1e6:.0f} µs"
    # Split rows: the per-epoch ratios times one step-time scale, so the medians' ratio is the median ratio.
    return [
        Row(NAME, "MLP epoch 60k x 784, batch 64: Trainer.fit+DataLoader, epoch time / its own model steps",
            Stats(ratios * steps, 1), Stats(steps, 1), "epoch", "model steps", TARGET, [split_note], sanity, ok),
        Row(NAME, "same, DataLoader(prefetch=1)", Stats(ratios_pf * steps[: len(ratios_pf)], 1),
            Stats(steps[: len(ratios_pf)], 1), "epoch", "model steps", None, [split_note], sanity, ok),
        Row(NAME, "MLP epoch 60k x 784, batch 64: Trainer.fit+DataLoader vs pure step", stats["fit"], stats["pure"],
            "Trainer.fit", "pure step", None, [per], sanity, ok),
        Row(NAME, "MLP epoch 60k x 784, batch 64: plain DataLoader loop vs pure step", stats["plain"], stats["pure"],
            "plain loop", "pure step", None, [], sanity, ok),
    ]
