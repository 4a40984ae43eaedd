"""Lab 14 (quick): every schedule runs the same budget from the same start; the constant rate ends
with the lowest training loss and exponential decay to 1% with the highest, in every seed (decay is
not what fits the training set at this budget)."""

import json

from nabla.labs.runner import run_lab


def test_lr_schedules_quick(tmp_path):
    r = run_lab("lr_schedules", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    const = r.get("constant", "train_loss").values
    for s in ("step", "exponential", "cosine", "one_cycle"):
        assert all(c < v for c, v in zip(const, r.get(s, "train_loss").values)), s
        assert all(0.5 < a <= 1 for a in r.get(s, "val_accuracy").values)
    expo = r.get("exponential", "train_loss").values
    for s in ("step", "cosine", "one_cycle"):
        assert all(e > v for e, v in zip(expo, r.get(s, "train_loss").values)), s
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["lr_schedules.png"] and (tmp_path / "lr_schedules.png").exists()
