"""Lab: what the bottleneck size does to an autoencoder's reconstructions (and what denoising adds).

The same MLP autoencoder (pixels-256-code-256-pixels, binary cross-entropy, Adam 1e-3) is trained with
code sizes 2 ... 64 and scored on held-out images: mean squared error per pixel and PSNR
(``10 log10(1 / MSE)`` dB, images in [0, 1]). Only the code size changes.

Denoising, one more row: at code size 32, a denoising autoencoder (Gaussian noise std 0.3 in, the clean
image as the target) against the plain one, both fed the same corrupted held-out images: PSNR of the
corrupted input, of the plain AE's output, of the DAE's output.
"""

from __future__ import annotations

import math

import numpy

import nabla
from nabla import models, optim
from nabla.data import DataLoader, TensorDataset
from nabla.train import Trainer

from . import _common as C
from .base import Lab, LabResult, Measurement, Verdict

NOISE = 0.3


def psnr(clean: numpy.ndarray, other: numpy.ndarray) -> float:
    """PSNR in dB of images in [0, 1] (over the whole set)."""
    return 10 * math.log10(1 / float(numpy.mean((clean.astype(numpy.float64) - other) ** 2)))


def fit(model, x_train, y_train, epochs: int, batch: int):
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch, shuffle=True)
    Trainer(model, optim.Adam(model.parameters(), lr=1e-3), None).fit(loader, epochs=epochs, verbose=0)
    model.eval()
    return model


def reconstruct(model, x: numpy.ndarray) -> numpy.ndarray:
    with nabla.no_grad():
        return model(nabla.tensor(x)).numpy()


def run(ctx) -> LabResult:
    mnist = not ctx.quick and ctx.data_dir is not None
    data = C.mnist_8k2k(ctx.data_dir) if mnist else C.digits(0)
    side = int(round(math.sqrt(data.features)))
    sizes = (2, 4, 8, 16, 32, 64) if not ctx.quick else (2, 8, 32)
    hidden, epochs, batch = ((256,), 10, 128) if mnist else ((128,), 15 if ctx.quick else 40, 32)
    x_train = data.x_train.reshape(-1, 1, side, side)
    x_test = data.x_test.reshape(-1, 1, side, side)
    mse = {k: [] for k in sizes}
    den = {k: [] for k in ("corrupted input", "plain AE", "denoising AE")}
    pictures = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        noisy = numpy.clip(x_test + NOISE * numpy.random.default_rng(seed).standard_normal(x_test.shape), 0, 1)
        noisy = noisy.astype(numpy.float32)
        for k in sizes:
            nabla.manual_seed(seed)
            m = fit(models.ae(1, side, code_size=k, hidden=hidden), x_train, data.y_train, epochs, batch)
            rec = reconstruct(m, x_test)
            mse[k].append(float(numpy.mean((rec - x_test) ** 2)))
            if seed == ctx.seeds[0]:
                pictures[k] = rec[:10]
            if k == 32:
                den["plain AE"].append(psnr(x_test, reconstruct(m, noisy)))
        nabla.manual_seed(seed)
        d = fit(models.dae(1, side, code_size=32, hidden=hidden, noise="gaussian", noise_level=NOISE),
                x_train, data.y_train, epochs, batch)
        den["denoising AE"].append(psnr(x_test, reconstruct(d, noisy)))
        den["corrupted input"].append(psnr(x_test, noisy))
        if seed == ctx.seeds[0]:
            pictures["noisy"], pictures["dae"] = noisy[:10], reconstruct(d, noisy[:10])
    plot(ctx, x_test[:10], pictures, sizes)

    psnrs = {k: [10 * math.log10(1 / v) for v in mse[k]] for k in sizes}
    ms = [Measurement(f"code {k}", "heldout_mse", mse[k], "per pixel", "lower") for k in sizes]
    ms += [Measurement(f"code {k}", "heldout_psnr", psnrs[k], "dB", "higher") for k in sizes]
    ms += [Measurement(k, "psnr_on_noisy_inputs", v, "dB", "higher") for k, v in den.items()]
    f = C.fmt
    # the claim: a smaller code reconstructs worse. Every seed: each larger code at most 2% worse than the
    # next smaller one (training noise), and the smallest code at least twice the largest's error
    per_seed = [[mse[k][i] for k in sizes] for i in range(len(ctx.seeds))]
    monotone = all(all(b <= 1.02 * a for a, b in zip(s, s[1:])) for s in per_seed)
    large_gap = all(s[0] > 2 * s[-1] for s in per_seed)
    gains = [numpy.mean(psnrs[b]) - numpy.mean(psnrs[a]) for a, b in zip(sizes, sizes[1:])]
    denoises = all(d > p for d, p in zip(den["denoising AE"], den["plain AE"]))
    if monotone and large_gap:
        verdict, condition = Verdict.SUPPORTED, None
    elif large_gap:
        verdict = Verdict.DEPENDS
        stall = next((b for (a, b), g in zip(zip(sizes, sizes[1:]), gains) if g <= 0.1), sizes[-1])
        steps = ", ".join(f"{g:.2f}" for g in gains)
        condition = (f"a small code reconstructs much worse, but past code size ~{stall} more code no longer helps "
                     f"in every seed at this training budget (PSNR gains per step {steps} dB)")
    else:
        verdict, condition = Verdict.REFUTED, None
    reading = (f"{data.describe()}{' (' + data.note + ')' if data.note else ''}; MLP {hidden}, {epochs} epochs. "
               "Held-out PSNR by code size: " + ", ".join(f"{k}: {f(psnrs[k], 3)} dB" for k in sizes) + ". "
               f"Each step up in code size gains {', '.join(f'{g:.2f}' for g in gains)} dB: "
               + ("diminishing returns. " if gains[0] > gains[-1] else "no sign of diminishing returns yet. ")
               + f"On inputs with Gaussian noise (std {NOISE}, PSNR {f(den['corrupted input'], 3)} dB): "
               f"plain AE (code 32) "
               f"{f(den['plain AE'], 3)} dB, denoising AE {f(den['denoising AE'], 3)} dB"
               + (" — trained on noise, it removes it better in every seed." if denoises else "."))
    return LabResult(measurements=ms, verdict=verdict, condition=condition, reading=reading, notes_wrong=None,
                     extra={"sizes": list(sizes), "hidden": list(hidden), "epochs": epochs, "batch": batch,
                            "noise_std": NOISE, "data": data.describe(), "psnr_gain_per_step_db": gains,
                            "checks": {"monotone_all_seeds": monotone, "smallest_over_2x_largest": large_gap,
                                       "dae_beats_ae_on_noise_all_seeds": denoises}})


def plot(ctx, originals: numpy.ndarray, pictures: dict, sizes: tuple) -> None:
    import matplotlib.pyplot as plt

    rows = [("original", originals)] + [(f"code {k}", pictures[k]) for k in sizes] + \
        [(f"noisy (std {NOISE})", pictures["noisy"]), ("denoising AE", pictures["dae"])]
    fig, axes = plt.subplots(len(rows), len(originals), figsize=(len(originals) * 0.9, len(rows) * 0.95))
    for r, (label, imgs) in enumerate(rows):
        for c in range(len(originals)):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle("held-out images and their reconstructions by bottleneck size (first seed)", fontsize=9)
    ctx.savefig(fig, "reconstructions")


LAB = Lab(
    name="ae_bottleneck",
    title="Autoencoder bottleneck size vs reconstruction (and denoising)",
    claim=("An under-complete autoencoder's bottleneck forces compression: the smaller the code, the more detail "
           "the reconstruction loses; a denoising autoencoder learns to remove the noise it was trained on."),
    note="001_3b4055372c65041b.txt",
    setup=("MLP autoencoder pixels-256-code-256-pixels (BCE, Adam 1e-3, fixed epochs and batch) on MNIST 8k/2k "
           "(quick: 8x8 digits); only the code size changes (2, 4, 8, 16, 32, 64). Scored on held-out images: "
           "MSE per pixel and PSNR. Denoising: at code 32, a DAE (Gaussian noise std 0.3) vs the plain AE on the "
           "same corrupted held-out images."),
    seeds=3,
    run=run,
)
