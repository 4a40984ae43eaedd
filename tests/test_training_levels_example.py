"""examples/training_levels.py: the three training levels each learn the digits."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "training_levels.py"


def test_three_levels_each_reach_95_percent():
    pytest.importorskip("sklearn")
    mod = runpy.run_path(str(EXAMPLE), run_name="training_levels")
    for fn in ("keras_style", "with_trainer", "plain_loop"):
        assert mod[fn](epochs=12) >= 0.95, fn
