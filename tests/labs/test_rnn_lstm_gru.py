"""Labs II 7 (quick): at lag 60 the tanh RNN stays near chance while chrono-initialised LSTM and GRU
remember in every seed; the gradient reaching the first step at initialisation is orders of magnitude
smaller for the tanh RNN than for the chrono LSTM; parameter counts LSTM > GRU > RNN (4:3:1)."""

import json

from nabla.labs.runner import run_lab


def test_rnn_lstm_gru_quick(tmp_path):
    r = run_lab("rnn_lstm_gru", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    lag = r.extra["long_lag"]
    rnn = r.get("rnn_tanh", f"accuracy_lag_{lag}").values
    for gated in ("lstm_chrono", "gru_chrono"):
        acc = r.get(gated, f"accuracy_lag_{lag}").values
        assert all(g > a + 0.3 for g, a in zip(acc, rnn)), (gated, acc, rnn)
    assert all(a < 0.45 for a in rnn), rnn
    reach_rnn = r.get("rnn_tanh", "log10_grad_first_over_last_at_init").values
    reach_lstm = r.get("lstm_chrono", "log10_grad_first_over_last_at_init").values
    assert all(b > a + 3 for a, b in zip(reach_rnn, reach_lstm)), (reach_rnn, reach_lstm)
    p = {c: r.get(c, "parameters").values[0] for c in ("rnn_tanh", "gru_default", "lstm_default")}
    assert p["lstm_default"] == 4 * p["rnn_tanh"] and p["gru_default"] == 3 * p["rnn_tanh"], p
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["rnn_lstm_gru.png"] and (tmp_path / "rnn_lstm_gru.png").exists()
