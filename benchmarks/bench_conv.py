"""Convolutional networks: one conv layer, LeNet-5 and ResNet-18 (CIFAR) training steps, nabla vs PyTorch.

* conv2d 3x3, 64 -> 64 channels, 32x32 maps, batch 32, padding 1, with bias: forward + backward of
  ``(conv2d(x, w, b) * g).sum()`` (gradients for x, w and b). Target <= 1.3x torch (issue 18).
* LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2, 400-120-84-10,
  ReLU), batch 64 of 1x28x28, cross-entropy, SGD step. Target <= 1.2x.
* ResNet-18, CIFAR variant (3x3 stem without max-pool, BasicBlocks [2, 2, 2, 2] of 64-512 channels,
  BatchNorm in training mode, global average pool, 10 classes), batch 32 of 3x32x32, cross-entropy,
  SGD step. Target <= 1.3x.

The model code is shared (``lib`` = nabla or torch), the weights are PyTorch's initialisation copied
into nabla through ``load_state_dict``, and a few steps must give the same losses before timing.
The SGD update is hand-written for both (``timing.sgd_phases``).

``python benchmarks/bench_conv.py`` runs the same rows plus the analysis behind them (phase split,
cProfile of nabla's ResNet step, the NumPy GEMM floor of its convolutions, peak memory of a
ResNet-18 training process) and writes it into RESULTS.md between ``<!-- keep:conv -->`` markers,
which ``run.py`` carries over.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":  # standalone: one BLAS thread (read by OpenBLAS at load), imports from the checkout
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

import numpy  # noqa: E402
from timing import sgd_phases  # noqa: E402

NAME = "conv"
SANITY_STEPS = 3
LR = 0.01


# ------------------------------------------------------------------------------------------ models


def lenet5(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def resnet18_cifar(lib, num_classes: int = 10):
    nn = lib.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            idt = x if self.downsample is None else self.downsample(x)
            return self.relu(out + idt)

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            layers, cin = [], 64
            for i, cout in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
                cin = cout
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet()


MODELS = {"lenet5": (lenet5, (64, 1, 28, 28)), "resnet18": (resnet18_cifar, (32, 3, 32, 32))}


def make_pair(name: str, seed: int = 0):
    """The same network in torch and nabla (torch's init copied over), plus one batch of data."""
    import torch

    import nabla

    build, shape = MODELS[name]
    torch.manual_seed(seed)
    t_model = build(torch)
    n_model = build(nabla)
    n_model.load_state_dict({k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()})
    rng = numpy.random.default_rng(seed + 1)
    x = rng.standard_normal(shape).astype(numpy.float32)
    y = rng.integers(0, 10, shape[0]).astype(numpy.int64)
    return n_model, t_model, x, y


def make_phases(lib, model, x_np, y_np, lr: float = LR):
    """forward / forward+backward / update / step callables for ``model`` in ``lib`` (see timing.sgd_phases)."""
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    loss_fn = lib.nn.functional.cross_entropy
    params = list(model.parameters())
    model.train()

    def forward():
        return loss_fn(model(x), y)

    return sgd_phases(lib, forward, params, lr)


# ------------------------------------------------------------------------------------ single layer


def conv_layer_pair(seed: int = 0):
    import torch
    import torch.nn.functional as TF

    import nabla
    import nabla.nn.functional as F

    rng = numpy.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(numpy.float32) * 0.1 for s in ((32, 64, 32, 32), (64, 64, 3, 3), (64,))]
    g = rng.standard_normal((32, 64, 32, 32)).astype(numpy.float32)

    def make(lib, conv):
        x, w, b = (lib.tensor(a.copy(), requires_grad=True) for a in arrays)
        up = lib.tensor(g)

        def step():
            out = (conv(x, w, b, padding=1) * up).sum()
            out.backward()
            grads = (x.grad, w.grad, b.grad)
            x.grad = w.grad = b.grad = None
            return out, grads

        return step

    return make(nabla, F.conv2d), make(torch, TF.conv2d)


# ----------------------------------------------------------------------------------------------- run


def run(settings) -> list:
    import torch
    from timing import Row, compare

    import nabla

    rows = []
    sn, st = conv_layer_pair()
    (_, gn), (_, gt) = sn(), st()
    diff = max(float(numpy.abs(a.numpy() - b.numpy()).max() / (numpy.abs(b.numpy()).max() + 1e-12))
               for a, b in zip(gn, gt))
    stats = compare({"nabla": sn, "torch": st}, settings.scaled(rounds=0.25, block=4))
    rows.append(Row(NAME, "conv2d 3x3 64->64, 32x32, batch 32: forward+backward", stats["nabla"], stats["torch"],
                    target=1.3, sanity=f"max relative gradient diff {diff:.1e}", sanity_ok=diff < 1e-4))

    models = (("lenet5", "LeNet-5 train step (batch 64, 1x28x28, CE, SGD)", 1.2, 0.5),
              ("resnet18", "ResNet-18 CIFAR train step (batch 32, 3x32x32, CE, SGD)", 1.3, 0.15))
    for name, label, target, rounds in models:
        n_model, t_model, x, y = make_pair(name)
        pn = make_phases(nabla, n_model, x, y)
        pt = make_phases(torch, t_model, x, y)
        diff = 0.0
        for _ in range(SANITY_STEPS):
            diff = max(diff, abs(pn["step"]().item() - pt["step"]().item()))
        stats = compare({"nabla": pn["step"], "torch": pt["step"]}, settings.scaled(rounds=rounds, block=4))
        rows.append(Row(NAME, label, stats["nabla"], stats["torch"], target=target,
                        sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} SGD steps", sanity_ok=diff < 1e-3))
    return rows


# ----------------------------------------------------------------------- standalone: the analysis


BEGIN, END = "<!-- keep:conv -->", "<!-- /keep:conv -->"


def conv_calls(model, x_np):
    """(x shape, weight shape, stride, padding, output shape, input needs grad) of every Conv2d call."""
    import nabla

    calls, handles = [], []
    for m in model.modules():
        if isinstance(m, nabla.nn.Conv2d):
            handles.append(m.register_forward_hook(
                lambda mod, args, out: calls.append((tuple(args[0].shape), tuple(mod.weight.shape), mod.stride,
                                                     mod.padding, tuple(out.shape), args[0].requires_grad))))
    with nabla.no_grad():
        model(nabla.tensor(x_np))
    for h in handles:
        h.remove()
    return calls


def gemm_floor(calls, repeats: int = 3) -> float:
    """Seconds for the GEMMs alone of one training step's convolutions in NumPy: forward, weight
    gradient and (where the input needs it) input gradient, on exactly-sized matrices (no im2col)."""
    import time

    rng = numpy.random.default_rng(0)
    total = 0.0
    for _, ws, _, _, ys, needs_dx in calls:
        o, k = ws[0], ws[1] * ws[2] * ws[3]
        cols_n = ys[0] * ys[2] * ys[3]
        w = rng.standard_normal((o, k), dtype=numpy.float32)
        cols = rng.standard_normal((k, cols_n), dtype=numpy.float32)
        g = rng.standard_normal((o, cols_n), dtype=numpy.float32)
        ops = [lambda w=w, c=cols: w @ c, lambda g=g, c=cols: g @ c.T]
        if needs_dx:
            ops.append(lambda w=w, g=g: w.T @ g)
        for op in ops:
            op()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                op()
                times.append(time.perf_counter() - t0)
            total += float(numpy.median(times))
    return total


_RSS_SCRIPT = """
import os, sys
os.environ["OPENBLAS_NUM_THREADS"] = "1"
sys.path[:0] = [{here!r}, {src!r}]
import numpy
import bench_conv
lib = __import__({lib!r})
if {lib!r} == "torch":
    lib.set_num_threads(1)
model = bench_conv.resnet18_cifar(lib)
rng = numpy.random.default_rng(0)
x = lib.tensor(rng.standard_normal((32, 3, 32, 32)).astype(numpy.float32))
y = lib.tensor(rng.integers(0, 10, 32))
def hwm():  # this process's peak resident set (VmHWM; ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return float(line.split()[1]) / 1024
before = hwm()
opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for _ in range(3):
    loss = lib.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(before, hwm())
"""


def peak_rss(lib: str) -> tuple[float, float]:
    """(MB after imports and building, peak MB) of a fresh process doing 3 ResNet-18 CIFAR SGD steps at batch 32."""
    import subprocess

    code = _RSS_SCRIPT.format(here=HERE, src=os.path.join(os.path.dirname(HERE), "src"), lib=lib)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def profile_top(step, steps: int = 2, top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """cProfile of ``steps`` calls: seconds per step and the top functions by own time (share of the total)."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    st = pstats.Stats(prof)
    total = sum(v[2] for v in st.stats.values())
    rows = sorted(((v[2], k[2] if k[0] == "~" else f"{os.path.basename(k[0])}:{k[1]} {k[2]}")
                   for k, v in st.stats.items()), reverse=True)[:top]
    return total / steps, [(name, t / total) for t, name in rows]


def analyse(settings) -> dict:
    import torch
    from timing import compare

    import nabla

    out = {}
    n_model, t_model, x, y = make_pair("resnet18")
    pn = make_phases(nabla, n_model, x, y)
    pt = make_phases(torch, t_model, x, y)
    st = compare({"nabla forward": pn["forward"], "torch forward": pt["forward"],
                  "nabla forward+backward": pn["forward+backward"], "torch forward+backward": pt["forward+backward"]},
                 settings.scaled(rounds=0.1, block=4))
    out["phases"] = {k: v.median for k, v in st.items()}
    out["profile"] = profile_top(pn["forward+backward"])
    out["floor"] = gemm_floor(conv_calls(n_model, x))
    out["rss"] = {lib: peak_rss(lib) for lib in ("nabla", "torch")}
    return out


def render(rows, extra: dict, info: dict, load: tuple[str, str]) -> str:
    from timing import fmt_time

    lines = [BEGIN, "## Convolutional networks (benchmarks/bench_conv.py)", ""]
    lines.append(f"`python benchmarks/bench_conv.py`, {info['date']}: {info['cpu']}, {info['cores']} cores, NumPy "
                 f"{info['numpy']}, PyTorch {info['torch']}, one BLAS / intra-op thread each; load average "
                 f"{load[0]} at start, {load[1]} at end (the machine is shared: absolute times move with the "
                 "neighbours, the interleaved ratios much less). Medians [p10, p90] per call.")
    lines += ["", "| Benchmark | nabla | torch | ratio | target | met? | sanity |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.contender} | {r.baseline} | {r.ratio:.2f}x | <= {r.target:g}x | "
                     f"{'yes' if r.met else '**no**'} | {r.sanity} |")
    ph = extra["phases"]
    nf, tf = ph["nabla forward"], ph["torch forward"]
    nb, tb = ph["nabla forward+backward"] - nf, ph["torch forward+backward"] - tf
    step_s, top = extra["profile"]
    floor = extra["floor"]
    (nb0, npk), (tb0, tpk) = extra["rss"]["nabla"], extra["rss"]["torch"]
    lines += ["", ("ResNet-18 (CIFAR, batch 32) phases, nabla vs torch: forward + loss "
              f"{fmt_time(nf)} vs {fmt_time(tf)} ({nf / tf:.2f}x), backward {fmt_time(nb)} vs {fmt_time(tb)} "
              f"({nb / tb:.2f}x). The convolutions' GEMMs alone (forward, weight gradient, input gradient; "
              f"plain NumPy on exactly-sized matrices, no im2col) take {fmt_time(floor)} per step on this "
              f"BLAS: that is {floor / (nf + nb):.0%} of nabla's forward+backward, and torch's whole "
              f"forward+backward takes {(tf + tb) / floor:.2f}x that floor."), ""]
    lines.append(f"cProfile of nabla's forward+backward ({fmt_time(step_s)} per step under the profiler), own time "
                 "(NumPy's matmul and copies count in the function that calls them):")
    lines.append("")
    lines += [f"- `{name}`: {share:.0%}" for name, share in top]
    lines += ["", (f"Peak memory (peak resident set, VmHWM, of a fresh process: 3 SGD-with-momentum steps of "
              f"ResNet-18 CIFAR at batch 32): nabla {npk:.0f} MB ({nb0:.0f} MB after imports and building the "
              f"model), torch {tpk:.0f} MB ({tb0:.0f} MB, most of it torch's libraries). Target < 2 GB: "
              f"{'met' if npk < 2048 else '**missed**'}. "
              "Peak extra memory per convolution is stated in nabla/ops/conv.py: the ``cols`` matrix of the "
              "layer being run (80 MB for 64 channels on 32x32 at batch 32) lives in a reused per-thread buffer; "
              "only the layer inputs are kept for backward."), ""]
    lines.append(
        "Where the time goes: ResNet's 3x3 stride-1 layers run Winograd F(4x4, 3x3) / F(2x2, 3x3) (nabla/ops/"
        "winograd.py), a quarter of the multiplications of the GEMM floor above, so its step can sit below that "
        "floor; what is left there is the tile copies and the transforms (small GEMMs with the Kronecker "
        "matrices), about as much time as the three GEMMs themselves. The stem, the stride-2 and the 1x1 layers, "
        "and all of LeNet's, stay im2col + one GEMM (their copies and the col2im adds of the input gradient on "
        "top of it). This PyTorch build convolves with oneDNN (MKL-DNN) kernels that need no tile or im2col "
        "buffers, and its GEMMs (MKL) beat OpenBLAS's sgemm on small or skinny matrices (LeNet's 6- and "
        "16-channel layers). What would close the rest: Winograd for the stride-2 layers (polyphase split), "
        "fusing BatchNorm + ReLU into one op, and fewer NumPy passes for LeNet's small layers.")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_results(section: str, path: str) -> None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = "# Benchmark results\n"
    # The markers on lines of their own: RESULTS.md also quotes them inside text (this module's docstring).
    begin, end = "\n" + BEGIN + "\n", "\n" + END
    if begin in text and end in text.split(begin, 1)[1]:
        head, rest = text.split(begin, 1)
        text = head + "\n" + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main(argv=None) -> int:
    import argparse

    import machine
    import torch
    from timing import Settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (noisier)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    machine.set_numpy_blas_threads(1)
    if args.quick:
        settings = Settings(rounds=8, block_s=0.01, warmup_s=0.05)
    else:
        settings = Settings(rounds=60, block_s=0.025, warmup_s=0.3)
    load0 = machine.loadavg()
    rows = run(settings)
    for r in rows:
        print(f"{r.name}: nabla {r.contender}  torch {r.baseline}  ratio {r.ratio:.2f}x (target {r.target:g}x)  "
              f"{r.sanity}")
    extra = analyse(settings)
    print(extra)
    section = render(rows, extra, machine.describe(torch), (load0, machine.loadavg()))
    print(section)
    if not args.no_write:
        write_results(section, args.output)
    return 0 if all(r.sanity_ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
