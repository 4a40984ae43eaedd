"""Data-parallel scaling: measured on this machine (1 and 2 MPI processes), modelled for 8-64 workers.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_distributed.py      # prints a markdown section

1. Throughput. An MLP 784-256-256-10 (MNIST-shaped random data, per-rank batch 128, SGD) under
   ``DistributedDataParallel``, one process against two (``mpiexec -n 2``): samples/s (weak scaling:
   each rank keeps its batch, the global batch doubles), and per step the time backward had finished
   but the gradient average had not (``DistributedDataParallel.comm_seconds``: the communication the
   overlap did not hide). Repeats alternate 1 and 2 processes; medians with [min, max].
2. The all-reduce cost. ``MPI_Allreduce`` of n float32 values between the two ranks for n from 1 to
   16M, fitted to ``t = a + b * bytes``. For a ring all-reduce over p workers (reduce-scatter then
   all-gather: 2(p-1) messages of S/p bytes each) ``T(p) = 2(p-1) * alpha + 2(p-1)/p * S * beta``;
   with p = 2 that is ``2 alpha + S beta``, so ``alpha = a / 2`` and ``beta = b``.
3. The model. A step on a worker computes for ``t_c`` (forward + backward + update at a fixed per-worker
   batch) and averages S bytes of gradients. Without overlap the step takes ``t_c + T(p)``; bucketed
   overlap can hide communication behind backward (about 2/3 of ``t_c``), so the step takes
   ``t_c + max(0, T(p) - 2/3 t_c)``. Efficiency = ``t_c / step``. Two kinds of worker: one core of this
   CPU (``t_c`` measured for the MLP and ResNet-18 in the CIFAR layout, 32x32, batch 32; GPT-small, 124M
   parameters at 8 x 1024 tokens, is ``6 * parameters * tokens`` FLOPs at the rate the ResNet-18 step
   achieved), and a GPU doing 100 TFLOP/s (assumed; at least 1 ms a step for kernel launches). Workers on
   different machines, so alpha/beta of two networks (assumed: 10 Gb Ethernet, alpha 30 us, 1.25 GB/s;
   100 Gb InfiniBand, alpha 3 us, 12.5 GB/s); this machine's shared-memory alpha/beta are measured and shown.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.abspath(__file__)
BATCH, STEPS, REPEATS = 128, 150, 5


def worker_throughput() -> None:
    import nabla as nb
    import nabla.distributed as dist
    from nabla import nn
    from nabla.nn import functional as F

    dist.init()
    r, n = dist.rank(), dist.world_size()
    nb.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    ddp = dist.DistributedDataParallel(model)
    opt = nb.optim.SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(r)
    x = nb.tensor(rng.standard_normal((BATCH, 784)).astype(np.float32))
    y = nb.tensor(rng.integers(0, 10, BATCH))

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()

    for _ in range(10):
        step()
    dist.barrier()
    ddp.comm_seconds = 0.0
    t0 = time.perf_counter()
    for _ in range(STEPS):
        step()
    dist.barrier()
    wall = time.perf_counter() - t0
    comm = np.array([ddp.comm_seconds / STEPS])
    dist.all_reduce(comm, "max")
    if r == 0:
        print(json.dumps({"world": n, "samples_per_s": n * BATCH * STEPS / wall, "step_ms": 1e3 * wall / STEPS,
                          "exposed_comm_ms": 1e3 * float(comm[0]),
                          "grad_values": sum(p.numel() for p in model.parameters())}))


def worker_allreduce() -> None:
    from mpi4py import MPI

    import nabla.distributed as dist

    dist.init()
    comm = MPI.COMM_WORLD
    out = []
    for n in [1, 2**8, 2**12, 2**16, 2**18, 2**20, 2**22, 2**24]:
        buf = np.ones(n, dtype=np.float32)
        reps = max(5, min(200, 2**22 // max(n, 1)))
        times = []
        for _ in range(reps):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter() - t0)
        t = np.array([statistics.median(times)])
        comm.Allreduce(MPI.IN_PLACE, t, op=MPI.MAX)
        out.append((n * 4, float(t[0])))
    if comm.Get_rank() == 0:
        print(json.dumps({"allreduce": out}))


def compute_times() -> dict:
    """Seconds per step at a fixed per-worker batch, and gradient sizes, measured in this process."""
    import nabla as nb
    from nabla.models import build_model, get_model
    from nabla.nn import functional as F

    out = {}
    nb.manual_seed(0)
    for name, model, x, y, reps in [
        ("ResNet-18 (CIFAR, batch 32)", build_model("resnet18", (3, 32, 32), 10),
         nb.randn(32, 3, 32, 32), nb.tensor(np.random.default_rng(0).integers(0, 10, 32)), 3),
    ]:
        opt = nb.optim.SGD(model.parameters(), lr=0.01)
        times = []
        for _ in range(reps + 1):
            t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        params = sum(p.numel() for p in model.parameters())
        out[name] = {"t_c": statistics.median(times[1:]), "params": params, "flops": 3 * 0.557e9 * 32}
    # FLOP rate of the ResNet step: forward 0.56 GFLOP per 32x32 image (multiply-adds x 2), x3 with backward
    rate = 3 * 0.557e9 * 32 / out["ResNet-18 (CIFAR, batch 32)"]["t_c"]
    gpt = get_model("gpt", vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    params = sum(p.numel() for p in gpt.parameters())
    del gpt
    flops = 6 * params * 8 * 1024
    out["GPT-small (8 x 1024 tokens)"] = {"t_c": flops / rate, "params": params, "flops": flops, "estimated": True}
    out["flop_rate"] = rate
    return out


def run(cmd: list[str]) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def ring(p: int, size: float, alpha: float, beta: float) -> float:
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * size * beta


def main() -> None:
    import nabla.distributed as dist

    mpiexec = dist.mpiexec()
    py = sys.executable
    one, two = [], []
    for _ in range(REPEATS):
        one.append(run([py, HERE, "throughput"]))
        two.append(run([mpiexec, "-n", "2", py, HERE, "throughput"]))
    sweep = run([mpiexec, "-n", "2", py, HERE, "allreduce"])["allreduce"]
    sizes = np.array([s for s, _ in sweep], dtype=float)
    times = np.array([t for _, t in sweep])
    b, a = np.polyfit(sizes, times, 1, w=1 / times)  # relative error: small and large messages both count
    alpha, beta = max(a, 1e-7) / 2, b
    comp = compute_times()
    mlp_params = one[0]["grad_values"]

    def med(rows, k):
        v = [r[k] for r in rows]
        return statistics.median(v), min(v), max(v)

    s1, s2 = med(one, "samples_per_s"), med(two, "samples_per_s")
    print("## Data-parallel scaling (benchmarks/bench_distributed.py)\n")
    print(f"MLP 784-256-256-10 ({mlp_params:,} parameters), per-rank batch {BATCH}, SGD, {STEPS} timed steps, "
          f"{REPEATS} repeats alternating 1 and 2 processes (MPICH over shared memory; medians [min, max]):\n")
    print("| processes | samples/s | step, ms | waiting for the all-reduce after backward, ms/step |")
    print("|---|---|---|---|")
    for rows in (one, two):
        sps, st, cm = med(rows, "samples_per_s"), med(rows, "step_ms"), med(rows, "exposed_comm_ms")
        print(f"| {rows[0]['world']} | {sps[0]:,.0f} [{sps[1]:,.0f}, {sps[2]:,.0f}] | {st[0]:.2f} [{st[1]:.2f}, "
              f"{st[2]:.2f}] | {cm[0]:.3f} [{cm[1]:.3f}, {cm[2]:.3f}] |")
    print(f"\nSpeed-up 1 -> 2 processes: {s2[0] / s1[0]:.2f}x (efficiency {s2[0] / s1[0] / 2:.0%}).\n")
    print("All-reduce between the 2 ranks (median per call):\n")
    print("| bytes | " + " | ".join(f"{int(s):,}" for s in sizes) + " |")
    print("|---" * (len(sizes) + 1) + "|")
    print("| time, us | " + " | ".join(f"{t * 1e6:,.1f}" for t in times) + " |")
    print(f"\nFit t = a + b * bytes: a = {a * 1e6:.1f} us, b = {b * 1e9:.3f} ns/B, so alpha = {alpha * 1e6:.1f} us and "
          f"1/beta = {1 / beta / 1e9:.2f} GB/s (shared memory).\n")
    mlp_tc = statistics.median([r["step_ms"] for r in one]) / 1e3
    models = [("MLP 784-256-256-10 (batch 128)", mlp_tc, mlp_params, 6 * mlp_params * BATCH)]
    models += [(k, v["t_c"], v["params"], v["flops"]) for k, v in comp.items() if k != "flop_rate"]
    nets = [("10 Gb Ethernet", 30e-6, 1 / 1.25e9), ("100 Gb InfiniBand", 3e-6, 1 / 12.5e9)]
    print("Compute per step t_c on one core here: " + ", ".join(
        f"{name} {tc * 1e3:,.0f} ms ({params / 1e6:.2f}M parameters, {4 * params / 1e6:.1f} MB of float32 gradients"
        + (", estimated from FLOPs" if comp.get(name, {}).get("estimated") else "") + ")"
        for name, tc, params, _ in models) + f". ResNet step rate: {comp['flop_rate'] / 1e9:.1f} GFLOP/s.\n")
    print("Predicted efficiency (no overlap / with overlap) of a ring all-reduce:\n")
    ps = [8, 16, 32, 64]
    print("| model | worker, t_c | network | " + " | ".join(f"p = {p}" for p in ps) + " |")
    print("|---|---|---|" + "---|" * len(ps))
    for name, tc, params, flops in models:
        for worker, t_c in (("CPU core", tc), ("GPU 100 TFLOP/s", max(flops / 1e14, 1e-3))):
            for net, al, be in nets:
                cells = []
                for p in ps:
                    t = ring(p, 4 * params, al, be)
                    cells.append(f"{t_c / (t_c + t):.0%} / {t_c / (t_c + max(0.0, t - 2 / 3 * t_c)):.0%}")
                print(f"| {name} | {worker}, {t_c * 1e3:,.1f} ms | {net} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "throughput":
        worker_throughput()
    elif len(sys.argv) > 1 and sys.argv[1] == "allreduce":
        worker_allreduce()
    else:
        main()
