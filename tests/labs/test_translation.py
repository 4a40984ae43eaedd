"""Labs II.2 (quick): conv feature maps shift exactly with the input (equivariance), the pooled CNN keeps
more accuracy than the MLP on shifted digits in every seed, and pooling shrinks how much features change."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.translation import shift


def test_shift_moves_pixels_and_fills_zeros():
    img = numpy.arange(16, dtype=numpy.float32).reshape(1, 4, 4)
    right = shift(img, 0, 1)
    numpy.testing.assert_array_equal(right[0, :, 1:], img[0, :, :3])
    assert (right[0, :, 0] == 0).all()
    up = shift(img, -2, 0)
    numpy.testing.assert_array_equal(up[0, :2], img[0, 2:])
    assert (up[0, 2:] == 0).all()


def test_translation_quick(tmp_path):
    r = run_lab("translation", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    shifts = r.extra["shifts"]
    assert r.extra["equivariant"]
    for k in shifts[1:]:
        assert r.get(f"cnn_no_pool@{k}px", "equivariance_error_conv1").max < 1e-4
        before = r.get(f"cnn_pool_before_pool@{k}px", "relative_change").values
        after = r.get(f"cnn_pool_after_pool@{k}px", "relative_change").values
        assert all(a < b for a, b in zip(after, before)), (k, after, before)
    k = shifts[1]
    cnn = r.get(f"cnn_pool@{k}px", "test_accuracy").values
    mlp = r.get(f"mlp@{k}px", "test_accuracy").values
    assert all(c > m for c, m in zip(cnn, mlp)), (cnn, mlp)
    for m in ("mlp", "cnn_pool", "cnn_no_pool"):  # every net loses accuracy when the digits move far
        assert r.get(f"{m}@{shifts[-1]}px", "test_accuracy").mean < r.get(f"{m}@0px", "test_accuracy").mean - 0.3
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["translation.png"] and (tmp_path / "translation.png").exists()
