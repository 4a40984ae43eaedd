"""Lab 16 (quick): an epoch is one pass over the training set (ceil(N / batch) steps, N samples), the
first epoch underfits and the validation loss rises again after its minimum, in every seed."""

import json
import math

from nabla.labs.runner import run_lab


def test_epochs_quick(tmp_path):
    r = run_lab("epochs", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    n = int(r.extra["data"].split(": ")[1].split(" train")[0])
    assert r.get("trainer", "samples_per_epoch").values == [n] * 3
    assert r.get("trainer", "optimizer_steps_per_epoch").values == [math.ceil(n / r.extra["batch_size"])] * 3
    epochs = r.extra["epochs"]
    first, low, end = (r.get(c, "val_loss").values for c in ("epoch_1", "lowest", f"epoch_{epochs}"))
    assert all(f > 1.5 * lo for f, lo in zip(first, low))
    assert all(e > lo for e, lo in zip(end, low))
    assert r.notes_wrong and "one mini-batch" in r.notes_wrong
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["epochs.png"] and (tmp_path / "epochs.png").exists()
