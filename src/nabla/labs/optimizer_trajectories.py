"""Lab: optimizer trajectories on three 2-D surfaces — Beale (a flat valley), Rosenbrock (a curved narrow
valley) and the saddle x² − y² — for GD, SGD (GD with Gaussian gradient noise standing in for mini-batch
noise), Momentum, Nesterov, Adagrad, RMSprop, Adam, AdaMax and NAdam, all from ``nabla.optim`` driving
one 2-element parameter.

On Beale and Rosenbrock each optimizer gets its best learning rate from a grid (chosen from the
un-jittered start; the seeds then jitter the start). On the saddle all share lr 0.01 and start almost
on the ridge (y = ±0.001): the question is how fast each leaves it. Adagrad's shrinking step is measured
as its effective learning rate lr / sqrt(Σ g²), read from the optimizer's state, which can only fall;
RMSprop's and Adam's (lr / sqrt of a moving average of g²) are measured the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy

import nabla

from . import _common as C
from .base import Lab, LabResult, Measurement, Verdict

OPTIMIZERS: dict[str, Callable] = {
    "GD": lambda p, lr: nabla.optim.SGD(p, lr=lr),
    "SGD": lambda p, lr: nabla.optim.SGD(p, lr=lr),  # + gradient noise, added in trajectory()
    "Momentum": lambda p, lr: nabla.optim.SGD(p, lr=lr, momentum=0.9),
    "Nesterov": lambda p, lr: nabla.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda p, lr: nabla.optim.Adagrad(p, lr=lr),
    "RMSprop": lambda p, lr: nabla.optim.RMSprop(p, lr=lr, alpha=0.9),
    "Adam": lambda p, lr: nabla.optim.Adam(p, lr=lr),
    "AdaMax": lambda p, lr: nabla.optim.Adamax(p, lr=lr),
    "NAdam": lambda p, lr: nabla.optim.NAdam(p, lr=lr),
}
NOISE = 0.5  # std of the Gaussian noise added to SGD's gradient


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def saddle(x, y):
    return x ** 2 - y ** 2


# name: (function, start, minimum or None, plot window (x0, x1, y0, y1))
SURFACES = {
    "beale": (beale, (1.0, 1.4), (3.0, 0.5), (-0.5, 4.2, -1.2, 2.0)),
    "rosenbrock": (rosenbrock, (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0, -1.0, 3.2)),
    "saddle": (saddle, (1.0, 0.001), None, (-1.2, 1.2, -1.2, 1.2)),
}
GRIDS = {"GD": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "SGD": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
         "Momentum": (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3), "Nesterov": (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3)}
ADAPTIVE_GRID = (3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
SADDLE_LR = 0.01


def effective_lr(opt, p, name: str, lr: float) -> float:
    """The learning rate the optimizer applies this step (geometric mean over the two coordinates), read from
    its state (PyTorch's names): Adagrad lr/sqrt(sum g²), RMSprop lr/sqrt(EMA g²), Adam lr/sqrt(bias-corrected
    EMA g²); plain lr for the others."""
    st = opt.state[p]
    eps = 1e-10 if name == "Adagrad" else 1e-8
    if name == "Adagrad":
        d = numpy.sqrt(st["sum"].numpy()) + eps
    elif name == "RMSprop":
        d = numpy.sqrt(st["square_avg"].numpy()) + eps
    elif name == "Adam":
        d = numpy.sqrt(st["exp_avg_sq"].numpy() / (1 - 0.999 ** int(st["step"]))) + eps
    else:
        return lr
    return float(numpy.exp(numpy.mean(numpy.log(lr / d))))


def trajectory(fn: Callable, opt_name: str, lr: float, start, steps: int, rng: numpy.random.Generator,
               stop: Callable[[numpy.ndarray], bool] | None = None) -> dict:
    """Run ``opt_name`` on ``fn`` from ``start``: the path, f along it, and the effective learning rate."""
    p = nabla.nn.Parameter(nabla.tensor(numpy.asarray(start, dtype=numpy.float64)))
    opt = OPTIMIZERS[opt_name]([p], lr)
    path, values, eff_lr = [numpy.asarray(start, dtype=float)], [], []
    with numpy.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            opt.zero_grad()
            loss = fn(p[0], p[1])
            loss.backward()
            if opt_name == "SGD":
                p.grad.add_(nabla.tensor(rng.normal(0.0, NOISE, 2)))
            opt.step()
            new = p.detach().numpy().copy()
            values.append(float(loss.item()))
            eff_lr.append(effective_lr(opt, p, opt_name, lr))
            path.append(new)
            if not numpy.isfinite(new).all() or numpy.abs(new).max() > 1e6 or (stop is not None and stop(new)):
                break
    return {"path": numpy.asarray(path), "f": values, "eff_lr": eff_lr}


def distance(path: numpy.ndarray, minimum) -> float:
    end = path[-1]
    return float(numpy.linalg.norm(end - numpy.asarray(minimum))) if numpy.isfinite(end).all() else float("inf")


def run(ctx) -> LabResult:
    steps = 100 if ctx.quick else 1000
    saddle_steps = 400 if ctx.quick else 1000
    names = list(OPTIMIZERS)
    best_lr: dict[str, dict[str, float]] = {}
    for surf in ("beale", "rosenbrock"):
        fn, start, minimum, _ = SURFACES[surf]
        best_lr[surf] = {}
        for name in ctx.progress(names, desc=f"lr grid on {surf}"):
            grid = GRIDS.get(name, ADAPTIVE_GRID)
            if ctx.quick:  # no search: the grid's middle value
                grid = grid[len(grid) // 2:len(grid) // 2 + 1]
            scores = [distance(trajectory(fn, name, lr, start, steps, numpy.random.default_rng(0))["path"], minimum)
                      for lr in grid]
            best_lr[surf][name] = grid[int(numpy.argmin(scores))]

    dist = {(s, n): [] for s in ("beale", "rosenbrock") for n in names}
    escape = {n: [] for n in names}
    eff_ratio = {n: [] for n in ("GD", "Adagrad", "RMSprop", "Adam")}
    eff_rise = {n: [] for n in eff_ratio}
    shown: dict[str, dict[str, numpy.ndarray]] = {s: {} for s in SURFACES}
    eff_curves: dict[str, list[float]] = {}
    for seed in ctx.progress(ctx.seeds, desc="optimizer_trajectories"):
        rng = numpy.random.default_rng(seed)
        for surf in ("beale", "rosenbrock"):
            fn, start, minimum, _ = SURFACES[surf]
            jittered = numpy.asarray(start) + rng.normal(0, 0.05, 2)
            for name in names:
                t = trajectory(fn, name, best_lr[surf][name], jittered, steps, numpy.random.default_rng(seed))
                dist[surf, name].append(distance(t["path"], minimum))
                if seed == ctx.seeds[0]:
                    shown[surf][name] = t["path"]
                if surf == "rosenbrock" and name in eff_ratio:
                    e = numpy.asarray(t["eff_lr"])
                    eff_ratio[name].append(float(e[-1] / e[0]))  # last step over the first
                    eff_rise[name].append(float(numpy.max(e[1:] / e[:-1])))  # 1 when it never grows
                    if seed == ctx.seeds[0]:
                        eff_curves[name] = e.tolist()
        y0 = (0.001 + 0.001 * rng.random()) * rng.choice([-1.0, 1.0])
        for name in names:
            t = trajectory(saddle, name, SADDLE_LR, (1.0, y0), saddle_steps, numpy.random.default_rng(seed),
                           stop=lambda q: abs(q[1]) >= 1.0)
            escaped = abs(t["path"][-1][1]) >= 1.0
            escape[name].append(float(len(t["path"]) - 1 if escaped else saddle_steps + 1))
            if seed == ctx.seeds[0]:
                shown["saddle"][name] = t["path"]

    for surf in SURFACES:
        plot_frames(ctx, surf, shown[surf], best_lr.get(surf))
    plot_effective_lr(ctx, eff_curves, escape)

    ms = [Measurement(n, f"{s}_distance_to_minimum", dist[s, n], better="lower") for s in ("beale", "rosenbrock")
          for n in names]
    ms += [Measurement(n, "saddle_steps_to_escape", escape[n], better="lower") for n in names]
    ms += [Measurement(n, "effective_lr_last_over_first", eff_ratio[n], better=None) for n in eff_ratio]
    ms += [Measurement(n, "effective_lr_largest_one_step_rise", eff_rise[n], better=None) for n in eff_rise]
    f = C.fmt
    checks = {
        "momentum_escapes_faster_than_gd": all(m < g for m, g in zip(escape["Momentum"], escape["GD"])),
        "adagrad_lr_only_shrinks": all(r <= 1 + 1e-9 and e < 1 for r, e in zip(eff_rise["Adagrad"],
                                                                                 eff_ratio["Adagrad"])),
        "rmsprop_lr_recovers": all(r > 1.01 for r in eff_rise["RMSprop"]),
        "adagrad_slower_than_rmsprop_off_the_saddle": all(a > r for a, r in zip(escape["Adagrad"], escape["RMSprop"])),
    }
    failed = [k for k, v in checks.items() if not v]
    verdict = Verdict.SUPPORTED if not failed else (Verdict.REFUTED if len(failed) == len(checks) else Verdict.DEPENDS)
    condition = f"these parts did not hold in every seed: {', '.join(failed)}" if verdict is Verdict.DEPENDS else None
    esc = ", ".join(f"{n} {f(escape[n], 3)}" for n in names)
    edge = sorted({f"{n} on {surf}" for surf, lrs in best_lr.items() for n, lr in lrs.items()
                   if not ctx.quick and lr in (GRIDS.get(n, ADAPTIVE_GRID)[0], GRIDS.get(n, ADAPTIVE_GRID)[-1])})
    ros = ", ".join(f"{n} {f(dist['rosenbrock', n], 2)}" for n in names)
    bea = ", ".join(f"{n} {f(dist['beale', n], 2)}" for n in names)
    reading = (f"Steps to leave the saddle (|y| ≥ 1, lr {SADDLE_LR}, cap {saddle_steps + 1} = never): {esc}. Distance "
               f"to the minimum after {steps} steps at each one's best lr — Rosenbrock: {ros}; Beale: {bea}. Effective "
               f"learning rate on Rosenbrock, last step over first: Adagrad {f(eff_ratio['Adagrad'], 2)} and its "
               f"largest one-step rise {f(eff_rise['Adagrad'], 3)} (it never grows: lr/sqrt(Σg²)); RMSprop "
               f"{f(eff_ratio['RMSprop'], 2)}, largest rise {f(eff_rise['RMSprop'], 3)}; Adam "
               f"{f(eff_ratio['Adam'], 2)}, largest rise {f(eff_rise['Adam'], 3)}. On the saddle the shrinking step "
               f"is what keeps Adagrad on the "
               f"ridge: its steps fall like lr/sqrt(t) while the others' stay near lr."
               + (f" Best learning rate at an edge of its grid: {', '.join(edge)}." if edge else ""))
    wrong = ("003 says 'Adam = Adagrad + RMSprop + Momentum'. Adam keeps exponential moving averages of g (momentum) "
             "and of g² (RMSprop's denominator) with bias correction; it has no Adagrad-style running sum, and the "
             f"measurement shows it: Adam's effective learning rate ends at {f(eff_ratio['Adam'], 2)}× its start on "
             f"Rosenbrock (largest one-step rise {f(eff_rise['Adam'], 3)}×) where Adagrad's ends at "
             f"{f(eff_ratio['Adagrad'], 2)}× and never rises. 001's 'Adam = RMSProp + momentum' "
             "is the accurate version.")
    return LabResult(
        measurements=ms, verdict=verdict, condition=condition, reading=reading, notes_wrong=wrong,
        extra={"steps": steps, "saddle_steps": saddle_steps, "saddle_lr": SADDLE_LR, "best_lr": best_lr,
               "sgd_noise_std": NOISE, "best_lr_at_grid_edge": edge, "checks": checks},
    )


def plot_frames(ctx, surf: str, paths: dict, lrs: dict | None) -> None:
    """One panel per optimizer: the path coloured by step (dark = early), with the positions at 5%, 20% and
    100% of the run marked as frames 1, 2, 3."""
    import matplotlib.pyplot as plt

    fn, start, minimum, (x0, x1, y0, y1) = SURFACES[surf]
    xs, ys = numpy.meshgrid(numpy.linspace(x0, x1, 200), numpy.linspace(y0, y1, 200))
    z = fn(xs, ys)
    levels = numpy.log10(z + 1e-3) if surf != "saddle" else z
    fig, axes = plt.subplots(3, 3, figsize=(15, 13), sharex=True, sharey=True)
    for ax, (name, p) in zip(axes.ravel(), paths.items()):
        ax.contour(xs, ys, levels, levels=20, cmap="Greys", linewidths=0.5)
        q = p[numpy.isfinite(p).all(1)]
        ax.plot(q[:, 0], q[:, 1], "-", color="0.6", lw=0.6)
        ax.scatter(q[:, 0], q[:, 1], c=numpy.arange(len(q)), cmap="viridis", s=6, zorder=3)
        for k, frac in enumerate((0.05, 0.2, 1.0), start=1):
            i = max(1, int(round((len(q) - 1) * frac)))
            ax.annotate(str(k), q[i], color="red", fontsize=11, fontweight="bold", zorder=4)
        if minimum:
            ax.plot(*minimum, "r*", ms=13, zorder=5)
        ax.plot(*q[0], "ks", ms=5, zorder=5)
        label = f"{name} (lr {lrs[name]:g})" if lrs else f"{name} (lr {SADDLE_LR:g})"
        ax.set_title(f"{label}, {len(q) - 1} steps")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    fig.suptitle(f"{surf}: paths of the nine optimizers (seed 0); colour = step (dark early, yellow late), "
                 "red 1/2/3 = position at 5% / 20% / 100% of the run, ■ start"
                 + ("" if minimum is None else ", ★ minimum"))
    fig.tight_layout()
    ctx.savefig(fig, f"paths_{surf}")


def plot_effective_lr(ctx, curves: dict, escape: dict) -> None:
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.6))
    for name, e in curves.items():
        a1.loglog(numpy.arange(1, len(e) + 1), e, label=name)
    a1.set_xlabel("step")
    a1.set_ylabel("effective learning rate (geometric mean over θ)")
    a1.set_title("Rosenbrock: Adagrad's learning rate only shrinks (seed 0)")
    a1.legend()
    names = list(escape)
    a2.bar(names, [numpy.mean(escape[n]) for n in names], yerr=[numpy.std(escape[n]) for n in names], capsize=3)
    a2.set_ylabel("steps to reach |y| ≥ 1")
    a2.set_title(f"Saddle x² − y²: steps to escape (lr {SADDLE_LR}; mean ± std over seeds)")
    a2.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    ctx.savefig(fig, "adagrad_step_and_saddle_escape")


LAB = Lab(
    name="optimizer_trajectories",
    title="Optimizer trajectories on Beale, Rosenbrock and a saddle",
    claim="Momentum adds inertia from past gradients and so escapes saddle points better; Adagrad's learning rate "
          "keeps shrinking as training goes on; RMSprop improves on Adagrad; Adam combines momentum with RMSprop's "
          "adaptive learning rate (003: 'Adam = Adagrad + RMSprop + Momentum').",
    note="001_3b4055372c65041b.txt,003_e08a359f4782c39a.txt",
    setup="Nine nabla.optim optimizers on one 2-element float64 parameter. Beale (start (1, 1.4)) and Rosenbrock "
          "(start (−1.5, 2)): each optimizer at its best lr from a small grid (chosen on the un-jittered start), "
          "then run from starts jittered by N(0, 0.05²) per seed. Saddle x² − y² from (1, ±0.001…0.002): every "
          "optimizer at lr 0.01. SGD = GD plus N(0, 0.5²) noise on the gradient. Momentum/Nesterov β = 0.9, "
          "RMSprop α = 0.9, Adam-family defaults.",
    seeds=3,
    run=run,
)
