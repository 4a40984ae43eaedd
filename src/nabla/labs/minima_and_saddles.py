"""Lab 10 — where training stalls: saddle point or local minimum?

A 2-2-1 tanh/sigmoid network learns XOR with full-batch gradient descent. Wherever training stalls
(the gradient norm nearly vanishes while the loss is still high) we compute the full Hessian of the
loss with nabla's second-order gradients — one Hessian-vector product ``d(g · v)/dθ`` per parameter
(9 here) — and read its eigenvalues: a negative one means a direction that still goes down (a saddle),
all non-negative means a (possibly flat) minimum. Momentum's claimed advantage at saddles is measured
as the number of steps it takes to leave the plateau, GD vs momentum at the same learning rate.
"""

from __future__ import annotations

import numpy

import nabla
from nabla.autograd import grad

from ._common import fmt, seed_all
from .base import Lab, LabResult, Measurement, Verdict

SHAPES = [(2, 2), (2,), (2, 1), (1,)]  # W1, b1, W2, b2
X = numpy.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=numpy.float64)
Y = numpy.array([[0], [1], [1], [0]], dtype=numpy.float64)
PLATEAU = 0.2  # predicting 0.5 for every point costs 0.25; below 0.2 the net has left the plateau
LR = 0.5


def loss_of(params: list) -> nabla.Tensor:
    """Mean squared error of the 2-2-1 net ``sigmoid(tanh(x W1 + b1) W2 + b2)`` on the 4 XOR points."""
    w1, b1, w2, b2 = params
    out = nabla.sigmoid(nabla.tanh(nabla.tensor(X) @ w1 + b1) @ w2 + b2)
    return ((out - nabla.tensor(Y)) ** 2).mean()


def hessian(values: list[numpy.ndarray]) -> numpy.ndarray:
    """The loss's Hessian at parameters ``values``: column i is the Hessian-vector product with e_i,
    ``d(g · e_i)/dθ``, by differentiating the gradient (built with ``create_graph=True``) once more."""
    params = [nabla.tensor(v, requires_grad=True) for v in values]
    g = nabla.cat([gi.reshape(-1) for gi in grad(loss_of(params), params, create_graph=True)])
    n = g.shape[0]
    h = numpy.zeros((n, n))
    for i in range(n):
        e = numpy.zeros(n)
        e[i] = 1.0
        hv = grad((g * nabla.tensor(e)).sum(), params, retain_graph=True)
        h[:, i] = numpy.concatenate([t.detach().numpy().reshape(-1) for t in hv])
    return (h + h.T) / 2  # symmetric up to rounding


def train(init: list[numpy.ndarray], momentum: float, steps: int) -> dict:
    """Full-batch GD (``momentum`` 0) or heavy-ball momentum from ``init``; the loss, gradient norm and
    parameters of every step."""
    params = [nabla.tensor(v.copy(), requires_grad=True) for v in init]
    opt = nabla.optim.SGD(params, lr=LR, momentum=momentum)
    losses, gnorms, snaps = [], [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(params)
        loss.backward()
        snaps.append([p.detach().numpy().copy() for p in params])
        losses.append(float(loss.item()))
        gnorms.append(float(numpy.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))))
        opt.step()
    return {"loss": numpy.array(losses), "gnorm": numpy.array(gnorms), "params": snaps}


def classify(values: list[numpy.ndarray]) -> tuple[float, float]:
    """``(lambda_min, lambda_max)`` of the Hessian at ``values``."""
    ev = numpy.linalg.eigvalsh(hessian(values))
    return float(ev[0]), float(ev[-1])


def escape_step(loss: numpy.ndarray) -> int:
    """First step with the loss below the plateau (``len(loss)`` if it never leaves)."""
    below = numpy.nonzero(loss < PLATEAU)[0]
    return int(below[0]) if len(below) else len(loss)


def run(ctx) -> LabResult:
    n_inits, steps = (3, 1500) if ctx.quick else (10, 4000)
    rows = {k: [] for k in ("saddle_frac", "plateau_lmin_rel", "stuck_frac", "stuck_minimum_frac",
                            "escape_gd", "escape_momentum", "final_loss_gd", "final_loss_momentum")}
    examples = {}
    for seed in ctx.progress(ctx.seeds, desc="seeds"):
        rng = seed_all(seed)
        saddles, lmin_rel, esc_gd, esc_mom, fin_gd, fin_mom = [], [], [], [], [], []
        stuck, stuck_min = 0, 0
        for k in range(n_inits):
            # (a) small initialisation: the net starts next to the symmetric point w = 0, where it stalls
            small = [rng.normal(0.0, 0.05, s) for s in SHAPES]
            gd, mom = train(small, 0.0, steps), train(small, 0.9, steps)
            on_plateau = numpy.nonzero(gd["loss"] >= PLATEAU)[0]
            stall = int(on_plateau[numpy.argmin(gd["gnorm"][on_plateau])])  # slowest point of the plateau
            lmin, lmax = classify(gd["params"][stall])
            saddles.append(lmin < -1e-4 * lmax)
            lmin_rel.append(lmin / lmax)
            esc_gd.append(escape_step(gd["loss"]))
            esc_mom.append(escape_step(mom["loss"]))
            fin_gd.append(gd["loss"][-1])
            fin_mom.append(mom["loss"][-1])
            # (b) a larger initialisation: does GD end somewhere high that is a minimum?
            big = train([rng.normal(0.0, 1.0, s) for s in SHAPES], 0.0, steps)
            if big["loss"][-1] > 0.05:
                stuck += 1
                lmin_b, lmax_b = classify(big["params"][-1])
                stuck_min += lmin_b >= -1e-4 * lmax_b
                examples.setdefault("stuck", (seed, big["loss"].tolist(), big["gnorm"].tolist(), lmin_b, lmax_b))
            if k == 0:
                examples.setdefault("plateau", (seed, gd, mom, stall, lmin, lmax))
        rows["saddle_frac"].append(numpy.mean(saddles))
        rows["plateau_lmin_rel"].append(float(numpy.median(lmin_rel)))
        rows["stuck_frac"].append(stuck / n_inits)
        rows["stuck_minimum_frac"].append(stuck_min / stuck if stuck else float("nan"))
        rows["escape_gd"].append(float(numpy.median(esc_gd)))
        rows["escape_momentum"].append(float(numpy.median(esc_mom)))
        rows["final_loss_gd"].append(float(numpy.median(fin_gd)))
        rows["final_loss_momentum"].append(float(numpy.median(fin_mom)))

    _figures(ctx, examples, steps)
    saddle_all = all(f >= 0.5 for f in rows["saddle_frac"])
    minima_seen = any(s > 0 for s in rows["stuck_frac"]) and all(
        numpy.isnan(f) or f >= 0.5 for f in rows["stuck_minimum_frac"])
    momentum_faster = all(m < g for m, g in zip(rows["escape_momentum"], rows["escape_gd"]))
    if saddle_all and minima_seen:
        verdict, condition = Verdict.DEPENDS, (
            "high-loss stalls next to the symmetric small initialisation are saddle points (a negative Hessian "
            "eigenvalue), not minima; minimum-like stalls (no negative eigenvalue) appear only from larger "
            "initialisations")
    elif saddle_all:
        verdict, condition = Verdict.REFUTED, None
    elif minima_seen:
        verdict, condition = Verdict.SUPPORTED, None
    else:
        verdict, condition = Verdict.DEPENDS, "neither saddles nor minima dominate the stalls measured"
    stuck_note = ("GD from N(0, 1) ended above loss 0.05 in "
                  f"{fmt(rows['stuck_frac'], 2)} of starts; at those ends the Hessian had no negative eigenvalue in "
                  f"{fmt([f for f in rows['stuck_minimum_frac'] if not numpy.isnan(f)] or [0.0], 2)} of cases "
                  "(flat minimum-like regions, loss still creeping down).")
    reading = (f"Gradient descent from a small initialisation stalls at loss 0.25 (every output 0.5). At the slowest "
               f"point of that plateau the Hessian has a negative eigenvalue in {fmt(rows['saddle_frac'], 2)} of the "
               f"starts (median lambda_min/lambda_max {fmt(rows['plateau_lmin_rel'], 2)}): a saddle, not a minimum. "
               f"{stuck_note} Momentum 0.9 at the same learning rate leaves the plateau after "
               f"{fmt(rows['escape_momentum'])} steps vs {fmt(rows['escape_gd'])} for plain GD (median per seed; "
               f"{'faster in every seed' if momentum_faster else 'not faster in every seed'}).")
    measurements = [
        Measurement("gd_small_init", "plateau_stalls_that_are_saddles", rows["saddle_frac"], "fraction", "higher"),
        Measurement("gd_small_init", "lambda_min_over_lambda_max_at_stall", rows["plateau_lmin_rel"], "", None),
        Measurement("gd_normal_init", "runs_stuck_above_0.05", rows["stuck_frac"], "fraction", "lower"),
        Measurement("gd_normal_init", "stuck_ends_without_negative_eigenvalue",
                    [0.0 if numpy.isnan(f) else f for f in rows["stuck_minimum_frac"]], "fraction", None),
        Measurement("gd", "steps_to_leave_plateau", rows["escape_gd"], "steps", "lower"),
        Measurement("momentum_0.9", "steps_to_leave_plateau", rows["escape_momentum"], "steps", "lower"),
        Measurement("gd", "final_loss", rows["final_loss_gd"], "MSE", "lower"),
        Measurement("momentum_0.9", "final_loss", rows["final_loss_momentum"], "MSE", "lower"),
    ]
    notes_wrong = None
    if saddle_all:
        notes_wrong = ("Note 001 frames getting stuck as local vs global minima. Where this network actually stalls "
                       "with a high loss, the Hessian has a negative eigenvalue: it is a saddle that gradient descent "
                       "leaves slowly, not a local minimum; momentum leaves it faster, as the note says.")
    return LabResult(measurements, verdict, condition, reading, notes_wrong,
                     extra={"n_inits_per_seed": n_inits, "steps": steps, "lr": LR, "momentum_faster_all_seeds":
                            momentum_faster})


def _figures(ctx, examples: dict, steps: int) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    seed, gd, mom, stall, lmin, lmax = examples["plateau"]
    ax = axes[0]
    ax.plot(gd["loss"], label="GD")
    ax.plot(mom["loss"], label="momentum 0.9")
    ax.axvline(stall, color="gray", ls=":", label=f"stall: λmin={lmin:.1e}, λmax={lmax:.2f}")
    ax.set(xlabel="step", ylabel="MSE", title=f"XOR 2-2-1, small init (seed {seed})")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.semilogy(gd["gnorm"], label="GD")
    ax.semilogy(mom["gnorm"], label="momentum 0.9")
    ax.set(xlabel="step", ylabel="‖∇L‖", title="gradient norm: the stall")
    ax.legend(fontsize=8)
    ax = axes[2]
    ev = numpy.linalg.eigvalsh(hessian(gd["params"][stall]))
    ax.bar(range(len(ev)), ev, color=["C3" if e < 0 else "C0" for e in ev])
    ax.axhline(0, color="k", lw=0.5)
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set(xlabel="eigenvalue index", ylabel="λ (symlog)", title="Hessian eigenvalues at the stall")
    if "stuck" in examples:
        s_seed, loss, _, lmin_b, lmax_b = examples["stuck"]
        axes[0].plot(loss, color="C2", alpha=0.7, label=f"GD, N(0,1) init: λmin={lmin_b:.1e}")
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    ctx.savefig(fig, "stalls")


LAB = Lab(
    name="minima_and_saddles",
    title="Local minima and saddles: what the Hessian says where training stalls",
    claim=("Gradient descent gets stuck where the gradient is zero — at local minima, points lower than their "
           "surroundings that are not the global minimum; momentum helps escape saddle points."),
    note="001_3b4055372c65041b.txt",
    setup=("A 2-2-1 tanh/sigmoid network on the 4 XOR points, MSE, full-batch GD at lr 0.5. Per seed, several "
           "starts from N(0, 0.05²) (next to the symmetric point) and from N(0, 1). At the slowest point of the "
           "loss-0.25 plateau and at high-loss ends, the full 9x9 Hessian (9 Hessian-vector products by double "
           "backprop) is diagonalised. Momentum 0.9 vs none at the same learning rate, same starts, counts the "
           "steps to leave the plateau."),
    seeds=3,
    run=run,
)
