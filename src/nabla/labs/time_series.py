"""Labs II, 13 — forecasting a seasonal series with a trend: RNN, LSTM, GRU and a 1-D CNN vs the naive
last-value forecast.

The series (a new one per seed, "real-looking" rather than pure sines): a linear trend, a daily-like
season of period 24, a slower one of period 60 with a random phase, an AR(1) disturbance
(``e_t = 0.8 e_{t-1} + N(0, 0.15²)``) and white measurement noise ``N(0, 0.1²)``; 3,000 points, the
first 70% to train on, the last 30% to test on (so the test lies beyond the training range: the trend).

Every model reads a window of the last ``W`` values and predicts the next ``H`` at once (direct
multi-horizon). Inputs are the window minus its last value (targets likewise): the same preprocessing
for every model, which makes the naive forecast "no change" and removes the trend's level shift.
Only the model changes: a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` (last state → ``Linear(H)``)
or a 1-D CNN (two ``Conv1d`` + ReLU, flattened → ``Linear(H)``); Adam, the same steps and batches.
Measured: test MAE at each horizon, as a ratio to the naive last-value forecast (< 1 = better).
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn
from nabla.nn import functional as F

from ._common import fmt, seed_all
from .base import Lab, LabResult, Measurement, Verdict

H, BATCH, LR = 12, 64, 3e-3
SEASON = 24  # the main season's period (the windows are at least this long)
MODELS = ("rnn", "lstm", "gru", "cnn1d")


def make_series(seed: int, n: int = 3000) -> numpy.ndarray:
    """Trend + two seasons + AR(1) + noise (float32)."""
    rng = numpy.random.default_rng(seed + 777)
    t = numpy.arange(n)
    e = numpy.zeros(n)
    shocks = rng.normal(0, 0.15, n)
    for i in range(1, n):
        e[i] = 0.8 * e[i - 1] + shocks[i]
    y = (0.0015 * t + rng.uniform(0.8, 1.2) * numpy.sin(2 * numpy.pi * t / 24)
         + 0.5 * numpy.sin(2 * numpy.pi * t / 60 + rng.uniform(0, 2 * numpy.pi)) + e + rng.normal(0, 0.1, n))
    return y.astype(numpy.float32)


def windows(y: numpy.ndarray, w: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Inputs (N, w) and targets (N, H), both relative to the window's last value."""
    idx = numpy.arange(len(y) - w - H + 1)
    x = numpy.stack([y[i:i + w] for i in idx])
    target = numpy.stack([y[i + w:i + w + H] for i in idx])
    last = x[:, -1:]
    return x - last, target - last


class Recurrent(nn.Module):
    def __init__(self, cell: str, hidden: int) -> None:
        super().__init__()
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell](1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, H)

    def forward(self, x: nabla.Tensor) -> nabla.Tensor:  # x (B, W)
        out, _ = self.rnn(x.unsqueeze(-1))
        return self.head(out[:, -1])


class Conv(nn.Module):
    def __init__(self, w: int, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(1, channels, 5, padding=2), nn.ReLU(),
                                  nn.Conv1d(channels, channels, 5, padding=2, stride=2), nn.ReLU(), nn.Flatten())
        self.head = nn.Linear(channels * ((w + 1) // 2), H)

    def forward(self, x: nabla.Tensor) -> nabla.Tensor:
        return self.head(self.body(x.unsqueeze(1)))


def build(name: str, w: int, hidden: int) -> nn.Module:
    if name == "cnn1d":
        return Conv(w, hidden // 2)
    if name in ("rnn", "lstm", "gru"):
        return Recurrent(name, hidden)
    raise ValueError(f"time_series: unknown model {name!r}; valid: {', '.join(MODELS)}")


def fit_and_test(name: str, data: tuple, w: int, hidden: int, steps: int, seed: int) -> numpy.ndarray:
    """Train on the training windows; test MAE per horizon (H,)."""
    (xtr, ytr), (xte, yte), scale = data
    rng = seed_all(seed)
    model = build(name, w, hidden)
    opt = nabla.optim.Adam(model.parameters(), lr=LR)
    for _ in range(steps):
        i = rng.integers(0, len(xtr), BATCH)
        loss = F.mse_loss(model(nabla.tensor(xtr[i] / scale)), nabla.tensor(ytr[i] / scale))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with nabla.no_grad():
        pred = model(nabla.tensor(xte / scale)).numpy() * scale
    return numpy.abs(pred - yte).mean(0)


def run(ctx) -> LabResult:
    w, hidden, steps = (24, 16, 150) if ctx.quick else (48, 32, 500)
    ratio = {m: [] for m in MODELS}  # per seed: MAE / naive MAE per horizon (H,)
    naive_mae, seasonal = [], []
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        y = make_series(seed)
        cut = int(0.7 * len(y))
        train, test = windows(y[:cut], w), windows(y[cut - w:], w)
        scale = float(train[0].std())
        naive = numpy.abs(test[1]).mean(0)  # "no change" = the last value, relative to itself: 0
        naive_mae.append(naive)
        # the seasonal naive forecast (the value one period of 24 earlier), a stronger baseline, for reference
        seasonal.append(numpy.abs(test[0][:, w - SEASON:w - SEASON + H] - test[1]).mean(0) / naive)
        for m in MODELS:
            ratio[m].append(fit_and_test(m, (train, test, scale), w, hidden, steps, seed) / naive)

    horizons = [1, H // 2, H]
    at = {m: {h: [float(r[h - 1]) for r in ratio[m]] for h in horizons} for m in MODELS}
    mean_ratio = {m: [float(r.mean()) for r in ratio[m]] for m in MODELS}
    recurrent = ("rnn", "lstm", "gru")
    beats_naive = {m: all(v < 1 for v in mean_ratio[m]) for m in MODELS}
    every_horizon = {m: all(all(v < 1 for v in at[m][h]) for h in horizons) for m in MODELS}
    cnn_as_good = all(c <= min(mean_ratio[r][i] for r in recurrent) * 1.05 for i, c in enumerate(mean_ratio["cnn1d"]))
    if all(every_horizon[m] for m in recurrent):
        verdict, condition = Verdict.SUPPORTED, None
    elif not any(beats_naive[m] for m in recurrent):
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            "the recurrent models beat the naive forecast on average ("
            + ", ".join(f"{m} {'yes' if beats_naive[m] else 'no'}" for m in recurrent)
            + ") but not at every horizon in every seed")
    reading = (
        f"Test MAE as a fraction of the naive last-value forecast's (window {w}, {steps} Adam steps), averaged over "
        f"horizons 1–{H}: " + ", ".join(f"{m} {fmt(mean_ratio[m], 2)}" for m in MODELS)
        + ". At horizon 1: " + ", ".join(f"{m} {fmt(at[m][1], 2)}" for m in MODELS)
        + f"; at horizon {H}: " + ", ".join(f"{m} {fmt(at[m][H], 2)}" for m in MODELS)
        + f". The naive forecast's MAE grows from {fmt([n[0] for n in naive_mae], 2)} (horizon 1) to "
        f"{fmt([n[-1] for n in naive_mae], 2)} (horizon {H}); the seasonal naive forecast (one period back) scores "
        f"{fmt([float(r.mean()) for r in seasonal], 2)} of it on average. The 1-D CNN is "
        + ("as good as or better than" if cnn_as_good else "worse than") + " the best recurrent model in every seed.")
    notes_wrong = None
    if cnn_as_good:
        notes_wrong = ("Note 001 presents sequential (recurrent) learning as what makes RNNs suited to time series; a "
                       "1-D CNN reading the same window forecasts as well or better here (mean MAE ratio "
                       f"{fmt(mean_ratio['cnn1d'], 2)} vs RNN {fmt(mean_ratio['rnn'], 2)}, LSTM "
                       f"{fmt(mean_ratio['lstm'], 2)}, GRU {fmt(mean_ratio['gru'], 2)}), so recurrence is not "
                       "required.")
    measurements = []
    for m in MODELS:
        measurements.append(Measurement(m, "mae_over_naive_mean_horizon", mean_ratio[m], "", "lower"))
        for h in horizons:
            measurements.append(Measurement(m, f"mae_over_naive_h{h}", at[m][h], "", "lower"))
    for h in horizons:
        measurements.append(Measurement("naive_last_value", f"mae_h{h}", [float(n[h - 1]) for n in naive_mae], "",
                                        "lower"))
    measurements.append(Measurement("seasonal_naive", "mae_over_naive_mean_horizon",
                                    [float(r.mean()) for r in seasonal], "", "lower"))
    _figure(ctx, ratio, ctx.seeds[0], w)
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"window": w, "horizon": H, "hidden": hidden, "steps": steps, "batch": BATCH, "lr": LR,
                            "ratio_per_horizon_mean": {m: numpy.mean(ratio[m], 0).tolist() for m in MODELS}})


def _figure(ctx, ratio: dict, seed: int, w: int) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    y = make_series(seed)
    axes[0].plot(y, lw=0.6)
    axes[0].axvline(int(0.7 * len(y)), color="k", linestyle="--", label="train | test")
    axes[0].set(xlabel="t", ylabel="value", title=f"The series (seed {seed})")
    axes[0].legend(fontsize=8)
    hs = numpy.arange(1, H + 1)
    for m in MODELS:
        r = numpy.array(ratio[m])
        axes[1].errorbar(hs, r.mean(0), yerr=r.std(0), marker="o", capsize=3, label=m)
    axes[1].axhline(1.0, color="gray", linestyle=":", label="naive last value")
    axes[1].set(xlabel="horizon (steps ahead)", ylabel="test MAE / naive MAE",
                title=f"Error vs horizon (window {w}, mean ± std over seeds)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "time_series")


LAB = Lab(
    name="time_series",
    title="Time series: RNN, LSTM, GRU and a 1-D CNN vs the naive forecast, error vs horizon",
    claim=("Thanks to its sequential learning, an RNN is suited to time-series data, where using the information "
           "of earlier data matters."),
    note="001_3b4055372c65041b.txt",
    setup=("A 3,000-point series (trend, seasons of period 24 and 60, AR(1) disturbance, noise), new per seed; "
           "first 70% train, last 30% test. Windows of W values, inputs and targets relative to the last value, "
           "the next 12 values predicted at once. One-layer RNN/LSTM/GRU or a two-layer 1-D CNN, Adam lr 3e-3, "
           "batch 64, MSE, the same steps; only the model changes. Test MAE per horizon / the naive forecast's."),
    seeds=3,
    run=run,
)
