"""Labs II 10 (quick): on lab 9's reversal task, with the same steps, the GRU encoder-decoder beats the
Transformer on a small training set (N=100) in every seed, the Transformer gains the most from more data
(N=3000) and the gap narrows. The epoch times are reported but not asserted (wall time on a loaded CI
machine is not a test)."""

import json

from nabla.labs.runner import run_lab


def test_transformer_vs_rnn_quick(tmp_path):
    r = run_lab("transformer_vs_rnn", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    small, large = r.extra["sizes"][0], r.extra["sizes"][-1]
    gru_small = r.get("gru_attention", f"exact_match_n_{small}").values
    tf_small = r.get("transformer", f"exact_match_n_{small}").values
    tf_large = r.get("transformer", f"exact_match_n_{large}").values
    assert all(g > t + 0.3 for g, t in zip(gru_small, tf_small)), (gru_small, tf_small)
    assert all(b > a + 0.2 for a, b in zip(tf_small, tf_large)), (tf_small, tf_large)
    gap_small = r.get("gru_minus_transformer", f"exact_match_gap_n_{small}").values
    gap_large = r.get("gru_minus_transformer", f"exact_match_gap_n_{large}").values
    assert all(b < a for a, b in zip(gap_small, gap_large)), (gap_small, gap_large)
    assert all(v > 0 for v in r.get("transformer", "epoch_seconds_len_32").values)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["transformer_vs_rnn.png"] and (tmp_path / "transformer_vs_rnn.png").exists()
