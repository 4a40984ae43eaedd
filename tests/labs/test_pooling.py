"""Labs II.3 (quick): max pooling and strided convolutions cut the activations kept per image; max pooling's
train-test gap is below that of the same CNN without downsampling in the mean (the full run finds this in the
mean but not in every seed: the lab's verdict is DEPENDS)."""

import json

from nabla.labs.pooling import activation_bytes, build
from nabla.labs.runner import run_lab


def test_strided_conv_has_pooling_parameters_and_output_size():
    pool, strided, none = (build(28, v) for v in ("max_pool", "strided", "none"))
    assert sum(p.numel() for p in pool.parameters()) == sum(p.numel() for p in strided.parameters())
    assert pool[-1].in_features == strided[-1].in_features == 16 * 7 * 7
    assert none[-1].in_features == 16 * 28 * 28
    assert activation_bytes(strided, 28) < activation_bytes(pool, 28) < activation_bytes(none, 28)


def test_pooling_quick(tmp_path):
    r = run_lab("pooling", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    gap_pool = r.get("max_pool", "train_minus_test_accuracy").values
    gap_none = r.get("none", "train_minus_test_accuracy").values
    assert sum(gap_pool) < sum(gap_none), (gap_pool, gap_none)
    assert r.extra["claim_parts"]["memory"]
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["pooling.png"] and (tmp_path / "pooling.png").exists()
