"""Lab 14 — learning-rate schedules at the same budget.

The same MLP, optimizer (SGD, momentum 0.9), peak learning rate, batches and number of steps; only the
schedule from ``nabla.optim.lr_scheduler`` changes, stepped after every batch (the canonical order:
``opt.step()`` then ``scheduler.step()``): constant, step decay (x0.1 at 1/2 and again at 3/4 of the
steps), exponential decay to 1% of the peak, cosine annealing to 0, and one-cycle (warm-up over the first
30%, then cosine down; momentum held fixed so that only the learning rate changes).
"""

from __future__ import annotations

import math

import numpy

import nabla
from nabla.nn import functional as F
from nabla.optim import lr_scheduler

from ._common import Data, batch_indices, evaluate, fmt, make_mlp, mnist_8k2k, seed_all
from .base import Lab, LabResult, Measurement, Verdict

SCHEDULES = ("constant", "step", "exponential", "cosine", "one_cycle")
PEAK_LR, MOMENTUM, BATCH = 0.1, 0.9, 64


def make_schedule(name: str, opt, total: int):
    """The scheduler ``name`` for a run of ``total`` optimizer steps."""
    if name == "constant":
        return lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    if name == "step":
        return lr_scheduler.MultiStepLR(opt, milestones=[total // 2, 3 * total // 4], gamma=0.1)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1.0 / total))
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if name == "one_cycle":
        return lr_scheduler.OneCycleLR(opt, max_lr=PEAK_LR, total_steps=total, cycle_momentum=False)
    raise ValueError(f"unknown schedule {name!r}; valid: {', '.join(SCHEDULES)}")


def train_with(data: Data, name: str, seed: int, epochs: int) -> dict:
    """Train with schedule ``name``; the learning rate of every step and the validation accuracy per epoch."""
    rng = seed_all(seed)
    model = make_mlp([data.features, 256, data.classes])
    opt = nabla.optim.SGD(model.parameters(), lr=PEAK_LR, momentum=MOMENTUM)
    per_epoch = len(data.y_train) // BATCH
    total = epochs * per_epoch
    sched = make_schedule(name, opt, total)
    batches = batch_indices(len(data.y_train), BATCH, rng)
    lrs, val_acc, diverged = [], [], False
    for step in range(total):
        idx = next(batches)
        loss = F.cross_entropy(model(nabla.tensor(data.x_train[idx])), nabla.tensor(data.y_train[idx]))
        opt.zero_grad()
        loss.backward()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        if not math.isfinite(float(loss.item())):
            diverged = True
            break
        if (step + 1) % per_epoch == 0:
            val_acc.append(evaluate(model, data.x_test, data.y_test)[0])
    train_acc, train_loss = evaluate(model, data.x_train, data.y_train)
    val, val_loss = evaluate(model, data.x_test, data.y_test)
    return {"lrs": lrs, "val_curve": val_acc, "train_loss": train_loss if not diverged else math.inf,
            "val_acc": val, "val_loss": val_loss, "gap": train_acc - val}


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=2000 if ctx.quick else 8000, n_test=1000 if ctx.quick else 2000)
    epochs = 4 if ctx.quick else 12
    res = {s: {"val_acc": [], "train_loss": [], "val_loss": [], "gap": []} for s in SCHEDULES}
    examples = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for s in SCHEDULES:
            r = train_with(data, s, seed, epochs)
            for k in res[s]:
                res[s][k].append(r[k])
            if seed == ctx.seeds[0]:
                examples[s] = r

    _figure(ctx, examples, data)
    decays = SCHEDULES[1:]
    beats = {s: all(a > c for a, c in zip(res[s]["val_acc"], res["constant"]["val_acc"])) for s in decays}
    lower_val_loss = {s: all(a < c for a, c in zip(res[s]["val_loss"], res["constant"]["val_loss"])) for s in decays}
    fits = {s: all(a < c for a, c in zip(res[s]["train_loss"], res["constant"]["train_loss"])) for s in decays}
    narrower = {s: all(a < c for a, c in zip(res[s]["gap"], res["constant"]["gap"])) for s in decays}
    means = [numpy.mean(res[s]["val_acc"]) for s in SCHEDULES]
    spread = max(means) - min(means)
    if all(beats.values()):
        verdict, condition = Verdict.SUPPORTED, None
    elif not any(beats.values()) and not any(lower_val_loss.values()):
        verdict, condition = Verdict.REFUTED, None
    else:
        acc_part = (f"{', '.join(s for s in decays if beats[s])} beat the constant rate in validation accuracy in "
                    "every seed" if any(beats.values()) else
                    "no decaying schedule beats the constant rate in validation accuracy in every seed")
        loss_part = (f"{', '.join(s for s in decays if lower_val_loss[s])} end with a lower validation loss than the "
                     "constant rate in every seed" if any(lower_val_loss.values()) else
                     "none ends with a lower validation loss in every seed")
        verdict, condition = Verdict.DEPENDS, (
            f"{loss_part}, but {acc_part} (the five schedules' mean accuracies lie within {spread * 100:.1f} points)")
    best = max(SCHEDULES, key=lambda s: numpy.mean(res[s]["val_acc"]))
    reading = (f"{data.describe()}, {epochs} epochs, peak lr {PEAK_LR}. Validation accuracy: "
               + "; ".join(f"{s} {fmt(res[s]['val_acc'], 3)}" for s in SCHEDULES)
               + ". Final training loss: " + "; ".join(f"{s} {fmt(res[s]['train_loss'])}" for s in SCHEDULES)
               + f". Best mean accuracy: {best}. Lower training loss than the constant rate in every seed: "
               + ", ".join(f"{s} {'yes' if fits[s] else 'no'}" for s in decays)
               + "; lower validation loss in every seed: "
               + ", ".join(f"{s} {'yes' if lower_val_loss[s] else 'no'}" for s in decays) + ".")
    notes_wrong = None
    if not any(narrower.values()) and any(fits.values()):
        notes_wrong = ("Note 004 lists learning-rate decay among the regularisers that prevent overfitting. It does "
                       "not narrow the train-validation gap here (no decaying schedule has a smaller gap than the "
                       "constant rate in every seed): it is an optimisation aid — it lets SGD settle lower on the "
                       "training loss — whose better validation numbers come with a fit that is as tight or tighter.")
    measurements = []
    for s in SCHEDULES:
        measurements += [Measurement(s, "val_accuracy", res[s]["val_acc"], "", "higher"),
                         Measurement(s, "val_loss", res[s]["val_loss"], "nats", "lower"),
                         Measurement(s, "train_loss", res[s]["train_loss"], "nats", "lower"),
                         Measurement(s, "train_minus_val_accuracy", res[s]["gap"], "", "lower")]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "peak_lr": PEAK_LR,
                            "momentum": MOMENTUM, "batch_size": BATCH, "beats_constant": beats,
                            "lower_val_loss_than_constant": lower_val_loss,
                            "lower_train_loss_than_constant": fits, "narrower_gap_than_constant": narrower})


def _figure(ctx, examples: dict, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for i, s in enumerate(SCHEDULES):
        axes[0].plot(examples[s]["lrs"], color=f"C{i}", label=s)
        axes[1].plot(range(1, len(examples[s]["val_curve"]) + 1), examples[s]["val_curve"], color=f"C{i}",
                     marker="o", ms=3, label=s)
    axes[0].set(xlabel="step", ylabel="learning rate", title="the schedules (same peak, same steps)")
    axes[0].legend(fontsize=8)
    axes[1].set(xlabel="epoch", ylabel="validation accuracy", title=f"{data.name} (seed {ctx.seeds[0]})")
    lo = min(min(e["val_curve"][1:] or e["val_curve"]) for e in examples.values())
    axes[1].set_ylim(lo - 0.005, None)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "lr_schedules")


LAB = Lab(
    name="lr_schedules",
    title="Learning-rate schedules at the same budget",
    claim=("Decreasing the learning rate as training proceeds (learning-rate decay) gives a better model; the notes "
           "list it among the methods that prevent overfitting."),
    note="004_7e784a9328faeb63.txt",
    setup=("MNIST 8,000/2,000 (digits if absent), MLP 784-256-10 ReLU, SGD momentum 0.9, batch 64, 12 epochs, "
           "peak learning rate 0.1. Only the schedule changes (stepped per batch): constant; step (x0.1 at 50% and "
           "75%); exponential to 1%; cosine to 0; one-cycle (30% warm-up, cosine down, momentum fixed)."),
    seeds=3,
    run=run,
)
