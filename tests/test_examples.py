"""The examples run and show what they claim."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_xor_perceptron_fails_and_mlp_succeeds():
    mod = runpy.run_path(str(EXAMPLES / "xor.py"), run_name="xor_example")
    assert mod["perceptron_best_accuracy"]() == 0.75
    loss, accuracy = mod["train_mlp"]()
    assert accuracy == 1.0 and loss < 0.05
