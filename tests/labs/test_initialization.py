"""initialization --quick: zero and small inits stay at chance, He trains ReLU and Xavier trains tanh, and
Xavier under ReLU shrinks the activations far more than He, in every seed."""

from nabla.labs.runner import run_lab


def test_initialization_quick(tmp_path):
    r = run_lab("initialization", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    acc = {n: r.get(n, "test_accuracy").values for n in ("relu/zero", "relu/small", "relu/he", "tanh/small",
                                                         "tanh/xavier")}
    for i in range(3):
        assert max(acc["relu/zero"][i], acc["relu/small"][i], acc["tanh/small"][i]) < 0.15
        assert acc["relu/he"][i] > 0.6 and acc["tanh/xavier"][i] > 0.6
    metric = "log10_activation_std_last_over_first"
    for xa, he in zip(r.get("relu/xavier", metric).values, r.get("relu/he", metric).values):
        assert xa < he - 0.5
    assert all(v < -5 for v in r.get("tanh/small", metric).values)
    assert (tmp_path / "layer_statistics.png").exists()
