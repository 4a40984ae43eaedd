"""Lab: dying ReLU. A ReLU unit whose input is negative for every example gets no gradient and never
comes back; large learning rates push units there. Leaky ReLU and ELU keep a gradient on the negative
side, so their units can recover.

An MLP 64 → 3×128 → 10 on the 8x8 digits, trained with plain SGD at several learning rates, with ReLU,
leaky ReLU (slope 0.01) and ELU; initialisation, batches and steps fixed. A unit is *dead* when its
pre-activation is <= 0 on every one of 512 fixed training images (for ReLU: zero output and zero
gradient on all of them). We track the dead fraction during training and the final test accuracy.
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn

from . import _common as C
from .base import Lab, LabResult, Measurement, Verdict

ACTS = ("relu", "leaky_relu", "elu")
HIDDEN = (128, 128, 128)


def dead_fraction(model: nn.Module, x: numpy.ndarray) -> float:
    """Fraction of hidden units whose pre-activation (the Linear's output) is <= 0 for every row of ``x``."""
    dead, total = 0, 0
    h = nabla.tensor(x)
    with nabla.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Linear) and layer is not model[len(model) - 1]:
                z = h.numpy()
                dead += int((z <= 0).all(axis=0).sum())
                total += z.shape[1]
    return dead / total


def run(ctx) -> LabResult:
    steps = 150 if ctx.quick else 1000
    every = 5  # dead fraction measured every 5 steps: a diverging run keeps its last finite value
    lrs = (0.1, 1.0, 2.0) if ctx.quick else (0.01, 0.1, 0.5, 1.0, 2.0)
    data = C.digits(0, standardize=True)  # standardised pixels: inputs of both signs
    probe = data.x_train[:512]
    sizes = [data.features, *HIDDEN, data.classes]
    names = [f"{a}/lr={lr:g}" for lr in lrs for a in ACTS]
    dead = {n: [] for n in names}
    acc = {n: [] for n in names}
    diverged = {n: [] for n in names}
    traces = {n: [] for n in names}
    for seed in ctx.progress(ctx.seeds, desc="dying_relu"):
        for lr in lrs:
            for act in ACTS:
                name = f"{act}/lr={lr:g}"
                C.seed_all(seed)
                model = C.make_mlp(sizes, act)
                trace = [(0, dead_fraction(model, probe))]

                def record(step, m, trace=trace):
                    if (step + 1) % every == 0:
                        trace.append((step + 1, dead_fraction(m, probe)))

                opt = nabla.optim.SGD(model.parameters(), lr=lr)
                curve = C.train(model, opt, data, steps, batch_size=32, seed=seed, on_step=record)
                # a diverged run's weights are inf/NaN: its dead fraction is the last one measured before that
                dead[name].append(trace[-1][1] if curve.diverged else dead_fraction(model, probe))
                diverged[name].append(float(curve.diverged))
                acc[name].append(C.evaluate(model, data.x_test, data.y_test)[0] if not curve.diverged else 0.0)
                traces[name].append(trace)

    plot(ctx, traces, lrs)
    ms = [Measurement(n, "dead_fraction_end", dead[n], better="lower") for n in names]
    ms += [Measurement(n, "test_accuracy", acc[n], better="higher") for n in names]
    ms += [Measurement(n, "diverged", diverged[n], better="lower") for n in names]
    mean = {n: float(numpy.mean(v)) for n, v in dead.items()}
    worst = max(lrs, key=lambda lr: mean[f"relu/lr={lr:g}"])  # the learning rate where ReLU loses most units
    relu_dies = all(v > 0.1 for v in dead[f"relu/lr={worst:g}"])
    low_alive = all(v < 0.05 for v in dead[f"relu/lr={lrs[0]:g}"])
    at = {a: f"{a}/lr={worst:g}" for a in ACTS}
    fewer_dead = all(r > max(k, e) + 0.05 for r, k, e in zip(dead[at["relu"]], dead[at["leaky_relu"]], dead[at["elu"]]))
    train_better = all(min(k, e) > r + 0.2 for r, k, e in zip(acc[at["relu"]], acc[at["leaky_relu"]], acc[at["elu"]]))
    f = C.fmt
    if not relu_dies:
        verdict, condition = Verdict.REFUTED, None
    elif fewer_dead and train_better:
        verdict = Verdict.DEPENDS if low_alive else Verdict.SUPPORTED
        condition = f"ReLU units die at high learning rates (lr {worst:g}) only" if low_alive else None
    else:
        verdict = Verdict.DEPENDS
        div = {a: int(sum(diverged[at[a]])) for a in ("leaky_relu", "elu")}
        condition = (f"ReLU units do die at lr {worst:g} ({f(dead[at['relu']], 2)} of them), but there leaky ReLU and "
                     f"ELU {'keep fewer dead units yet ' if fewer_dead else ''}do not train either (they diverged in "
                     f"{div['leaky_relu']} and {div['elu']} of {len(ctx.seeds)} seeds; test accuracy "
                     f"{f(acc[at['leaky_relu']], 2)} and {f(acc[at['elu']], 2)}): the learning rate is the problem")
    parts = "; ".join(f"lr {lr:g}: ReLU {f(dead[f'relu/lr={lr:g}'], 2)}, leaky {f(dead[f'leaky_relu/lr={lr:g}'], 2)}, "
                      f"ELU {f(dead[f'elu/lr={lr:g}'], 2)}" for lr in lrs)
    accs = "; ".join(f"lr {lr:g}: ReLU {f(acc[f'relu/lr={lr:g}'], 2)}, leaky {f(acc[f'leaky_relu/lr={lr:g}'], 2)}, "
                     f"ELU {f(acc[f'elu/lr={lr:g}'], 2)}" for lr in lrs)
    divs = ", ".join(f"{n} {int(sum(v))}/{len(v)}" for n, v in diverged.items() if sum(v))
    reading = (f"Dead fraction of the {sum(HIDDEN)} hidden units after {steps} SGD steps (for a run that diverged, "
               f"the last one measured before it did, every {every} steps) — {parts}. Test accuracy "
               f"(0 where the run diverged) — {accs}. Runs that diverged (loss NaN/inf): {divs or 'none'}. "
               f"Leaky ReLU and ELU units with "
               f"all-negative inputs still get a gradient (slope 0.01 / e^z), so they cannot die in ReLU's sense; "
               f"whether that buys accuracy is what the last two numbers say.")
    wrong = None
    if low_alive:
        wrong = (f"The notes (000, 004) present dying as a property of ReLU itself ('negative inputs have gradient 0, "
                 f"so the unit dies'). At lr {lrs[0]:g} only {f(dead[f'relu/lr={lrs[0]:g}'], 2)} of the units are "
                 f"dead; at lr {worst:g}, {f(dead[at['relu']], 2)}. Dying is ReLU plus an oversized step.")
    return LabResult(
        measurements=ms, verdict=verdict, condition=condition, reading=reading, notes_wrong=wrong,
        extra={"steps": steps, "hidden": HIDDEN, "optimizer": "SGD, batch 32", "data": data.describe(),
               "probe": len(probe), "worst_lr_for_relu": worst,
               "checks": {"relu_dies_at_some_lr": relu_dies, "low_lr_keeps_units": low_alive,
                          "leaky_and_elu_fewer_dead": fewer_dead, "leaky_and_elu_train_better": train_better}},
    )


def plot(ctx, traces: dict, lrs) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(lrs), figsize=(4.3 * len(lrs), 3.8), sharey=True)
    for ax, lr in zip(axes, lrs):
        for act in ACTS:
            runs = traces[f"{act}/lr={lr:g}"]
            longest = max(runs, key=len)
            steps = [s for s, _ in longest]
            vals = numpy.asarray([[v for _, v in t] + [numpy.nan] * (len(longest) - len(t)) for t in runs])
            ax.plot(steps, numpy.nanmean(vals, 0), label=act)
            ax.fill_between(steps, numpy.nanmin(vals, 0), numpy.nanmax(vals, 0), alpha=0.2)
        ax.set_title(f"SGD lr = {lr:g}")
        ax.set_xlabel("step")
    axes[0].set_ylabel("fraction of dead hidden units")
    axes[0].legend()
    fig.suptitle("Dead units (pre-activation <= 0 on all 512 probe images) during training; mean, min–max over "
                 "seeds (a diverged run's curve stops)")
    fig.tight_layout()
    ctx.savefig(fig, "dead_units")


LAB = Lab(
    name="dying_relu",
    title="Dying ReLU: dead units at high learning rates; leaky ReLU and ELU",
    claim="ReLU's gradient is 0 for negative inputs, so units can die (stop learning for good); leaky ReLU (a "
          "small slope such as 0.01 for negatives) and ELU (exponential for negatives) fix this.",
    note="004_7e784a9328faeb63.txt,000_a64c7b5953f5f1e7.txt",
    setup="8x8 digits, pixels standardised. MLP 64 → 128 → 128 → 128 → 10, PyTorch's default init; plain SGD, "
          "batch 32, same steps. Changed one at a time: the activation (ReLU, leaky ReLU 0.01, ELU) and the "
          "learning rate. Dead unit: pre-activation <= 0 on all 512 fixed training images.",
    seeds=3,
    run=run,
)
