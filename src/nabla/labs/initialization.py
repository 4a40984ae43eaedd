"""Lab: weight initialisation. Zero, small normal (std 0.01), Xavier/Glorot and He/Kaiming initialisation
of the same 10-layer MLP with tanh and with ReLU: per-layer activation and gradient statistics at
initialisation, and which ones train.

Xavier keeps the variance of a linear layer's output equal to its input's when the activation is
linear around 0 (tanh): Var(w) = 2/(fan_in + fan_out). ReLU zeroes half its inputs, which halves the
variance each layer; He doubles the weights' variance to compensate: Var(w) = 2/fan_in.
"""

from __future__ import annotations

import math

import numpy

import nabla
from nabla import nn

from . import _common as C
from .base import Lab, LabResult, Measurement, Verdict

INITS = ("zero", "small", "xavier", "he")
ACTS = ("tanh", "relu")
DEPTH = 10


def layer_stats(model: nn.Sequential, x: numpy.ndarray, y: numpy.ndarray) -> tuple[list[float], list[float]]:
    """(std of each hidden layer's activation output, norm of each Linear's weight gradient) on one batch."""
    stds = []
    h = nabla.tensor(x)
    with nabla.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, (nn.Tanh, nn.ReLU)):
                stds.append(float(h.numpy().std()))
    model.zero_grad()
    nabla.nn.functional.cross_entropy(model(nabla.tensor(x)), nabla.tensor(y)).backward()
    grads = C.weight_grad_norms(model)
    model.zero_grad()
    return stds, grads


def _log_ratio(a: float, b: float) -> float:
    """log10(a / b), with 0/0 and a == 0 read as 'no signal' (-inf is not JSON: -30 stands for it)."""
    if a <= 0 or b <= 0:
        return -30.0
    return math.log10(a / b)


def run(ctx) -> LabResult:
    data = C.digits(0) if ctx.quick else C.mnist_8k2k(ctx.data_dir)
    width = 64 if ctx.quick else 128
    steps = 150 if ctx.quick else 1000
    every = 50 if ctx.quick else 100
    sizes = [data.features] + [width] * DEPTH + [data.classes]
    names = [f"{a}/{i}" for a in ACTS for i in INITS]
    act_ratio = {n: [] for n in names}
    grad_first = {n: [] for n in names}  # log10 of the first layer's weight-gradient norm
    acc = {n: [] for n in names}
    stats = {n: [] for n in names}
    curves = {n: [] for n in names}
    xb, yb = data.x_train[:512], data.y_train[:512]
    for seed in ctx.progress(ctx.seeds, desc="initialization"):
        for act in ACTS:
            for init in INITS:
                name = f"{act}/{init}"
                C.seed_all(seed)
                model = C.make_mlp(sizes, act, init=init)
                stds, grads = layer_stats(model, xb, yb)
                stats[name].append((stds, grads))
                act_ratio[name].append(_log_ratio(stds[-1], stds[0]))
                grad_first[name].append(_log_ratio(grads[0], 1.0))
                opt = nabla.optim.SGD(model.parameters(), lr=0.05)
                curve = C.train(model, opt, data, steps, batch_size=64, seed=seed, eval_every=every)
                acc[name].append(0.0 if curve.diverged else curve.test_acc[-1])
                curves[name].append((curve.eval_step, curve.test_acc))

    plot(ctx, stats, curves)
    ms = [Measurement(n, "log10_activation_std_last_over_first", act_ratio[n], better=None) for n in names]
    ms += [Measurement(n, "log10_first_layer_grad_norm", grad_first[n], better=None) for n in names]
    ms += [Measurement(n, "test_accuracy", acc[n], better="higher") for n in names]
    chance = 1.5 / data.classes
    checks = {
        "zero_does_not_train": all(v < chance for a in ACTS for v in acc[f"{a}/zero"]),
        "small_does_not_train": all(v < chance for a in ACTS for v in acc[f"{a}/small"]),
        "small_vanishes": all(v < -2 for a in ACTS for v in act_ratio[f"{a}/small"]),
        "xavier_tanh_trains": all(v > 0.8 for v in acc["tanh/xavier"]),
        "he_relu_trains": all(v > 0.8 for v in acc["relu/he"]),
        "matched_keep_scale": all(abs(v) < 1 for n in ("tanh/xavier", "relu/he") for v in act_ratio[n]),
    }
    failed = [k for k, v in checks.items() if not v]
    if not failed:
        verdict, condition = Verdict.SUPPORTED, None
    elif checks["xavier_tanh_trains"] or checks["he_relu_trains"]:
        verdict, condition = Verdict.DEPENDS, f"these parts did not hold in every seed: {', '.join(failed)}"
    else:
        verdict, condition = Verdict.REFUTED, None
    f = C.fmt
    rows = "; ".join(f"{n}: activation std ratio 10^{f(act_ratio[n], 2)}, accuracy {f(acc[n], 2)}" for n in names)
    reading = (f"{DEPTH} hidden layers of {width} on {data.name}, {steps} SGD steps (lr 0.05). Last/first hidden "
               f"layer activation std at init, and final test accuracy — {rows}. Zero weights give every unit of a "
               f"layer the same output and the same gradient, so they never differ (and with tanh/ReLU the "
               f"hidden gradients are exactly 0); std-0.01 weights shrink the signal ~100x per layer in both "
               f"directions. A value of -30 stands for 'no signal at all' (a zero std or gradient).")
    wrong = ("000 blames vanishing gradients on weights that are 'too small': true for the std-0.01 init (the signal "
             f"shrinks by 10^{f(act_ratio['tanh/small'], 2)} over {DEPTH} tanh layers and the first layer's gradient "
             f"norm is 10^{f(grad_first['tanh/small'], 2)}, against 10^{f(grad_first['tanh/xavier'], 2)} with Xavier). "
             "What matters is the scale relative to fan-in, per activation: Xavier under ReLU shrinks the signal by "
             f"10^{f(act_ratio['relu/xavier'], 2)} and reaches {f(acc['relu/xavier'], 2)} accuracy, He under ReLU "
             f"{f(acc['relu/he'], 2)}; under tanh both scales work (Xavier {f(acc['tanh/xavier'], 2)}, He "
             f"{f(acc['tanh/he'], 2)}).")
    return LabResult(
        measurements=ms, verdict=verdict, condition=condition, reading=reading, notes_wrong=wrong,
        extra={"depth": DEPTH, "width": width, "steps": steps, "optimizer": "SGD lr=0.05, batch 64",
               "data": data.describe(), "data_note": data.note, "checks": checks},
    )


def plot(ctx, stats: dict, curves: dict) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 2, figsize=(12, 12))
    for col, act in enumerate(ACTS):
        for init in INITS:
            name = f"{act}/{init}"
            stds = numpy.asarray([s for s, _ in stats[name]])
            grads = numpy.asarray([g for _, g in stats[name]])
            axes[0, col].semilogy(range(1, stds.shape[1] + 1), numpy.maximum(stds.mean(0), 1e-30), marker="o", ms=3,
                                  label=init)
            axes[1, col].semilogy(range(1, grads.shape[1] + 1), numpy.maximum(grads.mean(0), 1e-30), marker="o",
                                  ms=3, label=init)  # zero init: exactly 0 below the last layer
            steps = max((c[0] for c in curves[name]), key=len)
            accs = numpy.asarray([c[1] + [numpy.nan] * (len(steps) - len(c[1])) for c in curves[name]])
            axes[2, col].plot(steps, numpy.nanmean(accs, 0), label=init)
            axes[2, col].fill_between(steps, numpy.nanmin(accs, 0), numpy.nanmax(accs, 0), alpha=0.2)
        axes[0, col].set_title(f"{act}: activation std per hidden layer at init")
        axes[0, col].set_xlabel("hidden layer")
        axes[1, col].set_title(f"{act}: weight-gradient norm per layer at init")
        axes[1, col].set_xlabel("layer (1 = input side)")
        axes[2, col].set_title(f"{act}: test accuracy while training")
        axes[2, col].set_xlabel("SGD step")
        axes[2, col].set_ylim(0, 1)
        for r in range(3):
            axes[r, col].legend(fontsize=8)
    fig.suptitle("Initialisation: mean over seeds (1e-30 stands for exactly 0); accuracy band = min–max")
    fig.tight_layout()
    ctx.savefig(fig, "layer_statistics")


LAB = Lab(
    name="initialization",
    title="Initialization: zero, small, Xavier/Glorot and He/Kaiming with tanh and ReLU",
    claim="Gradients vanish when the weights are too small, so the backward pass barely changes anything; an "
          "initialisation scaled to the layer (Xavier/Glorot for tanh, He/Kaiming for ReLU) keeps the signal "
          "alive, and all-zero weights cannot train (every unit stays the same).",
    note="000_a64c7b5953f5f1e7.txt",
    setup="MNIST 8,000/2,000 (quick: 8x8 digits). MLP with 10 hidden layers of 128 (quick: 64), tanh or ReLU; the "
          "weight initialisation changes (zero; N(0, 0.01²); Xavier normal; He normal), biases zero. Per-layer "
          "activation std and weight-gradient norm on 512 training images at init; SGD lr 0.05, batch 64, same "
          "steps for all.",
    seeds=3,
    run=run,
)
