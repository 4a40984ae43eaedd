"""Lab 10 (quick): stalls on the XOR plateau are saddles, and momentum leaves them faster, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_minima_and_saddles_quick(tmp_path):
    r = run_lab("minima_and_saddles", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    saddles = r.get("gd_small_init", "plateau_stalls_that_are_saddles").values
    assert all(f >= 0.5 for f in saddles), saddles
    assert all(v < 0 for v in r.get("gd_small_init", "lambda_min_over_lambda_max_at_stall").values)
    gd = r.get("gd", "steps_to_leave_plateau").values
    mom = r.get("momentum_0.9", "steps_to_leave_plateau").values
    assert all(m < g for m, g in zip(mom, gd)), (mom, gd)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["verdict"] in ("depends", "refuted", "supported") and record["figures"] == ["stalls.png"]
    assert (tmp_path / "stalls.png").exists()
