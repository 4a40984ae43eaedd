"""Train a small character-level GPT on tiny-shakespeare, then sample from it.

    python examples/gpt_shakespeare.py                      # quick: 1 minute of training (a sketch of English)
    python examples/gpt_shakespeare.py --full               # the full run: 30 minutes of training (<= 1.6 nats/char)
    python examples/gpt_shakespeare.py --minutes 3          # in between
    python examples/gpt_shakespeare.py --steps 200 --n-layer 2 --n-embd 64   # a quick smoke test

The text (``/work/shared/datasets/tinyshakespeare/input.txt``, or ``--data``) is split 90/10 into
training and held-out characters. Each step trains on ``--batch-size`` random windows of
``--block-size`` characters with AdamW, gradient clipping at 1.0, and a learning rate that warms up
and then decays (cosine) over the time budget. The held-out loss (nats per character) is printed as
training goes and at the end, followed by generated text and the generation speed with and without
the KV cache (over one context's worth of characters: past ``block_size`` the window slides and
the cache is rebuilt at every step, so it no longer saves work).

The goal of ``--full``: <= 1.6 nats/char held-out within 30 minutes on 2 CPU cores. The quick default
trains for a minute, scores fewer held-out windows and times generation over 32 characters instead of a
whole context.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

try:
    import nabla
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    import nabla
from nabla.data.datasets import text_corpus
from nabla.models.gpt import GPT, GPTConfig, lm_loss

DEFAULT_DATA = "/work/shared/datasets/tinyshakespeare/input.txt"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="a UTF-8 text file (default: tiny-shakespeare)")
    ap.add_argument("--full", action="store_true",
                    help="the full run: 30 minutes of training, generation timed over a whole context")
    ap.add_argument("--minutes", type=float, default=None, help="training time budget (default 1; 30 with --full)")
    ap.add_argument("--steps", type=int, default=None, help="stop after this many steps (default: time budget only)")
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--block-size", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=24)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    ap.add_argument("--min-lr", type=float, default=3e-4, help="learning rate at the end of the budget")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up steps")
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--eval-every", type=float, default=None,
                    help="seconds between held-out evaluations (default 60, or a quarter of a shorter budget)")
    ap.add_argument("--eval-batches", type=int, default=None,
                    help="batches per held-out evaluation, five times as many at the end (default 5; 20 with --full)")
    ap.add_argument("--sample-tokens", type=int, default=300, help="characters to generate at the end")
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args(argv)
    if args.minutes is None:
        args.minutes = 30.0 if args.full else 1.0
    if args.eval_every is None:
        args.eval_every = min(60.0, args.minutes * 60 / 2)
    if args.eval_batches is None:
        args.eval_batches = 20 if args.full else 5
    return args


def batch(data: np.ndarray, block: int, size: int, rng: np.random.Generator):
    """``size`` random windows of ``block`` characters and the same windows shifted by one."""
    starts = rng.integers(0, len(data) - block - 1, size)
    rows = starts[:, None] + np.arange(block + 1)
    chunk = data[rows]
    return nabla.tensor(chunk[:, :-1]), nabla.tensor(chunk[:, 1:])


@nabla.no_grad()
def held_out_loss(model: GPT, data: np.ndarray, block: int, size: int, batches: int) -> float:
    """Mean loss over ``batches`` fixed windows of the held-out text (the same windows every time)."""
    model.eval()
    rng = np.random.default_rng(0)
    losses = [lm_loss(model(x), y).item() for x, y in (batch(data, block, size, rng) for _ in range(batches))]
    model.train()
    return float(np.mean(losses))


def lr_at(step: int, fraction: float, args: argparse.Namespace) -> float:
    """Linear warm-up over ``args.warmup`` steps, then cosine from ``lr`` to ``min_lr`` as the budget is used."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * min(fraction, 1.0)))


def generation_speed(model: GPT, prompt: nabla.Tensor, tokens: int) -> dict:
    """Tokens per second of ``generate`` with and without the KV cache (same seed, same tokens)."""
    out = {}
    for use_cache in (True, False):
        nabla.manual_seed(0)
        t0 = time.perf_counter()
        ids = model.generate(prompt, tokens, temperature=0.8, top_k=20, use_cache=use_cache)
        out[use_cache] = (tokens / (time.perf_counter() - t0), ids.numpy())
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    nabla.manual_seed(args.seed)
    corpus = text_corpus(args.data)
    n = int(0.9 * len(corpus.data))
    train, val = corpus.data[:n], corpus.data[n:]
    config = GPTConfig(vocab_size=corpus.vocab_size, block_size=args.block_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout)
    model = GPT(config)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for name, p in model.named_parameters() if p.ndim < 2]
    opt = nabla.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))
    print(f"{len(train):,} training / {len(val):,} held-out characters, vocabulary {corpus.vocab_size}; "
          f"GPT {config.n_layer} layers x {config.n_embd} wide, {config.n_head} heads, context {config.block_size}: "
          f"{model.num_parameters():,} parameters")
    print(f"budget: {args.minutes:g} min" + (f" or {args.steps} steps" if args.steps else ""), flush=True)

    rng = np.random.default_rng(args.seed)
    budget = args.minutes * 60
    start = last_eval = time.perf_counter()
    step, curve, smooth = 0, [], None
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget or (args.steps is not None and step >= args.steps):
            break
        lr = lr_at(step, elapsed / budget if args.steps is None else step / args.steps, args)
        for group in opt.param_groups:
            group["lr"] = lr
        x, y = batch(train, args.block_size, args.batch_size, rng)
        loss = lm_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nabla.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        step += 1
        if time.perf_counter() - last_eval >= args.eval_every:
            val_loss = held_out_loss(model, val, args.block_size, args.batch_size, args.eval_batches)
            t = time.perf_counter() - start
            curve.append((step, t, val_loss))
            print(f"step {step:6d}  {t / 60:5.1f} min  train {smooth:.3f}  held-out {val_loss:.3f} nats/char  "
                  f"lr {lr:.2e}", flush=True)
            last_eval = time.perf_counter()
    train_time = time.perf_counter() - start
    val_loss = held_out_loss(model, val, args.block_size, args.batch_size, args.eval_batches * 5)
    chars_per_s = step * args.batch_size * args.block_size / train_time
    print(f"\nfinal: {step} steps in {train_time / 60:.1f} min ({chars_per_s:,.0f}"
          f" chars/s); held-out loss {val_loss:.3f} nats/char "
          + (f"({'meets' if val_loss <= 1.6 else 'misses'} the 1.6 goal)" if args.full else
             "(a quick run: --full trains for 30 minutes, aiming at 1.6)"))

    prompt = nabla.tensor(corpus.encode("ROMEO:\n")).reshape(1, -1)
    # Speed: fill the context once (the cache helps until the window starts to slide).
    timed = args.block_size - prompt.shape[1] if args.full else min(32, args.block_size - prompt.shape[1])
    speed = generation_speed(model, prompt, timed)
    same = np.array_equal(speed[True][1], speed[False][1])
    print(f"\ngeneration of {timed} characters: {speed[True][0]:.0f} tokens/s with the KV "
          f"cache, {speed[False][0]:.0f} tokens/s without ({speed[True][0] / speed[False][0]:.1f}x); same text both "
          f"ways: {same}")
    nabla.manual_seed(args.seed)
    text = model.generate(prompt, args.sample_tokens, temperature=0.8, top_k=20)
    print("\n--- sample (temperature 0.8, top-k 20) ---")
    print(corpus.decode(text[0]))
    return {"steps": step, "minutes": train_time / 60, "val_loss": val_loss, "curve": curve,
            "tokens_per_s": {"cache": speed[True][0], "no_cache": speed[False][0]}, "same_tokens": same}


if __name__ == "__main__":
    main()
