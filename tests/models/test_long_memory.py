"""Long-memory demonstration (examples/long_memory.py).

At a long lag the gated cells remember, the vanilla RNN cannot.
"""

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "long_memory.py"


@pytest.fixture(scope="module")
def demo():
    return runpy.run_path(str(EXAMPLE), run_name="long_memory_example")


def test_lstm_and_gru_solve_a_lag_the_vanilla_rnn_cannot(demo):
    score = demo["train_and_score"]
    assert score("RNN", 5) == 1.0  # short lag: the vanilla RNN learns the task itself
    rnn, lstm, gru = (score(cell, 60, seed=0) for cell in ("RNN", "LSTM", "GRU"))
    assert rnn < 0.35, rnn  # chance is 0.25
    assert lstm > 0.95 and gru > 0.95, (lstm, gru)


def test_plot_writes_a_png(demo, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "lags.png"
    demo["plot"]([5, 60], {"RNN": [1.0, 0.27], "LSTM": [1.0, 1.0], "GRU": [1.0, 1.0]}, str(out), chance=0.25)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
