"""examples/training_levels.py: the four training levels each learn the digits; compiled = plain loop."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "training_levels.py"


def test_four_levels_each_reach_95_percent():
    pytest.importorskip("sklearn")
    mod = runpy.run_path(str(EXAMPLE), run_name="training_levels")
    acc = {fn: mod[fn](epochs=12) for fn in ("keras_style", "with_trainer", "plain_loop", "compiled_loop")}
    for fn, a in acc.items():
        assert a >= 0.95, fn
    assert acc["compiled_loop"] == acc["plain_loop"]  # the same kernels in the same order
