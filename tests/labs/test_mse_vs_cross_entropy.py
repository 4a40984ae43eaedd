"""Lab 11 (quick): at saturated wrong outputs MSE's logit gradient is orders of magnitude below
cross-entropy's, and cross-entropy is ahead after one epoch, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_mse_vs_cross_entropy_quick(tmp_path):
    r = run_lab("mse_vs_cross_entropy", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    assert all(v > 1 for v in r.get("ce_over_mse", "log10_logit_grad_ratio").values)
    for start in ("default", "saturated"):
        ce = r.get(f"cross_entropy/{start}_init", "val_acc_after_1_epoch").values
        mse = r.get(f"mse/{start}_init", "val_acc_after_1_epoch").values
        assert all(c > m for c, m in zip(ce, mse)), (start, ce, mse)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["mse_vs_ce.png"] and (tmp_path / "mse_vs_ce.png").exists()
