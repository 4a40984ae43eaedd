"""DataLoader(num_workers=N) against the in-process loader, on a data set whose ``__getitem__`` works.

Data set: 512 random 1x64x64 float32 "images"; ``__getitem__`` applies a small augmentation in NumPy
(a random flip, a 3x3 box blur by shifted sums, a per-image standardisation), as image pipelines
do. One timed call is one epoch of ``for x, y in loader`` at batch 32 with nothing else per batch,
so the numbers are the loader's own throughput. Rows: num_workers 0 (baseline), 1, 2, and 2 with
``persistent_workers`` (the pool starts once, outside the timing; otherwise each epoch forks its
workers). Ratios are per-repeat time / baseline time, medians over interleaved repeats.

Measured (2-core machine, load average ~10, 5 repeats): in-process 0.18 s per 512-sample epoch
(0.36 ms a sample); 2 persistent workers 0.69x that time; a fresh pool per epoch 1.27x (2 workers)
and 1.72x (1 worker): at this per-sample cost the fork does not pay for itself within one epoch.

    .venv/bin/python benchmarks/bench_dataloader_workers.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy

import nabla
from nabla.data import DataLoader, Dataset


class Augmented(Dataset):
    def __init__(self, n: int = 512, size: int = 64) -> None:
        self.images = numpy.random.default_rng(0).random((n, 1, size, size), dtype=numpy.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x = self.images[i]
        if nabla.rand(1).item() < 0.5:
            x = x[:, :, ::-1]
        p = numpy.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
        blur = sum(p[:, a:a + x.shape[1], b:b + x.shape[2]] for a in range(3) for b in range(3)) / 9.0
        blur = (blur - blur.mean()) / (blur.std() + 1e-5)
        return nabla.tensor(blur.astype(numpy.float32)), i % 10


def epoch(loader: DataLoader) -> float:
    t = time.perf_counter()
    n = 0
    for x, _ in loader:
        n += x.shape[0]
    assert n == len(loader.dataset)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ds = Augmented()
    persistent = DataLoader(ds, batch_size=32, num_workers=2, persistent_workers=True)
    epoch(persistent)  # start the pool
    loaders = {
        "num_workers=0 (in process)": DataLoader(ds, batch_size=32),
        "num_workers=1": DataLoader(ds, batch_size=32, num_workers=1),
        "num_workers=2": DataLoader(ds, batch_size=32, num_workers=2),
        "num_workers=2, persistent": persistent,
    }
    times: dict[str, list[float]] = {k: [] for k in loaders}
    for _ in range(args.repeats):  # interleaved, so machine load hits every row alike
        for name, loader in loaders.items():
            times[name].append(epoch(loader))
    base = numpy.median(times["num_workers=0 (in process)"])
    print(f"| loader | epoch (s), median of {args.repeats} | time / in-process |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        med = numpy.median(ts)
        ratio = numpy.median([t / b for t, b in zip(ts, times["num_workers=0 (in process)"])])
        print(f"| {name} | {med:.3f} (min {min(ts):.3f}, max {max(ts):.3f}) | {ratio:.2f} |")
    print(f"baseline {base:.3f} s per epoch of {len(ds)} samples; os.cpu_count() = {__import__('os').cpu_count()}")


if __name__ == "__main__":
    main()
