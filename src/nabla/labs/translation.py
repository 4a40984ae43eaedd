"""Labs II.2 — translation: what a convolution's sliding filter buys when the digit moves.

Three nets are trained on centred MNIST digits (same optimizer, steps and data; no augmentation): a
one-hidden-layer MLP, a LeNet-style CNN with 2x2 max pooling after each convolution, and the same CNN
without pooling (its feature maps keep the 28x28 size). Then the test digits are shifted by 0…6 pixels
(each image in a random one of the four directions, zeros coming in) and the accuracy is measured at
every shift. Two properties are measured directly on the trained CNNs: equivariance — the first layer's
feature maps of a shifted image equal the shifted feature maps, ``||f(Tx) − T f(x)|| / ||f(x)||`` on the
part of the image away from the border — and approximate invariance — how much a layer's output
changes when the input moves, ``||g(Tx) − g(x)|| / ||g(x)||``, before and after pooling.
"""

from __future__ import annotations

import numpy

import nabla
from nabla import nn

from ._common import Data, evaluate, fmt, image_side, make_cnn, make_mlp, mnist_8k2k, seed_all, train
from .base import Lab, LabResult, Measurement, Verdict

LR, BATCH, HIDDEN = 2e-3, 64, 128
TOLERANCE = 0.05  # "the same regardless of position": accuracy within 5 points of the unshifted accuracy
DIRECTIONS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def shift(images: numpy.ndarray, dy: int, dx: int) -> numpy.ndarray:
    """Move ``(N, H, W)`` images by ``dy`` rows and ``dx`` columns; zeros fill what comes in."""
    out = numpy.zeros_like(images)
    h, w = images.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def shifted_test(data: Data, k: int, seed: int) -> numpy.ndarray:
    """The test rows, each image moved by ``k`` pixels in a random one of the four directions."""
    side = image_side(data)
    imgs = data.x_test.reshape(-1, side, side)
    which = numpy.random.default_rng(1000 + seed).integers(0, 4, len(imgs))
    out = numpy.empty_like(imgs)
    for d, (dy, dx) in enumerate(DIRECTIONS):
        sel = which == d
        out[sel] = shift(imgs[sel], dy * k, dx * k)
    return out.reshape(len(imgs), -1)


def features(layers: nn.Module, x: numpy.ndarray) -> numpy.ndarray:
    """The output of ``layers`` (a slice of a Sequential) on rows ``x``, without gradients."""
    with nabla.no_grad():
        return layers(nabla.tensor(x)).numpy()


def equivariance_error(model: nn.Sequential, x: numpy.ndarray, side: int, k: int) -> float:
    """``||f(Tx) − T f(x)|| / ||f(x)||`` for the first conv+ReLU ``f`` and a ``k``-pixel shift right, on the
    columns more than ``k`` + the kernel radius away from both borders (where zeros entered or content left)."""
    f = model[:3]  # ImageView, Conv2d, ReLU
    imgs = x.reshape(-1, side, side)
    a = features(f, shift(imgs, 0, k).reshape(len(x), -1))
    b = features(f, x)
    b = numpy.stack([shift(b[:, c], 0, k) for c in range(b.shape[1])], axis=1)
    m = k + model[1].kernel_size[1] // 2 + 1
    a, b = a[..., m:side - m], b[..., m:side - m]
    return float(numpy.linalg.norm(a - b) / numpy.linalg.norm(b))


def relative_change(layers: nn.Module, x: numpy.ndarray, side: int, k: int) -> float:
    """``||g(Tx) − g(x)|| / ||g(x)||`` for a ``k``-pixel shift right."""
    moved = shift(x.reshape(-1, side, side), 0, k).reshape(len(x), -1)
    g0, g1 = features(layers, x), features(layers, moved)
    return float(numpy.linalg.norm(g1 - g0) / numpy.linalg.norm(g0))


def run(ctx) -> LabResult:
    data = mnist_8k2k(ctx.data_dir, n_train=1000 if ctx.quick else 8000, n_test=300 if ctx.quick else 2000)
    side = image_side(data)
    steps = 40 if ctx.quick else 300
    shifts = list(range(0, 7, 3)) if ctx.quick else list(range(7))
    shifts = [k for k in shifts if k < side // 2]
    builders = {"mlp": lambda: make_mlp([data.features, HIDDEN, data.classes]),
                "cnn_pool": lambda: make_cnn(side, classes=data.classes, pool=True),
                "cnn_no_pool": lambda: make_cnn(side, classes=data.classes, pool=False)}
    acc = {(m, k): [] for m in builders for k in shifts}
    equi = {k: [] for k in shifts[1:]}
    # relative change of the pooled CNN's second block before its pooling (index 6 = after ReLU) and after
    change = {(where, k): [] for where in ("before_pool", "after_pool") for k in shifts[1:]}
    probe = data.x_test[:200 if ctx.quick else 500]
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        for name, build in builders.items():
            seed_all(seed)
            model = build()
            train(model, nabla.optim.Adam(model.parameters(), lr=LR), data, steps, batch_size=BATCH, seed=seed)
            for k in shifts:
                moved = Data(data.name, data.x_train, data.y_train, shifted_test(data, k, seed), data.y_test)
                acc[(name, k)].append(evaluate(model, moved.x_test, moved.y_test)[0])
            model.eval()
            if name == "cnn_no_pool":
                for k in shifts[1:]:
                    equi[k].append(equivariance_error(model, probe, side, k))
            if name == "cnn_pool":
                for k in shifts[1:]:
                    change[("before_pool", k)].append(relative_change(model[:6], probe, side, k))
                    change[("after_pool", k)].append(relative_change(model[:7], probe, side, k))

    def tolerated(name: str) -> int:
        """The largest shift up to which the accuracy stays within TOLERANCE of the unshifted one, every seed."""
        best = 0
        for k in shifts:
            if all(a >= a0 - TOLERANCE for a, a0 in zip(acc[(name, k)], acc[(name, 0)])):
                best = k
            else:
                break
        return best

    tol = {m: tolerated(m) for m in builders}
    equivariant = all(max(v) < 1e-4 for v in equi.values())
    pool_damps = {k: all(a < b for a, b in zip(change[("after_pool", k)], change[("before_pool", k)]))
                  for k in shifts[1:]}
    cnn_more_robust = {k: all(c > m for c, m in zip(acc[("cnn_pool", k)], acc[("mlp", k)])) for k in shifts[1:]}
    kmax = shifts[-1]
    worst_equi = max(max(v) for v in equi.values())
    if equivariant and tol["cnn_pool"] == kmax:
        verdict, condition = Verdict.SUPPORTED, None
    elif equivariant and all(cnn_more_robust.values()):
        verdict, condition = Verdict.DEPENDS, (
            f"the feature maps are exactly equivariant and the pooled CNN is more robust than the MLP at every shift, "
            f"but its accuracy stays within {TOLERANCE:.0%} of the unshifted one only up to {tol['cnn_pool']} "
            f"pixel(s): the features move with the digit, the classifier on top is not position-independent")
    else:
        verdict, condition = Verdict.REFUTED, None

    def a(m: str, k: int) -> str:
        return fmt(acc[(m, k)], 3)

    reading = (f"On {data.describe()}, {steps} Adam steps, trained on centred digits only. Test accuracy at shifts "
               + ", ".join(str(k) for k in shifts) + " px — MLP: " + "; ".join(a("mlp", k) for k in shifts)
               + ". CNN with pooling: " + "; ".join(a("cnn_pool", k) for k in shifts)
               + ". CNN without pooling: " + "; ".join(a("cnn_no_pool", k) for k in shifts)
               + f". Largest shift keeping accuracy within {TOLERANCE:.0%}: MLP {tol['mlp']}, CNN+pool "
               f"{tol['cnn_pool']}, CNN {tol['cnn_no_pool']} px. First-layer equivariance error "
               f"||f(Tx)−Tf(x)||/||f(x)|| ≤ {worst_equi:.1e} at every shift. Relative change of "
               "the pooled CNN's second block when the input moves (before → after pooling): "
               + "; ".join(f"{k} px {fmt(change[('before_pool', k)], 2)} → {fmt(change[('after_pool', k)], 2)}"
                           for k in shifts[1:]) + ".")
    notes_wrong = None
    if tol["cnn_pool"] < kmax:
        notes_wrong = (f"'The same feature regardless of position' holds for the feature maps (they shift with the "
                       f"input, error ≤ {worst_equi:.0e}), not for the network's output: the pooled "
                       f"CNN's accuracy falls from {a('cnn_pool', 0)} to {a('cnn_pool', kmax)} at a {kmax}-pixel "
                       "shift, because the final dense layer reads the features at fixed positions and two 2x2 "
                       "poolings absorb only small shifts.")
    measurements = [Measurement(f"{m}@{k}px", "test_accuracy", acc[(m, k)], "", "higher")
                    for m in builders for k in shifts]
    measurements += [Measurement(f"cnn_no_pool@{k}px", "equivariance_error_conv1", equi[k], "", "lower")
                     for k in shifts[1:]]
    measurements += [Measurement(f"cnn_pool_{w}@{k}px", "relative_change", change[(w, k)], "", "lower")
                     for w in ("before_pool", "after_pool") for k in shifts[1:]]
    _figure(ctx, acc, change, shifts, builders, data)
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"data": data.describe(), "data_note": data.note, "steps": steps, "lr": LR,
                            "batch_size": BATCH, "mlp_hidden": HIDDEN, "shifts": shifts,
                            "tolerated_shift_px": tol, "equivariant": equivariant,
                            "pooling_damps_change": {str(k): v for k, v in pool_damps.items()},
                            "cnn_pool_beats_mlp": {str(k): v for k, v in cnn_more_robust.items()}})


def _figure(ctx, acc, change, shifts, builders, data) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    labels = {"mlp": "MLP", "cnn_pool": "CNN with pooling", "cnn_no_pool": "CNN without pooling"}
    for m in builders:
        ms = [numpy.mean(acc[(m, k)]) for k in shifts]
        ss = [numpy.std(acc[(m, k)], ddof=1) if len(acc[(m, k)]) > 1 else 0 for k in shifts]
        ax.errorbar(shifts, ms, yerr=ss, fmt="o-", capsize=3, label=labels[m])
    ax.set(xlabel="shift of the test digits (pixels)", ylabel="test accuracy",
           title=f"{data.name}: trained on centred digits (mean ± std)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for w, label in (("before_pool", "2nd conv block, before pooling"), ("after_pool", "after pooling")):
        ms = [numpy.mean(change[(w, k)]) for k in shifts[1:]]
        ax.plot(shifts[1:], ms, "o-", label=label)
    ax.set(xlabel="shift (pixels, to the right)", ylabel="||g(Tx) − g(x)|| / ||g(x)||",
           title="how much the pooled CNN's features change")
    ax.legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "translation")


LAB = Lab(
    name="translation",
    title="Translation: equivariant feature maps, (not quite) invariant classifiers",
    claim=("\"As the filter moves across the image by the stride, it extracts local features easily and can extract "
           "the same feature regardless of the object's position\" (001); pooling makes sub-samples of the input "
           "(000)."),
    note="001_3b4055372c65041b.txt,000_a64c7b5953f5f1e7.txt",
    setup=("MNIST 8,000/2,000 (sklearn digits if absent), trained on centred digits, no augmentation: a 784-128-10 "
           "ReLU MLP, a CNN Conv5x5(8)-ReLU-MaxPool2-Conv5x5(16)-ReLU-MaxPool2-Linear, and the same CNN without the "
           "poolings; Adam lr 2e-3, batch 64, 300 steps each. Varied: the shift of the test digits, 0…6 pixels in a "
           "random one of four directions per image. Measured on the trained CNNs: first-layer equivariance error "
           "(away from the borders) and the relative change of features before and after pooling under a shift."),
    seeds=3,
    run=run,
)
