"""optimizer_trajectories --quick: momentum leaves the saddle faster than GD, Adagrad's effective learning
rate never rises while RMSprop's does, and Adagrad is the slowest off the saddle — in every seed."""

from nabla.labs.runner import run_lab


def test_optimizer_trajectories_quick(tmp_path):
    r = run_lab("optimizer_trajectories", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    esc = {n: r.get(n, "saddle_steps_to_escape").values for n in ("GD", "Momentum", "Adagrad", "RMSprop")}
    for i in range(3):
        assert esc["Momentum"][i] < esc["GD"][i] / 2
        assert esc["Adagrad"][i] > esc["RMSprop"][i]
    assert r.get("Adagrad", "effective_lr_largest_one_step_rise").max <= 1 + 1e-9
    assert r.get("RMSprop", "effective_lr_largest_one_step_rise").min > 1.01
    for name in ("paths_beale", "paths_rosenbrock", "paths_saddle", "adagrad_step_and_saddle_escape"):
        assert (tmp_path / f"{name}.png").exists()
