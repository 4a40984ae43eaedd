"""Lab 9 — full-batch gradient descent vs mini-batch SGD.

(1) Speed: an MLP on MNIST trained with the gradient of the whole training set per step (GD) or of
64 samples per step (SGD), each at its best learning rate of the same grid, for the same wall-clock
time; the training-set loss reached is compared. (2) Which minimum: on a non-convex problem with
several distinct minima (a 2-2-2 tanh net on the XOR quadrants, whose final training losses cluster
at a few levels), many random starts are trained for the same number of steps at the same learning
rate with full batches or batches of 8, then both finish with the same full-batch steps so each sits
at the bottom of the basin it found. Does the mini-batch noise end in better minima more often?
"""

from __future__ import annotations

import math

import numpy

import nabla

from ._common import Data, evaluate, fmt, make_mlp, mnist_8k2k, seed_all, smooth, toy, train
from .base import Lab, LabResult, Measurement, Verdict

LRS = [0.1, 0.3, 1.0, 3.0]
MINIBATCH = 64


def speed_race(data: Data, seed: int, epochs: int, budget: str = "wall_time") -> dict:
    """SGD (batch 64) for ``epochs`` epochs, then GD for the same budget; each at its best learning
    rate (lowest final training loss). Returns per method: lr, curve, final train loss, val accuracy.

    ``budget="wall_time"`` (the full run, the claim as stated) gives GD as many full-batch steps as fit in
    SGD's measured time; ``budget="epochs"`` (the quick run) gives it the same number of epochs, i.e. the
    same number of per-sample gradients and about the same arithmetic, which no machine load can change."""
    if budget not in ("wall_time", "epochs"):
        raise ValueError(f"speed_race: budget must be 'wall_time' or 'epochs', got {budget!r}")
    out = {}
    n = len(data.y_train)
    sgd_steps = epochs * (n // MINIBATCH)
    for method, batch in (("sgd", MINIBATCH), ("gd", n)):
        best = None
        steps = sgd_steps
        if method == "gd" and budget == "epochs":  # the same number of sample-gradients as SGD
            steps = max(1, round(sgd_steps * MINIBATCH / n))
        elif method == "gd":  # as many full-batch steps as fit in SGD's time, from the time of a few probe steps
            probe_model = make_mlp([data.features, 128, data.classes])
            probe = train(probe_model, nabla.optim.SGD(probe_model.parameters(), lr=0.1), data, 6, batch, seed=seed)
            step_time = float(numpy.median(numpy.diff(probe.seconds)))  # the first step's warm-up left out
            steps = max(1, round(out["sgd"]["seconds"] / step_time))
        for lr in LRS:
            seed_all(seed)
            model = make_mlp([data.features, 128, data.classes])
            opt = nabla.optim.SGD(model.parameters(), lr=lr)
            curve = train(model, opt, data, steps, batch, seed=seed)
            _, loss = evaluate(model, data.x_train, data.y_train)
            loss = loss if not curve.diverged and math.isfinite(loss) else math.inf
            if best is None or loss < best["train_loss"]:
                best = {"lr": lr, "curve": curve, "train_loss": loss, "steps": steps,
                        "val_acc": evaluate(model, data.x_test, data.y_test)[0],
                        "seconds": curve.seconds[-1] if curve.seconds else 0.0}
        out[method] = best
    return out


def basins(seed: int, starts: int, steps: int, polish: int, lr: float) -> dict[str, list[float]]:
    """Final full-batch training loss of ``starts`` random 2-2-2 nets on the XOR quadrants, per method."""
    data = toy("xor", n=400, noise=0.1, seed=seed)
    final = {"gd": [], "sgd": []}
    for s in range(starts):
        for method, batch in (("gd", len(data.y_train)), ("sgd", 8)):
            seed_all(seed * 1000 + s)  # the same starting weights for both methods
            model = make_mlp([2, 2, 2], "tanh")
            opt = nabla.optim.SGD(model.parameters(), lr=lr)
            train(model, opt, data, steps, batch, seed=s)
            train(model, opt, data, polish, len(data.y_train), seed=s)  # settle to the basin's bottom
            final[method].append(evaluate(model, data.x_train, data.y_train)[1])
    return final


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=2000 if ctx.quick else 8000)
    epochs = 2 if ctx.quick else 8
    # the quick run (CI) compares at equal epochs: deterministic under any machine load; the full run at equal time
    budget = "epochs" if ctx.quick else "wall_time"
    starts, steps, polish, lr_b = (6, 500, 100, 1.0) if ctx.quick else (20, 1500, 300, 1.0)
    race = {k: {"train_loss": [], "val_acc": [], "lr": [], "steps": [], "seconds": []} for k in ("gd", "sgd")}
    best_frac = {"gd": [], "sgd": []}
    median = {"gd": [], "sgd": []}
    curves, all_final = {}, {"gd": [], "sgd": []}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        r = speed_race(data, seed, epochs, budget)
        for k in race:
            for m in race[k]:
                race[k][m].append(r[k][m])
            curves.setdefault(k, r[k]["curve"])
        final = basins(seed, starts, steps, polish, lr_b)
        lowest = min(min(final["gd"]), min(final["sgd"]))
        for k in final:
            best_frac[k].append(float(numpy.mean([v < lowest + 0.03 for v in final[k]])))  # basins lie >= 0.04 apart
            median[k].append(float(numpy.median(final[k])))
            all_final[k] += [v - lowest for v in final[k]]  # seeds differ in data: compare to their own best

    _figures(ctx, curves, all_final, data)
    sgd_faster = all(s < g for s, g in zip(race["sgd"]["train_loss"], race["gd"]["train_loss"]))
    sgd_better_minima = all(s > g for s, g in zip(best_frac["sgd"], best_frac["gd"]))
    sgd_worse_minima = all(s < g for s, g in zip(best_frac["sgd"], best_frac["gd"]))
    if sgd_faster and sgd_better_minima:
        verdict, condition = Verdict.SUPPORTED, None
    elif not sgd_faster and sgd_worse_minima:
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            ("mini-batch SGD wins the wall-clock race" if sgd_faster else "full-batch GD wins the wall-clock race")
            + ", but " + ("its noise does not end in the best minimum more often in every seed"
                          if not sgd_better_minima else "GD's per-time progress is not worse in every seed"))
    reading = (
        f"Same {'wall time' if budget == 'wall_time' else 'number of epochs (sample-gradients)'} on {data.describe()} "
        f"({epochs} SGD epochs, {fmt(race['sgd']['seconds'])} s): mini-batch SGD "
        f"(batch {MINIBATCH}) reaches training loss {fmt(race['sgd']['train_loss'])} and validation accuracy "
        f"{fmt(race['sgd']['val_acc'])}; full-batch GD, {fmt(race['gd']['steps'])} steps in that budget, reaches "
        f"{fmt(race['gd']['train_loss'])} and {fmt(race['gd']['val_acc'])} (each at its best learning rate of {LRS}). "
        f"On the XOR quadrants with a 2-2-2 net ({starts} starts per seed, {steps} steps at lr {lr_b} then {polish} "
        f"full-batch steps), the final losses cluster in a few basins; the fraction of starts ending in the lowest "
        f"one is {fmt(best_frac['sgd'], 2)} with batches of 8 vs {fmt(best_frac['gd'], 2)} with full batches "
        f"(median final loss {fmt(median['sgd'])} vs {fmt(median['gd'])}).")
    notes_wrong = None
    if not sgd_better_minima:
        notes_wrong = ("Note 001 says SGD's sampling makes it 'slightly more likely than GD to converge to the global "
                       "minimum'. From the same starts and the same number of steps, mini-batch noise did not end in "
                       "the lowest basin more often in every seed (fractions "
                       f"{[round(v, 2) for v in best_frac['sgd']]} vs GD {[round(v, 2) for v in best_frac['gd']]}).")
    measurements = [
        Measurement(f"sgd_batch{MINIBATCH}", f"train_loss_at_equal_{budget}", race["sgd"]["train_loss"], "nats",
                    "lower"),
        Measurement("gd_full_batch", f"train_loss_at_equal_{budget}", race["gd"]["train_loss"], "nats", "lower"),
        Measurement(f"sgd_batch{MINIBATCH}", f"val_acc_at_equal_{budget}", race["sgd"]["val_acc"], "", "higher"),
        Measurement("gd_full_batch", f"val_acc_at_equal_{budget}", race["gd"]["val_acc"], "", "higher"),
        Measurement(f"sgd_batch{MINIBATCH}", "wall_time", race["sgd"]["seconds"], "s", None),
        Measurement("gd_full_batch", "wall_time", race["gd"]["seconds"], "s", None),
        Measurement("gd_full_batch", "steps_in_that_budget" if ctx.quick else "steps_in_that_time", race["gd"]["steps"],
                    "", None),
        Measurement(f"sgd_batch{MINIBATCH}", "best_lr", race["sgd"]["lr"], "", None),
        Measurement("gd_full_batch", "best_lr", race["gd"]["lr"], "", None),
        Measurement("xor_sgd_batch8", "fraction_in_lowest_basin", best_frac["sgd"], "", "higher"),
        Measurement("xor_gd_full_batch", "fraction_in_lowest_basin", best_frac["gd"], "", "higher"),
        Measurement("xor_sgd_batch8", "median_final_train_loss", median["sgd"], "nats", "lower"),
        Measurement("xor_gd_full_batch", "median_final_train_loss", median["gd"], "nats", "lower"),
    ]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "lr_grid": LRS, "epochs": epochs,
                            "budget": budget, "xor_starts_per_seed": starts, "xor_steps": steps,
                            "xor_polish_steps": polish,
                            "xor_final_loss_above_seed_lowest": all_final})


def _figures(ctx, curves: dict, all_final: dict, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    for k, label in (("sgd", f"SGD, batch {MINIBATCH}"), ("gd", "GD, full batch")):
        c = curves[k]
        ax.plot(c.seconds, smooth(c.loss, 20 if k == "sgd" else 1), label=label)
    ax.set(xlabel="wall time (s)", ylabel="training loss (per step)", yscale="log",
           title=f"{data.name}: same wall time, best lr each (seed {ctx.seeds[0]})")
    ax.legend(fontsize=8)
    ax = axes[1]
    bins = numpy.linspace(-0.005, max(max(v) for v in all_final.values()) + 0.01, 40)
    ax.hist(all_final["gd"], bins=bins, alpha=0.6, label="GD, full batch")
    ax.hist(all_final["sgd"], bins=bins, alpha=0.6, label="SGD, batch 8")
    ax.set(xlabel="final training loss − lowest of its seed (after the same full-batch finish)", ylabel="starts",
           title="XOR 2-2-2: which basin do random starts end in?")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "gd_vs_sgd")


LAB = Lab(
    name="gd_vs_sgd",
    title="Full-batch GD vs mini-batch SGD: speed and the minima they find",
    claim=("SGD computes each step on a sample of the data, so it is much faster than GD, and because it trains on "
           "varied samples it is slightly more likely than GD to converge to the global minimum."),
    note="001_3b4055372c65041b.txt",
    setup=("(1) MNIST 8,000/2,000 (digits if absent), MLP 784-128-10 ReLU, plain SGD: batch 64 for a fixed number "
           "of epochs vs full batch (8,000) for the same wall time; each at its best learning rate of "
           "{0.1, 0.3, 1, 3}. (2) XOR quadrants (320 points), 2-2-2 tanh net, many random starts; the same starts, "
           "the same learning rate (1.0) and the same number of steps with full batches vs batches of 8, then the "
           "same full-batch finish for both; only the batch (the gradient noise) changes."),
    seeds=3,
    run=run,
)
