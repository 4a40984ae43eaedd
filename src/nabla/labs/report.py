"""The labs' report: a static HTML site built from ``RESULTS/*/result.json`` (an index with thumbnails and
one page per lab: claim, note, set-up, figures, a numbers table of mean ± std per configuration, the
verdict and its condition, the reading, what the notes get wrong) and the Markdown index
``RESULTS/README.md``. ``nabla lab report`` builds both; the playground serves :func:`default_site`.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .runner import default_results_root, fmt_value, repo_root

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.5}
a{color:#0b5cad}h1{margin-bottom:.2em}.sub{color:#666;margin-top:0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1em}
.card{border:1px solid #ddd;border-radius:8px;padding:.8em;background:#fafafa}
.card img{width:100%;height:180px;object-fit:contain;background:#fff;border:1px solid #eee}
.card h3{margin:.4em 0 .2em;font-size:1.05em}.card p{margin:.2em 0;font-size:.92em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:600;font-size:.85em;color:#fff}
.supported{background:#2e7d32}.refuted{background:#c62828}.depends{background:#ef6c00}
.claim{border-left:4px solid #999;padding:.3em .8em;background:#f4f4f4}
.wrong{border-left:4px solid #c62828;padding:.3em .8em;background:#fdeeee}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#666;font-size:.85em}
table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}.meta{color:#777;font-size:.85em}
"""


def load_results(results_root: str | Path) -> list[dict[str, Any]]:
    """Every ``RESULTS/NAME/result.json``, sorted by the labs' order (``list_labs``), unknown names last."""
    from . import list_labs

    order = {n: i for i, n in enumerate(list_labs())}
    found = []
    for path in sorted(Path(results_root).glob("*/result.json")):
        try:
            r = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: not a readable result.json ({e})") from None
        missing = {"name", "title", "claim", "verdict", "measurements", "figures"} - set(r)
        if missing:
            raise ValueError(f"{path}: result.json lacks {sorted(missing)} (written by an older nabla? re-run the lab)")
        r["_dir"] = path.parent
        found.append(r)
    return sorted(found, key=lambda r: (order.get(r["name"], len(order)), r["name"]))


def build_site(results_root: str | Path | None = None, out: str | Path | None = None) -> Path:
    """Write the HTML site for the results under ``results_root`` (default: ``docs/labs``) into ``out``
    (default: :func:`default_site_out`); returns the path of ``index.html``."""
    results_root = Path(results_root) if results_root is not None else default_results_root(False)
    out = Path(out) if out is not None else default_site_out()
    out.mkdir(parents=True, exist_ok=True)
    results = load_results(results_root) if results_root.is_dir() else []
    (out / "style.css").write_text(_CSS)
    for r in results:
        page_dir = out / r["name"]
        page_dir.mkdir(exist_ok=True)
        for fig in r["figures"]:
            src = r["_dir"] / fig
            if src.exists():
                shutil.copyfile(src, page_dir / fig)
        (page_dir / "index.html").write_text(lab_page(r))
    index = out / "index.html"
    index.write_text(index_page(results, results_root))
    return index


def default_site_out() -> Path:
    """Where ``nabla lab report`` writes without ``--out``: ``runs/labs-site`` in a checkout, else ``./labs-site``."""
    root = repo_root()
    return root / "runs" / "labs-site" if root is not None else Path("labs-site")


def default_site() -> Path:
    """A folder holding the site's ``index.html`` for the default results (``docs/labs``), rebuilt into a
    cache folder (``$XDG_CACHE_HOME/nabla/labs-site``, default ``~/.cache``) when a result is newer than it.
    The playground serves this folder at ``/labs``."""
    results = default_results_root(False)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nabla" / "labs-site"
    index = cache / "index.html"
    sources = list(results.glob("*/result.json")) if results.is_dir() else []
    newest = max((p.stat().st_mtime for p in sources), default=0.0)
    fresh = index.exists() and index.stat().st_mtime >= newest and _built_from(cache) == sorted(
        p.parent.name for p in sources)
    if not fresh:
        build_site(results, cache)
        (cache / ".labs").write_text("\n".join(sorted(p.parent.name for p in sources)))
    return cache


def _built_from(cache: Path) -> list[str]:
    try:
        return [n for n in (cache / ".labs").read_text().split("\n") if n]
    except OSError:
        return []


# ------------------------------------------------------------------------------------------------ pages

def _e(text: Any) -> str:
    return html.escape(str(text))


def _verdict(r: dict[str, Any]) -> str:
    return f'<span class="verdict {_e(r["verdict"])}">{_e(r["verdict"]).upper()}</span>'


def index_page(results: list[dict[str, Any]], results_root: Path) -> str:
    cards = []
    for r in results:
        thumb = f'<img src="{_e(r["name"])}/{_e(r["figures"][0])}" alt="">' if r["figures"] else ""
        cond = f"<p><i>{_e(r['condition'])}</i></p>" if r.get("condition") else ""
        cards.append(f'<div class="card"><a href="{_e(r["name"])}/index.html">{thumb}<h3>{_e(r["title"])}</h3></a>'
                     f'{_verdict(r)}<p>{_e(r["claim"])}</p>{cond}</div>')
    body = "".join(cards) if cards else (f"<p>No results in {_e(results_root)} yet: run <code>nabla lab run all"
                                         "</code>, then <code>nabla lab report</code>.</p>")
    counts = {v: sum(r["verdict"] == v for r in results) for v in ("supported", "refuted", "depends")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    return _html("nabla labs", f"<h1>nabla labs</h1><p class='sub'>The study notes' claims about deep learning, "
                 f"measured over several seeds. {len(results)} labs{': ' + summary if summary else ''}.</p>"
                 f"<div class='grid'>{body}</div>", "style.css")


def numbers_tables(measurements: list[dict[str, Any]]) -> str:
    """One table per metric: a row per configuration with mean ± std, min … max and the values per seed."""
    by_metric: OrderedDict[str, list[dict]] = OrderedDict()
    for m in measurements:
        by_metric.setdefault(m["metric"], []).append(m)
    parts = []
    for metric, rows in by_metric.items():
        unit = f" ({_e(rows[0]['unit'])})" if rows[0].get("unit") else ""
        better = f" — {rows[0]['better']} is better" if rows[0].get("better") else ""
        trs = "".join(f"<tr><td>{_e(m['config'])}</td><td class='num'>{fmt_value(m['mean'])} ± "
                      f"{fmt_value(m['std'])}</td><td class='num'>{fmt_value(m['min'])} … {fmt_value(m['max'])}</td>"
                      f"<td class='num'>{', '.join(fmt_value(v) for v in m['values'])}</td></tr>" for m in rows)
        parts.append(f"<h3>{_e(metric)}{unit}<span class='meta'>{_e(better)}</span></h3><table><tr>"
                     f"<th>configuration</th><th>mean ± std</th><th>min … max</th><th>per seed</th></tr>{trs}</table>")
    return "".join(parts)


def lab_page(r: dict[str, Any]) -> str:
    notes = ", ".join(f"<code>{_e(n.strip())}</code>" for n in r.get("note", "").split(",") if n.strip())
    cond = f" — {_e(r['condition'])}" if r.get("condition") else ""
    figs = "".join(f'<figure><img src="{_e(f)}" alt="{_e(f)}"><figcaption>{_e(f)}</figcaption></figure>'
                   for f in r["figures"])
    wrong = (f"<h2>What the notes get wrong</h2><div class='wrong'>{_e(r['notes_wrong'])}</div>"
             if r.get("notes_wrong") else "<h2>What the notes get wrong</h2><p>Nothing this lab measured.</p>")
    reading = f"<h2>Reading</h2><p>{_e(r['reading'])}</p>" if r.get("reading") else ""
    kind = "Quick" if r.get("quick") else "Full"
    meta = (f"{kind} run over seeds {_e(r.get('seeds'))}, {r.get('seconds', 0):.0f} s, "
            f"nabla {_e(r.get('nabla_version', '?'))}, {_e(r.get('created', ''))}. Reproduce: "
            f"<code>nabla lab run {_e(r['name'])}{' --quick' if r.get('quick') else ''}</code>.")
    body = (f"<p><a href='../index.html'>← all labs</a></p><h1>{_e(r['title'])}</h1><p>{_verdict(r)}{cond}</p>"
            f"<div class='claim'><b>Claim</b> (notes {notes}): {_e(r['claim'])}</div>"
            f"<h2>Set-up</h2><p>{_e(r.get('setup', ''))}</p>{reading}{wrong}<h2>Figures</h2>{figs}"
            f"<h2>Numbers</h2><p class='meta'>Mean ± std (sample std) over seeds.</p>"
            f"{numbers_tables(r['measurements'])}<p class='meta'>{meta}</p>")
    return _html(f"{r['title']} — nabla labs", body, "../style.css")


def _html(title: str, body: str, css: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>{_e(title)}</title><link rel='stylesheet' "
            f"href='{css}'></head><body>{body}</body></html>\n")


# --------------------------------------------------------------------------------------- Markdown index

def write_index(results_root: str | Path) -> Path:
    """Rewrite ``RESULTS/README.md``: one row per lab with its verdict, condition and link."""
    results_root = Path(results_root)
    results = load_results(results_root)
    lines = ["# nabla labs: the notes' claims, measured", "",
             "Each lab tests one claim of the study notes (`../shared/notes`, Korean) over several seeds and "
             "says whether the measurements support it. Generated by `nabla lab run NAME` (full configuration) "
             "and `nabla lab report`; the HTML version has thumbnails (`nabla lab report --out DIR`).", "",
             "| lab | verdict | claim | condition |", "| --- | --- | --- | --- |"]
    for r in results:
        cond = (r.get("condition") or "").replace("|", "\\|")
        claim = r["claim"].replace("|", "\\|")
        lines.append(f"| [{r['title']}]({r['name']}/README.md) | **{r['verdict']}** | {claim} | {cond} |")
    lines.append("")
    path = results_root / "README.md"
    path.write_text("\n".join(lines))
    return path
