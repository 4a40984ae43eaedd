"""zero_centred --quick: sigmoid's layer-2 gradients are single-signed for many units (never for the centred
activations) and it ends with a higher loss than the centred sigmoid and tanh at their best lr, in every seed."""

from nabla.labs.runner import run_lab


def test_zero_centred_quick(tmp_path):
    r = run_lab("zero_centred", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    same = {a: r.get(f"{a}@best_lr", "same_sign_gradient_rows").values for a in ("sigmoid", "centred_sigmoid", "tanh")}
    loss = {a: r.get(f"{a}@best_lr", "mean_train_loss_over_run").values for a in ("sigmoid", "centred_sigmoid", "tanh")}
    for i in range(3):
        assert same["sigmoid"][i] > 0.3 > max(same["centred_sigmoid"][i], same["tanh"][i])
        assert loss["sigmoid"][i] > loss["centred_sigmoid"][i] and loss["sigmoid"][i] > loss["tanh"][i]
    assert (tmp_path / "zigzag.png").exists()
