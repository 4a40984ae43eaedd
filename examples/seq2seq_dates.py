"""Date normalisation with a seq2seq GRU and attention: "Sunday, May 3, 1998" -> "1998-05-03".

    python examples/seq2seq_dates.py                          # additive (Bahdanau) attention
    python examples/seq2seq_dates.py --attention multiplicative --out runs/luong   # heat map in runs/luong/

Training pairs come from Python's ``datetime`` written in 14 human formats (``nabla.models.seq2seq``);
the held-out dates never occur in training. The model reads the characters with a bidirectional
GRU, then writes the ISO date one character at a time, attending over the input at each step. It
trains with teacher forcing (Adam, gradient clipping), then decodes greedily; the exact-match rate
on the held-out dates is printed, and a heat map of the attention weights (output characters down,
input characters across) is saved as a PNG: the year digits look at the year, the month digits at
the month name or number, the day digits at the day.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    import nabla
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    import nabla
from nabla.models.seq2seq import Seq2Seq, batch_tensors, date_vocabs, exact_match, make_date_pairs

EXAMPLES = ["Sunday, May 3, 1998", "05/03/98", "3rd of may 1998", "24.12.2031"]


def plot_attention(model: Seq2Seq, sources: list[str], src_vocab, tgt_vocab, path: str) -> list[str]:
    """Decode ``sources`` and save one attention heat map per source, side by side; returns the outputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, lengths = src_vocab.encode_batch(sources)
    ids, weights = model.greedy_decode(src, lengths, max_len=10)
    outputs = [tgt_vocab.decode(row) for row in ids.numpy()]
    fig, axes = plt.subplots(1, len(sources), figsize=(4.2 * len(sources), 3.6))
    for ax, s, out, w, n in zip(np.atleast_1d(axes), sources, outputs, weights.numpy(), lengths):
        ax.imshow(w[:, :n], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(n), list(s), fontsize=8)
        ax.set_yticks(range(len(out)), list(out), fontsize=8)
        ax.set_title(f"{s!r} -> {out}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return outputs


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attention", choices=("additive", "multiplicative"), default="additive")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-pairs", type=int, default=20000)
    ap.add_argument("--test-pairs", type=int, default=2000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/seq2seq_dates"),
                    help="folder for the attention heat map, attention.png (default runs/seq2seq_dates)")
    args = ap.parse_args(argv)
    picture = args.out / "attention.png"

    src_vocab, tgt_vocab = date_vocabs()
    train = make_date_pairs(args.train_pairs, seed=args.seed)
    seen = {datetime.date.fromisoformat(t) for _, t in train}
    test = make_date_pairs(args.test_pairs, seed=args.seed + 1, exclude=seen)
    print(f"{len(train)} training pairs, {len(test)} held-out pairs (dates unseen in training); e.g.")
    for s, t in train[:4]:
        print(f"  {s!r:32} -> {t}")

    nabla.manual_seed(args.seed)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), embed_dim=32, hidden_size=64, attention=args.attention)
    opt = nabla.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = [train[i] for i in rng.integers(0, len(train), args.batch_size)]
        src, lengths, tgt_in, tgt = batch_tensors(batch, src_vocab, tgt_vocab)
        logits = model(src, lengths, tgt_in)
        loss = nabla.cross_entropy(logits.reshape(-1, len(tgt_vocab)), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nabla.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == args.steps:
            print(f"step {step:4d}  loss {float(loss):.4f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    train_s = time.perf_counter() - start
    em = exact_match(model, test, src_vocab, tgt_vocab)
    print(f"\nheld-out exact match: {em:.2%} ({len(test)} dates) after {args.steps} steps, {train_s:.0f} s of training")
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = plot_attention(model, EXAMPLES, src_vocab, tgt_vocab, picture)
    for s, o in zip(EXAMPLES, outputs):
        print(f"  {s!r:24} -> {o}")
    print(f"attention heat map: {picture}")
    return {"exact_match": em, "outputs": dict(zip(EXAMPLES, outputs)), "seconds": train_s, "picture": picture}


if __name__ == "__main__":
    main()
