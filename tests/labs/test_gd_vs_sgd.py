"""Lab 9 (quick): at an equal budget of sample-gradients (2 epochs each: 62 mini-batch steps of 64 vs 2
full-batch steps on 2,000 images — about the same arithmetic) mini-batch SGD reaches a far lower training
loss than full-batch GD in every seed. The quick run compares at equal epochs rather than equal wall time
(the full run's budget) so that machine load cannot flip or weaken the comparison; the basin fractions of
the XOR part are reported."""

import json

from nabla.labs.runner import run_lab


def test_gd_vs_sgd_quick(tmp_path):
    r = run_lab("gd_vs_sgd", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    sgd = r.get("sgd_batch64", "train_loss_at_equal_epochs").values
    gd = r.get("gd_full_batch", "train_loss_at_equal_epochs").values
    assert r.get("gd_full_batch", "steps_in_that_budget").values == [2.0, 2.0, 2.0]
    assert all(1.5 * s < g for s, g in zip(sgd, gd)), (sgd, gd)
    for config in ("xor_sgd_batch8", "xor_gd_full_batch"):
        assert all(0 < f <= 1 for f in r.get(config, "fraction_in_lowest_basin").values)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["extra"]["budget"] == "epochs"
    assert record["figures"] == ["gd_vs_sgd.png"] and (tmp_path / "gd_vs_sgd.png").exists()
