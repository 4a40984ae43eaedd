"""Run a lab: build its :class:`~nabla.labs.base.LabContext`, call ``run(ctx)``, and write what it found
into the lab's folder: ``result.json`` (everything the report needs), the PNG figures the lab saved, and
``README.md`` (the lab's Markdown page).

``run_lab("vanishing_gradients", quick=True, seeds=[0, 1, 2], out=path)``; ``nabla lab run`` calls it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import get_lab
from .base import Lab, LabContext, LabResult

_SRC_TREE = Path(__file__).resolve().parents[3]  # the repository, when nabla runs from a checkout


def repo_root() -> Path | None:
    """The source checkout nabla runs from (it has ``pyproject.toml`` and ``docs/``), or ``None`` if installed."""
    return _SRC_TREE if (_SRC_TREE / "pyproject.toml").exists() and (_SRC_TREE / "docs").is_dir() else None


def default_results_root(quick: bool = False) -> Path:
    """Where ``nabla lab run`` writes without ``--out``: full runs go to the checkout's ``docs/labs`` (the
    committed results), quick runs to ``runs/labs`` (ignored by git) so they never overwrite them;
    outside a checkout, ``./labs`` (``./labs-quick`` for quick runs)."""
    root = repo_root()
    if root is None:
        return Path("labs-quick" if quick else "labs")
    return root / ("runs/labs" if quick else "docs/labs")


def default_data_dir() -> Path | None:
    """MNIST's folder: ``$NABLA_LABS_MNIST`` if set, else ``../shared/datasets/mnist`` next to the checkout
    when it holds the files, else ``None`` (labs fall back to sklearn's digits and say so)."""
    env = os.environ.get("NABLA_LABS_MNIST")
    candidates = [Path(env)] if env else []
    root = repo_root()
    if root is not None:
        candidates.append(root.parent / "shared" / "datasets" / "mnist")
    for c in candidates:
        if (c / "t10k-images-idx3-ubyte.gz").exists():
            return c
    return None


def check_seeds(seeds: int | Sequence[int]) -> list[int]:
    """``seeds`` as a list: a count ``n`` means ``[0, ..., n-1]``; a list must hold distinct ints >= 0."""
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a positive count or a list of ints >= 0, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds <= 0:
            raise ValueError(f"seeds must be a positive count, got {seeds}")
        return list(range(seeds))
    out = list(seeds)
    if not out or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in out) or len(set(out)) < len(out):
        raise ValueError(f"seeds must be a non-empty list of distinct ints >= 0, got {out!r}")
    return out


def prepare_out(out: str | Path) -> Path:
    """Create ``out`` and check that files can be written there; ``PermissionError``/``NotADirectoryError``
    with the folder's name otherwise."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"{out} exists and is not a folder") from None
    except OSError as e:
        raise PermissionError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    if not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a folder")
    try:  # os.access says yes to root even on a read-only file system: write a file to be sure
        with tempfile.NamedTemporaryFile(dir=out, prefix=".nabla-write-check-"):
            pass
    except OSError as e:
        raise PermissionError(f"cannot write into the output folder {out}: {e.strerror or e}") from None
    return out


def run_lab(name: str, quick: bool = False, seeds: int | Sequence[int] | None = None, out: str | Path | None = None,
            data_dir: str | Path | None = None, progress: bool | None = None) -> LabResult:
    """Run lab ``name`` and write ``result.json``, its figures and ``README.md`` into ``out``.

    ``seeds``: a count or a list (default: the lab's ``seeds``, counted from 0). ``out``: the lab's folder
    (default ``default_results_root(quick) / name``). ``data_dir``: MNIST's folder (default
    :func:`default_data_dir`). ``progress``: show tqdm bars (default: when stderr is a terminal).
    Returns the lab's :class:`LabResult`.
    """
    lab = get_lab(name)
    seed_list = check_seeds(lab.seeds if seeds is None else seeds)
    out = prepare_out(Path(out) if out is not None else default_results_root(quick) / name)
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    show = sys.stderr.isatty() if progress is None else progress
    old_figures = _previous_figures(out)
    ctx = LabContext(quick=quick, seeds=seed_list, out=out, data_dir=data, show_progress=show)
    t0 = time.perf_counter()
    result = lab.run(ctx)
    seconds = time.perf_counter() - t0
    if not isinstance(result, LabResult):
        raise TypeError(f"lab {name}: run(ctx) returned {type(result).__name__}, expected a LabResult")
    for m in result.measurements:
        if len(m.values) != len(seed_list):
            raise ValueError(f"lab {name}: measurement ({m.config!r}, {m.metric!r}) has {len(m.values)} values for "
                             f"{len(seed_list)} seeds")
    for stale in old_figures - set(ctx.figures):
        (out / stale).unlink(missing_ok=True)
    record = result_record(lab, result, ctx, seconds)
    (out / "result.json").write_text(json.dumps(record, indent=1, ensure_ascii=False, default=_json) + "\n")
    (out / "README.md").write_text(markdown_page(record))
    return result


def result_record(lab: Lab, result: LabResult, ctx: LabContext, seconds: float) -> dict[str, Any]:
    """The content of ``result.json``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        nabla_version = version("nabla")
    except PackageNotFoundError:
        nabla_version = "unknown"
    return {
        "name": lab.name, "title": lab.title, "claim": lab.claim, "note": lab.note, "setup": lab.setup,
        "verdict": result.verdict.value, "condition": result.condition, "reading": result.reading,
        "notes_wrong": result.notes_wrong, "measurements": [m.to_dict() for m in result.measurements],
        "figures": list(ctx.figures), "seeds": list(ctx.seeds), "quick": ctx.quick,
        "data_dir": str(ctx.data_dir) if ctx.data_dir else None, "seconds": round(seconds, 2),
        "nabla_version": nabla_version, "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "extra": result.extra,
    }


def markdown_page(r: dict[str, Any]) -> str:
    """The lab's Markdown page (``README.md`` next to ``result.json``)."""
    lines = [f"# {r['title']}", "", f"**Claim** (notes: {', '.join(f'`{n}`' for n in r['note'].split(','))}): "
             f"{r['claim']}", "", f"**Verdict: {r['verdict'].upper()}**" + (f" — {r['condition']}" if r["condition"]
                                                                             else ""), "",
             f"**Set-up.** {r['setup']}", ""]
    if r["reading"]:
        lines += ["## Reading", "", r["reading"], ""]
    if r["notes_wrong"]:
        lines += ["## What the notes get wrong", "", r["notes_wrong"], ""]
    if r["figures"]:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in r["figures"]] + [""]
    lines += ["## Numbers", "", f"Mean ± std over seeds {r['seeds']} (sample std), min … max.", "",
              "| configuration | metric | mean ± std | min … max | better |", "| --- | --- | --- | --- | --- |"]
    for m in r["measurements"]:
        lines.append(f"| {m['config']} | {m['metric']}{' (' + m['unit'] + ')' if m['unit'] else ''} | "
                     f"{fmt_value(m['mean'])} ± {fmt_value(m['std'])} | {fmt_value(m['min'])} … {fmt_value(m['max'])} "
                     f"| {m['better'] or ''} |")
    lines += ["", f"{'Quick' if r['quick'] else 'Full'} run, {r['seconds']:.0f} s, nabla {r['nabla_version']}, "
              f"{r['created']}. Reproduce: `nabla lab run {r['name']}"
              f"{' --quick' if r['quick'] else ''} --seeds {len(r['seeds'])}`.", ""]
    return "\n".join(lines)


def fmt_value(v: Any, digits: int = 3) -> str:
    """A number for tables: 3 significant digits, scientific when very large or small."""
    if isinstance(v, str):
        return v
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def _previous_figures(out: Path) -> set[str]:
    try:
        return set(json.loads((out / "result.json").read_text()).get("figures", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _json(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"result.json: cannot write a {type(o).__name__} ({o!r:.60}); put JSON-able values in extra")
