"""Labs II.5 — skip connections and the degradation problem.

Plain and residual nets of several depths, identical but for the identity shortcut: a ``Linear(784, 64)``
+ ReLU stem, ``B`` blocks, a ``Linear(64, 10)`` head. A plain block is ``relu(W2 relu(W1 h))``, a residual
block ``relu(h + W2 relu(W1 h))`` — the same layers, the same initialisation (nabla's default, as
PyTorch's), the same optimizer and steps. A depth counts the Linear layers (``2B + 2``). The blocks are
fully connected, not convolutional: on this shared 2-core machine a 3x3 convolution costs ~60x a 64-wide
Linear, and a 56-layer conv net would not train in the lab's budget; the question — does adding layers
make the training loss worse without shortcuts, and do shortcuts fix it — is about depth, not about the
layer type. Measured: the training loss at the end (mean of the last 20 steps), test accuracy, and the
gradient norm of the first layer's weight over the first 10 steps.

A control run trains the plain nets with He (Kaiming) initialisation, to separate "the signal vanishes
at initialisation" from "deep plain nets are hard to optimise".
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from ._common import Data, evaluate, fmt, linears, mnist_8k2k, seed_all, train
from .base import Lab, LabResult, Measurement, Verdict

WIDTH, LR, BATCH = 64, 1e-3, 64


class Block(nn.Module):
    """``relu(W2 relu(W1 h))``, plus ``h`` inside the last ReLU when ``residual``."""

    def __init__(self, width: int, residual: bool):
        super().__init__()
        self.fc1, self.fc2, self.residual = nn.Linear(width, width), nn.Linear(width, width), residual

    def forward(self, h):
        out = self.fc2(F.relu(self.fc1(h)))
        return F.relu(h + out if self.residual else out)


def build(data: Data, blocks: int, residual: bool, init: str = "default") -> nn.Sequential:
    """Stem, ``blocks`` blocks, head: ``2 * blocks + 2`` Linear layers."""
    model = nn.Sequential(nn.Linear(data.features, WIDTH), nn.ReLU(),
                          *[Block(WIDTH, residual) for _ in range(blocks)], nn.Linear(WIDTH, data.classes))
    if init == "he":
        for lin in linears(model):
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
    return model


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=1000 if ctx.quick else 8000, n_test=500 if ctx.quick else 2000)
    blocks = [1, 8] if ctx.quick else [3, 9, 27]
    steps = 100 if ctx.quick else 300
    configs = {"plain": (False, "default"), "residual": (True, "default")}
    if not ctx.quick:
        configs["plain_he_init"] = (False, "he")
    loss = {(c, b): [] for c in configs for b in blocks}
    acc = {(c, b): [] for c in configs for b in blocks}
    grad0 = {(c, b): [] for c in configs for b in blocks}
    curves = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for c, (residual, init) in configs.items():
            for b in blocks:
                seed_all(seed)
                model = build(data, b, residual, init)
                first = linears(model)[0]
                norms = []

                def record(step, _model, first=first, norms=norms):
                    if step < 10:
                        norms.append(float(numpy.linalg.norm(first.weight.grad.numpy())))

                curve = train(model, nabla.optim.Adam(model.parameters(), lr=LR), data, steps, batch_size=BATCH,
                              seed=seed, on_step=record)
                loss[(c, b)].append(curve.final_loss(20))
                acc[(c, b)].append(evaluate(model, data.x_test, data.y_test)[0])
                grad0[(c, b)].append(float(numpy.mean(norms)))
                if seed == ctx.seeds[0]:
                    curves[(c, b)] = curve.loss

    shallow, deep = blocks[0], blocks[-1]

    def worse(c: str, a: int, b: int) -> bool:  # config c's training loss at depth b above depth a, every seed
        return all(y > x for x, y in zip(loss[(c, a)], loss[(c, b)]))

    plain_degrades = worse("plain", shallow, deep)
    residual_degrades = worse("residual", shallow, deep)
    residual_beats_plain = all(r < p for r, p in zip(loss[("residual", deep)], loss[("plain", deep)]))
    depth = {b: 2 * b + 2 for b in blocks}
    if plain_degrades and not residual_degrades and residual_beats_plain:
        verdict, condition = Verdict.SUPPORTED, None
    elif not residual_beats_plain:
        verdict, condition = Verdict.REFUTED, None
    elif not plain_degrades:
        verdict, condition = Verdict.DEPENDS, (
            f"the plain net did not get worse from {depth[shallow]} to {depth[deep]} layers here, so there was no "
            "degradation to fix; the residual net still trains lower at the deepest depth")
    else:
        verdict, condition = Verdict.DEPENDS, (
            f"shortcuts lower the {depth[deep]}-layer net's training loss in every seed, but the residual net also "
            f"trains worse at {depth[deep]} than at {depth[shallow]} layers")
    he_note = ""
    if "plain_he_init" in configs:
        he_degrades = worse("plain_he_init", shallow, deep)
        he_loss = "; ".join(f"{depth[b]} layers {fmt(loss[('plain_he_init', b)], 3)}" for b in blocks)
        he_note = (f" Control, plain with He init: {he_loss} — "
                   f"{'it still degrades' if he_degrades else 'no degradation in every seed'}.")
    reading = (f"On {data.describe()}, width {WIDTH}, Adam lr {LR}, batch {BATCH}, {steps} steps. Final training "
               "loss (mean of the last 20 steps) — plain: "
               + "; ".join(f"{depth[b]} layers {fmt(loss[('plain', b)], 3)}" for b in blocks)
               + ". Residual: " + "; ".join(f"{depth[b]} layers {fmt(loss[('residual', b)], 3)}" for b in blocks)
               + ". Test accuracy plain / residual: "
               + "; ".join(f"{depth[b]}: {fmt(acc[('plain', b)], 3)} / {fmt(acc[('residual', b)], 3)}" for b in blocks)
               + ". First-layer weight-gradient norm over the first 10 steps, plain / residual: "
               + "; ".join(f"{depth[b]}: {fmt(grad0[('plain', b)], 2)} / {fmt(grad0[('residual', b)], 2)}"
                           for b in blocks) + "." + he_note)
    measurements = []
    for c in configs:
        for b in blocks:
            name = f"{c}_{depth[b]}_layers"
            measurements += [Measurement(name, "final_train_loss", loss[(c, b)], "", "lower"),
                             Measurement(name, "test_accuracy", acc[(c, b)], "", "higher"),
                             Measurement(name, "first_layer_grad_norm_early", grad0[(c, b)], "", None)]
    _figure(ctx, curves, loss, configs, blocks, depth)
    return LabResult(measurements, verdict, condition, reading, None,
                     extra={"data": data.describe(), "data_note": data.note, "width": WIDTH, "lr": LR,
                            "batch_size": BATCH, "steps": steps, "depths": [depth[b] for b in blocks],
                            "plain_degrades": plain_degrades, "residual_degrades": residual_degrades,
                            "residual_beats_plain_at_deepest": residual_beats_plain})


def _figure(ctx, curves, loss, configs, blocks, depth) -> None:
    import matplotlib.pyplot as plt

    from ._common import smooth

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    for i, b in enumerate(blocks):
        for c, ls in (("plain", "--"), ("residual", "-")):
            ax.plot(smooth(curves[(c, b)], 20), ls=ls, color=f"C{i}", label=f"{c}, {depth[b]} layers")
    ax.set(xlabel="step", ylabel="training loss (smoothed)", yscale="log", title=f"seed {ctx.seeds[0]}")
    ax.legend(fontsize=7)
    ax = axes[1]
    for c, style in (("plain", "o--"), ("residual", "s-"), ("plain_he_init", "^:")):
        if c not in configs:
            continue
        xs = [depth[b] for b in blocks]
        ms = [numpy.mean(loss[(c, b)]) for b in blocks]
        ss = [numpy.std(loss[(c, b)], ddof=1) if len(loss[(c, b)]) > 1 else 0 for b in blocks]
        ax.errorbar(xs, ms, yerr=ss, fmt=style, capsize=3, label=c)
    ax.set(xlabel="Linear layers", ylabel="final training loss", yscale="log",
           title="training loss vs depth (mean ± std)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "skip_connections")


LAB = Lab(
    name="skip_connections",
    title="Skip connections: the degradation problem, plain vs residual",
    claim=("\"ResNet: skip connections let layers be skipped when needed, which fixes the problem that training "
           "performance does not improve as the number of layers grows\" (002)."),
    note="002_0737946dbccdb6e4.txt",
    setup=("MNIST 8,000/2,000 (digits if absent). Stem Linear(784,64)+ReLU, B blocks, Linear(64,10) head; plain "
           "block relu(W2 relu(W1 h)) vs residual block relu(h + W2 relu(W1 h)) — only the shortcut differs. Depths "
           "8, 20, 56 Linear layers (B = 3, 9, 27). Default init, Adam lr 1e-3, batch 64, 300 steps for all; no BN. "
           "Control: plain nets with He init. Fully connected blocks, not convolutions (a 56-layer conv net does "
           "not fit this CPU budget)."),
    seeds=3,
    run=run,
)
