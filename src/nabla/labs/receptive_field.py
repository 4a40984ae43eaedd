"""Labs II.4 — receptive fields: stacked 3x3 convolutions vs one large kernel, and what padding does at
the border.

Three measurements with input gradients, on randomly initialised (PyTorch-default) ReLU conv stacks fed
Gaussian noise:

* the receptive field of the centre output of ``L`` stacked 3x3 convolutions (``L`` = 1…6): the
  theoretical one (where the input gradient is non-zero: ``2L+1`` pixels wide) and the effective one
  (Luo et al., 2016): the RMS distance from the centre of the squared input gradient, averaged over
  random inputs;
* three stacked 3x3 layers vs one 7x7 layer (the same 7x7 theoretical field, VGG's argument): parameters
  (``3·9C²`` vs ``49C²`` weights) and effective radius;
* each input pixel's influence on a 3-layer stack's whole output, ``E_v ||∂(v·y)/∂x_ij||²`` (Hutchinson:
  random ``v``, it equals the squared norm of the Jacobian's column for that pixel), with zero 'same'
  padding vs none ('valid'): the border ring's and the corner's influence relative to the centre's.
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn

from ._common import fmt, n_params, seed_all
from .base import Lab, LabResult, Measurement, Verdict

CHANNELS = 8


def stack(depth: int, kernel: int = 3, channels: int = CHANNELS, padding: bool = True,
          in_channels: int | None = None) -> nn.Sequential:
    """``depth`` x [Conv(kernel) -> ReLU] (the last without ReLU), ``channels`` wide."""
    layers: list[nn.Module] = []
    c_in = channels if in_channels is None else in_channels
    for i in range(depth):
        layers.append(nn.Conv2d(c_in, channels, kernel, padding=kernel // 2 if padding else 0))
        if i < depth - 1:
            layers.append(nn.ReLU())
        c_in = channels
    return nn.Sequential(*layers)


def centre_gradient(model: nn.Module, x: numpy.ndarray) -> numpy.ndarray:
    """Squared input gradient of the centre output (summed over output channels), summed over input
    channels and averaged over the batch: an ``(H, W)`` map."""
    xt = nabla.tensor(x, requires_grad=True)
    y = model(xt)
    h, w = y.shape[2] // 2, y.shape[3] // 2
    y[:, :, h, w].sum().backward()
    g = xt.grad.numpy()
    return (g ** 2).sum(1).mean(0)


def rms_radius(g: numpy.ndarray) -> float:
    """``sqrt(Σ g_ij d_ij² / Σ g_ij)``, ``d`` the distance to the map's centre: the effective radius."""
    h, w = g.shape
    yy, xx = numpy.mgrid[:h, :w]
    d2 = (yy - h // 2) ** 2 + (xx - w // 2) ** 2
    return float(numpy.sqrt((g * d2).sum() / g.sum()))


def support_width(g: numpy.ndarray, rel: float = 1e-12) -> int:
    """Width (pixels) of the square holding every non-zero entry of ``g``: the theoretical receptive field."""
    rows, cols = numpy.nonzero(g > rel * g.max())
    return int(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)


def influence(model: nn.Module, x: numpy.ndarray, probes: int, rng: numpy.random.Generator) -> numpy.ndarray:
    """``E_v ||∂(v·y)/∂x_ij||²`` over ``probes`` Gaussian ``v`` per input: each pixel's influence on the output."""
    total = numpy.zeros(x.shape[2:])
    for _ in range(probes):
        xt = nabla.tensor(x, requires_grad=True)
        y = model(xt)
        v = nabla.tensor(rng.standard_normal(y.shape).astype(numpy.float32))
        (y * v).sum().backward()
        total += (xt.grad.numpy() ** 2).sum(1).mean(0)
    return total / probes


def border_ratios(inf: numpy.ndarray) -> tuple[float, float]:
    """(mean influence of the outer 1-pixel ring, of the 4 corners) / mean influence of the central 8x8."""
    h, w = inf.shape
    centre = inf[h // 2 - 4:h // 2 + 4, w // 2 - 4:w // 2 + 4].mean()
    ring = numpy.concatenate([inf[0], inf[-1], inf[1:-1, 0], inf[1:-1, -1]]).mean()
    corners = numpy.mean([inf[0, 0], inf[0, -1], inf[-1, 0], inf[-1, -1]])
    return float(ring / centre), float(corners / centre)


def run(ctx) -> LabResult:
    depths = [1, 2, 3, 4] if ctx.quick else [1, 2, 3, 4, 6]
    batch, probes, size = (16, 4, 28) if ctx.quick else (64, 16, 28)
    erf = {d: [] for d in depths}
    trf = {d: [] for d in depths}
    erf_large, trf_large = [], []
    ring = {p: [] for p in ("same", "valid")}
    corner = {p: [] for p in ("same", "valid")}
    maps = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        rng = seed_all(seed)
        x = rng.standard_normal((batch, CHANNELS, 31, 31)).astype(numpy.float32)
        for d in depths:
            g = centre_gradient(stack(d), x)
            erf[d].append(rms_radius(g))
            trf[d].append(support_width(g))
            if seed == ctx.seeds[0]:
                maps[f"{d} x 3x3"] = g
        g = centre_gradient(stack(1, kernel=7), x)
        erf_large.append(rms_radius(g))
        trf_large.append(support_width(g))
        if seed == ctx.seeds[0]:
            maps["1 x 7x7"] = g
        img = rng.standard_normal((batch, 1, size, size)).astype(numpy.float32)
        for pad in ("same", "valid"):
            seed_all(seed)
            inf = influence(stack(3, padding=pad == "same", in_channels=1), img, probes, rng)
            r, c = border_ratios(inf)
            ring[pad].append(r)
            corner[pad].append(c)
            if seed == ctx.seeds[0]:
                maps[f"influence, {pad}"] = inf

    params_stack, params_large = n_params(stack(3)), n_params(stack(1, kernel=7))
    same_field = all(t == 7 for t in trf[3]) and all(t == 7 for t in trf_large)
    grows = all(all(erf[a][i] < erf[b][i] for a, b in zip(depths, depths[1:])) for i in range(len(ctx.seeds)))
    theory_grows = all(trf[d][0] == 2 * d + 1 for d in depths)
    sublinear = numpy.mean(erf[depths[-1]]) / numpy.mean(erf[1]) < (2 * depths[-1] + 1) / 3
    padding_helps = all(s > v for s, v in zip(ring["same"], ring["valid"]))
    padding_evens = all(c >= 0.9 for c in corner["same"])
    parts = {"stacked 3x3 widen the receptive field with depth": grows and theory_grows,
             "3 stacked 3x3 see the same 7x7 field as one 7x7 with fewer parameters":
                 same_field and params_stack < params_large,
             "padding raises the border pixels' influence": padding_helps}
    if all(parts.values()) and padding_evens:
        verdict, condition = Verdict.SUPPORTED, None
    elif not any(parts.values()):
        verdict, condition = Verdict.REFUTED, None
    else:
        held = [k for k, ok in parts.items() if ok]
        failed = [k for k, ok in parts.items() if not ok]
        if not padding_evens:
            failed.append("zero padding makes the corners count as much as the centre")
        verdict, condition = Verdict.DEPENDS, ("holds in every seed: " + "; ".join(held) + " — but not: "
                                               + "; ".join(failed))
    notes_wrong_parts = []
    if not padding_evens:
        notes_wrong_parts.append(
            f"Padding is said to let the data be used evenly (004): with zero 'same' padding the corner pixels' "
            f"influence on a 3-layer stack's output is still {fmt(corner['same'], 2)} of the centre's (without "
            f"padding {fmt(corner['valid'], 2)}): padding raises it, it does not even it out.")
    if sublinear:
        notes_wrong_parts.append(
            f"The field grows with depth, but the effective one far slower than the 'filter size' (2L+1): from "
            f"{fmt(erf[1], 2)} px (1 layer) to {fmt(erf[depths[-1]], 2)} px ({depths[-1]} layers), while the "
            f"theoretical width goes from 3 to {2 * depths[-1] + 1}.")
    reading = (f"Random-init ReLU stacks ({CHANNELS} channels), {batch} Gaussian inputs per seed. Theoretical width "
               "of the centre output's field (non-zero gradient): "
               + ", ".join(f"{d} layer(s) {trf[d][0]}" for d in depths)
               + f"; one 7x7: {trf_large[0]}. Effective RMS radius: "
               + "; ".join(f"{d} x 3x3 {fmt(erf[d], 3)} px" for d in depths)
               + f"; one 7x7 {fmt(erf_large, 3)} px. Parameters: 3 x 3x3 {params_stack:,} vs one 7x7 "
               f"{params_large:,} ({params_stack / params_large:.2f}x). Border ring / centre influence: same padding "
               f"{fmt(ring['same'], 2)}, valid {fmt(ring['valid'], 2)}; corners / centre: same "
               f"{fmt(corner['same'], 2)}, valid {fmt(corner['valid'], 2)}.")
    measurements = [Measurement(f"{d}x3x3", "effective_rf_radius", erf[d], "px", None) for d in depths]
    measurements += [Measurement(f"{d}x3x3", "theoretical_rf_width", trf[d], "px", None) for d in depths]
    n = len(ctx.seeds)
    measurements += [Measurement("1x7x7", "effective_rf_radius", erf_large, "px", None),
                     Measurement("1x7x7", "theoretical_rf_width", trf_large, "px", None),
                     Measurement("3x3x3", "parameters", [params_stack] * n, "", "lower"),
                     Measurement("1x7x7", "parameters", [params_large] * n, "", "lower")]
    for pad in ("same", "valid"):
        measurements += [Measurement(f"padding_{pad}", "border_ring_over_centre_influence", ring[pad], "", "higher"),
                         Measurement(f"padding_{pad}", "corner_over_centre_influence", corner[pad], "", "higher")]
    _figure(ctx, maps, depths, erf)
    return LabResult(measurements, verdict, condition, reading, " ".join(notes_wrong_parts) or None,
                     extra={"channels": CHANNELS, "inputs_per_seed": batch, "hutchinson_probes": probes,
                            "depths": depths, "claim_parts": parts, "padding_evens_out": padding_evens,
                            "effective_grows_sublinearly": bool(sublinear)})


def _figure(ctx, maps, depths, erf) -> None:
    import matplotlib.pyplot as plt

    keys = [f"{d} x 3x3" for d in depths if d in (1, 3, depths[-1])] + ["1 x 7x7", "influence, same",
                                                                        "influence, valid"]
    fig, axes = plt.subplots(1, len(keys) + 1, figsize=(3 * (len(keys) + 1), 3.2))
    for ax, k in zip(axes, keys):
        g = maps[k]
        if k.startswith("influence"):
            ax.imshow(g / g[g.shape[0] // 2, g.shape[1] // 2], cmap="viridis", vmin=0)
            ax.set_title(f"pixel {k}\n(3 x 3x3, / centre)", fontsize=9)
        else:
            c = g.shape[0] // 2
            ax.imshow(g[c - 8:c + 9, c - 8:c + 9], cmap="magma")
            ax.set_title(f"d(centre)/dx², {k}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    ax = axes[-1]
    ax.errorbar(depths, [numpy.mean(erf[d]) for d in depths],
                yerr=[numpy.std(erf[d], ddof=1) if len(erf[d]) > 1 else 0 for d in depths], fmt="o-", capsize=3,
                label="effective (RMS radius)")
    ax.plot(depths, [d for d in depths], "k--", label="theoretical half-width L")
    ax.set(xlabel="stacked 3x3 layers L", ylabel="pixels", title="receptive field vs depth")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "receptive_field")


LAB = Lab(
    name="receptive_field",
    title="Receptive fields: stacked 3x3 vs one large kernel; padding at the border",
    claim=("\"As convolutions go on, the filter size gets larger, so features of different filter sizes can be "
           "extracted\" (003); \"VGGNet uses only 3x3 conv filters and stacks deep layers\" (002); \"without padding "
           "the corners of the data are used fewer times than other parts, so padding is used to use the data "
           "evenly\" (004)."),
    note="003_e08a359f4782c39a.txt,002_0737946dbccdb6e4.txt,004_7e784a9328faeb63.txt",
    setup=("Randomly initialised (PyTorch-default) ReLU conv stacks, 8 channels, Gaussian-noise inputs; no training. "
           "Varied one at a time: the number of stacked 3x3 layers (1…6); 3 x 3x3 vs one 7x7 (same theoretical "
           "field); zero 'same' padding vs none on a 3-layer stack over 28x28 inputs. Measured with input "
           "gradients: theoretical width (non-zero gradient), effective RMS radius of the squared gradient of the "
           "centre output, and each pixel's influence on the whole output (Hutchinson estimate of its Jacobian "
           "column's squared norm) at the border vs the centre."),
    seeds=3,
    run=run,
)
