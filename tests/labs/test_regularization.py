"""Lab 13 (quick): on a tiny training set, random translations narrow the train-validation gap in
every seed; every variant is measured once per seed and the figure is written."""

import json

from nabla.labs.runner import run_lab


def test_regularization_quick(tmp_path):
    r = run_lab("regularization", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    base = r.get("baseline", "train_minus_val_accuracy").values
    aug = r.get("augmentation", "train_minus_val_accuracy").values
    assert all(a < b for a, b in zip(aug, base)), (aug, base)
    assert all(t == 1.0 for t in r.get("baseline", "train_accuracy").values)  # the baseline memorises: it overfits
    assert set(r.extra["variants"]) == {"baseline", "dropout_0.5", "l2_1e-2", "l1_1e-4", "max_norm_0.5",
                                        "augmentation"}
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["regularization.png"] and (tmp_path / "regularization.png").exists()
