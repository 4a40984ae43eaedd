"""Labs II.6 (quick): second-layer channels are more class-selective than first-layer ones in every seed,
and training makes the first-layer filters smoother than at initialisation (in the mean); both figures."""

import json

import numpy

from nabla.labs.runner import run_lab
from nabla.labs.what_filters_learn import class_selectivity, neighbour_correlation, top_patches


def test_selectivity_smoothness_and_patches():
    y = numpy.repeat(numpy.arange(10), 5)
    maps = numpy.zeros((50, 2, 3, 3))
    maps[:, 0] = 1.0  # responds to every digit alike
    maps[y == 3, 1] = 1.0  # responds to 3s only
    numpy.testing.assert_allclose(class_selectivity(maps, y), [0.0, 1.0], atol=1e-9)
    ramp = numpy.add.outer(numpy.arange(5.0), numpy.arange(5.0))[None]
    assert neighbour_correlation(ramp) > 0.8
    checker = (-1.0) ** ramp
    assert neighbour_correlation(checker) < -0.99
    images = numpy.zeros((3, 28, 28))
    maps = numpy.zeros((3, 1, 14, 14))
    maps[1, 0, 5, 6] = 2.0
    maps[2, 0, 0, 0] = 1.0
    patches = top_patches(maps, images, 0, 2, stride=2, field=14)
    assert [p.shape for p in patches] == [(14, 14), (14, 14)]


def test_what_filters_learn_quick(tmp_path):
    r = run_lab("what_filters_learn", quick=True, seeds=[0, 1, 2], out=tmp_path, progress=False)
    s1, s2 = r.get("conv1", "class_selectivity").values, r.get("conv2", "class_selectivity").values
    assert all(b > a for a, b in zip(s1, s2)), (s1, s2)
    assert r.get("conv1_trained", "neighbour_weight_correlation").mean > r.get("conv1_init",
                                                                             "neighbour_weight_correlation").mean
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["figures"] == ["first_layer.png", "second_layer_top_patches.png"]
    assert all((tmp_path / f).exists() for f in record["figures"])
