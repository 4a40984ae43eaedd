"""Labs II, 11 — transfer learning: a small CNN pre-trained on digits 0–4, reused for digits 5–9.

Data: scikit-learn's 8x8 digits (1,797 images; 80/20 split by seed) — small enough that a CNN trains in
seconds on this CPU. Source task: classify 0–4 (all their training images). Target task: classify 5–9
from 1% to 100% of their training images (at least one per class), tested on all their test images.

The network: ``Conv(1→8, 3x3) → ReLU → MaxPool → Conv(8→16, 3x3) → ReLU → MaxPool → Linear(64→5)``.
Three ways to get a 5–9 classifier, each with the same optimizer (Adam), steps and batches; only how
the convolutional backbone starts and whether it learns changes:

- ``scratch``: a fresh network, everything trained;
- ``frozen``: the pre-trained backbone fixed, a new head trained (feature extraction);
- ``fine_tune``: the pre-trained backbone and a new head, everything trained.

Measured: target test accuracy after the full budget and after a quarter of it ("trains faster").
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from ._common import digits, fmt, seed_all
from .base import Lab, LabResult, Measurement, Verdict

CONFIGS = ("scratch", "frozen", "fine_tune")
BATCH, LR = 32, 3e-3


def backbone() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())


def split(seed: int) -> dict[str, tuple[numpy.ndarray, numpy.ndarray]]:
    """Source (0-4) train and target (5-9) train/test as (N, 1, 8, 8) images and labels 0..4."""
    d = digits(seed)
    out = {}
    for name, x, y in (("train", d.x_train, d.y_train), ("test", d.x_test, d.y_test)):
        x = x.reshape(-1, 1, 8, 8).astype(numpy.float32)
        for task, lo in (("source", 0), ("target", 5)):
            keep = (y >= lo) & (y < lo + 5)
            out[f"{task}_{name}"] = (x[keep], (y[keep] - lo).astype(numpy.int64))
    return out


def fit(model: nn.Module, params, x: numpy.ndarray, y: numpy.ndarray, steps: int, rng, checkpoints=(),
        test=None) -> dict[int, float]:
    """Adam on ``params`` for ``steps`` batches; test accuracy at the ``checkpoints`` (steps done)."""
    opt = nabla.optim.Adam(params, lr=LR)
    acc = {}
    for s in range(1, steps + 1):
        i = rng.integers(0, len(y), min(BATCH, len(y)))
        loss = F.cross_entropy(model(nabla.tensor(x[i])), nabla.tensor(y[i]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s in checkpoints:
            acc[s] = accuracy(model, *test)
    return acc


def accuracy(model: nn.Module, x: numpy.ndarray, y: numpy.ndarray) -> float:
    with nabla.no_grad():
        return float((model(nabla.tensor(x)).numpy().argmax(1) == y).mean())


def subset(x: numpy.ndarray, y: numpy.ndarray, fraction: float, rng) -> tuple[numpy.ndarray, numpy.ndarray]:
    """``fraction`` of the rows (at least one per class), drawn by ``rng``."""
    keep = [int(rng.choice(numpy.nonzero(y == c)[0])) for c in range(5)]
    rest = numpy.setdiff1d(numpy.arange(len(y)), keep)
    n = max(0, int(round(fraction * len(y))) - 5)
    keep += list(rng.choice(rest, n, replace=False))
    return x[keep], y[keep]


def run(ctx) -> LabResult:
    fractions = [0.01, 1.0] if ctx.quick else [0.01, 0.03, 0.1, 0.3, 1.0]
    pre_steps, steps = 300, 200  # the quick run only has fewer fractions: the budget decides the answer
    very_early, early = steps // 8, steps // 4
    acc = {c: {f: [] for f in fractions} for c in CONFIGS}
    acc_early = {c: {f: [] for f in fractions} for c in CONFIGS}
    acc_very_early = {c: {f: [] for f in fractions} for c in CONFIGS}
    source_acc, sizes = [], {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        data = split(seed)
        rng = seed_all(seed)
        pre = nn.Sequential(backbone(), nn.Linear(64, 5))
        fit(pre, pre.parameters(), *data["source_train"], pre_steps, rng)
        source_acc.append(accuracy(pre, *data["source_test"]))
        for f in fractions:
            x, y = subset(*data["target_train"], f, numpy.random.default_rng(seed + 100))
            sizes[f] = len(y)
            for c in CONFIGS:
                nabla.manual_seed(seed + 1)  # the same new head for every configuration
                body = backbone()
                if c != "scratch":
                    body.load_state_dict(pre[0].state_dict())
                model = nn.Sequential(body, nn.Linear(64, 5))
                body.requires_grad_(c != "frozen")
                params = model[1].parameters() if c == "frozen" else model.parameters()
                r = fit(model, list(params), x, y, steps, numpy.random.default_rng(seed + 200),
                        checkpoints=(very_early, early, steps), test=data["target_test"])
                acc[c][f].append(r[steps])
                acc_early[c][f].append(r[early])
                acc_very_early[c][f].append(r[very_early])

    small, full = fractions[0], fractions[-1]

    def beats(c: str, f: float, table: dict) -> bool:
        """``c`` above scratch at fraction ``f`` in every seed."""
        return all(t > s for t, s in zip(table[c][f], table["scratch"][f]))

    less_data = beats("fine_tune", small, acc)  # the claim's three parts, judged on fine-tuning
    faster = beats("fine_tune", full, acc_early)
    generalises = beats("fine_tune", full, acc)
    gap_shrinks = all(
        (ft - s_full) < (fs - s_small) for ft, s_full, fs, s_small in
        zip(acc["fine_tune"][full], acc["scratch"][full], acc["fine_tune"][small], acc["scratch"][small]))
    parts = {"needs less data (better than scratch with 1% of the target data)": less_data,
             "trains faster (better than scratch after a quarter of the steps with all the data)": faster,
             "generalises better (better than scratch at the end with all the data)": generalises}
    if all(parts.values()):
        verdict, condition = Verdict.SUPPORTED, None
    elif not any(parts.values()):
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            "Fine-tuning " + "; ".join(("holds: " if ok else "does not hold in every seed: ") + k
                                       for k, ok in parts.items()) + ".")
    reading = (
        f"Source task (0–4) test accuracy after pre-training: {fmt(source_acc, 3)}. Target (5–9) test accuracy after "
        f"{steps} steps: " + "; ".join(
            f"{int(round(100 * f))}% ({sizes[f]} images): scratch {fmt(acc['scratch'][f], 3)}, frozen "
            f"{fmt(acc['frozen'][f], 3)}, fine-tune {fmt(acc['fine_tune'][f], 3)}" for f in fractions)
        + f". After {early} steps with all the data: scratch {fmt(acc_early['scratch'][full], 3)}, frozen "
        f"{fmt(acc_early['frozen'][full], 3)}, fine-tune {fmt(acc_early['fine_tune'][full], 3)}; after {very_early} "
        f"steps: scratch {fmt(acc_very_early['scratch'][full], 3)}, fine-tune "
        f"{fmt(acc_very_early['fine_tune'][full], 3)}; with 1% after {very_early} steps: scratch "
        f"{fmt(acc_very_early['scratch'][small], 3)}, fine-tune {fmt(acc_very_early['fine_tune'][small], 3)}. "
        "The advantage of "
        f"fine-tuning over scratch " + ("shrinks" if gap_shrinks else "does not shrink in every seed")
        + " as the target data grows.")
    wrong = [k for k, ok in parts.items() if not ok]
    notes_wrong = None
    if wrong:
        notes_wrong = (
            "Note 004 says transfer learning needs less data, trains faster and generalises better. With this small "
            f"CNN and {steps} Adam steps, fine-tuning from digits 0–4 does not (in every seed): " + "; ".join(wrong)
            + f". Final 5–9 accuracy with 1% of the data: fine-tune {fmt(acc['fine_tune'][small], 3)} vs scratch "
            f"{fmt(acc['scratch'][small], 3)}; with all of it {fmt(acc['fine_tune'][full], 3)} vs "
            f"{fmt(acc['scratch'][full], 3)}; a frozen backbone ends at {fmt(acc['frozen'][full], 3)}. The head start "
            f"exists only in the first steps (after {very_early}: {fmt(acc_very_early['fine_tune'][full], 3)} vs "
            f"{fmt(acc_very_early['scratch'][full], 3)}) — a source task this close and this small gives features "
            "a from-scratch CNN relearns within a few dozen steps.")
    measurements = [Measurement("pretrained", "source_test_accuracy", source_acc, "", "higher")]
    for c in CONFIGS:
        for f in fractions:
            pct = int(round(100 * f))
            measurements.append(Measurement(c, f"target_accuracy_{pct}pct", acc[c][f], "", "higher"))
            measurements.append(Measurement(c, f"target_accuracy_{pct}pct_after_{early}_steps", acc_early[c][f], "",
                                            "higher"))
            measurements.append(Measurement(c, f"target_accuracy_{pct}pct_after_{very_early}_steps",
                                            acc_very_early[c][f], "", "higher"))
    _figure(ctx, fractions, sizes, acc)
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"fractions": fractions, "target_train_sizes": {str(f): n for f, n in sizes.items()},
                            "pretrain_steps": pre_steps, "steps": steps, "early_steps": early,
                            "very_early_steps": very_early, "batch": BATCH,
                            "lr": LR, "data": "sklearn digits 8x8 (MNIST convolutions are too slow on this CPU)"})


def _figure(ctx, fractions, sizes, acc) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    n = [sizes[f] for f in fractions]
    for c in CONFIGS:
        ax.errorbar(n, [numpy.mean(acc[c][f]) for f in fractions], yerr=[numpy.std(acc[c][f]) for f in fractions],
                    marker="o", capsize=3, label=c)
    ax.set(xscale="log", xlabel="target (5–9) training images", ylabel="target test accuracy", ylim=(0, 1.02),
           title="Digits 0–4 → 5–9: transfer vs scratch (mean ± std)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "transfer_learning")


LAB = Lab(
    name="transfer_learning",
    title="Transfer learning: pre-trained on digits 0–4, fine-tuned on 5–9 with 1%…100% of the data",
    claim=("Transfer learning reuses a network trained on existing data: it needs less training data, trains "
           "faster, and gives a model that generalises better."),
    note="004_7e784a9328faeb63.txt",
    setup=("sklearn 8x8 digits. A CNN (conv 8, conv 16, 3x3, max-pool, linear) pre-trained on 0–4; a 5–9 "
           "classifier from 1%, 3%, 10%, 30% or 100% of the 5–9 training images (>= 1 per class): from scratch, frozen "
           "pre-trained backbone + new head, or fine-tuning everything. Adam lr 3e-3, batch 32, the same steps, "
           "batches and new head; test accuracy on all 5–9 test images, at the end and after an eighth and a "
           "quarter of the steps."),
    seeds=5,
    run=run,
)
