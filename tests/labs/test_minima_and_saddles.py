"""Lab 10 (quick): stalls on the XOR plateau are saddles, and momentum leaves them faster, in every seed."""

import json

from nabla.labs.runner import run_lab


def test_minima_and_saddles_quick(tmp_path):
    r = run_lab("minima_and_saddles", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    saddles = r.get("gd_small_init", "plateau_stalls_that_are_saddles").values
    assert all(f >= 0.5 for f in saddles), saddles
    assert all(v < 0 for v in r.get("gd_small_init", "lambda_min_over_lambda_max_at_stall").values)
    gd = r.get("gd", "steps_to_leave_plateau").values
    mom = r.get("momentum_0.9", "steps_to_leave_plateau").values
    assert all(m < g for m, g in zip(mom, gd)), (mom, gd)
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["verdict"] in ("depends", "refuted", "supported") and record["figures"] == ["stalls.png"]
    assert (tmp_path / "stalls.png").exists()


def test_hessian_matches_finite_differences_of_the_gradient():
    """The lab's Hessian (Hessian-vector products by double backprop) equals central differences of the
    gradient at a random point, in float64."""
    import numpy

    import nabla
    from nabla.labs.minima_and_saddles import SHAPES, hessian, loss_of

    rng = numpy.random.default_rng(0)
    values = [rng.normal(0.0, 0.7, s) for s in SHAPES]

    def flat_grad(flat):
        parts, k = [], 0
        for s in SHAPES:
            n = int(numpy.prod(s))
            parts.append(nabla.tensor(flat[k:k + n].reshape(s), requires_grad=True))
            k += n
        loss_of(parts).backward()
        return numpy.concatenate([p.grad.numpy().reshape(-1) for p in parts])

    x = numpy.concatenate([v.reshape(-1) for v in values])
    eps = 1e-6
    fd = numpy.stack([(flat_grad(x + eps * e) - flat_grad(x - eps * e)) / (2 * eps) for e in numpy.eye(len(x))], 1)
    numpy.testing.assert_allclose(hessian(values), (fd + fd.T) / 2, atol=1e-7, rtol=1e-5)
