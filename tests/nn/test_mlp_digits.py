"""examples/mlp_digits.py: an MLP with BatchNorm1d and Dropout reaches >= 97% on the 8x8 digits."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_mlp_digits_reaches_97_percent():
    mod = runpy.run_path(str(EXAMPLES / "mlp_digits.py"), run_name="mlp_digits_example")
    with mod["single_threaded_blas"]():
        accuracy = mod["train"](seed=0)
    assert accuracy >= 0.97, f"test accuracy {accuracy:.2%}"
