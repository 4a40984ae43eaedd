"""batch_norm --quick: BN (before the activation) trains faster than no BN at lr 0.1, reduces layer-3 input
drift, makes the loss change less along the gradient, and the injected shift raises the drift — every seed."""

from nabla.labs.runner import run_lab


def test_batch_norm_quick(tmp_path):
    r = run_lab("batch_norm", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)

    def v(config, metric):
        return r.get(config, metric).values

    for i in range(3):
        assert v("bn_before/lr=0.1", "mean_train_loss_over_run")[i] < v("no_bn/lr=0.1", "mean_train_loss_over_run")[i]
        ics = {k: v(k, "ics_layer3_input_drift")[i] for k in ("no_bn", "bn_before", "noisy_bn")}
        assert ics["bn_before"] < ics["no_bn"] < ics["noisy_bn"], ics
        assert v("bn_before", "loss_variation_along_gradient")[i] < v("no_bn", "loss_variation_along_gradient")[i]
    assert r.verdict.value in ("supported", "refuted", "depends") and r.notes_wrong
    assert (tmp_path / "convergence.png").exists() and (tmp_path / "ics_vs_smoothness.png").exists()
