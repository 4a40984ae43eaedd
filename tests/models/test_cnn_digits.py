"""examples/cnn_digits.py: a small CNN reaches >= 98% test accuracy on scikit-learn's digits and saves
the picture of its first layer."""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cnn_digits.py"


@pytest.mark.slow
def test_cnn_reaches_98_percent_on_digits_and_draws_its_first_layer(tmp_path):
    pytest.importorskip("sklearn")
    mod = runpy.run_path(str(EXAMPLE), run_name="cnn_digits_example")
    model, acc, x_test, y_test = mod["train"](seed=0)
    assert acc >= 0.98, f"test accuracy {acc:.2%}"
    path = mod["viz"].plot_first_layer(model, x_test[0], tmp_path / "first.png", title=f"label {y_test[0]}")
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
