"""vanishing_gradients --quick: sigmoid's gradient ratio (first/last layer) is orders of magnitude below
ReLU's with He init in every seed; with the default init ReLU vanishes too (what the lab reports)."""

from nabla.labs.runner import run_lab


def test_vanishing_gradients_quick(tmp_path):
    r = run_lab("vanishing_gradients", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    metric = "log10_grad_ratio_first_last_init"
    for sig, relu_he in zip(r.get("sigmoid/default", metric).values, r.get("relu/he", metric).values):
        assert sig < -4 and relu_he > sig + 4, (sig, relu_he)
    assert all(v < -2 for v in r.get("relu/default", metric).values)  # default init: ReLU vanishes too
    assert r.get("relu/he", "test_accuracy").mean > r.get("sigmoid/default", "test_accuracy").mean + 0.1
    assert 0.4 < r.get("relu/default", "fraction_relu_derivative_zero").mean < 0.6
    assert (tmp_path / "gradients_and_accuracy.png").exists() and (tmp_path / "result.json").exists()
