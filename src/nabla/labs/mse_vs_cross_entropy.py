"""Lab 11 — MSE vs cross-entropy for classification.

Two measurements. (1) The gradient a confidently *wrong* output sends back: for a softmax output
``p`` and one-hot target ``t``, cross-entropy's gradient with respect to the logits is ``p - t``
(norm close to sqrt(2) when p puts all its mass on a wrong class), while MSE on the probabilities,
``mean((p - t)^2)``, is multiplied by the softmax Jacobian ``diag(p) - p pᵀ``, which vanishes as ``p``
saturates. We measure both on a real network whose last layer is scaled up so that its outputs
saturate. (2) Learning speed: the same MLP trained on MNIST with each loss (same optimizer, same
batches, each at its best learning rate of a small grid), from the default initialisation and from
the saturated one.
"""

from __future__ import annotations

import numpy

import nabla
from nabla.nn import functional as F

from ._common import Data, fmt, make_mlp, mnist_8k2k, seed_all, train
from .base import Lab, LabResult, Measurement, Verdict

LOSSES = ("cross_entropy", "mse")
SATURATE = 10.0  # the "saturated" start: last layer rescaled so that the logits' standard deviation is this


def mse_on_probabilities(logits: nabla.Tensor, y: nabla.Tensor) -> nabla.Tensor:
    """MSE between the softmax probabilities and the one-hot targets (Keras' ``mse`` on a softmax model)."""
    onehot = nabla.tensor(numpy.eye(logits.shape[1], dtype=numpy.float32)[y.numpy()])
    return F.mse_loss(F.softmax(logits, dim=1), onehot)


LOSS_FNS = {"cross_entropy": F.cross_entropy, "mse": mse_on_probabilities}


def build(data: Data, saturated: bool) -> nabla.nn.Module:
    model = make_mlp([data.features, 128, data.classes], "relu")
    if saturated:
        with nabla.no_grad():
            spread = float(model(nabla.tensor(data.x_train[:500])).numpy().std())
            model[-1].weight.mul_(SATURATE / spread)
            model[-1].bias.mul_(SATURATE / spread)
    return model


def logit_grad_on_wrong(model, data: Data) -> dict[str, float]:
    """Median norm of dLoss/dlogits per sample, over training samples the model gets confidently
    wrong (probability > 0.99 on a wrong class), for each loss. Per-sample: loss with reduction 'sum'."""
    x, y = nabla.tensor(data.x_train[:2000]), data.y_train[:2000]
    with nabla.no_grad():
        p = F.softmax(model(x), dim=1).numpy()
    wrong = (p.argmax(1) != y) & (p.max(1) > 0.99)
    if not wrong.any():
        raise RuntimeError("mse_vs_cross_entropy: no confidently wrong sample; raise SATURATE")
    out = {"fraction": float(wrong.mean())}
    for name in LOSSES:
        logits = model(x[numpy.nonzero(wrong)[0]]).detach().requires_grad_()
        yb = nabla.tensor(y[wrong])
        loss = (F.cross_entropy(logits, yb, reduction="sum") if name == "cross_entropy"
                else mse_on_probabilities(logits, yb) * float(logits.shape[0] * logits.shape[1]))
        loss.backward()
        out[name] = float(numpy.median(numpy.linalg.norm(logits.grad.numpy(), axis=1)))
    return out


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=2000 if ctx.quick else 8000)
    epochs = 3 if ctx.quick else 8
    lrs = [0.1] if ctx.quick else [0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
    batch = 64
    steps_per_epoch = len(data.y_train) // batch
    starts = ("default", "saturated")
    acc1 = {(s, loss): [] for s in starts for loss in LOSSES}
    acc_end = {(s, loss): [] for s in starts for loss in LOSSES}
    best_lr = {(s, loss): [] for s in starts for loss in LOSSES}
    grads = {"cross_entropy": [], "mse": [], "fraction": []}
    curves = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        seed_all(seed)
        g = logit_grad_on_wrong(build(data, saturated=True), data)
        for k in grads:
            grads[k].append(g[k])
        for start in starts:
            for loss in LOSSES:
                best = None
                for lr in lrs:
                    seed_all(seed)  # same initial weights and batches for every loss and learning rate
                    model = build(data, start == "saturated")
                    opt = nabla.optim.SGD(model.parameters(), lr=lr)
                    curve = train(model, opt, data, steps_per_epoch * epochs, batch, seed=seed,
                                  eval_every=steps_per_epoch, loss_fn=LOSS_FNS[loss])
                    accs = curve.test_acc or [0.0]
                    if best is None or accs[-1] > best[1][-1]:
                        best = (lr, accs)
                acc1[start, loss].append(best[1][0])
                acc_end[start, loss].append(best[1][-1])
                best_lr[start, loss].append(best[0])
                curves.setdefault((start, loss), best[1])

    _figure(ctx, curves, data)
    ratio = [float(numpy.log10(c / max(m, 1e-30))) for c, m in zip(grads["cross_entropy"], grads["mse"])]
    faster = {s: all(c > m for c, m in zip(acc1[s, "cross_entropy"], acc1[s, "mse"])) for s in starts}
    better_end = {s: all(c > m for c, m in zip(acc_end[s, "cross_entropy"], acc_end[s, "mse"])) for s in starts}
    tiny_grad = all(r > 1 for r in ratio)  # CE's gradient more than 10x MSE's in every seed
    if tiny_grad and all(faster.values()) and all(better_end.values()):
        verdict, condition = Verdict.SUPPORTED, None
    elif tiny_grad and faster["saturated"]:
        lr_ratio = numpy.median(best_lr["default", "mse"]) / numpy.median(best_lr["default", "cross_entropy"])
        verdict, condition = Verdict.DEPENDS, (
            "MSE's gradient vanishes at saturated wrong outputs and learning from a saturated start is much slower "
            "in every seed; from the default initialisation MSE "
            + ("is also behind after one epoch" if faster["default"] else "is not behind after one epoch")
            + f" but, at its own best learning rate ({lr_ratio:.0f}x cross-entropy's), "
            + ("ends behind" if better_end["default"] else "catches up by the end")
            + f" of {epochs} epochs")
    elif not tiny_grad and not any(faster.values()):
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, "the gradient and learning-speed measurements disagree (see reading)"
    reading = (
        f"On {data.describe()}: at confidently wrong outputs ({fmt(grads['fraction'], 2)} of training samples after "
        f"scaling the last layer to logits of standard deviation {SATURATE:g}), the per-sample gradient on the "
        f"logits has median norm "
        f"{fmt(grads['cross_entropy'])} with cross-entropy and {fmt(grads['mse'])} with MSE — log10 of the ratio "
        f"{fmt(ratio)}. After one epoch (each loss at its best learning rate of {lrs}), validation accuracy is "
        f"{fmt(acc1['default', 'cross_entropy'])} (CE) vs {fmt(acc1['default', 'mse'])} (MSE) from the default start "
        f"and {fmt(acc1['saturated', 'cross_entropy'])} vs {fmt(acc1['saturated', 'mse'])} from the saturated start; "
        f"after {epochs} epochs {fmt(acc_end['default', 'cross_entropy'])} vs {fmt(acc_end['default', 'mse'])} and "
        f"{fmt(acc_end['saturated', 'cross_entropy'])} vs {fmt(acc_end['saturated', 'mse'])}. "
        f"CE ahead at the end in every seed: default {better_end['default']}, saturated {better_end['saturated']}.")
    edge = sorted({f"{loss} ({start} start)" for (start, loss), v in best_lr.items() if len(lrs) > 1 and lrs[-1] in v})
    if edge:
        reading += f" The grid's largest rate {lrs[-1]:g} was best for {', '.join(edge)}: a larger one might do better."
    measurements = [
        Measurement("cross_entropy", "logit_grad_norm_at_wrong_saturated_output", grads["cross_entropy"], "", None),
        Measurement("mse", "logit_grad_norm_at_wrong_saturated_output", grads["mse"], "", None),
        Measurement("ce_over_mse", "log10_logit_grad_ratio", ratio, "", None),
    ]
    for start in starts:
        for loss in LOSSES:
            measurements += [
                Measurement(f"{loss}/{start}_init", "val_acc_after_1_epoch", acc1[start, loss], "", "higher"),
                Measurement(f"{loss}/{start}_init", f"val_acc_after_{epochs}_epochs", acc_end[start, loss], "",
                            "higher"),
                Measurement(f"{loss}/{start}_init", "best_lr", best_lr[start, loss], "", None),
            ]
    return LabResult(measurements, verdict, condition, reading, None,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "lr_grid": lrs,
                            "batch_size": batch, "saturate_factor": SATURATE})


def _figure(ctx, curves: dict, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    z = numpy.linspace(-10, 10, 201)
    zt = nabla.tensor(z, requires_grad=True)
    p = nabla.sigmoid(zt)
    ((p - 1.0) ** 2).sum().backward()
    g_mse = numpy.abs(zt.grad.numpy())
    zt2 = nabla.tensor(z, requires_grad=True)
    F.binary_cross_entropy_with_logits(zt2, nabla.ones(len(z), dtype=nabla.float64), reduction="sum").backward()
    g_ce = numpy.abs(zt2.grad.numpy())
    ax = axes[0]
    ax.semilogy(z, g_ce, label="cross-entropy: |σ(z) − 1|")
    ax.semilogy(z, g_mse, label="MSE: |2(σ(z) − 1) σ'(z)|")
    ax.set(xlabel="logit z (target 1; z ≪ 0 is confidently wrong)", ylabel="|dL/dz|",
           title="gradient at a sigmoid output, measured by autograd")
    ax.legend(fontsize=8)
    ax = axes[1]
    for (start, loss), accs in sorted(curves.items()):
        ax.plot(range(1, len(accs) + 1), accs, ls="-" if start == "default" else "--", marker="o", ms=3,
                color="C0" if loss == "cross_entropy" else "C1", label=f"{loss}, {start} init")
    ax.set(xlabel="epoch", ylabel="validation accuracy", title=f"{data.name}: MLP 128 ReLU, SGD (seed {ctx.seeds[0]})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "mse_vs_ce")


LAB = Lab(
    name="mse_vs_cross_entropy",
    title="MSE vs cross-entropy for classification",
    claim="With MSE as the loss for classification the gradients used for learning can be small, so learning is "
          "slow (cross-entropy is the loss for classification).",
    note="002_0737946dbccdb6e4.txt,004_7e784a9328faeb63.txt",
    setup=("MNIST 8,000/2,000 (digits if absent), MLP 784-128-10 ReLU with a softmax output, SGD batch 64. Only the "
           "loss changes: cross-entropy vs MSE between softmax probabilities and one-hot targets; each loss gets "
           "its best learning rate from the same grid, same initial weights and batches. Two starts: PyTorch's "
           "default initialisation and the same with the last layer rescaled to logits of standard deviation 10 "
           "(saturated, mostly confidently wrong outputs). Also measured: the per-sample gradient norm on the logits "
           "at confidently wrong outputs."),
    seeds=3,
    run=run,
)
