"""perceptron_vs_mlp --quick: the perceptron and the linear stack fail XOR, the tanh MLP fits it, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_perceptron_vs_mlp_quick(tmp_path):
    r = run_lab("perceptron_vs_mlp", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    for p, m, s in zip(r.get("perceptron", "train_accuracy").values, r.get("mlp_tanh", "train_accuracy").values,
                       r.get("linear_stack", "train_accuracy").values):
        assert p < 0.8 and s < 0.8 and m > 0.95, (p, m, s)
    assert r.get("linear_stack", "relative_gap_to_one_matrix").max < 1e-4
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["verdict"] == r.verdict.value and saved["quick"] is True
    assert (tmp_path / "boundaries.png").stat().st_size > 10_000
    assert (tmp_path / "README.md").read_text().startswith("# Perceptron vs MLP")
