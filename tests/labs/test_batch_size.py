"""Lab 15 (quick): the largest batch needs more memory per step than the smallest, and at the same
learning rate and epoch budget it ends with lower validation accuracy, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_batch_size_quick(tmp_path):
    r = run_lab("batch_size", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    batches = [int(m.config.split("_")[1]) for m in r.measurements if m.metric == "peak_step_memory"]
    small, big = f"batch_{min(batches)}", f"batch_{max(batches)}"
    assert all(b > s for s, b in zip(r.get(small, "peak_step_memory").values, r.get(big, "peak_step_memory").values))
    acc_small = r.get(small, "val_accuracy_same_lr").values
    acc_big = r.get(big, "val_accuracy_same_lr").values
    assert all(a > b for a, b in zip(acc_small, acc_big)), (acc_small, acc_big)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["batch_size.png"] and (tmp_path / "batch_size.png").exists()
