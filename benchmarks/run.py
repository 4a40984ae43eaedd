"""Run nabla-vs-PyTorch benchmarks in one process and write benchmarks/RESULTS.md.

    python benchmarks/run.py                 # full run (about 70 s)
    python benchmarks/run.py --quick         # fewer repetitions, for a smoke test
    python benchmarks/run.py --only mlp      # one benchmark (comma-separate for several)
    python benchmarks/run.py --list          # what NAMEs exist
    python benchmarks/run.py --strict        # refuse (exit 3) unless the machine is quiet (load < --max-load)

Both frameworks are measured in the same run, interleaved (see timing.py), with the same initial
weights, after a check that a few steps give the same losses. A run first waits (``--wait``) for a quiet
machine, since ratios taken under load flatter nabla; a run that could not get one is marked so.
RESULTS.md is overwritten every run (``--output`` writes elsewhere). For each model benchmark that
misses its target, analysis.py adds what the profile shows (phase split, cProfile summary, one
generated sentence). Adding a benchmark: write ``bench_<name>.py`` with ``NAME`` and
``run(settings) -> list[Row]``, and add the module to ``BENCHMARKS`` below.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEFAULT_THREADS = "1"  # for both NumPy's BLAS and torch; see machine.py for why


def _threads_arg(argv: list[str]) -> str:
    """The --threads value, read before NumPy is imported (OpenBLAS reads its env var at load time)."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return DEFAULT_THREADS


if __name__ == "__main__" and _threads_arg(sys.argv[1:]).isdigit():
    os.environ["OPENBLAS_NUM_THREADS"] = _threads_arg(sys.argv[1:])
try:
    import nabla
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import nabla


import analysis  # noqa: E402
import bench_loop  # noqa: E402
import bench_mlp  # noqa: E402
import bench_ops  # noqa: E402
import bench_optim  # noqa: E402
import bench_rnn  # noqa: E402
import bench_tiny_mlp  # noqa: E402
import bench_transformer  # noqa: E402
import machine  # noqa: E402
from timing import Row, Settings, fmt_time  # noqa: E402

BENCHMARKS = {m.NAME: m for m in (bench_ops, bench_tiny_mlp, bench_mlp, bench_optim, bench_loop)}
BENCHMARKS[bench_transformer.NAME] = bench_transformer
BENCHMARKS[bench_rnn.NAME] = bench_rnn
import bench_conv  # noqa: E402

BENCHMARKS[bench_conv.NAME] = bench_conv
import bench_compile  # noqa: E402

BENCHMARKS[bench_compile.NAME] = bench_compile

FULL = Settings(rounds=60, block_s=0.025, warmup_s=0.3)
QUICK = Settings(rounds=8, block_s=0.01, warmup_s=0.05)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test; noisier numbers)")
    ap.add_argument("--only", metavar="NAME", action="append", default=[],
                    help="run only this benchmark (repeatable or comma-separated); see --list")
    ap.add_argument("--list", action="store_true", help="list benchmark names and exit")
    ap.add_argument("--threads", default=DEFAULT_THREADS,
                    help="threads for both NumPy's BLAS and torch: a number (default 1), or 'auto' to keep "
                         "NumPy's BLAS default and give torch the same")
    ap.add_argument("--analysis", choices=("missed", "all", "none"), default="missed",
                    help="phase split + profile for model benchmarks: those that missed their target (default), "
                         "all of them, or none")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"), help="where to write the report")
    ap.add_argument("--max-load", type=float, default=1.0, metavar="L",
                    help="a machine is quiet when its 1-minute load average is below L (default 1.0)")
    ap.add_argument("--wait", type=float, default=180.0, metavar="S",
                    help="seconds to wait for a quiet machine before starting (default 180; 0 starts at once)")
    ap.add_argument("--strict", action="store_true",
                    help="refuse to run (exit 3) if the machine is not quiet after --wait; without it, results "
                         "taken under load are marked as such in RESULTS.md")
    args = ap.parse_args(argv)
    if not (args.max_load > 0 and args.wait >= 0):
        ap.error(f"--max-load must be > 0 and --wait >= 0, got {args.max_load} and {args.wait}")
    return args


def setup_threads(torch, requested: str) -> str:
    """Give NumPy's BLAS and torch the same thread count; return a sentence for the report."""
    why = ("One thread is the default on purpose: on this shared 2-core machine, 2 threads let a busy "
           "neighbour stall both OpenBLAS and torch's OpenMP pool for tens of ms per step (see machine.py).")
    if requested != "auto":
        if not requested.isdigit() or int(requested) < 1:
            raise SystemExit(f"--threads: expected a positive number or 'auto', got {requested!r}")
        n = int(requested)
        machine.set_numpy_blas_threads(n)
        torch.set_num_threads(n)
        got, how = machine.numpy_blas_threads()
        note = (f"{n} for both: OPENBLAS_NUM_THREADS={n} and openblas_set_num_threads({n}) for NumPy "
                f"(it reports {got}, via {how}), torch.set_num_threads({n}) (it reports {torch.get_num_threads()}).")
        if got not in (None, n):
            note += f" **Warning: NumPy's BLAS reports {got} threads, not {n}.**"
        return note + (" " + why if n == 1 else "")
    n, how = machine.numpy_blas_threads()
    if n is None:
        n = os.cpu_count() or 1
        how = "unknown, assumed one per core"
    torch.set_num_threads(n)
    return (f"`--threads auto`: NumPy's BLAS uses {n} thread(s) ({how}); torch.set_num_threads({n}) to match.")


def nabla_revision() -> str:
    """The git commit nabla was measured at, and whether src/ had uncommitted changes."""
    import subprocess

    root = os.path.dirname(HERE)
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "git revision unknown"
    if not rev:
        return "git revision unknown"
    return f"git {rev}" + (", with uncommitted changes in src/" if dirty else ", src/ clean")


def _pct(st) -> str:
    return f"{fmt_time(st.median)} [{fmt_time(st.p10)}, {fmt_time(st.p90)}]"


def quietness(load: tuple[str, str], max_load: float) -> tuple[bool, str]:
    """Was the machine quiet for the whole run? At the start the 1-minute load counts only others; at the
    end it also counts this run's own busy thread (about 1.0), which is subtracted."""
    start, end = (float(x.split()[0]) if x != "n/a" else float("nan") for x in load)
    quiet = start < max_load and end - 1.0 < max_load
    if quiet:
        return True, f"quiet (1-minute load {start:.2f} at start, {end:.2f} at end incl. this run; bar {max_load:g})"
    return False, (f"**taken under load** (1-minute load {start:.2f} at start, {end:.2f} at end incl. this run's "
                   f"own thread; bar {max_load:g}): other work shared the cores, which flatters nabla's ratios "
                   "(PyTorch's threads suffer more from a busy neighbour). Treat these ratios as provisional.")


def family_table(rows: list[Row], info: dict, quiet_note: str) -> str:
    """One CPU family's ratio table, kept in RESULTS.md across runs on other families (keep block)."""
    label, slug = info["family"]
    out = [f"<!-- keep:cpu_{slug} -->", f"### {label}: {info['cpu']}", "",
           f"{info['date']}, {info['simd']}, {info['blas']}, {info['cores']} cores; {quiet_note}", "",
           "| Benchmark | ratio nabla/torch | target | met? |", "|---|---|---|---|"]
    for r in rows:
        target = f"<= {r.target:g}x" if r.target is not None else "-"
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        out.append(f"| {r.name} | {r.ratio:.2f}x | {target} | {met} |")
    out.append(f"<!-- /keep:cpu_{slug} -->")
    return "\n".join(out) + "\n"


def render(rows: list[Row], info: dict, threads_note: str, settings: Settings, mode: str,
           load: tuple[str, str], elapsed: float, names: list[str], analyses: list = (),
           quiet_note: str = "") -> str:
    out = ["# nabla vs PyTorch (CPU): benchmark results", ""]
    out.append(f"Written by `benchmarks/run.py` ({mode}) on {info['date']}; overwritten on every run, "
               "do not edit by hand. Benchmarks run: " + ", ".join(f"`{n}`" for n in names) + ".")
    if quiet_note:
        out += ["", f"Machine state: {quiet_note}"]
    out += ["", "## Machine and software", ""]
    out.append(f"- CPU: {info['cpu']}, {info['cores']} cores")
    out.append(f"- Vector extensions: {info['simd']}; CPU family for the per-family tables: {info['family'][0]}")
    out.append(f"- BLAS in use: {info['blas']}")
    out.append(f"- Load average (1/5/15 min) at start: {load[0]}; at end: {load[1]}")
    out.append(f"- Python {info['python']}")
    out.append(f"- NumPy {info['numpy']}")
    out.append(f"- PyTorch {info['torch']}")
    out.append(f"- nabla {nabla.__version__} ({nabla_revision()})")
    out.append(f"- Threads: {threads_note}")
    out += ["", "## Method", ""]
    out.append(
        f"Each contender is warmed up for {settings.warmup_s:g} s, then timed in {settings.rounds} rounds "
        f"(some benchmarks scale this; see the repetitions column) of blocks of about {settings.block_s * 1e3:g} ms "
        "(the calls per block are calibrated per contender from the warm-up). The contenders alternate block by "
        "block, in forward then reversed order, so machine noise hits all of them alike. One sample = one block's "
        "time / its calls, measured with `time.perf_counter`; the garbage collector stays on, as in a training "
        "loop. Times are **medians** per call, with [p10, p90] over the blocks. Ratio = nabla median / torch "
        "median (lower is better for nabla; < 1 means nabla is faster)."
    )
    out += ["", "## Results", ""]
    out.append("| Benchmark | nabla median [p10, p90] | torch median [p10, p90] | ratio nabla/torch | target | met? "
               "| timed calls (blocks x calls) nabla / torch |")
    out.append("|---|---|---|---|---|---|---|")
    for r in rows:
        target = f"<= {r.target:g}x" if r.target is not None else "-"
        met = "-" if r.met is None else ("yes" if r.met else "**no**")
        reps = (f"{len(r.contender.samples)}x{r.contender.calls_per_block} / "
                f"{len(r.baseline.samples)}x{r.baseline.calls_per_block}")
        out.append(f"| {r.name} | {_pct(r.contender)} | {_pct(r.baseline)} | {r.ratio:.2f}x | {target} | {met} "
                   f"| {reps} |")
    missed = [r for r in rows if r.met is False]
    if missed:
        out += ["", "Targets missed:", ""]
        for r in missed:
            goal = r.target * r.baseline.median
            out.append(
                f"- **{r.name}**: nabla takes {r.ratio:.2f}x torch's time, the target is {r.target:g}x: nabla must get "
                f"{r.ratio / r.target:.2f}x faster (from {fmt_time(r.contender.median)} to at most {fmt_time(goal)} "
                "per step at today's torch speed)."
                + (" What the profile shows: see below." if any(a.row is r for a in analyses) else "")
            )
    refs = [r for r in rows if r.reference is not None]
    if refs:
        out += ["", "## Reference floor (no framework)", ""]
        out.append("| Benchmark | floor | floor median [p10, p90] | nabla / floor | torch / floor |")
        out.append("|---|---|---|---|---|")
        for r in refs:
            f = r.reference.median
            out.append(f"| {r.name} | {r.reference_label} | {_pct(r.reference)} | {r.contender.median / f:.2f}x "
                       f"| {r.baseline.median / f:.2f}x |")
    out += analysis.render(list(analyses), rows)
    out += ["", "## Sanity checks (same computation in both frameworks)", ""]
    out.append("| Benchmark | check | ok? |")
    out.append("|---|---|---|")
    for r in rows:
        out.append(f"| {r.name} | {r.sanity or '-'} | {'yes' if r.sanity_ok else '**FAILED**'} |")
    out += ["", "## What each benchmark does", ""]
    for n in names:
        doc = (BENCHMARKS[n].__doc__ or "").strip()
        out.append(f"### `{n}` (benchmarks/{BENCHMARKS[n].__name__}.py)")
        out.append("")
        out.append(doc)
        out.append("")
    out.append(f"Total wall time of this run: {elapsed:.0f} s.")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, mod in BENCHMARKS.items():
            print(f"{name:10s} {(mod.__doc__ or '').strip().splitlines()[0]}")
        return 0
    names = [n.strip() for arg in args.only for n in arg.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2

    if args.wait > 0 and not machine.wait_for_quiet(args.max_load, args.wait):
        msg = (f"the machine is not quiet: 1-minute load average {machine.load1():.2f} >= --max-load "
               f"{args.max_load:g} after waiting {args.wait:g} s")
        if args.strict:
            print(f"refusing to benchmark ({msg}); stop other work or raise --max-load/--wait", file=sys.stderr)
            return 3
        print(f"warning: {msg}; results will be marked as taken under load", file=sys.stderr)
    t_start = time.perf_counter()
    load_start = machine.loadavg()
    import torch

    threads_note = setup_threads(torch, args.threads)
    info = machine.describe(torch)
    info.update(simd=machine.simd_level(), blas=machine.blas_kernel(), family=machine.cpu_family())
    settings = QUICK if args.quick else FULL
    mode = "quick run, `--quick`" if args.quick else "full run"
    if args.threads != DEFAULT_THREADS:
        mode += f", `--threads {args.threads}`"
    if args.only:
        mode += ", `--only " + ",".join(names) + "`"
    print(f"{info['cpu']} | {info['cores']} | python {info['python']} | numpy {info['numpy']} | torch {info['torch']}")
    print(threads_note)

    rows: list[Row] = []
    for n in names:
        t0 = time.perf_counter()
        print(f"\n== {n}", flush=True)
        new = BENCHMARKS[n].run(settings)
        for r in new:
            print(f"  {r.name:55s} nabla {_pct(r.contender):32s} torch {_pct(r.baseline):32s} "
                  f"ratio {r.ratio:5.2f}x" + ("" if r.target is None else f" (target <= {r.target:g}x: "
                                                                      f"{'met' if r.met else 'MISSED'})"))
            if r.reference is not None:
                print(f"  {'':55s} {r.reference_label}: {_pct(r.reference)}")
            if not r.sanity_ok:
                print(f"  SANITY CHECK FAILED: {r.sanity}")
        print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
        rows += new

    analyses = []
    todo = [r for r in rows if r.group in analysis.MODELS
            and (args.analysis == "all" or (args.analysis == "missed" and r.met is False))]
    for r in todo:
        t0 = time.perf_counter()
        print(f"\n== what the profile shows: {r.group}" + (" (target missed)" if r.met is False else ""), flush=True)
        a = analysis.analyze(r, settings, profile_s=0.15 if args.quick else 1.0, chunks=3 if args.quick else 5)
        print(analysis.console(a))
        print(f"  {a.sentence}")
        print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
        analyses.append(a)

    elapsed = time.perf_counter() - t_start
    load = (load_start, machine.loadavg())
    quiet, quiet_note = quietness(load, args.max_load)
    if not quiet:
        print(f"\nnote: {quiet_note}".replace("**", ""))
    report = render(rows, info, threads_note, settings, mode, load, elapsed, names, analyses, quiet_note)
    _, slug = info["family"]
    kept = kept_sections(args.output, drop=f"cpu_{slug}")
    families = [b for b in kept if b.startswith("<!-- keep:cpu_")]
    others = [b for b in kept if not b.startswith("<!-- keep:cpu_")]
    by_family = ["## Ratios by CPU family", "",
                 "Ratios depend on the CPU (oneDNN's convolutions gain more from AVX-512 than im2col + BLAS), so "
                 "each family keeps its latest full table here; a run replaces only its own family's.", "",
                 family_table(rows, info, quiet_note)] + families
    with open(args.output, "w") as f:
        f.write(report + "\n" + "\n".join(by_family) + ("\n" + "".join(others) if others else ""))
    print(f"\nwrote {os.path.relpath(args.output)} in {elapsed:.0f} s total")
    return 0 if all(r.sanity_ok for r in rows) else 1


def kept_sections(path: str, drop: str = "") -> list[str]:
    """Sections that other benchmark scripts keep in RESULTS.md between ``<!-- keep:NAME -->`` and
    ``<!-- /keep:NAME -->`` (the playground load test's, other CPU families' tables): a run rewrites the file
    but carries them over, except the block named ``drop`` (the one this run replaces)."""
    import re

    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    blocks = re.finditer(r"<!-- keep:(\w+) -->.*?<!-- /keep:\1 -->", text, re.S)
    return [m.group(0).rstrip("\n") + "\n" for m in blocks if m.group(1) != drop]


if __name__ == "__main__":
    sys.exit(main())
