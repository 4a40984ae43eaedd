"""Lab: batch normalization — does it speed training up, and is "internal covariate shift" the reason?

Ioffe & Szegedy (2015) introduced BN to remove *internal covariate shift* (ICS): the drift of each
layer's input distribution as the layers below it learn. Santurkar et al. (2018, "How does batch
normalization help optimization?") tested that: they injected noise that shifts and rescales each unit
after BN, freshly at every step (so ICS is *larger* than without BN), and training stayed fast; what BN
changes, they found, is the loss surface — the loss and its gradient change less along the gradient
step (better "gradient predictiveness", smaller effective β-smoothness).

Here, on an MLP with 4 hidden ReLU layers: no BN, BN before the activation, BN after it, and BN
before + that shifting noise, at several SGD learning rates. At lr 0.1 we measure (every few steps, on
512 fixed training images) the drift of layer 3's input distribution, and how the loss and gradient
change along the gradient direction. Last, tanh with and without BN: the fraction of saturated units.
"""

from __future__ import annotations

import copy
import math

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from . import _common as C
from .base import Lab, LabResult, Measurement, Verdict

DEPTH = 4
MEASURED_LR = 0.1
ETAS = (0.5, 1.0, 2.0, 4.0)  # multiples of the learning rate along which the landscape is probed


class ShiftNoise(nn.Module):
    """Santurkar et al.'s injected covariate shift: in training, every unit is rescaled by s ~ U(0.5, 2) and
    shifted by m ~ N(0, 1), both drawn anew at every forward pass (the same for the whole batch)."""

    def __init__(self, features: int, seed: int) -> None:
        super().__init__()
        self.features = features
        self.rng = numpy.random.default_rng(seed)

    def forward(self, x):
        if not self.training:
            return x
        s = self.rng.uniform(0.5, 2.0, self.features).astype(numpy.float32)
        m = self.rng.normal(0.0, 1.0, self.features).astype(numpy.float32)
        return x * nabla.tensor(s) + nabla.tensor(m)


def build(kind: str, sizes: list[int], act: str, seed: int) -> nn.Sequential:
    """The network of configuration ``kind``; He init for ReLU and Xavier for tanh in every configuration, so
    the network without BN starts well scaled too and BN is the only difference."""
    init = "he" if act == "relu" else "xavier"
    if kind == "noisy_bn":
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), ShiftNoise(b, seed * 100 + len(layers)),
                       C.ACTIVATIONS[act]()]
        model = nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
        for lin in C.linears(model):
            C.init_linear_(lin, init)
        return model
    norm = {"no_bn": None, "bn_before": "before", "bn_after": "after"}[kind]
    return C.make_mlp(sizes, act, norm=norm, init=init)


def layer_input(model: nn.Sequential, x: numpy.ndarray, k: int) -> numpy.ndarray:
    """The input of the model's k-th Linear layer (0-based) for ``x``, in training mode, on a copy (so BN's
    running statistics and the noise generator of the real model are untouched)."""
    m = copy.deepcopy(model)
    m.train()
    h = nabla.tensor(x)
    seen = 0
    with nabla.no_grad():
        for layer in m:
            if isinstance(layer, nn.Linear):
                if seen == k:
                    return h.numpy()
                seen += 1
            h = layer(h)
    raise ValueError(f"model has no Linear layer {k}")


def landscape(model: nn.Sequential, x: numpy.ndarray, y: numpy.ndarray, lr: float) -> tuple[float, float]:
    """(loss variation, effective β-smoothness) along the gradient at the current weights, on a copy:
    L and ∇L at w − η·g for η in lr·ETAS; variation = max L − min L, β = max ‖∇L(w − ηg) − ∇L(w)‖ / ‖ηg‖."""
    m = copy.deepcopy(model)
    m.train()
    params = list(m.parameters())
    xb, yb = nabla.tensor(x), nabla.tensor(y)

    def loss_and_grad():
        m.zero_grad()
        loss = F.cross_entropy(m(xb), yb)
        loss.backward()
        return float(loss.item()), numpy.concatenate([p.grad.numpy().ravel() for p in params])

    w0 = [p.detach().numpy().copy() for p in params]
    l0, g0 = loss_and_grad()
    gsplit = numpy.split(g0, numpy.cumsum([w.size for w in w0])[:-1])
    losses, betas = [l0], []
    for eta in (lr * e for e in ETAS):
        with nabla.no_grad():
            for p, w, g in zip(params, w0, gsplit):
                p.copy_(nabla.tensor((w - eta * g.reshape(w.shape)).astype(w.dtype)))
        loss, g1 = loss_and_grad()
        losses.append(loss)
        betas.append(float(numpy.linalg.norm(g1 - g0) / (eta * numpy.linalg.norm(g0) + 1e-12)))
    return max(losses) - min(losses), max(betas)


def drift(prev: numpy.ndarray, cur: numpy.ndarray) -> float:
    """Relative change of a layer's input distribution: (mean |Δ unit mean| + mean |Δ unit std|) / mean std."""
    mu0, mu1, s0, s1 = prev.mean(0), cur.mean(0), prev.std(0), cur.std(0)
    return float((numpy.abs(mu1 - mu0).mean() + numpy.abs(s1 - s0).mean()) / (s0.mean() + 1e-8))


def saturated_fraction(model: nn.Sequential, x: numpy.ndarray) -> float:
    """Fraction of tanh outputs with |h| > 0.99 (derivative < 0.02) on ``x``, in eval mode."""
    model.eval()
    h, sat, total = nabla.tensor(x), 0, 0
    with nabla.no_grad():
        for layer in model:
            h = layer(h)
            if isinstance(layer, nn.Tanh):
                a = numpy.abs(h.numpy())
                sat += int((a > 0.99).sum())
                total += a.size
    model.train()
    return sat / total


def run(ctx) -> LabResult:
    data = C.digits(0) if ctx.quick else C.mnist_8k2k(ctx.data_dir)
    width = 64 if ctx.quick else 128
    steps = 120 if ctx.quick else 400
    every = 40 if ctx.quick else 30
    lrs = (MEASURED_LR,) if ctx.quick else (0.03, MEASURED_LR, 0.3, 1.0)
    kinds = ("no_bn", "bn_before", "bn_after", "noisy_bn")
    sizes = [data.features] + [width] * DEPTH + [data.classes]
    probe = 256 if ctx.quick else 512
    probe_x, probe_y = data.x_train[:probe], data.y_train[:probe]
    speed = {(k, lr): [] for k in kinds for lr in lrs}
    acc = {(k, lr): [] for k in kinds for lr in lrs}
    ics = {k: [] for k in kinds}
    loss_var = {k: [] for k in kinds}
    beta = {k: [] for k in kinds}
    curves = {(k, lr): [] for k in kinds for lr in lrs}
    traces = {k: [] for k in kinds}
    sat = {k: [] for k in ("tanh/no_bn", "tanh/bn_before")}
    tanh_acc = {k: [] for k in sat}
    for seed in ctx.progress(ctx.seeds, desc="batch_norm"):
        for kind in kinds:
            for lr in lrs:
                C.seed_all(seed)
                model = build(kind, sizes, "relu", seed)
                trace = {"step": [], "ics": [], "loss_var": [], "beta": []}
                last = [layer_input(model, probe_x, 2)] if lr == MEASURED_LR else None

                def measure(step, m, trace=trace, last=last):
                    if (step + 1) % every:
                        return
                    cur = layer_input(m, probe_x, 2)
                    trace["ics"].append(drift(last[0], cur))
                    last[0] = cur
                    lv, b = landscape(m, probe_x, probe_y, MEASURED_LR)
                    trace["step"].append(step + 1)
                    trace["loss_var"].append(lv)
                    trace["beta"].append(b)

                opt = nabla.optim.SGD(model.parameters(), lr=lr)
                curve = C.train(model, opt, data, steps, batch_size=64, seed=seed,
                                on_step=measure if lr == MEASURED_LR else None)
                speed[kind, lr].append(float(numpy.mean(curve.loss)) if not curve.diverged else float("inf"))
                acc[kind, lr].append(0.0 if curve.diverged else C.evaluate(model, data.x_test, data.y_test)[0])
                curves[kind, lr].append(curve.loss)
                if lr == MEASURED_LR:
                    ics[kind].append(float(numpy.mean(trace["ics"])))
                    loss_var[kind].append(float(numpy.mean(trace["loss_var"])))
                    beta[kind].append(float(numpy.mean(trace["beta"])))
                    traces[kind].append(trace)
        for kind in ("no_bn", "bn_before"):
            C.seed_all(seed)
            model = build(kind, sizes, "tanh", seed)
            curve = C.train(model, nabla.optim.SGD(model.parameters(), lr=MEASURED_LR), data, steps, batch_size=64,
                            seed=seed)
            sat[f"tanh/{kind}"].append(saturated_fraction(model, probe_x))
            tanh_acc[f"tanh/{kind}"].append(0.0 if curve.diverged else C.evaluate(model, data.x_test, data.y_test)[0])

    plot(ctx, curves, traces, lrs, kinds)
    ms = [Measurement(f"{k}/lr={lr:g}", "mean_train_loss_over_run", speed[k, lr], better="lower") for k in kinds
          for lr in lrs]
    ms += [Measurement(f"{k}/lr={lr:g}", "test_accuracy", acc[k, lr], better="higher") for k in kinds for lr in lrs]
    ms += [Measurement(k, "ics_layer3_input_drift", ics[k], better=None) for k in kinds]
    ms += [Measurement(k, "loss_variation_along_gradient", loss_var[k], better="lower") for k in kinds]
    ms += [Measurement(k, "effective_beta_smoothness", beta[k], better="lower") for k in kinds]
    ms += [Measurement(k, "saturated_tanh_fraction", sat[k], better="lower") for k in sat]
    ms += [Measurement(k, "test_accuracy", tanh_acc[k], better="higher") for k in tanh_acc]

    lr = MEASURED_LR
    faster = all(b < n for b, n in zip(speed["bn_before", lr], speed["no_bn", lr]))
    noisy_fast = all(z < n for z, n in zip(speed["noisy_bn", lr], speed["no_bn", lr]))
    noisy_more_ics = all(z > n for z, n in zip(ics["noisy_bn"], ics["no_bn"]))
    bn_less_ics = all(b < n for b, n in zip(ics["bn_before"], ics["no_bn"]))
    smoother = all(b < n for b, n in zip(beta["bn_before"], beta["no_bn"]))
    noisy_smoother = all(b < n for b, n in zip(beta["noisy_bn"], beta["no_bn"]))
    tanh_less_sat = all(b < n for b, n in zip(sat["tanh/bn_before"], sat["tanh/no_bn"]))
    checks = {"bn_trains_faster": faster, "noisy_bn_still_faster": noisy_fast, "noisy_bn_has_more_ics": noisy_more_ics,
              "bn_reduces_ics": bn_less_ics, "bn_smoother_landscape": smoother,
              "noisy_bn_smoother_landscape": noisy_smoother, "bn_keeps_tanh_unsaturated": tanh_less_sat}
    noisy_rougher = all(z > n for z, n in zip(beta["noisy_bn"], beta["no_bn"]))
    if faster and noisy_fast and noisy_more_ics:
        verdict, condition = Verdict.REFUTED, None  # faster in spite of more ICS: ICS is not the mechanism
    elif faster and bn_less_ics and not noisy_fast and not noisy_rougher:
        verdict, condition = Verdict.SUPPORTED, None  # more ICS slows training although the landscape is no rougher
    elif faster:
        verdict = Verdict.DEPENDS
        condition = ("BN speeds training up, but here it both reduces ICS and smooths the landscape, and the injected "
                     "shift that raises ICS also roughens the landscape — this test cannot say which one matters"
                     if not noisy_fast and noisy_rougher else
                     "mixed evidence: " + ", ".join(f"{k}={v}" for k, v in checks.items()))
    else:
        verdict, condition = Verdict.REFUTED, None  # BN did not speed training up at all
    f = C.fmt
    conv = "; ".join(f"lr {x:g}: " + ", ".join(f"{k} {f(speed[k, x], 2)}" for k in kinds) for x in lrs)
    reading = (f"Mean training loss over {steps} SGD steps (lower = faster) — {conv}. At lr {lr:g}: the drift of "
               f"layer 3's input distribution between checkpoints (ICS) is {f(ics['no_bn'], 2)} without BN, "
               f"{f(ics['bn_before'], 2)} with BN and {f(ics['noisy_bn'], 2)} with BN + injected shift, and the "
               f"noisy network's loss ({f(speed['noisy_bn', lr], 2)}) is {'below' if noisy_fast else 'above'} "
               f"the plain one's ({f(speed['no_bn', lr], 2)}). Effective β-smoothness along the gradient: "
               f"{f(beta['no_bn'], 2)} without BN, {f(beta['bn_before'], 2)} with, {f(beta['noisy_bn'], 2)} noisy; "
               f"loss variation {f(loss_var['no_bn'], 2)} / {f(loss_var['bn_before'], 2)} / "
               f"{f(loss_var['noisy_bn'], 2)}. tanh: saturated fraction {f(sat['tanh/no_bn'], 2)} without BN, "
               f"{f(sat['tanh/bn_before'], 2)} with (test accuracy {f(tanh_acc['tanh/no_bn'], 3)} vs "
               f"{f(tanh_acc['tanh/bn_before'], 3)}).")
    reading += " (inf: a seed diverged.)" if any(math.isinf(v) for vs in speed.values() for v in vs) else ""
    wrong = (f"001 describes internal covariate shift as the data distribution changing from layer to layer as "
             f"it passes through the hidden layers. Ioffe & Szegedy's ICS is one layer's input distribution changing "
             f"over training steps as the layers below learn — measured here as the drift between checkpoints "
             f"({f(ics['no_bn'], 2)} without BN, {f(ics['bn_before'], 2)} with).")
    if verdict is Verdict.REFUTED and faster:
        wrong += (f" 001 says BN works by solving internal covariate shift. With noise that shifts every unit's "
                 f"distribution at every step after BN, ICS is {f(ics['noisy_bn'], 2)} (vs {f(ics['no_bn'], 2)} "
                 f"without BN) and training is still faster than without BN. What tracks the speed-up is the "
                 f"landscape (β {f(beta['bn_before'], 2)} with BN vs {f(beta['no_bn'], 2)} without) — the 'other "
                 f"paper' 001 mentions last (Santurkar et al. 2018) is the one the measurement agrees with.")
    if not tanh_less_sat:
        wrong += " " + (
            f"002's 'BN keeps tanh near 0, out of saturation': with a Xavier init the tanh net without BN had "
            f"{f(sat['tanh/no_bn'], 2)} of its units saturated (|h| > 0.99) after training, with BN "
            f"{f(sat['tanh/bn_before'], 2)} — saturation was not the problem BN solved here.")
    return LabResult(
        measurements=ms, verdict=verdict, condition=condition, reading=reading, notes_wrong=wrong,
        extra={"depth": DEPTH, "width": width, "steps": steps, "measured_lr": MEASURED_LR, "etas": ETAS,
               "data": data.describe(), "data_note": data.note, "checks": checks},
    )


def plot(ctx, curves: dict, traces: dict, lrs, kinds) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(lrs), figsize=(4.5 * len(lrs), 3.8), squeeze=False, sharey=True)
    for ax, lr in zip(axes[0], lrs):
        for i, k in enumerate(kinds):
            runs = curves[k, lr]
            n = min(len(c) for c in runs)
            if n == 0:
                continue
            ax.plot(numpy.mean([C.smooth(c[:n], 20) for c in runs], axis=0), color=f"C{i}", label=k)
        ax.set_yscale("log")
        ax.set_title(f"SGD lr {lr:g}")
        ax.set_xlabel("step")
    axes[0, 0].set_ylabel("training loss (moving average)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Convergence with and without batch norm (mean over seeds)")
    fig.tight_layout()
    ctx.savefig(fig, "convergence")

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.3))
    for i, k in enumerate(kinds):
        for key, ax in zip(("ics", "beta", "loss_var"), axes):
            t = traces[k]
            n = min(len(x[key]) for x in t)
            ax.plot(t[0]["step"][:n], numpy.mean([x[key][:n] for x in t], axis=0), color=f"C{i}", label=k)
    axes[0].set_title("Internal covariate shift: layer-3 input drift")
    axes[1].set_title("Effective β-smoothness along the gradient")
    axes[2].set_title("Loss variation along the gradient")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("step")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"What BN changes, at lr {MEASURED_LR} (mean over seeds; Santurkar et al. 2018's measurements)")
    fig.tight_layout()
    ctx.savefig(fig, "ics_vs_smoothness")


LAB = Lab(
    name="batch_norm",
    title="Batch normalization: faster training — internal covariate shift or a smoother landscape?",
    claim="Internal covariate shift (each layer's input distribution changing as the layers below learn) is the "
          "problem batch norm was made to solve; by keeping the distribution fixed it smooths the gradients and "
          "speeds up convergence. BN can go before or after the activation, and keeps tanh in its non-saturated "
          "range near 0.",
    note="001_3b4055372c65041b.txt,000_a64c7b5953f5f1e7.txt,002_0737946dbccdb6e4.txt",
    setup="MNIST 8,000/2,000 (quick: 8x8 digits). MLP with 4 hidden ReLU layers of 128 (quick: 64): no BN, BN "
          "before the activation, BN after it, and BN before + per-unit random shift/scale drawn anew each step "
          "(Santurkar et al.'s 'noisy BN'); He init everywhere (Xavier for tanh); plain SGD at several learning "
          "rates, batch 64, same batches. At lr 0.1, every 30 steps on 512 fixed images (quick: 256): layer-3 "
          "input drift, loss and gradient change along the "
          "gradient (η = 0.5…4 × lr). Then tanh with/without BN: saturated (|h| > 0.99) fraction.",
    seeds=3,
    run=run,
)
