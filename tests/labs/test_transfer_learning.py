"""Labs II 11 (quick, the full budget with fewer data fractions): a CNN pre-trained on digits 0-4 and
fine-tuned on 5-9 has a head start over the same CNN from scratch with 1% of the 5-9 images (after 25
steps, every seed), but with all the data it ends no better than scratch, and a frozen backbone ends
below fine-tuning, in every seed."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.transfer_learning import split, subset


def test_split_and_subset():
    d = split(0)
    for k in ("source_train", "target_train", "target_test"):
        x, y = d[k]
        assert x.shape[1:] == (1, 8, 8) and set(y) == set(range(5))
    x, y = subset(*d["target_train"], 0.01, numpy.random.default_rng(0))
    assert set(y) == set(range(5)) and len(y) == max(5, round(0.01 * len(d["target_train"][1])))


def test_transfer_learning_quick(tmp_path):
    r = run_lab("transfer_learning", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    assert all(a > 0.95 for a in r.get("pretrained", "source_test_accuracy").values)
    very_early = r.extra["very_early_steps"]
    # the head start: with 1% of the target data, fine-tuning is ahead of scratch early on, in every seed
    ft = r.get("fine_tune", f"target_accuracy_1pct_after_{very_early}_steps").values
    sc = r.get("scratch", f"target_accuracy_1pct_after_{very_early}_steps").values
    assert all(a > b for a, b in zip(ft, sc)), (ft, sc)
    # ... but no lasting advantage with all the data, and a frozen backbone is worse than fine-tuning it
    ft, sc = r.get("fine_tune", "target_accuracy_100pct").values, r.get("scratch", "target_accuracy_100pct").values
    assert all(a < b + 0.02 for a, b in zip(ft, sc)), (ft, sc)
    fr = r.get("frozen", "target_accuracy_100pct").values
    assert all(a < b for a, b in zip(fr, ft)), (fr, ft)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["transfer_learning.png"] and (tmp_path / "transfer_learning.png").exists()
