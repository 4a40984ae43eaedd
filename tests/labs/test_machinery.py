"""nabla.labs' machinery: Measurement statistics, LabResult/Lab validation, the registry, run_lab's checks,
and the report site built from result.json files."""

import json
import math

import pytest

from nabla.labs import Lab, LabResult, Measurement, Verdict, get_lab, list_labs
from nabla.labs.report import build_site, default_site, write_index
from nabla.labs.runner import check_seeds, markdown_page, prepare_out, run_lab


def test_measurement_statistics():
    m = Measurement("relu", "accuracy", [0.9, 0.8, 1.0], better="higher")
    assert m.mean == pytest.approx(0.9) and m.std == pytest.approx(0.1)  # sample std (ddof=1)
    assert (m.min, m.max) == (0.8, 1.0)
    assert m.fmt() == "0.9 ± 0.1"
    assert Measurement("a", "b", [2.0]).std == 0.0
    d = Measurement("a", "b", [1.0, math.inf]).to_dict()
    assert d["values"][1] == "inf" and d["mean"] == "inf"  # JSON has no infinities
    with pytest.raises(ValueError, match="better"):
        Measurement("a", "b", [1.0], better="up")
    with pytest.raises(ValueError, match="no values"):
        Measurement("a", "b", [])
    with pytest.raises(TypeError, match="numbers"):
        Measurement("a", "b", ["x"])


def test_lab_result_validation():
    ms = [Measurement("a", "m", [1.0, 2.0, 3.0])]
    with pytest.raises(ValueError, match="condition"):
        LabResult(ms, Verdict.DEPENDS)
    with pytest.raises(ValueError, match="verdict"):
        LabResult(ms, "maybe")
    with pytest.raises(ValueError, match="twice"):
        LabResult(ms + ms, Verdict.SUPPORTED)
    r = LabResult(ms, "refuted")
    assert r.verdict is Verdict.REFUTED and r.get("a", "m") is ms[0]
    with pytest.raises(KeyError, match="have"):
        r.get("a", "other")


def test_lab_declaration_checks():
    ok = dict(name="x_lab", title="t", claim="c", note="n.txt", setup="s", run=lambda ctx: None)
    assert Lab(**ok).seeds == 3
    with pytest.raises(ValueError, match="snake_case"):
        Lab(**{**ok, "name": "Bad-Name"})
    with pytest.raises(ValueError, match="seeds"):
        Lab(**ok, seeds=2)
    with pytest.raises(ValueError, match="claim"):
        Lab(**{**ok, "claim": ""})


def test_registry():
    names = list_labs()
    assert "vanishing_gradients" in names and not {"base", "runner", "report"} & set(names)
    assert all(not n.startswith("_") for n in names)
    lab = get_lab("vanishing_gradients")
    assert lab.name == "vanishing_gradients" and lab.seeds >= 3 and lab.notes
    with pytest.raises(KeyError, match="valid names"):
        get_lab("nope")


def test_seeds_and_out_checks(tmp_path):
    assert check_seeds(3) == [0, 1, 2] and check_seeds([4, 7]) == [4, 7]
    for bad in (0, -1, [], [1, 1], [-1], [1.5], True):
        with pytest.raises(ValueError, match="seeds"):
            check_seeds(bad)
    f = tmp_path / "file"
    f.write_text("")
    with pytest.raises(NotADirectoryError):
        prepare_out(f)
    with pytest.raises(PermissionError):
        prepare_out(f / "sub")
    assert prepare_out(tmp_path / "a" / "b").is_dir()
    with pytest.raises(KeyError, match="valid names"):
        run_lab("nope", quick=True, out=tmp_path)


def _fake_result(root, name="vanishing_gradients", verdict="depends"):
    d = root / name
    d.mkdir(parents=True)
    (d / "fig.png").write_bytes(b"\x89PNG fake")
    r = {"name": name, "title": "A <title>", "claim": "Claim & more", "note": "000.txt", "setup": "set-up",
         "verdict": verdict, "condition": "only when x", "reading": "read", "notes_wrong": None,
         "measurements": [Measurement("a", "acc", [0.5, 0.7], better="higher").to_dict()], "figures": ["fig.png"],
         "seeds": [0, 1], "quick": False, "seconds": 12.0, "nabla_version": "0", "created": "now", "extra": {}}
    (d / "result.json").write_text(json.dumps(r))
    (d / "README.md").write_text(markdown_page(r))
    return r


def test_site_and_index(tmp_path):
    _fake_result(tmp_path / "res")
    index = build_site(tmp_path / "res", tmp_path / "site")
    html = index.read_text()
    assert "A &lt;title&gt;" in html and "Claim &amp; more" in html and "1 labs: 1 depends" in html
    page = (tmp_path / "site" / "vanishing_gradients" / "index.html").read_text()
    assert "DEPENDS" in page and "only when x" in page and "0.6 ± 0.141" in page and "Nothing this lab measured" in page
    assert (tmp_path / "site" / "vanishing_gradients" / "fig.png").exists()
    md = write_index(tmp_path / "res").read_text()
    assert "| [A <title>](vanishing_gradients/README.md) | **depends** |" in md
    (tmp_path / "res" / "broken").mkdir()
    (tmp_path / "res" / "broken" / "result.json").write_text("{")
    with pytest.raises(ValueError, match="broken"):
        build_site(tmp_path / "res", tmp_path / "site2")


def test_default_site_builds_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    site = default_site()
    assert site == tmp_path / "nabla" / "labs-site" and (site / "index.html").exists()
    before = (site / "index.html").stat().st_mtime_ns
    assert default_site() == site and (site / "index.html").stat().st_mtime_ns == before
