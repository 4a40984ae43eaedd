"""Graph mode: training steps run through ``nabla.compile`` vs PyTorch eager (and vs eager nabla).

The steps are the other benchmarks' own, unchanged: the tiny MLP 2-8-8-1 and the MLP 784-256-256-10
(bench_tiny_mlp.py, bench_mlp.py: primitives, hand-written SGD under no_grad), LeNet-5 (bench_conv.py,
torch's initial weights copied over), and a GPT (4 layers, d128, 4 heads, context 64, batch 8, Adam),
compiled once and then replayed. Each row's sanity check compares the compiled step's losses with eager
nabla's over the first steps (they are equal: the program runs the same kernels in the same order).

``torch.compile`` (inductor, which builds C++ kernels with the machine's compiler) is timed on the tiny
MLP when it works here; its row says so when it does not.
"""

from __future__ import annotations

import numpy

NAME = "compile"
SANITY_STEPS = 5
GPT = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)


def _same_losses(a, b, steps=SANITY_STEPS) -> float:
    return max(abs(a().item() - b().item()) for _ in range(steps))


def _gpt_step(nabla, seed=0):
    model = nabla.models.get_model("gpt", **GPT)
    opt = nabla.optim.Adam(model.parameters(), lr=3e-4)
    rng = numpy.random.default_rng(seed)
    x = nabla.tensor(rng.integers(0, GPT["vocab_size"], (8, GPT["block_size"])))
    y = nabla.tensor(rng.integers(0, GPT["vocab_size"], (8, GPT["block_size"])))

    def step():
        opt.zero_grad()
        logits = model(x)
        loss = nabla.nn.functional.cross_entropy(logits.reshape(-1, GPT["vocab_size"]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def run(settings) -> list:
    import bench_conv
    import bench_mlp
    import bench_tiny_mlp
    import torch
    import torch.nn.functional as TF
    from timing import Row, compare

    import nabla

    rows = []
    # ---- tiny MLP: compiled vs torch eager (target 0.3x), the pure-NumPy floor as reference
    p0 = bench_tiny_mlp.init_params()
    x, y = bench_tiny_mlp.make_data()
    eager, _ = bench_tiny_mlp.make_step(nabla, p0, x, y)
    comp = nabla.compile(bench_tiny_mlp.make_step(nabla, p0, x, y)[0], fullgraph=True)
    diff = _same_losses(eager, comp)
    eager, _ = bench_tiny_mlp.make_step(nabla, p0, x, y)
    comp = nabla.compile(bench_tiny_mlp.make_step(nabla, p0, x, y)[0], fullgraph=True)
    st, _ = bench_tiny_mlp.make_step(torch, p0, x, y)
    sf = bench_tiny_mlp.make_numpy_step(p0, x, y)
    for _ in range(3):
        comp()
    stats = compare({"compiled": comp, "eager": eager, "torch": st, "numpy": sf}, settings.scaled(rounds=2))
    ok = f"compiled vs eager nabla: max abs loss diff {diff:.1e} over {SANITY_STEPS} steps"
    rows.append(Row(NAME, "tiny MLP 2-8-8-1 train step, nabla.compile vs torch eager", stats["compiled"],
                    stats["torch"], contender_label="nabla compiled", target=0.3, reference=stats["numpy"],
                    reference_label="pure NumPy", sanity=ok, sanity_ok=diff == 0.0))
    rows.append(Row(NAME, "tiny MLP 2-8-8-1 train step, nabla.compile vs eager nabla", stats["compiled"],
                    stats["eager"], contender_label="nabla compiled", baseline_label="nabla eager"))
    try:
        tc = torch.compile(st)
        for _ in range(3):
            tc()
        tstats = compare({"torch.compile": tc, "torch": st}, settings.scaled(rounds=1))
        rows.append(Row(NAME, "tiny MLP 2-8-8-1 train step, torch.compile vs torch eager", tstats["torch.compile"],
                        tstats["torch"], contender_label="torch.compile"))
    except Exception as e:  # inductor needs a working C++ toolchain; say why it did not run
        rows.append(Row(NAME, f"tiny MLP, torch.compile: did not run here ({type(e).__name__}: "
                        f"{str(e).splitlines()[0][:80]})", stats["torch"], stats["torch"]))

    # ---- MLP 784-256-256-10 (target 0.85x)
    p0 = bench_mlp.init_params()
    x, y = bench_mlp.make_data()
    eager, _ = bench_mlp.make_step(nabla, nabla.cross_entropy, p0, x, y)
    comp = nabla.compile(bench_mlp.make_step(nabla, nabla.cross_entropy, p0, x, y)[0], fullgraph=True)
    diff = _same_losses(eager, comp)
    eager, _ = bench_mlp.make_step(nabla, nabla.cross_entropy, p0, x, y)
    comp = nabla.compile(bench_mlp.make_step(nabla, nabla.cross_entropy, p0, x, y)[0], fullgraph=True)
    st, _ = bench_mlp.make_step(torch, TF.cross_entropy, p0, x, y)
    for _ in range(3):
        comp()
    stats = compare({"compiled": comp, "eager": eager, "torch": st}, settings.scaled(rounds=1.5, block=2))
    rows.append(Row(NAME, "MLP 784-256-256-10 train step, nabla.compile vs torch eager", stats["compiled"],
                    stats["torch"], contender_label="nabla compiled", target=0.85,
                    sanity=f"compiled vs eager: max abs loss diff {diff:.1e}", sanity_ok=diff == 0.0))
    rows.append(Row(NAME, "MLP 784-256-256-10 train step, nabla.compile vs eager nabla", stats["compiled"],
                    stats["eager"], contender_label="nabla compiled", baseline_label="nabla eager"))

    # ---- LeNet-5 (target 0.95x)
    n1, t_model, x, y = bench_conv.make_pair("lenet5")
    n2, _, _, _ = bench_conv.make_pair("lenet5")
    eager = bench_conv.make_phases(nabla, n1, x, y)["step"]
    comp = nabla.compile(bench_conv.make_phases(nabla, n2, x, y)["step"], fullgraph=True)
    diff = _same_losses(eager, comp)
    st = bench_conv.make_phases(torch, t_model, x, y)["step"]
    stats = compare({"compiled": comp, "eager": eager, "torch": st}, settings.scaled(rounds=0.5, block=4))
    rows.append(Row(NAME, "LeNet-5 train step (batch 64), nabla.compile vs torch eager", stats["compiled"],
                    stats["torch"], contender_label="nabla compiled", target=0.95,
                    sanity=f"compiled vs eager: max abs loss diff {diff:.1e}", sanity_ok=diff == 0.0))
    rows.append(Row(NAME, "LeNet-5 train step, nabla.compile vs eager nabla", stats["compiled"], stats["eager"],
                    contender_label="nabla compiled", baseline_label="nabla eager"))

    # ---- GPT (faster than eager nabla by a measured margin)
    nabla.manual_seed(0)
    eager = _gpt_step(nabla)
    nabla.manual_seed(0)
    comp = nabla.compile(_gpt_step(nabla), fullgraph=True)
    diff = _same_losses(eager, comp, 3)
    stats = compare({"compiled": comp, "eager": eager}, settings.scaled(rounds=0.25, block=4))
    rows.append(Row(NAME, "GPT 4x128 (ctx 64, batch 8, Adam) train step, nabla.compile vs eager nabla",
                    stats["compiled"], stats["eager"], contender_label="nabla compiled", baseline_label="nabla eager",
                    target=1.0, sanity=f"compiled vs eager: max abs loss diff {diff:.1e} over 3 steps",
                    sanity_ok=diff == 0.0))
    return rows
