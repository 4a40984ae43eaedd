"""Labs II.4 (quick): the theoretical field of L stacked 3x3 convs is 2L+1 wide and the effective radius
grows with depth in every seed; 3 x 3x3 costs fewer parameters than one 7x7 for the same field; zero
padding raises the corner pixels' influence in every seed."""

import json

import numpy

from nabla.labs.receptive_field import border_ratios, rms_radius, support_width
from nabla.labs.runner import run_lab


def test_radius_width_and_border_helpers():
    g = numpy.zeros((9, 9))
    g[4, 4] = 1.0
    assert rms_radius(g) == 0.0 and support_width(g) == 1
    g[4, 6] = 1.0
    assert support_width(g) == 3 and abs(rms_radius(g) - numpy.sqrt(2)) < 1e-12
    flat = numpy.ones((28, 28))
    assert border_ratios(flat) == (1.0, 1.0)


def test_receptive_field_quick(tmp_path):
    r = run_lab("receptive_field", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    depths = r.extra["depths"]
    for d in depths:
        assert r.get(f"{d}x3x3", "theoretical_rf_width").values == [2 * d + 1] * 3
    for a, b in zip(depths, depths[1:]):
        ea, eb = r.get(f"{a}x3x3", "effective_rf_radius").values, r.get(f"{b}x3x3", "effective_rf_radius").values
        assert all(x < y for x, y in zip(ea, eb)), (a, b, ea, eb)
    assert r.get("1x7x7", "theoretical_rf_width").values == [7] * 3
    assert r.get("3x3x3", "parameters").mean < r.get("1x7x7", "parameters").mean
    same = r.get("padding_same", "corner_over_centre_influence").values
    valid = r.get("padding_valid", "corner_over_centre_influence").values
    assert all(s > 10 * v for s, v in zip(same, valid)), (same, valid)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["receptive_field.png"] and (tmp_path / "receptive_field.png").exists()
