"""gan_mode_collapse --quick: the plain GAN covers fewer than the 8 modes of the ring in every seed, the scores are
in range, the verdict follows the measured numbers, and the figures are written."""

import numpy as np

from nabla.labs import gan_mode_collapse as lab
from nabla.labs.runner import run_lab


def test_score_counts_modes_and_quality():
    rng = np.random.default_rng(0)
    modes, quality, _ = lab.score(lab.ring(rng, 2000))
    assert modes == 8 and quality > 0.98  # real data: every mode, ~99.7% within 3 std
    one_mode = lab.CENTRES[[0] * 1000] + 0.01 * rng.standard_normal((1000, 2))
    assert lab.score(one_mode)[0] == 1 and lab.score(one_mode)[2] == 1  # collapsed: one mode, by both counts
    blurred = lab.ring(rng, 2000, std=0.15)  # every mode reached, few samples within 3 x 0.02 of a centre
    covered, _, reached = lab.score(blurred)
    assert reached == 8 and covered < reached
    assert lab.score(np.zeros((100, 2)))[1] == 0.0


def test_gan_mode_collapse_quick(tmp_path):
    seeds = [0, 1, 2]
    r = run_lab("gan_mode_collapse", quick=True, seeds=seeds, out=tmp_path, progress=False)
    base = r.get("baseline", "modes_covered_late").values
    assert len(base) == 3 and all(m < 8 for m in base)  # the plain GAN collapses: fewer than 8 modes, every seed
    for name in lab.CONFIGS:
        assert all(0 <= m <= 8 for m in r.get(name, "modes_covered_late").values)
        assert all(0 <= m <= 8 for m in r.get(name, "modes_reached_late").values)
        assert all(0 <= q <= 1 for q in r.get(name, "high_quality_fraction_late").values)
    helps = [k for k in lab.CONFIGS if k != "baseline"
             and all(t > b for t, b in zip(r.get(k, "modes_covered_late").values, base))
             and np.mean(r.get(k, "high_quality_fraction_late").values)
             >= 0.9 * np.mean(r.get("baseline", "high_quality_fraction_late").values)]
    collapse = all(m < 7.5 for m in r.get("baseline", "modes_reached_late").values)
    expected = ("supported" if helps else "depends") if collapse else ("depends" if helps else "refuted")
    assert r.verdict.value == expected
    assert (tmp_path / "result.json").exists()
    assert (tmp_path / "samples.png").exists() and (tmp_path / "modes_over_training.png").exists()
