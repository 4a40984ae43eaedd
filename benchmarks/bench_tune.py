"""nabla tune, measured: tuned vs default accuracy and what pruning saves, on digits and MNIST (8,000/2,000).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tune.py [--quick]

For each data set and seed, the same search (``lr=log:1e-4:1e-1``, ``hidden=choice:128,256,512``,
``dropout=0:0.5``; TPE seeded, each trial seeded) runs once with the median pruner and once without;
both end by training the best and the default configuration on the whole training part and scoring
them on the test part. Prints a markdown table (medians over seeds with the per-seed values).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from nabla.tune import search

PARAMS = ["lr=log:1e-4:1e-1", "hidden=choice:128,256,512", "dropout=0:0.5"]
MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="digits only, one seed")
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    setups = [("digits", dict(trials=20, epochs=10), {})]
    if not a.quick:
        if MNIST.exists():
            setups.append(("mnist", dict(trials=12, epochs=6), dict(data_dir=str(MNIST), split="test", holdout=2000)))
        else:
            print(f"(no MNIST at {MNIST}: skipped)", file=sys.stderr)
    seeds = range(1 if a.quick else a.seeds)
    rows = []
    for name, budget, data in setups:
        for pruner in ("median", "none"):
            runs = []
            for seed in seeds:
                t0 = time.perf_counter()
                r = search("mlp", name, PARAMS, pruner=pruner, seed=seed, final=True, **budget, **data)
                c = r.counts()
                runs.append(dict(seconds=time.perf_counter() - t0, best=r.best_value, default=r.default_value,
                                 tuned_test=r.test["tuned"], default_test=r.test["default"],
                                 pruned=c.get("pruned", 0), epochs=c["epochs_run"], budget=c["epochs_budget"]))
                print(f"{name} {pruner} seed {seed}: {runs[-1]}", file=sys.stderr, flush=True)
            rows.append((name, budget, pruner, runs))

    def med(runs, k, fmt="{:.4f}"):
        vals = [r[k] for r in runs]
        return fmt.format(statistics.median(vals)) + " (" + ", ".join(fmt.format(v) for v in vals) + ")"

    print("| data set | budget | pruner | val acc: best trial | val acc: default | test acc: tuned | "
          "test acc: default | trials pruned | epochs run / budget | search time, s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, budget, pruner, runs in rows:
        print(f"| {name} | {budget['trials']} trials x {budget['epochs']} epochs | {pruner} | {med(runs, 'best')} | "
              f"{med(runs, 'default')} | {med(runs, 'tuned_test')} | {med(runs, 'default_test')} | "
              f"{med(runs, 'pruned', '{:.0f}')} | {med(runs, 'epochs', '{:.0f}')} / {runs[0]['budget']} | "
              f"{med(runs, 'seconds', '{:.0f}')} |")


if __name__ == "__main__":
    main()
