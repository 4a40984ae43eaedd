"""Profile nabla's tiny-MLP training step (the one in bench_tiny_mlp.py) to find Python overhead.

    python benchmarks/profile_mlp.py                  # cProfile, top 30 functions by tottime
    python benchmarks/profile_mlp.py --steps 5000 --top 50 --sort cumtime
    python benchmarks/profile_mlp.py --pyinstrument   # call tree, if pyinstrument is installed
    python benchmarks/profile_mlp.py --model mlp      # the 784-256-256-10 step instead
    python benchmarks/profile_mlp.py --dump out.prof  # also save the stats (snakeviz, pstats)

Only nabla runs here (no torch import). cProfile adds a roughly constant cost per Python call, so it
inflates call-heavy code: use it to see *where* time goes, and benchmarks/run.py for *how much*.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

# one BLAS thread, as in run.py (set before NumPy loads OpenBLAS); export OPENBLAS_NUM_THREADS to change
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import nabla
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import nabla

import bench_mlp  # noqa: E402
import bench_tiny_mlp  # noqa: E402


def build(model: str):
    if model == "tiny":
        x, y = bench_tiny_mlp.make_data()
        step, _ = bench_tiny_mlp.make_step(nabla, bench_tiny_mlp.init_params(), x, y)
    else:
        x, y = bench_mlp.make_data()
        step, _ = bench_mlp.make_step(nabla, nabla.cross_entropy, bench_mlp.init_params(), x, y)
    return step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--model", choices=("tiny", "mlp"), default="tiny", help="tiny: 2-8-8-1 (default); mlp: 784-256-256-10"
    )
    ap.add_argument("--steps", type=int, default=None, help="steps to profile (default 3000 tiny, 200 mlp)")
    ap.add_argument("--top", type=int, default=30, help="how many functions to print")
    ap.add_argument("--sort", default="tottime", help="pstats sort key: tottime (default), cumtime, ncalls")
    ap.add_argument("--pyinstrument", action="store_true", help="use pyinstrument instead of cProfile")
    ap.add_argument("--dump", metavar="FILE", help="save the cProfile stats to FILE")
    args = ap.parse_args(argv)
    steps = args.steps or (3000 if args.model == "tiny" else 200)

    step = build(args.model)
    for _ in range(50 if args.model == "tiny" else 5):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    plain = (time.perf_counter() - t0) / steps
    print(f"nabla {args.model} step without profiler: {plain * 1e6:.1f} us/step over {steps} steps")

    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("pyinstrument is not installed (pip install pyinstrument); use cProfile (the default)")
            return 2
        prof = Profiler(interval=0.0001)
        prof.start()
        for _ in range(steps):
            step()
        prof.stop()
        print(prof.output_text(unicode=True, color=False, show_all=False))
        return 0

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(steps):
        step()
    prof.disable()
    profiled = (time.perf_counter() - t0) / steps
    print(f"under cProfile: {profiled * 1e6:.1f} us/step (profiler overhead included)\n")
    if args.dump:
        prof.dump_stats(args.dump)
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s)
    st.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    text = s.getvalue()
    # per-step view: ncalls and times divided by steps are what matter when cutting overhead
    print(f"(counts and times below are totals over {steps} steps; divide by {steps} for per-step values)")
    print(text[text.find("   ncalls"):] if "   ncalls" in text else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
