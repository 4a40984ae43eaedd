"""Train a character-level LSTM on tiny-shakespeare with truncated BPTT, then sample from it.

    python examples/char_lstm.py                     # quick: 45 s of training, about a minute in all
    python examples/char_lstm.py --full              # 3 minutes of training, held-out loss on all 111,540 chars
    python examples/char_lstm.py --minutes 10 --cell gru
    python examples/char_lstm.py --steps 30          # a smoke test

The text (``/work/shared/datasets/tinyshakespeare/input.txt``, or ``--data``) is split 90/10 into
training and held-out characters. Training reads the text as ``--batch-size`` parallel streams,
``--seq-len`` characters at a time; the LSTM's state is carried from one chunk to the next but
detached, so gradients flow back at most ``--seq-len`` steps (truncated backpropagation through
time); the global gradient norm is clipped to ``--clip``. At the end: the held-out loss (nats per
character) and samples at a few temperatures (low: safe and repetitive; high: inventive, misspelt).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    import nabla
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    import nabla
from nabla.data.datasets import text_corpus
from nabla.models import get_model
from nabla.models.rnn import evaluate_lm, fit_tbptt

DEFAULT_DATA = "/work/shared/datasets/tinyshakespeare/input.txt"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="a UTF-8 text file (default: tiny-shakespeare)")
    ap.add_argument("--full", action="store_true",
                    help="the long run: 3 minutes of training, held-out loss over all the held-out text")
    ap.add_argument("--minutes", type=float, default=None,
                    help="training time budget (default 0.75; 3 with --full)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=1.0, help="max global gradient norm")
    ap.add_argument("--sample-chars", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.minutes is None:
        args.minutes = 3.0 if args.full else 0.75
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    corpus = text_corpus(args.data)
    split = int(0.9 * len(corpus.data))
    train, held_out = corpus.data[:split], corpus.data[split:]
    print(
        f"{len(corpus.data):,} characters, vocabulary {corpus.vocab_size}; "
        f"{len(train):,} train / {len(held_out):,} held out"
    )

    nabla.manual_seed(args.seed)
    model = get_model(f"char_{args.cell}", vocab_size=corpus.vocab_size, embed_dim=args.embed,
                      hidden_size=args.hidden, num_layers=args.layers)
    print(model)
    opt = nabla.optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()

    def report(step: int, loss: float) -> None:
        if step % 50 == 0:
            print(f"step {step:5d}  train loss {loss:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)

    losses = fit_tbptt(model, train, opt, batch_size=args.batch_size, seq_len=args.seq_len, max_steps=args.steps,
                       max_seconds=args.minutes * 60, clip=args.clip, callback=report)
    seconds = time.perf_counter() - start
    scored = held_out if args.full else held_out[:20_000]  # quick: a sixth of the held-out text
    val = evaluate_lm(model, scored, batch_size=16, seq_len=256)
    print(f"\n{len(losses)} steps in {seconds:.0f} s ({seconds / len(losses) * 1e3:.0f} ms/step); "
          f"held-out loss {val:.3f} nats/char (over {len(scored):,} characters)\n")
    if not args.full:
        print("(a quick run: --full trains for 3 minutes and scores all the held-out text)\n")
    prompt = nabla.tensor(corpus.encode("ROMEO:\n")).reshape(1, -1)
    samples = {}
    for temperature in (0.5, 0.8, 1.0):
        nabla.manual_seed(args.seed + 1)
        text = corpus.decode(model.generate(prompt, args.sample_chars, temperature=temperature)[0])
        samples[temperature] = text
        print(f"--- temperature {temperature} ---\n{text}\n")
    return {"steps": len(losses), "losses": losses, "held_out": val, "samples": samples}


if __name__ == "__main__":
    main()
