"""Pre-train a small BERT by masked-language modelling, then fine-tune it on a tiny labelled task,
next to the same model fine-tuned from scratch.

    python examples/bert_finetune.py                 # quick: 800 pre-training steps, 6 epochs (about a minute)
    python examples/bert_finetune.py --full          # 1,500 pre-training steps, 12 epochs (2-5 minutes on a CPU core)

The data is generated here: a toy language of reviews: nouns ("movie", "hotel", ...), filler words,
12 positive and 12 negative adjectives, and positive / negative verbs ("loved" / "hated"). A review
is two sentences (segments A and B) of one polarity, e.g.
``[CLS] the hotel was very superb [SEP] i adored this hotel [SEP]``. Nothing in the unlabelled text
says which words are positive; words of one polarity merely share contexts with each other.

The labelled task: the polarity of one short sentence such as ``the movie was dull``. There are only
``--labelled`` training sentences, and they use only the first 6 adjectives of each polarity; the
test sets use those ("seen" adjectives) and the other 6 ("unseen"): those are never labelled, so
only what the model learned without labels can classify them.

Both models have the same size, the same fine-tuning data, optimizer, learning rate and epochs; the
only difference is the starting point (masked-LM pre-trained encoder vs random). The output is both
learning curves (held-out accuracy on seen and unseen adjectives after each epoch).

During pre-training the example also prints a probe of what the model knows about polarity: mask
one adjective in held-out reviews and measure the share of the predicted adjective probability on
adjectives of the review's polarity (0.5 = nothing learned). It stays at 0.5 while the model learns
the grammar, then jumps to ~1 (with seed 0 around step 700-800): a phase transition typical of
attention models. Fine-tuning after it, the pre-trained model classifies even the adjectives it
never saw labelled; from scratch those stay at chance.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

try:
    import nabla
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
    import nabla
from nabla.data.datasets.reviews import ADJECTIVES, CLS, ID, MASK, PAD, SEEN, SEP, SPECIALS, WORDS, ToyReviews, pad
from nabla.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, mask_tokens, mlm_loss


@nabla.no_grad()
def polarity_probe(model: BertForMaskedLM, data: ToyReviews, n: int = 64) -> float:
    """What pre-training learned about polarity: mask one adjective of each of ``n`` reviews; the share of
    the predicted adjective probability that falls on adjectives of the review's polarity (0.5 = none)."""
    model.eval()
    ids_of = {p: [ID[w] for w in ADJECTIVES[p]] for p in (0, 1)}
    shares = []
    for _ in range(n):
        ids, seg = data.review()
        polarity = 1 if any(i in ids_of[1] for i in ids) else 0
        k = next(k for k, i in enumerate(ids) if i in ids_of[polarity])
        x = list(ids)
        x[k] = MASK
        logits = model(nabla.tensor([x]), nabla.tensor([seg])).numpy()[0, k]
        p = np.exp(logits - logits.max())
        right, wrong = p[ids_of[polarity]].sum(), p[ids_of[1 - polarity]].sum()
        shares.append(right / (right + wrong))
    model.train()
    return float(np.mean(shares))


def pretrain(model: BertForMaskedLM, data: ToyReviews, steps: int, batch: int, lr: float, log_every: int,
             probe_data: ToyReviews | None = None) -> list:
    """Masked-LM pre-training on freshly generated reviews; returns (step, loss, probe) rows."""
    opt = nabla.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    curve, smooth = [], None
    model.train()
    for step in range(1, steps + 1):
        reviews = [data.review() for _ in range(batch)]
        length = max(len(r[0]) for r in reviews)
        ids, seg = pad([r[0] for r in reviews], length), pad([r[1] for r in reviews], length)
        inputs, labels = mask_tokens(nabla.tensor(ids), len(WORDS), MASK, special_ids=(PAD, CLS, SEP, MASK),
                                     random_low=len(SPECIALS))
        loss = mlm_loss(model(inputs, nabla.tensor(seg), nabla.tensor((ids != PAD).astype(np.int64))), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        smooth = loss.item() if smooth is None else 0.9 * smooth + 0.1 * loss.item()
        if step % log_every == 0 or step == steps:
            probe = polarity_probe(model, probe_data) if probe_data is not None else float("nan")
            curve.append((step, smooth, probe))
            print(f"  pre-training step {step:5d}: masked-LM loss {smooth:.3f}, polarity of masked adjectives "
                  f"{probe:.2f}", flush=True)
    return curve


def labelled_set(data: ToyReviews, n: int, adjectives_of: dict) -> tuple[nabla.Tensor, nabla.Tensor, nabla.Tensor]:
    rows = [data.labelled(adjectives_of) for _ in range(n)]
    ids = pad([r[0] for r in rows], max(len(r[0]) for r in rows))
    return nabla.tensor(ids), nabla.tensor((ids != PAD).astype(np.int64)), nabla.tensor([r[1] for r in rows])


@nabla.no_grad()
def accuracy(model, ids, mask, y) -> float:
    model.eval()
    acc = float((model(ids, attention_mask=mask).argmax(-1) == y).float().mean().item())
    model.train()
    return acc


def finetune(model, train, tests: dict, epochs: int, batch: int, lr: float, seed: int) -> list:
    """Fine-tune on ``train``; after each epoch, the accuracy on each test set. Returns the curve."""
    opt = nabla.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    ids, mask, y = train
    rng = np.random.default_rng(seed)
    curve = []
    for _epoch in range(1, epochs + 1):
        order = rng.permutation(len(y))
        for start in range(0, len(order), batch):
            idx = nabla.tensor(order[start:start + batch])
            loss = nabla.cross_entropy(model(ids[idx], attention_mask=mask[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append({name: accuracy(model, *t) for name, t in tests.items()})
    return curve


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true",
                    help="the full run: 1,500 pre-training steps and 12 fine-tuning epochs (3-5 minutes)")
    ap.add_argument("--pretrain-steps", type=int, default=None, help="masked-LM steps (default 800; 1,500 with --full)")
    ap.add_argument("--pretrain-batch", type=int, default=32)
    ap.add_argument("--pretrain-lr", type=float, default=2e-3)
    ap.add_argument("--labelled", type=int, default=64, help="labelled training sentences (seen adjectives only)")
    ap.add_argument("--test", type=int, default=400, help="sentences per test set")
    ap.add_argument("--finetune-epochs", type=int, default=None, help="fine-tuning epochs (default 6; 12 with --full)")
    ap.add_argument("--finetune-batch", type=int, default=8)
    ap.add_argument("--finetune-lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="hidden dropout (0 by default: on this small task 0.1 delays what pre-training learns)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.pretrain_steps is None:
        args.pretrain_steps = 1500 if args.full else 800
    if args.finetune_epochs is None:
        args.finetune_epochs = 12 if args.full else 6
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    nabla.manual_seed(args.seed)
    config = BertConfig(vocab_size=len(WORDS), hidden_size=args.hidden, num_hidden_layers=args.layers,
                        num_attention_heads=args.heads, intermediate_size=4 * args.hidden, max_position_embeddings=48,
                        hidden_dropout_prob=args.dropout)
    t0 = time.perf_counter()
    print(f"vocabulary {len(WORDS)} words; BERT {args.layers} layers x {args.hidden} wide, {args.heads} heads")
    print(f"masked-LM pre-training on {args.pretrain_steps * args.pretrain_batch:,} generated reviews:")
    mlm = BertForMaskedLM(config)
    pre_curve = pretrain(mlm, ToyReviews(args.seed), args.pretrain_steps, args.pretrain_batch, args.pretrain_lr,
                         max(1, args.pretrain_steps // 10), probe_data=ToyReviews(args.seed + 100))
    t_pre = time.perf_counter() - t0

    seen = {p: ADJECTIVES[p][:SEEN] for p in (0, 1)}
    unseen = {p: ADJECTIVES[p][SEEN:] for p in (0, 1)}
    data = ToyReviews(args.seed + 1)
    train = labelled_set(data, args.labelled, seen)
    tests = {"seen": labelled_set(data, args.test, seen), "unseen": labelled_set(data, args.test, unseen)}

    curves = {}
    for name in ("pre-trained", "from scratch"):
        nabla.manual_seed(args.seed + 2)  # the same classifier initialisation and dropout draws for both
        clf = BertForSequenceClassification(config, num_labels=2)
        if name == "pre-trained":
            clf.bert.load_state_dict(mlm.bert.state_dict())
        curves[name] = finetune(clf, train, tests, args.finetune_epochs, args.finetune_batch, args.finetune_lr,
                                args.seed)

    print(f"\nfine-tuning on {args.labelled} labelled sentences; held-out accuracy after each epoch "
          f"({args.test} sentences per test set; 'unseen' adjectives never appear in labelled data):")
    print("epoch | pre-trained: seen  unseen | from scratch: seen  unseen")
    for e in range(args.finetune_epochs):
        p, s = curves["pre-trained"][e], curves["from scratch"][e]
        print(f"{e + 1:5d} |              {p['seen']:.3f}  {p['unseen']:.3f} |               {s['seen']:.3f}  "
              f"{s['unseen']:.3f}")

    def first_epoch(curve, key, level):
        return next((i + 1 for i, c in enumerate(curve) if c[key] >= level), None)

    summary = {name: {"final": c[-1], "epochs_to_90_seen": first_epoch(c, "seen", 0.9)} for name, c in curves.items()}
    print("\nepochs to reach 90% on seen adjectives: " + ", ".join(
        f"{n}: {v['epochs_to_90_seen'] or 'not within ' + str(args.finetune_epochs)}" for n, v in summary.items()))
    print("final accuracy on unseen adjectives: " + ", ".join(
        f"{n}: {v['final']['unseen']:.3f}" for n, v in summary.items()))
    print(f"(pre-training took {t_pre:.0f} s; total {time.perf_counter() - t0:.0f} s)")
    if not args.full:
        print("(a quick run: --full pre-trains 1,500 steps and fine-tunes 12 epochs, for the learning curves in "
              "benchmarks/RESULTS.md)")
    return {"pretrain_curve": pre_curve, "curves": curves, "summary": summary}


if __name__ == "__main__":
    main()
