"""Labs II.6 — what a LeNet-style CNN's filters learn, layer by layer.

A CNN (Conv5x5(8)-ReLU-MaxPool2-Conv5x5(16)-ReLU-MaxPool2-Linear) is trained on MNIST. Shown: the 8
first-layer filters, their feature maps on one test digit, and, for the second layer, the 6 test-image
patches (its 14x14 receptive field) that activate each channel most. Measured, per seed:

* the smoothness of the first-layer filters — the mean correlation of horizontally and vertically
  neighbouring weights — trained vs at initialisation (random filters: ≈ 0; stroke and edge detectors:
  clearly positive);
* the class selectivity of each layer's channels (Morcos et al., 2018): for a channel's activation
  max-pooled over positions, ``(μ_max − μ_rest) / (μ_max + μ_rest)`` with ``μ_max`` the largest
  class-mean and ``μ_rest`` the mean of the other classes' means; 0 = responds to all digits alike,
  1 = responds to one digit only. Averaged over a layer's channels, layer 1 vs layer 2.
"""

from __future__ import annotations

import numpy

import nabla

from ._common import evaluate, fmt, image_side, make_cnn, mnist_8k2k, seed_all, train
from .base import Lab, LabResult, Measurement, Verdict

LR, BATCH = 2e-3, 64
CONV1, CONV2 = 3, 6  # indices of the ReLU after each convolution in make_cnn's Sequential (ImageView first)


def neighbour_correlation(filters: numpy.ndarray) -> float:
    """Mean over filters of the correlation between horizontally and vertically adjacent weights."""
    out = []
    for f in filters.reshape(-1, *filters.shape[-2:]):
        a = numpy.concatenate([f[:, :-1].ravel(), f[:-1, :].ravel()])
        b = numpy.concatenate([f[:, 1:].ravel(), f[1:, :].ravel()])
        out.append(numpy.corrcoef(a, b)[0, 1])
    return float(numpy.mean(out))


def activations(model, x: numpy.ndarray, upto: int) -> numpy.ndarray:
    """The output of ``model[:upto]`` (a feature map, ``(N, C, H, W)``) on rows ``x``."""
    model.eval()
    with nabla.no_grad():
        return model[:upto](nabla.tensor(x)).numpy()


def class_selectivity(maps: numpy.ndarray, y: numpy.ndarray) -> numpy.ndarray:
    """Per channel: ``(μ_max − μ_rest) / (μ_max + μ_rest)`` of the spatial max of its map, over classes."""
    peak = maps.max(axis=(2, 3))  # N, C
    means = numpy.stack([peak[y == c].mean(0) for c in numpy.unique(y)])  # classes, C
    top = means.max(0)
    rest = (means.sum(0) - top) / (len(means) - 1)
    return (top - rest) / (top + rest + 1e-12)


def top_patches(maps: numpy.ndarray, images: numpy.ndarray, channel: int, k: int, stride: int,
                field: int) -> list[numpy.ndarray]:
    """The ``k`` input patches (``field`` px) under the ``k`` strongest activations of ``channel``, one per image."""
    m = maps[:, channel]
    best = numpy.argsort(m.reshape(len(m), -1).max(1))[::-1][:k]
    pad = numpy.pad(images, ((0, 0), (field, field), (field, field)))
    out = []
    for n in best:
        i, j = numpy.unravel_index(m[n].argmax(), m[n].shape)
        cy, cx = i * stride + stride // 2 + field, j * stride + stride // 2 + field  # centre, padded coordinates
        out.append(pad[n, cy - field // 2:cy - field // 2 + field, cx - field // 2:cx - field // 2 + field])
    return out


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=1000 if ctx.quick else 8000, n_test=500 if ctx.quick else 2000)
    side = image_side(data)
    steps = 80 if ctx.quick else 300
    smooth_init, smooth_trained, sel1, sel2, acc = [], [], [], [], []
    shown = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        seed_all(seed)
        model = make_cnn(side, classes=data.classes)
        smooth_init.append(neighbour_correlation(model[1].weight.detach().numpy()))
        train(model, nabla.optim.Adam(model.parameters(), lr=LR), data, steps, batch_size=BATCH, seed=seed)
        acc.append(evaluate(model, data.x_test, data.y_test)[0])
        w1 = model[1].weight.detach().numpy()
        smooth_trained.append(neighbour_correlation(w1))
        m1, m2 = activations(model, data.x_test, CONV1), activations(model, data.x_test, CONV2)
        sel1.append(float(class_selectivity(m1, data.y_test).mean()))
        sel2.append(float(class_selectivity(m2, data.y_test).mean()))
        if seed == ctx.seeds[0]:
            shown = {"w1": w1, "m1": m1[0], "m2": m2, "digit": data.x_test[0].reshape(side, side),
                     "images": data.x_test.reshape(-1, side, side)}

    smoother = all(t > i for t, i in zip(smooth_trained, smooth_init))
    refines = all(b > a for a, b in zip(sel1, sel2))
    if smoother and refines:
        verdict, condition = Verdict.SUPPORTED, None
    elif not smoother and not refines:
        verdict, condition = Verdict.REFUTED, None
    else:
        verdict, condition = Verdict.DEPENDS, (
            ("first-layer filters become smooth local detectors in every seed" if smoother else
             "first-layer filters do not become smoother than at initialisation in every seed")
            + ", and " + ("second-layer channels are more class-selective than first-layer ones in every seed"
                          if refines else "second-layer channels are NOT more class-selective in every seed"))
    reading = (f"On {data.describe()}, {steps} Adam steps (lr {LR}); test accuracy {fmt(acc, 3)}. Neighbouring "
               f"first-layer weights correlate {fmt(smooth_init, 2)} at initialisation and {fmt(smooth_trained, 2)} "
               f"after training. Mean class selectivity of the channels: layer 1 {fmt(sel1, 2)}, layer 2 "
               f"{fmt(sel2, 2)} (0 = the same response to every digit, 1 = one digit only).")
    n = len(ctx.seeds)
    measurements = [Measurement("conv1_init", "neighbour_weight_correlation", smooth_init, "", None),
                    Measurement("conv1_trained", "neighbour_weight_correlation", smooth_trained, "", None),
                    Measurement("conv1", "class_selectivity", sel1, "", None),
                    Measurement("conv2", "class_selectivity", sel2, "", None),
                    Measurement("cnn", "test_accuracy", acc, "", "higher"),
                    Measurement("cnn", "steps", [steps] * n, "", None)]
    _figures(ctx, shown, side)
    return LabResult(measurements, verdict, condition, reading, None,
                     extra={"data": data.describe(), "data_note": data.note, "steps": steps, "lr": LR,
                            "batch_size": BATCH, "filters_smoother_than_init": smoother,
                            "layer2_more_selective": refines})


def _figures(ctx, shown, side) -> None:
    import matplotlib.pyplot as plt

    w1, m1 = shown["w1"], shown["m1"]
    fig, axes = plt.subplots(2, len(w1) + 1, figsize=(1.6 * (len(w1) + 1), 3.4))
    axes[0, 0].imshow(shown["digit"], cmap="gray")
    axes[0, 0].set_title("input", fontsize=8)
    axes[1, 0].axis("off")
    for c in range(len(w1)):
        lim = numpy.abs(w1[c, 0]).max()
        axes[0, c + 1].imshow(w1[c, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, c + 1].set_title(f"filter {c}", fontsize=8)
        axes[1, c + 1].imshow(m1[c], cmap="viridis")
        axes[1, c + 1].set_title(f"feature map {c}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"first layer (seed {ctx.seeds[0]}): 5x5 filters (red +, blue −) and their ReLU maps")
    fig.tight_layout()
    ctx.savefig(fig, "first_layer")

    m2, images = shown["m2"], shown["images"]
    channels, k = m2.shape[1], 6
    field = 14 if side >= 28 else 6  # conv2's receptive field: 5 + (5 - 1) * 2
    fig, axes = plt.subplots(channels, k, figsize=(k * 0.9, channels * 0.9))
    for c in range(channels):
        for i, patch in enumerate(top_patches(m2, images, c, k, stride=2, field=field)):
            axes[c, i].imshow(patch, cmap="gray", vmin=0, vmax=1)
            axes[c, i].set_xticks([])
            axes[c, i].set_yticks([])
        axes[c, 0].set_ylabel(f"ch {c}", fontsize=7, rotation=0, labelpad=12)
    fig.suptitle("second layer: top-activating test patches per channel", fontsize=9)
    fig.tight_layout()
    ctx.savefig(fig, "second_layer_top_patches")


LAB = Lab(
    name="what_filters_learn",
    title="What filters learn: first-layer filters, deeper channels' top patches, class selectivity",
    claim=("\"A CNN recognises objects by combining elements consistently found in them … stacking layers can be "
           "seen as refining the elements it can classify\" (002); \"filter: a set of weights that captures the "
           "features of the data\" (004)."),
    note="002_0737946dbccdb6e4.txt,004_7e784a9328faeb63.txt",
    setup=("MNIST 8,000/2,000 (digits if absent). LeNet-style CNN Conv5x5(8)-ReLU-MaxPool2-Conv5x5(16)-ReLU-MaxPool2-"
           "Linear, Adam lr 2e-3, batch 64, 300 steps. Compared: the first-layer filters' neighbouring-weight "
           "correlation at initialisation vs after training; the channels' class selectivity (max-pooled activation, "
           "(μ_max − μ_rest)/(μ_max + μ_rest) over digit classes) in layer 1 vs layer 2. Figures: filters, feature "
           "maps, top-activating 14x14 patches of each layer-2 channel."),
    seeds=3,
    run=run,
)
