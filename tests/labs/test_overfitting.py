"""Lab 12 (quick): the validation loss turns before the last epoch, and EarlyStopping with
restore_best_weights ends with a lower validation loss than training to the end, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_overfitting_quick(tmp_path):
    r = run_lab("overfitting", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    epochs = r.extra["epochs"]
    assert all(e < epochs for e in r.get("width_256", "epoch_of_lowest_val_loss").values)
    assert all(v > 0 for v in r.get("width_256", "val_loss_rise_after_turn").values)
    es = r.get("early_stopping", "val_loss").values
    end = r.get(f"full_{epochs}_epochs", "val_loss").values
    assert all(a < b for a, b in zip(es, end)), (es, end)
    assert r.get("early_stopping", "restored_epoch").values == r.get("width_256", "epoch_of_lowest_val_loss").values
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["overfitting.png"] and (tmp_path / "overfitting.png").exists()
