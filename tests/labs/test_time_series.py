"""Labs II 13 (quick): on a seasonal series with a trend, RNN, LSTM and GRU forecasts beat the naive
last-value forecast at horizons 1, 6 and 12 in every seed, the gain grows with the horizon, and the 1-D
CNN is reported alongside."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.time_series import H, windows


def test_windows_are_relative_to_the_last_value():
    y = numpy.arange(40, dtype=numpy.float32)
    x, t = windows(y, 10)
    assert x.shape == (40 - 10 - H + 1, 10) and t.shape == (x.shape[0], H)
    assert (x[:, -1] == 0).all() and numpy.allclose(t[0], numpy.arange(1, H + 1))


def test_time_series_quick(tmp_path):
    r = run_lab("time_series", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    for m in ("rnn", "lstm", "gru", "cnn1d"):
        for h in (1, H // 2, H):
            assert all(v < 1 for v in r.get(m, f"mae_over_naive_h{h}").values), (m, h)
        h1, hH = r.get(m, "mae_over_naive_h1").values, r.get(m, f"mae_over_naive_h{H}").values
        assert all(b < a for a, b in zip(h1, hH)), (m, h1, hH)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["time_series.png"] and (tmp_path / "time_series.png").exists()
