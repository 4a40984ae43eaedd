"""Recurrent layers: LSTM (input 32, hidden 128, 50 steps, batch 32) training step, and variants.

Model: ``nn.LSTM(32, 128)`` (time-major input (50, 32, 32)), a ``Linear(128, 10)`` head on every step,
cross-entropy against fixed random targets (mean over all 50 x 32 predictions), float32. The step
(shared code, ``lib`` = nabla or torch) is forward, loss, backward, then hand-written SGD over all
parameters::

    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None

Both frameworks start from the same weights (torch's state dict loaded into nabla) and a few steps
must give the same losses. Rows:

* **LSTM train step** — target <= 1.1x torch's time (issue 18);
* GRU train step, same sizes (informational);
* LSTM train step with variable lengths (50, 49, ..., 19; nabla ``lengths=`` vs torch
  ``pack_padded_sequence``; informational);
* LSTM forward only, under ``no_grad`` (inference) — target <= 1.3x torch's time (issue 18);
* LSTM train step with the cell written from nabla's primitive ops, one step at a time (what the
  fused op in ``nabla/ops/recurrent.py`` replaces; informational: compare with the first row).
"""

from __future__ import annotations

import numpy

NAME = "rnn"
SEQ, BATCH, IN, HIDDEN, CLASSES = 50, 32, 32, 128, 10
LR = 0.1
TARGET = 1.1
TARGET_FORWARD = 1.3
SANITY_STEPS = 3


def make_data(seed: int = 0):
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((SEQ, BATCH, IN)).astype(numpy.float32)
    y = rng.integers(0, CLASSES, (SEQ * BATCH,)).astype(numpy.int64)
    lengths = numpy.arange(SEQ, SEQ - BATCH, -1)
    return x, y, lengths


def composed_lstm(nabla, x, w_ih, w_hh, b_ih, b_hh):
    """The same LSTM from primitive ops, one timestep at a time (the unfused alternative)."""
    gx = x @ w_ih.T + (b_ih + b_hh)
    h = c = nabla.zeros(x.shape[1], w_hh.shape[1])
    outs = []
    for t in range(x.shape[0]):
        i, f, g, o = (gx[t] + h @ w_hh.T).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outs.append(h)
    return nabla.stack(outs)


def build(lib, kind: str, state: dict, x_np, y_np, lengths=None, composed: bool = False):
    """A zero-argument training step (and the no-grad forward) for ``lib``, from the given torch state."""
    if lib.__name__ == "torch":
        import torch

        rnn = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(IN, HIDDEN)
        head = torch.nn.Linear(HIDDEN, CLASSES)
        rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
        head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
        ce = torch.nn.functional.cross_entropy
        x = torch.from_numpy(x_np)
        if lengths is not None:
            x = torch.nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(lengths))

        def run_rnn():
            out = rnn(x)[0]
            if lengths is not None:
                out = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=SEQ)[0]
            return out
    else:
        rnn = (lib.nn.LSTM if kind == "lstm" else lib.nn.GRU)(IN, HIDDEN)
        head = lib.nn.Linear(HIDDEN, CLASSES)
        arrays = {k: v.numpy().copy() for k, v in state.items()}
        rnn.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("rnn.")})
        head.load_state_dict({k[5:]: v for k, v in arrays.items() if k.startswith("head.")})
        ce = lib.cross_entropy
        x = lib.tensor(x_np)

        def run_rnn():
            if composed:
                return composed_lstm(lib, x, *rnn.parameters())
            return rnn(x, lengths=lengths)[0]

    y = lib.tensor(y_np)
    params = list(rnn.parameters()) + list(head.parameters())

    def forward():
        return ce(head(run_rnn()).reshape(-1, CLASSES), y)

    def step():
        loss = forward()
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        return loss

    def inference():
        with lib.no_grad():
            return run_rnn()

    return step, inference


def run(settings) -> list:
    import torch
    from timing import Row, compare

    import nabla

    x, y, lengths = make_data()
    cases = [
        ("LSTM train step (in 32, hidden 128, seq 50, batch 32)", "lstm", {}, TARGET, "step"),
        ("GRU train step (same sizes)", "gru", {}, None, "step"),
        ("LSTM train step, variable lengths 50..19 (packed)", "lstm", {"lengths": lengths}, None, "step"),
        ("LSTM forward only (no_grad)", "lstm", {}, TARGET_FORWARD, "inference"),
        ("LSTM train step, nabla cell composed per step (unfused)", "lstm", {"composed": True}, None, "step"),
    ]
    rows = []
    for label, kind, kw, target, which in cases:
        torch.manual_seed(0)
        model = torch.nn.ModuleDict({"rnn": (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(IN, HIDDEN),
                                     "head": torch.nn.Linear(HIDDEN, CLASSES)})
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        n_step, n_inf = build(nabla, kind, state, x, y, **kw)
        t_step, t_inf = build(torch, kind, state, x, y, lengths=kw.get("lengths"))
        diff = 0.0
        for _ in range(SANITY_STEPS):
            diff = max(diff, abs(n_step().item() - t_step().item()))
        fns = {"nabla": n_step, "torch": t_step} if which == "step" else {"nabla": n_inf, "torch": t_inf}
        stats = compare(fns, settings.scaled(rounds=0.5, block=2))
        rows.append(Row(NAME, label, stats["nabla"], stats["torch"], target=target,
                        sanity=f"max abs loss diff {diff:.1e} over {SANITY_STEPS} SGD steps",
                        sanity_ok=diff <= 1e-4))
    return rows
