"""optimizers_real_task --quick: every optimizer trains (held-out accuracy > 0.8) and RMSprop and Adam have a
lower mean training loss over the run than SGD in every seed."""

from nabla.labs.runner import run_lab


def test_optimizers_real_task_quick(tmp_path):
    r = run_lab("optimizers_real_task", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    names = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdaMax", "NAdam")
    assert all(r.get(n, "test_accuracy").min > 0.8 for n in names)
    sgd = r.get("SGD", "mean_train_loss_over_run").values
    for n in ("RMSprop", "Adam"):
        assert all(a < s for a, s in zip(r.get(n, "mean_train_loss_over_run").values, sgd)), n
    assert set(r.extra["best_lr"]) == set(names) and (tmp_path / "loss_curves.png").exists()
