"""dying_relu --quick: ReLU loses many more units at lr 2 than at lr 0.1 in every seed, and trains at lr 0.1."""

from nabla.labs.runner import run_lab


def test_dying_relu_quick(tmp_path):
    r = run_lab("dying_relu", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    low, high = r.get("relu/lr=0.1", "dead_fraction_end").values, r.get("relu/lr=2", "dead_fraction_end").values
    for lo, hi in zip(low, high):
        assert hi > lo + 0.1, (lo, hi)
    assert r.get("relu/lr=0.1", "test_accuracy").min > 0.85
    assert r.verdict.value in ("depends", "supported") and (tmp_path / "dead_units.png").exists()
