"""Labs II.3 — pooling: what subsampling saves, and whether max pooling is what saves it.

Three CNNs with the same two 5x5 convolutions (8 and 16 channels, ReLU) and a linear read-out differ
only in how they downsample: ``max_pool`` (2x2 max pooling after each convolution), ``strided`` (no
pooling; each convolution has stride 2 instead — the same weights, a quarter of the positions) and
``none`` (no downsampling: the feature maps stay 28x28, and the read-out is 16x larger). Trained the
same way (Adam, same steps) on a small training set, so that overfitting shows. Measured: the
activations a forward pass keeps for backward (bytes per image, counted with forward hooks), the median
wall time of a training step, test accuracy, and the train-minus-test accuracy gap.
"""

from __future__ import annotations

import time

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from ._common import ImageView, batch_indices, evaluate, fmt, image_side, make_cnn, mnist_8k2k, n_params, seed_all
from .base import Lab, LabResult, Measurement, Verdict

LR, BATCH = 2e-3, 64
VARIANTS = ("max_pool", "strided", "none")


def build(side: int, variant: str, classes: int = 10, channels=(8, 16), kernel: int = 5) -> nn.Sequential:
    """The CNN with max pooling, strided convolutions instead, or no downsampling at all."""
    if variant == "max_pool":
        return make_cnn(side, channels, kernel, classes, pool=True)
    if variant == "none":
        return make_cnn(side, channels, kernel, classes, pool=False)
    if variant != "strided":
        raise ValueError(f"pooling.build: variant must be one of {VARIANTS}, got {variant!r}")
    layers: list[nn.Module] = [ImageView(side)]
    c_in, s = 1, side
    for c in channels:
        layers += [nn.Conv2d(c_in, c, kernel, stride=2, padding=kernel // 2), nn.ReLU()]
        c_in, s = c, (s + 1) // 2
    layers += [nn.Flatten(), nn.Linear(c_in * s * s, classes)]
    return nn.Sequential(*layers)


def activation_bytes(model: nn.Sequential, side: int) -> int:
    """Bytes of float32 activations per image that the layers output in a forward pass (what autograd keeps
    for backward, up to the ops' own buffers), counted with a forward hook on every layer."""
    total = [0]
    handles = [m.register_forward_hook(lambda _m, _i, out: total.__setitem__(0, total[0] + out.numel()))
               for m in model]
    with nabla.no_grad():
        model(nabla.zeros(1, side * side))
    for h in handles:
        h.remove()
    return 4 * total[0]


def train_timed(model: nn.Module, x: numpy.ndarray, y: numpy.ndarray, steps: int, seed: int) -> float:
    """Adam for ``steps`` steps; returns the median wall time of a step (the first 3, warm-up, excluded)."""
    opt = nabla.optim.Adam(model.parameters(), lr=LR)
    batches = batch_indices(len(y), BATCH, numpy.random.default_rng(seed))
    times = []
    model.train()
    for _ in range(steps):
        idx = next(batches)
        t = time.perf_counter()
        loss = F.cross_entropy(model(nabla.tensor(x[idx])), nabla.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return float(numpy.median(times[3:]))


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=500 if ctx.quick else 1000, n_test=300 if ctx.quick else 2000)
    side = image_side(data)
    steps = 40 if ctx.quick else 300
    params = {v: n_params(build(side, v, data.classes)) for v in VARIANTS}
    memory = {v: activation_bytes(build(side, v, data.classes), side) for v in VARIANTS}
    test_acc = {v: [] for v in VARIANTS}
    train_acc = {v: [] for v in VARIANTS}
    step_ms = {v: [] for v in VARIANTS}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for v in VARIANTS:
            seed_all(seed)
            model = build(side, v, data.classes)
            step_ms[v].append(1000 * train_timed(model, data.x_train, data.y_train, steps, seed))
            train_acc[v].append(evaluate(model, data.x_train, data.y_train)[0])
            test_acc[v].append(evaluate(model, data.x_test, data.y_test)[0])
    gap = {v: [a - b for a, b in zip(train_acc[v], test_acc[v])] for v in VARIANTS}

    def lower(a: dict, x: str, y: str) -> bool:
        return all(p < q for p, q in zip(a[x], a[y]))

    saves_memory = memory["max_pool"] < memory["none"]
    saves_time = lower(step_ms, "max_pool", "none")
    less_overfit = lower(gap, "max_pool", "none")
    parts = {"memory": saves_memory, "time per step": saves_time, "train-test gap": less_overfit}
    if all(parts.values()):
        verdict, condition = Verdict.SUPPORTED, None
    elif not any(parts.values()):
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            "max pooling lowers " + ", ".join(k for k, ok in parts.items() if ok) + " in every seed but not "
            + ", ".join(k for k, ok in parts.items() if not ok) + ", against the same CNN without downsampling")
    strided_as_good = (memory["strided"] <= memory["max_pool"] and lower(step_ms, "strided", "max_pool")
                       and numpy.mean(test_acc["strided"]) >= numpy.mean(test_acc["max_pool"]) - 0.01)
    notes_wrong = None
    if not less_overfit:
        notes_wrong = (f"Pooling did not narrow the train-test gap in every seed: max pool "
                       f"{fmt(gap['max_pool'], 2)} vs no downsampling {fmt(gap['none'], 2)} on "
                       f"{len(data.y_train)} training images.")
    reading = (f"On {data.describe()}, {steps} Adam steps (lr {LR}, batch {BATCH}). Activations per image: max pool "
               f"{memory['max_pool'] / 1024:.1f} KiB, strided {memory['strided'] / 1024:.1f} KiB, none "
               f"{memory['none'] / 1024:.1f} KiB; parameters {params['max_pool']:,} / {params['strided']:,} / "
               f"{params['none']:,}. Median step time: " + "; ".join(f"{v} {fmt(step_ms[v], 3)} ms" for v in VARIANTS)
               + " (a shared, loaded machine: compare within a seed). Test accuracy: "
               + "; ".join(f"{v} {fmt(test_acc[v], 3)}" for v in VARIANTS) + ". Train−test gap: "
               + "; ".join(f"{v} {fmt(gap[v], 2)}" for v in VARIANTS) + ". Strided convolutions "
               + ("match max pooling's savings and accuracy (within 1 point): the gain is the downsampling, not the "
                  "max." if strided_as_good else "do not match max pooling on every count."))
    measurements = []
    for v in VARIANTS:
        n = len(ctx.seeds)
        measurements += [Measurement(v, "activation_bytes_per_image", [memory[v]] * n, "B", "lower"),
                         Measurement(v, "parameters", [params[v]] * n, "", None),
                         Measurement(v, "step_time", step_ms[v], "ms", "lower"),
                         Measurement(v, "test_accuracy", test_acc[v], "", "higher"),
                         Measurement(v, "train_accuracy", train_acc[v], "", None),
                         Measurement(v, "train_minus_test_accuracy", gap[v], "", "lower")]
    _figure(ctx, memory, step_ms, test_acc, gap)
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "steps": steps, "lr": LR,
                            "batch_size": BATCH, "parameters": params, "activation_bytes": memory,
                            "claim_parts": parts, "strided_as_good_as_max_pool": bool(strided_as_good)})


def _figure(ctx, memory, step_ms, test_acc, gap) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    colors = ["C0", "C1", "C2"]
    panels = ((memory, "activations per image (KiB)", 1 / 1024), (step_ms, "training step (ms, median)", 1),
              (test_acc, "test accuracy", 1), (gap, "train − test accuracy", 1))
    for ax, (values, label, scale) in zip(axes, panels):
        ms = [numpy.mean(values[v]) * scale for v in VARIANTS]
        ss = [(numpy.std(values[v], ddof=1) if numpy.ndim(values[v]) and len(values[v]) > 1 else 0) * scale
              for v in VARIANTS]
        ax.bar(VARIANTS, ms, yerr=ss, capsize=3, color=colors)
        ax.set(title=label)
        if label == "test accuracy":
            ax.set_ylim(min(ms) - 0.05, min(1.0, max(ms) + 0.03))
    fig.suptitle("max pooling vs strided convolution vs no downsampling (mean ± std over seeds)")
    fig.tight_layout()
    ctx.savefig(fig, "pooling")


LAB = Lab(
    name="pooling",
    title="Pooling: memory, time and overfitting — and strided convolutions instead",
    claim=("\"A pooling layer makes sub-samples of the input image, which reduces memory, time and so on, and "
           "reduces overfitting\" (000)."),
    note="000_a64c7b5953f5f1e7.txt,004_7e784a9328faeb63.txt",
    setup=("MNIST, 1,000 training images (small, so overfitting shows) and 2,000 test images (digits if absent). "
           "Conv5x5(8)-ReLU-Conv5x5(16)-ReLU-Linear with 'same' padding; varied only the downsampling: 2x2 max "
           "pooling after each conv, stride-2 convs instead, or none. Adam lr 2e-3, batch 64, 300 steps. Measured: "
           "activation bytes per image (forward hooks), median step time, test accuracy, train−test gap."),
    seeds=3,
    run=run,
)
