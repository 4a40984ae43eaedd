"""``nabla lab``: the study notes' claims, measured.

    nabla lab list                                   # the labs, with the verdict of their committed results
    nabla lab run vanishing_gradients --quick        # seconds; writes runs/labs/vanishing_gradients/
    nabla lab run all --seeds 3                      # full runs into docs/labs/<name>/ (in a checkout)
    nabla lab report --out site/                     # the static HTML site + docs/labs/README.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import UsageError, positive_int


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("lab", help="run the labs: the study notes' claims, measured",
                              description="Labs test the claims of the study notes (\"ReLU fixes vanishing "
                              "gradients\", \"BN removes internal covariate shift\", ...) with measurements over "
                              "several seeds, and say whether the numbers support them.")
    sub = p.add_subparsers(dest="lab_command", metavar="ACTION")
    sub.required = True
    ls = sub.add_parser("list", help="list the labs", description="List the labs with their claim and, where "
                        "results exist, their verdict.")
    ls.add_argument("--results", metavar="DIR", help="results folder to read verdicts from (default: docs/labs "
                    "in a checkout)")
    ls.set_defaults(func=run_list)
    r = sub.add_parser("run", help="run one lab or all", description="Run a lab (or 'all') and write result.json, "
                       "the figures and README.md into OUT/NAME/.")
    r.add_argument("name", metavar="NAME", help="a lab name (see 'nabla lab list') or 'all'")
    r.add_argument("--quick", action="store_true", help="the quick configuration: seconds, small data (what CI runs)")
    r.add_argument("--seeds", type=positive_int, metavar="N", help="number of seeds, 0..N-1 (default: the lab's, "
                   ">= 3)")
    r.add_argument("--out", metavar="DIR", help="results folder; each lab writes DIR/NAME/ (default: docs/labs in a "
                   "checkout for full runs, runs/labs for --quick)")
    r.add_argument("--data-dir", metavar="DIR", help="folder with MNIST's t10k IDX files (default: "
                   "../shared/datasets/mnist if present, else labs use sklearn's digits)")
    r.set_defaults(func=run_run)
    rep = sub.add_parser("report", help="build the HTML site of the results",
                         description="Build a static HTML site (index with thumbnails, one page per lab) from "
                         "RESULTS/*/result.json, and rewrite RESULTS/README.md, the Markdown index.")
    rep.add_argument("--out", metavar="DIR", help="where the site goes (default: runs/labs-site in a checkout)")
    rep.add_argument("--results", metavar="DIR", help="results folder (default: docs/labs in a checkout)")
    rep.set_defaults(func=run_report)


def _results_root(text: str | None) -> Path:
    from ..labs.runner import default_results_root

    root = Path(text) if text else default_results_root(quick=False)
    return root


def run_list(args: argparse.Namespace) -> int:
    from ..labs import get_lab, list_labs

    root = _results_root(args.results)
    names = list_labs()
    width = max(map(len, names), default=4)
    for name in names:
        lab = get_lab(name)
        verdict = "not run"
        try:
            verdict = json.loads((root / name / "result.json").read_text())["verdict"]
        except (OSError, ValueError, KeyError):
            pass
        print(f"{name:<{width}}  {verdict:<9}  {lab.title}")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from ..labs import list_labs
    from ..labs.runner import default_results_root, prepare_out, run_lab

    names = list_labs()
    if args.name == "all":
        chosen = names
    elif args.name in names:
        chosen = [args.name]
    else:
        raise UsageError(f"unknown lab {args.name!r}; valid names: {', '.join(names)}, or 'all'")
    root = Path(args.out) if args.out else default_results_root(args.quick)
    try:
        prepare_out(root)
    except (PermissionError, NotADirectoryError) as err:
        raise UsageError(f"--out: {err}") from None
    data_dir = None
    if args.data_dir:
        data_dir = Path(args.data_dir)
        if not data_dir.is_dir():
            raise UsageError(f"--data-dir: {data_dir} is not a folder")
    failed = []
    for name in chosen:
        t0 = time.perf_counter()
        try:
            result = run_lab(name, quick=args.quick, seeds=args.seeds, out=root / name, data_dir=data_dir)
        except (PermissionError, NotADirectoryError) as err:
            raise UsageError(f"--out: {err}") from None
        except Exception as err:  # one broken lab must not hide the others' results
            failed.append(name)
            print(f"{name}: FAILED: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        cond = f" ({result.condition})" if result.condition else ""
        print(f"{name}: {result.verdict.value.upper()}{cond}  [{time.perf_counter() - t0:.1f} s -> {root / name}]")
    if failed:
        print(f"nabla lab run: {len(failed)} lab(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def run_report(args: argparse.Namespace) -> int:
    from ..labs.report import build_site, default_site_out, write_index

    results = _results_root(args.results)
    if not results.is_dir() or not any(results.glob("*/result.json")):
        raise UsageError(f"--results: no lab results in {results} (expected {results}/NAME/result.json; run "
                         "'nabla lab run NAME' first)")
    out = Path(args.out) if args.out else default_site_out()
    from ..labs.runner import prepare_out

    try:
        prepare_out(out)
    except (PermissionError, NotADirectoryError) as err:
        raise UsageError(f"--out: {err}") from None
    index = build_site(results, out)
    try:
        md = write_index(results)
    except OSError as err:
        print(f"nabla lab report: could not rewrite {results / 'README.md'}: {err}", file=sys.stderr)
        md = None
    print(f"site: {index}")
    if md:
        print(f"index: {md}")
    return 0
