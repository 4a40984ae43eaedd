"""Optimizer step on 100 parameter tensors: nabla.optim vs torch.optim with foreach=True.

The parameters are those of a 50-layer MLP: 50 weight matrices (n x n) and 50 bias vectors (n),
float32, in two sizes: n = 16 (the step is all per-tensor overhead) and n = 64 (arithmetic starts to
count). Gradients are fixed random arrays set once; one timed call is one ``optimizer.step()``
(Adam, and SGD with momentum 0.9), the same call in both frameworks. torch uses its multi-tensor
("foreach") implementation, its fastest on this path; nabla has one per-parameter loop over the
arrays. Sanity: 5 steps from the same values give the same parameters.
"""

from __future__ import annotations

import numpy

NAME = "optim"
LAYERS = 50
SIZES = (16, 64)
TARGET = 1.5  # nabla step time <= 1.5x torch's foreach step
SANITY_STEPS = 5

OPTIMIZERS = {
    "Adam": dict(lr=1e-3),
    "SGD-momentum": dict(lr=1e-2, momentum=0.9),
}


def make_arrays(n: int, seed: int = 0) -> tuple[list[numpy.ndarray], list[numpy.ndarray]]:
    """(parameters, gradients): 50 (n, n) weights and 50 (n,) biases, float32."""
    rng = numpy.random.default_rng(seed)
    shapes = [s for _ in range(LAYERS) for s in ((n, n), (n,))]
    params = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    return params, grads


def make_step(lib, kind: str, params_np, grads_np):
    """A zero-argument ``optimizer.step`` for ``lib`` (nabla or torch); returns (step, params)."""
    params = [lib.tensor(a.copy(), requires_grad=True) for a in params_np]
    for p, g in zip(params, grads_np):
        p.grad = lib.tensor(g.copy())
    kwargs = dict(OPTIMIZERS[kind])
    cls = lib.optim.Adam if kind == "Adam" else lib.optim.SGD
    if lib.__name__ == "torch":
        kwargs["foreach"] = True
    opt = cls(params, **kwargs)
    return opt.step, params


def run(settings) -> list:
    import torch
    from timing import Row, compare

    import nabla
    import nabla.optim

    rows = []
    for n in SIZES:
        params_np, grads_np = make_arrays(n)
        for kind in OPTIMIZERS:
            sn, pn = make_step(nabla, kind, params_np, grads_np)
            st, pt = make_step(torch, kind, params_np, grads_np)
            for _ in range(SANITY_STEPS):
                sn()
                st()
            diff = max(float(numpy.abs(a.detach().numpy() - b.detach().numpy()).max()) for a, b in zip(pn, pt))
            sn, _ = make_step(nabla, kind, params_np, grads_np)
            st, _ = make_step(torch, kind, params_np, grads_np)
            stats = compare({"nabla": sn, "torch": st}, settings)
            numel = sum(a.size for a in params_np)
            rows.append(Row(NAME, f"{kind} step, 100 tensors ({LAYERS}x [{n}x{n}, {n}], {numel} floats)",
                            stats["nabla"], stats["torch"], target=TARGET,
                            sanity=f"max abs param diff {diff:.1e} after {SANITY_STEPS} steps",
                            sanity_ok=diff <= 1e-5))
    return rows
