"""Lab 13 — regularisation, one change at a time.

A 784-256-256-10 ReLU MLP overfits 500 MNIST images. Each variant changes exactly one thing of that
baseline; the penalties are tried at three strengths each (a dose-response, every value reported, no
pick of a favourite): dropout 0.5 after each hidden layer; L2 ``keras.regularizers.l2(c)`` (loss +
c·Σw², i.e. SGD ``weight_decay=2c`` on the weight matrices); L1 (loss + c·Σ|w|, ``l1_penalty``); a
max-norm constraint ``MaxNorm(c)`` on the weights into each unit, applied after every step; data
augmentation (random translations of up to 2 pixels, ``RandomCrop(28, padding=2)``). Measured: the
train-minus-validation accuracy gap and the validation accuracy after the same number of steps.
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn
from nabla.data.transforms import RandomCrop
from nabla.nn import functional as F
from nabla.optim import MaxNorm, apply_constraint, l1_penalty

from ._common import Data, batch_indices, evaluate, fmt, linears, make_mlp, mnist_8k2k, seed_all
from .base import Lab, LabResult, Measurement, Verdict

# name -> (method, strength). Each penalty at three strengths, Keras' default among them (l2(0.01),
# MaxNorm(2)); l1's default 0.01 silences every weight of this net, so its grid sits lower.
FULL = {"baseline": ("baseline", 0), "dropout_0.5": ("dropout", 0.5),
        "l2_1e-4": ("l2", 1e-4), "l2_1e-3": ("l2", 1e-3), "l2_1e-2": ("l2", 1e-2),
        "l1_1e-5": ("l1", 1e-5), "l1_1e-4": ("l1", 1e-4), "l1_1e-3": ("l1", 1e-3),
        "max_norm_2": ("max_norm", 2.0), "max_norm_1": ("max_norm", 1.0), "max_norm_0.5": ("max_norm", 0.5),
        "augmentation": ("augmentation", 2)}
QUICK = ("baseline", "dropout_0.5", "l2_1e-2", "l1_1e-4", "max_norm_0.5", "augmentation")
LR, MOMENTUM, BATCH = 0.05, 0.9, 32


def build(data: Data, method: str, strength: float) -> nn.Sequential:
    """The baseline MLP; with ``dropout``, an ``nn.Dropout(strength)`` after each hidden activation."""
    model = make_mlp([data.features, 256, 256, data.classes])
    if method != "dropout":
        return model
    layers = []
    for layer in model:
        layers.append(layer)
        if isinstance(layer, nn.ReLU):
            layers.append(nn.Dropout(strength))
    return nn.Sequential(*layers)


def train_variant(data: Data, method: str, strength: float, seed: int, steps: int) -> tuple[nn.Module, list[float]]:
    """SGD with momentum for ``steps`` steps; returns the model and its validation accuracy per epoch."""
    rng = seed_all(seed)
    model = build(data, method, strength)
    weights = [lin.weight for lin in linears(model)]
    others = [p for p in model.parameters() if all(p is not w for w in weights)]
    decay = 2 * strength if method == "l2" else 0.0  # d/dw of strength * w²: Keras' l2(strength) as weight decay
    opt = nabla.optim.SGD([{"params": weights, "weight_decay": decay}, {"params": others}], lr=LR, momentum=MOMENTUM)
    if method == "max_norm":  # Linear weight is (out, in): axis=1 bounds the weights into each unit
        constraint = MaxNorm(strength, axis=1)
        opt.register_step_post_hook(lambda *_: [apply_constraint(w, constraint) for w in weights])
    side = int(round(numpy.sqrt(data.features)))
    crop = RandomCrop(side, padding=strength if side >= 28 else 1)
    batches = batch_indices(len(data.y_train), BATCH, rng)
    per_epoch = max(1, len(data.y_train) // BATCH)
    val_curve = []
    model.train()
    for step in range(steps):
        idx = next(batches)
        x = data.x_train[idx]
        if method == "augmentation":  # a random shift of each image, as (N, 1, H, W) for the transform
            x = crop(nabla.tensor(x.reshape(-1, 1, side, side))).numpy().reshape(len(idx), -1)
        loss = F.cross_entropy(model(nabla.tensor(x)), nabla.tensor(data.y_train[idx]))
        if method == "l1":
            loss = loss + strength * l1_penalty(weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % per_epoch == 0:
            val_curve.append(evaluate(model, data.x_test, data.y_test)[0])
    return model, val_curve


def max_row_norm(model: nn.Module) -> float:
    """The largest L2 norm of the weights into one unit, over all Linear layers (what MaxNorm bounds)."""
    return max(float(numpy.linalg.norm(lin.weight.detach().numpy(), axis=1).max()) for lin in linears(model))


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=200 if ctx.quick else 500, n_test=500 if ctx.quick else 2000)
    epochs = 25 if ctx.quick else 80
    names = list(QUICK) if ctx.quick else list(FULL)
    steps = epochs * max(1, len(data.y_train) // BATCH)
    gap = {v: [] for v in names}
    val = {v: [] for v in names}
    train_acc = {v: [] for v in names}
    row_norm = []
    curves = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for v in names:
            model, curve = train_variant(data, *FULL[v], seed, steps)
            tr, _ = evaluate(model, data.x_train, data.y_train)
            va, _ = evaluate(model, data.x_test, data.y_test)
            gap[v].append(tr - va)
            val[v].append(va)
            train_acc[v].append(tr)
            if v == "baseline":
                row_norm.append(max_row_norm(model))
            if seed == ctx.seeds[0]:
                curves[v] = curve

    _figure(ctx, curves, gap, names, data)
    narrows = {v: all(g < b for g, b in zip(gap[v], gap["baseline"])) for v in names[1:]}
    helps = {v: all(a > b for a, b in zip(val[v], val["baseline"])) for v in names[1:]}
    methods = list(dict.fromkeys(FULL[v][0] for v in names[1:]))
    works = [m for m in methods if any(narrows[v] and helps[v] for v in names[1:] if FULL[v][0] == m)]
    fails = [m for m in methods if m not in works]
    if not fails:
        verdict, condition = Verdict.SUPPORTED, None
    elif not works:
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            f"{', '.join(works)} narrow the gap and raise validation accuracy in every seed (at some strength "
            f"tried); {', '.join(fails)} do not, on {len(data.y_train)} training images")
    reading = (f"On {data.describe()}, {epochs} epochs of SGD+momentum; baseline train accuracy "
               f"{fmt(train_acc['baseline'], 3)}. Train-minus-validation accuracy gap: "
               + "; ".join(f"{v} {fmt(gap[v], 2)}" for v in names)
               + ". Validation accuracy: " + "; ".join(f"{v} {fmt(val[v], 3)}" for v in names)
               + f". The baseline's largest weight-row norm is {fmt(row_norm)}: a max-norm bound above it never "
               "binds.")
    notes_wrong = None
    underfit = [v for v in names[1:] if narrows[v] and not helps[v]]
    if underfit:
        notes_wrong = (f"The notes list each method as preventing overfitting. {', '.join(underfit)} narrowed the "
                       "train-validation gap without raising validation accuracy in every seed: the gap closed "
                       "(partly) because training accuracy fell, not because the model generalised better. A "
                       "smaller gap alone is not evidence of a better model.")
    measurements = [Measurement("baseline", "max_weight_row_norm", row_norm, "", None)]
    for v in names:
        measurements += [Measurement(v, "train_minus_val_accuracy", gap[v], "", "lower"),
                         Measurement(v, "val_accuracy", val[v], "", "higher"),
                         Measurement(v, "train_accuracy", train_acc[v], "", None)]
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "epochs": epochs, "lr": LR,
                            "momentum": MOMENTUM, "batch_size": BATCH, "variants": {v: FULL[v] for v in names},
                            "narrows_gap": narrows, "raises_val_accuracy": helps, "methods_that_work": works})


def _figure(ctx, curves: dict, gap: dict, names: list, data: Data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    ax = axes[0]
    for i, v in enumerate(names):
        ax.plot(range(1, len(curves[v]) + 1), curves[v], color=f"C{i % 10}", label=v, lw=2 if v == "baseline" else 1,
                ls="-" if i < 10 else "--")
    ax.set(xlabel="epoch", ylabel="validation accuracy", title=f"{data.name}, {len(data.y_train)} training images "
                                                                  f"(seed {ctx.seeds[0]})")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    means = [numpy.mean(gap[v]) for v in names]
    stds = [numpy.std(gap[v], ddof=1) if len(gap[v]) > 1 else 0.0 for v in names]
    ax.bar(names, means, yerr=stds, capsize=3, color=[f"C{i % 10}" for i in range(len(names))])
    ax.set(ylabel="train − validation accuracy", title="the generalisation gap (mean ± std over seeds)")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    ctx.savefig(fig, "regularization")


LAB = Lab(
    name="regularization",
    title="Regularisation: dropout, L2, L1, max-norm, augmentation — one change at a time",
    claim=("Weight decay, dropout and weight constraints each prevent overfitting (notes 004, 003); so does data "
           "augmentation (issue 13)."),
    note="004_7e784a9328faeb63.txt,003_e08a359f4782c39a.txt",
    setup=("MNIST, 500 training images (deliberately small) and 2,000 validation images (digits if absent); "
           "784-256-256-10 ReLU MLP, SGD lr 0.05 momentum 0.9, batch 32, 80 epochs. Each variant changes one "
           "thing: Dropout(0.5) after each hidden layer; L2 l2(c) on the weights, c in {1e-4, 1e-3, 1e-2}; L1 "
           "c in {1e-5, 1e-4, 1e-3}; MaxNorm(c) on the weights into each unit after every step, c in {2, 1, 0.5}; "
           "random translations of up to 2 pixels (RandomCrop(28, padding=2)). A method 'works' if at some "
           "strength it both narrows the gap and raises validation accuracy in every seed."),
    seeds=3,
    run=run,
)
