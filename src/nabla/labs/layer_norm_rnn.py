"""Labs II, 8 — normalising an LSTM: layer norm vs per-time-step batch norm vs none, with variable
lengths and small batches.

An LSTM is written out step by step so that a normalisation can sit where the literature puts it: on
the gates' pre-activations ``a_t = W [x_t; h_{t-1}] + b`` (4H values) before the nonlinearities.

- ``none``: ``a_t`` as is;
- ``layer_norm``: ``nn.LayerNorm(4H)`` — statistics over the 4H features of each sequence at each step
  (Ba et al., 2016), the same at training and test time, independent of the batch;
- ``batch_norm``: one ``nn.BatchNorm1d(4H)`` per time step (Cooijmans et al., 2017: per-time-step
  statistics; steps beyond the longest training length reuse the last one). Sequences are padded to
  the batch's longest one, so at late steps the statistics come from few real sequences (and padding);
  at test time the running averages are used.

Task: a sequence of 5–``max_len`` noisy ±1 tokens (lengths vary within a batch); say whether the
tokens sum to more than 0 (read at each sequence's own last step). Hidden 32, batch 8 (small), Adam,
the same steps and batches; only the normalisation changes. Measured: test accuracy overall and on
the longest third of the lengths, and the final training loss.
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from ._common import fmt, seed_all
from .base import Lab, LabResult, Measurement, Verdict

HIDDEN, BATCH, LR, MIN_LEN = 32, 8, 3e-3, 5  # MIN_LEN odd: every length is odd
CONFIGS = ("none", "layer_norm", "batch_norm")


class NormLSTM(nn.Module):
    """A one-layer LSTM unrolled in Python with an optional normalisation of the gate pre-activations."""

    def __init__(self, inputs: int, hidden: int, norm: str, max_len: int) -> None:
        super().__init__()
        if norm not in CONFIGS:
            raise ValueError(f"NormLSTM: norm must be one of {', '.join(CONFIGS)}, got {norm!r}")
        self.hidden, self.norm_kind = hidden, norm
        self.gates = nn.Linear(inputs + hidden, 4 * hidden)
        with nabla.no_grad():  # forget-gate bias 1 (Gers et al.), the same for every variant
            self.gates.bias[hidden:2 * hidden] = 1.0
        if norm == "layer_norm":
            self.norms = nn.ModuleList([nn.LayerNorm(4 * hidden)])
        elif norm == "batch_norm":
            self.norms = nn.ModuleList([nn.BatchNorm1d(4 * hidden) for _ in range(max_len)])
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: nabla.Tensor, lengths: numpy.ndarray) -> nabla.Tensor:
        b, t_max, _ = x.shape
        h = nabla.zeros(b, self.hidden)
        c = nabla.zeros(b, self.hidden)
        finals = []
        for t in range(t_max):
            a = self.gates(nabla.cat([x[:, t], h], -1))
            if self.norm_kind == "layer_norm":
                a = self.norms[0](a)
            elif self.norm_kind == "batch_norm":
                a = self.norms[min(t, len(self.norms) - 1)](a)
            i, f, g, o = a.chunk(4, -1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = o.sigmoid() * c.tanh()
            finals.append(h)
        hs = nabla.stack(finals, 1)  # (B, T, H)
        last = hs[numpy.arange(b), numpy.asarray(lengths) - 1]
        return self.head(last)


def make_batch(rng: numpy.random.Generator, b: int, max_len: int) -> tuple:
    """Noisy ±1 tokens, zero-padded to the longest; label = sum of the signs > 0 (odd lengths: no ties)."""
    lengths = rng.choice(numpy.arange(MIN_LEN, max_len + 1, 2), b)  # odd lengths, uniform
    t_max = int(lengths.max())
    signs = rng.choice([-1.0, 1.0], (b, t_max))
    signs[numpy.arange(t_max)[None, :] >= lengths[:, None]] = 0.0
    x = numpy.stack([signs + rng.normal(0, 0.3, signs.shape) * (signs != 0), (signs != 0) * 1.0], -1)
    y = (signs.sum(1) > 0).astype(numpy.int64)
    return nabla.tensor(x.astype(numpy.float32)), lengths, nabla.tensor(y)


def train_and_test(norm: str, max_len: int, steps: int, seed: int, n_test: int) -> dict:
    rng = seed_all(seed)
    model = NormLSTM(2, HIDDEN, norm, max_len)
    opt = nabla.optim.Adam(model.parameters(), lr=LR)
    losses = []
    model.train()
    for _ in range(steps):
        x, lengths, y = make_batch(rng, BATCH, max_len)
        loss = F.cross_entropy(model(x, lengths), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.item()))
    model.eval()
    test_rng = numpy.random.default_rng(seed + 10_000)
    correct, long_correct, long_total = 0, 0, 0
    with nabla.no_grad():
        for _ in range(n_test // 100):
            x, lengths, y = make_batch(test_rng, 100, max_len)
            right = model(x, lengths).numpy().argmax(1) == y.numpy()
            correct += int(right.sum())
            long = lengths > max_len - (max_len - MIN_LEN) // 3
            long_correct += int(right[long].sum())
            long_total += int(long.sum())
    return {"acc": correct / (n_test // 100 * 100), "long_acc": long_correct / max(long_total, 1),
            "train_loss": float(numpy.mean(losses[-50:])), "curve": losses}


def run(ctx) -> LabResult:
    max_len, steps, n_test = (15, 150, 500) if ctx.quick else (31, 500, 2000)
    res = {c: {"acc": [], "long_acc": [], "train_loss": []} for c in CONFIGS}
    curves = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for c in CONFIGS:
            r = train_and_test(c, max_len, steps, seed, n_test)
            for k in res[c]:
                res[c][k].append(r[k])
            curves.setdefault(c, r["curve"])
    ln, bn, no = res["layer_norm"]["acc"], res["batch_norm"]["acc"], res["none"]["acc"]
    ln_beats_bn = all(a > b for a, b in zip(ln, bn))
    bn_hurts = all(b < n for b, n in zip(bn, no))
    bn_helps = all(b > n for b, n in zip(bn, no))
    if ln_beats_bn and bn_hurts:
        verdict, condition = Verdict.SUPPORTED, None
    elif ln_beats_bn:
        verdict, condition = Verdict.DEPENDS, (
            "per-time-step batch norm can be used (it does not do worse than no normalisation in every seed), but "
            "layer norm does better than it in every seed with these small batches and variable lengths")
    else:
        verdict, condition = Verdict.REFUTED, None
    reading = (
        f"Test accuracy (lengths {MIN_LEN}–{max_len}, batch {BATCH}, {steps} steps): no norm {fmt(no, 3)}, layer "
        f"norm {fmt(ln, 3)}, per-step batch norm {fmt(bn, 3)}; on the longest third of the lengths "
        f"{fmt(res['none']['long_acc'], 3)}, {fmt(res['layer_norm']['long_acc'], 3)}, "
        f"{fmt(res['batch_norm']['long_acc'], 3)}. Final training loss (batch statistics for batch norm) "
        f"{fmt(res['none']['train_loss'])}, {fmt(res['layer_norm']['train_loss'])}, "
        f"{fmt(res['batch_norm']['train_loss'])}.")
    notes_wrong = None
    if not bn_hurts:
        notes_wrong = ("Note 000 says batch norm cannot be used in RNNs; with per-time-step statistics (Cooijmans et "
                       f"al.) it trained to a test accuracy of {fmt(bn, 3)} vs {fmt(no, 3)} without normalisation"
                       + (" — better in every seed" if bn_helps else "") + f" (layer norm {fmt(ln, 3)}). It can be "
                       "used; it is the batch-size and length dependence of its statistics that make layer norm the "
                       "simpler choice.")
    measurements = []
    for c in CONFIGS:
        measurements.append(Measurement(c, "test_accuracy", res[c]["acc"], "", "higher"))
        measurements.append(Measurement(c, "test_accuracy_longest_third", res[c]["long_acc"], "", "higher"))
        measurements.append(Measurement(c, "final_train_loss", res[c]["train_loss"], "nats", "lower"))
    _figure(ctx, curves, res)
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"max_len": max_len, "min_len": MIN_LEN, "steps": steps, "batch": BATCH,
                            "hidden": HIDDEN, "lr": LR, "test_sequences": n_test})


def _figure(ctx, curves: dict, res: dict) -> None:
    import matplotlib.pyplot as plt

    from ._common import smooth

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for c in CONFIGS:
        axes[0].plot(smooth(curves[c], 20), label=c)
    axes[0].set(xlabel="step", ylabel="training loss (smoothed)", title=f"Training (seed {ctx.seeds[0]})")
    axes[0].legend(fontsize=8)
    x = numpy.arange(2)
    for j, c in enumerate(CONFIGS):
        m = [numpy.mean(res[c]["acc"]), numpy.mean(res[c]["long_acc"])]
        s = [numpy.std(res[c]["acc"]), numpy.std(res[c]["long_acc"])]
        axes[1].bar(x + (j - 1) * 0.27, m, 0.27, yerr=s, capsize=3, label=c)
    axes[1].set(xticks=x, xticklabels=["all lengths", "longest third"], ylim=(0.4, 1.02), ylabel="test accuracy",
                title="Test accuracy (mean ± std over seeds)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "layer_norm_rnn")


LAB = Lab(
    name="layer_norm_rnn",
    title="Layer norm vs per-time-step batch norm vs none in an LSTM (variable lengths, small batches)",
    claim="Batch norm cannot be used in RNNs, so normalisation is done per layer (layer normalisation).",
    note="000_a64c7b5953f5f1e7.txt",
    setup=("A step-by-step LSTM (hidden 32) whose gate pre-activations are left as is, layer-normalised, or "
           "batch-normalised with one BatchNorm1d per time step; sequences of 5..max_len noisy ±1 tokens padded "
           "in batches of 8, label = sign of the sum read at each sequence's last step; Adam lr 3e-3, clip 1, the "
           "same steps and batches; only the normalisation changes. Test accuracy on fresh sequences (batch norm "
           "with its running statistics)."),
    seeds=3,
    run=run,
)
