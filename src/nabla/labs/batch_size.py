"""Lab 15 — batch size: memory, time per epoch and accuracy.

The same MLP on MNIST trained with mini-batches of 8 to 4,096 images for the same number of epochs,
in two regimes: the same learning rate for every batch size, and the learning rate scaled linearly with
the batch (Goyal et al., 2017: ``lr = base * batch / 32``). Measured per batch size: the peak memory
NumPy allocates during a training step (``tracemalloc``: NumPy reports its array buffers to it), the
wall time of an epoch (training only, median over epochs) and the validation accuracy at the end.
"""

from __future__ import annotations

import math
import time
import tracemalloc

import numpy

import nabla
from nabla.nn import functional as F

from ._common import Data, batch_indices, evaluate, fmt, make_mlp, mnist_8k2k, seed_all
from .base import Lab, LabResult, Measurement, Verdict

BASE_LR, BASE_BATCH = 0.05, 32


def step(model, opt, data: Data, idx: numpy.ndarray) -> float:
    loss = F.cross_entropy(model(nabla.tensor(data.x_train[idx])), nabla.tensor(data.y_train[idx]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.item())


def peak_step_bytes(data: Data, batch: int, seed: int) -> int:
    """Peak bytes allocated (above what was live before) during one training step at ``batch``."""
    seed_all(seed)
    model = make_mlp([data.features, 256, data.classes])
    opt = nabla.optim.SGD(model.parameters(), lr=BASE_LR)
    idx = numpy.arange(min(batch, len(data.y_train)))
    step(model, opt, data, idx)  # warm-up: optimizer state, caches
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        step(model, opt, data, idx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def train_epochs(data: Data, batch: int, lr: float, seed: int, epochs: int) -> dict:
    """``epochs`` epochs at ``batch`` and ``lr``; seconds per epoch (median), final validation accuracy."""
    rng = seed_all(seed)
    model = make_mlp([data.features, 256, data.classes])
    opt = nabla.optim.SGD(model.parameters(), lr=lr)
    n = len(data.y_train)
    per_epoch = max(1, n // batch)
    batches = batch_indices(n, batch, rng)
    seconds, diverged = [], False
    for _ in range(epochs):
        t0 = time.perf_counter()
        for _ in range(per_epoch):
            if not math.isfinite(step(model, opt, data, next(batches))):
                diverged = True
                break
        seconds.append(time.perf_counter() - t0)
        if diverged:
            break
    acc = evaluate(model, data.x_test, data.y_test)[0] if not diverged else 0.0
    return {"seconds": float(numpy.median(seconds)), "val_acc": acc, "diverged": diverged,
            "updates": per_epoch * epochs}


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=2048 if ctx.quick else 8000, n_test=1000 if ctx.quick else 2000)
    batches = [16, 128, 2048] if ctx.quick else [8, 32, 128, 512, 2048, 4096]
    epochs = 2 if ctx.quick else 6
    mem = {b: [] for b in batches}
    sec = {b: [] for b in batches}
    acc = {(r, b): [] for r in ("same_lr", "scaled_lr") for b in batches}
    updates = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for b in batches:
            mem[b].append(peak_step_bytes(data, b, seed) / 2 ** 20)
            same = train_epochs(data, b, BASE_LR, seed, epochs)
            sec[b].append(same["seconds"])
            acc["same_lr", b].append(same["val_acc"])
            updates[b] = same["updates"]
            scaled = same if b == BASE_BATCH else train_epochs(data, b, BASE_LR * b / BASE_BATCH, seed, epochs)
            acc["scaled_lr", b].append(scaled["val_acc"])

    _figure(ctx, batches, mem, sec, acc, data, epochs)
    small, big = batches[0], batches[-1]
    more_memory = all(m2 > m1 for m1, m2 in zip(mem[small], mem[big]))
    slower_epochs = all(s2 > s1 for s1, s2 in zip(sec[small], sec[big]))
    worse_same = all(a2 < a1 for a1, a2 in zip(acc["same_lr", small], acc["same_lr", big]))
    best_scaled = max(batches, key=lambda b: numpy.mean(acc["scaled_lr", b]))
    if more_memory and slower_epochs:
        verdict, condition = Verdict.SUPPORTED, None
    elif more_memory:
        verdict, condition = Verdict.DEPENDS, (
            f"a large batch does need more memory, but an epoch gets faster, not slower (batch {big}: "
            f"{fmt(sec[big])} s vs batch {small}: {fmt(sec[small])} s); the cost of a large batch at a fixed epoch "
            "budget is fewer updates and lower accuracy")
    else:
        verdict, condition = Verdict.REFUTED, None
    reading = (
        f"{data.describe()}, MLP 784-256-10, plain SGD, {epochs} epochs. Peak memory of a training step: "
        + "; ".join(f"batch {b} {fmt(mem[b])} MiB" for b in batches)
        + ". Seconds per epoch: " + "; ".join(f"{b}: {fmt(sec[b])}" for b in batches)
        + f". Validation accuracy with the same lr {BASE_LR}: "
        + "; ".join(f"{b}: {fmt(acc['same_lr', b])}" for b in batches)
        + f"; with lr scaled as {BASE_LR}·batch/{BASE_BATCH}: "
        + "; ".join(f"{b}: {fmt(acc['scaled_lr', b])}" for b in batches)
        + f" (best: batch {best_scaled}). Updates in the budget: "
        + ", ".join(f"{b}: {updates[b]}" for b in batches) + ".")
    notes_wrong = None
    if not slower_epochs:
        notes_wrong = ("Note 004 warns that a large batch size brings memory limits and slower speed. Memory, yes; "
                       f"but an epoch at batch {big} takes {fmt(sec[big])} s against {fmt(sec[small])} s at batch "
                       f"{small} — large batches are faster per epoch (fewer Python-level steps, larger matrix "
                       "products). What a large batch loses at a fixed number of epochs is updates, hence accuracy"
                       + (" — even with the learning rate scaled linearly" if not
                          all(a2 >= a1 for a1, a2 in zip(acc["scaled_lr", small], acc["scaled_lr", big])) else "")
                       + ".")
    measurements = []
    for b in batches:
        measurements += [Measurement(f"batch_{b}", "peak_step_memory", mem[b], "MiB", "lower"),
                         Measurement(f"batch_{b}", "seconds_per_epoch", sec[b], "s", "lower"),
                         Measurement(f"batch_{b}", "val_accuracy_same_lr", acc["same_lr", b], "", "higher"),
                         Measurement(f"batch_{b}", "val_accuracy_scaled_lr", acc["scaled_lr", b], "", "higher")]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "base_lr": BASE_LR,
                            "base_batch": BASE_BATCH, "updates": updates, "worse_with_same_lr": worse_same})


def _figure(ctx, batches, mem, sec, acc, data: Data, epochs: int) -> None:
    import matplotlib.pyplot as plt

    def band(ax, values, **kw):
        m = [numpy.mean(values[b]) for b in batches]
        s = [numpy.std(values[b], ddof=1) if len(values[b]) > 1 else 0 for b in batches]
        ax.errorbar(batches, m, yerr=s, marker="o", capsize=3, **kw)

    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    band(axes[0], mem)
    axes[0].set(xscale="log", yscale="log", xlabel="batch size", ylabel="MiB", title="peak memory of one step")
    band(axes[1], sec)
    axes[1].set(xscale="log", yscale="log", xlabel="batch size", ylabel="s", title="wall time per epoch")
    band(axes[2], {b: acc["same_lr", b] for b in batches}, label=f"same lr ({BASE_LR})")
    band(axes[2], {b: acc["scaled_lr", b] for b in batches}, label=f"lr = {BASE_LR}·batch/{BASE_BATCH}")
    axes[2].set(xscale="log", xlabel="batch size", ylabel="validation accuracy",
                title=f"{data.name}, {epochs} epochs")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "batch_size")


LAB = Lab(
    name="batch_size",
    title="Batch size: memory, time per epoch, accuracy",
    claim=("A large batch size can hit memory limits and slow training down, so an appropriate batch size must be "
           "chosen."),
    note="004_7e784a9328faeb63.txt",
    setup=("MNIST 8,000/2,000 (digits if absent), MLP 784-256-10 ReLU, plain SGD, 6 epochs. Only the batch size "
           "changes (8 to 4,096), with the learning rate fixed at 0.05 or scaled linearly (0.05·batch/32). "
           "Memory: tracemalloc's peak during one training step; time: median wall time of an epoch."),
    seeds=3,
    run=run,
)
