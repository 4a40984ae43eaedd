"""Settings validation, the playground's data sets, features and CSV uploads."""

from __future__ import annotations

import numpy
import pytest

from nabla.playground.config import ConfigError, ExperimentConfig, parse_config
from nabla.playground.datasets import CsvError, Upload, features, make_data, parse_csv


def test_defaults_and_url_round_trip():
    c = parse_config({})
    assert c == ExperimentConfig()
    custom = parse_config({"dataset": "spiral", "layers": "8,8,4", "features": "x1,x2,sin(x1)", "batch_norm": "true",
                           "learning_rate": "0.01", "problem": "classification"})
    assert custom.layers == (8, 8, 4) and custom.features == ("x1", "x2", "sin(x1)") and custom.batch_norm is True
    q = custom.query()
    assert q["layers"] == "8,8,4" and q["batch_norm"] == "true" and "upload_id" not in q
    assert parse_config(q) == custom


def test_no_hidden_layers_is_allowed():
    assert parse_config({"layers": ""}).layers == ()


def test_several_errors_are_all_reported():
    with pytest.raises(ConfigError) as err:
        parse_config({"noise": -1, "batch_size": 1000, "activation": "swish"})
    fields = {e["field"] for e in err.value.errors}
    assert fields == {"noise", "batch_size", "activation"}
    assert "noise:" in str(err.value)
    with pytest.raises(ConfigError, match="expected an object"):
        parse_config([1])


def test_problem_and_classes_must_agree():
    assert parse_config({"problem": "multiclass", "dataset": "spiral", "classes": 5}).classes == 5
    for bad, field in [({"problem": "multiclass", "dataset": "gauss", "classes": 2}, "classes"),
                       ({"problem": "classification", "classes": 3}, "classes"),
                       ({"problem": "classification", "dataset": "plane"}, "dataset"),
                       ({"dataset": "xor", "upload_id": "abc"}, "upload_id"),
                       ({"dataset": "upload", "upload_id": "../etc"}, "upload_id")]:
        with pytest.raises(ConfigError) as err:
            parse_config(bad)
        assert err.value.errors[0]["field"] == field, bad


@pytest.mark.parametrize("problem, dataset, classes", [
    ("classification", "circle", 2), ("classification", "xor", 2), ("classification", "gauss", 2),
    ("classification", "spiral", 2), ("classification", "moons", 2),
    ("multiclass", "gauss", 4), ("multiclass", "spiral", 3), ("multiclass", "circle", 6),
    ("regression", "plane", 2), ("regression", "bumps", 2),
])
def test_make_data_shapes_split_and_determinism(problem, dataset, classes):
    d = make_data(problem, dataset, n_points=200, noise=0.1, test_ratio=0.25, seed=3, classes=classes)
    assert d.x_train.shape == (150, 2) and d.x_test.shape == (50, 2) and d.x_train.dtype == numpy.float32
    if problem == "regression":
        assert d.y_train.dtype == numpy.float32 and d.outputs == 1
        assert numpy.abs(d.y_train).max() < 2
    else:
        assert d.y_train.dtype == numpy.int64 and d.outputs == classes
        assert set(numpy.unique(numpy.concatenate([d.y_train, d.y_test]))) == set(range(classes))
    again = make_data(problem, dataset, n_points=200, noise=0.1, test_ratio=0.25, seed=3, classes=classes)
    assert numpy.array_equal(d.x_train, again.x_train) and numpy.array_equal(d.y_test, again.y_test)
    other = make_data(problem, dataset, n_points=200, noise=0.1, test_ratio=0.25, seed=4, classes=classes)
    assert not numpy.array_equal(d.x_train, other.x_train)
    assert numpy.abs(d.x_train).max() < 1.5


def test_two_class_sets_come_from_nabla_data_toy():
    from nabla.data import toy

    d = make_data("classification", "moons", n_points=100, noise=0.05, test_ratio=0.2, seed=1)
    train, test = toy.moons(n=100, noise=0.05, test_ratio=0.2, seed=1)
    assert numpy.array_equal(d.x_train, train.tensors[0].numpy())
    assert numpy.array_equal(d.y_test, test.tensors[1].numpy())


def test_make_data_errors():
    with pytest.raises(ValueError, match="unknown multiclass set 'xor'"):
        make_data("multiclass", "xor", classes=3)
    with pytest.raises(ValueError, match="needs the uploaded data"):
        make_data("classification", "upload")
    with pytest.raises(ValueError, match="unknown problem"):
        make_data("ranking", "xor")


def test_features():
    x = numpy.array([[0.5, -2.0]], numpy.float32)
    f = features(x, ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"))
    numpy.testing.assert_allclose(f[0], [0.5, -2, 0.25, 4, -1, numpy.sin(0.5), numpy.sin(-2)], rtol=1e-6)
    assert f.dtype == numpy.float32
    with pytest.raises(ValueError, match="unknown feature 'x3'"):
        features(x, ["x3"])


def test_parse_csv_scales_points_and_detects_the_problem():
    rows = "\n".join(f"{10 + i},{-5 + 2 * i},{i % 2}" for i in range(12))
    up = parse_csv(("x1,x2,label\n" + rows + "\n\n").encode())
    assert up.problem == "classification" and up.classes == 2 and up.x.shape == (12, 2)
    assert numpy.isclose(numpy.abs(up.x).max(), 1.0) and up.x.min() >= -1.0
    reg = parse_csv("\n".join(f"{i},{i * i},{0.5 * i}" for i in range(12)).encode())
    assert reg.problem == "regression" and reg.y.dtype == numpy.float32
    multi = parse_csv("\n".join(f"{i},{i},{i % 4}" for i in range(12)).encode())
    assert multi.problem == "multiclass" and multi.classes == 4
    back = Upload.from_json(multi.to_json())
    assert numpy.array_equal(back.x, multi.x) and numpy.array_equal(back.y, multi.y)
    d = make_data("multiclass", "upload", test_ratio=0.5, upload=multi)
    assert len(d.y_train) + len(d.y_test) == 12 and d.classes == 4


def test_parse_csv_errors_name_the_line():
    with pytest.raises(CsvError, match="line 3: expected 3 columns"):
        parse_csv(b"1,2,0\n1,2,0\n1,2\n")
    with pytest.raises(CsvError, match="line 2: 'x' is not a number"):
        parse_csv(b"1,2,0\n1,x,0\n")
    with pytest.raises(CsvError, match="within"):
        parse_csv(b"1e9,2,0\n" * 12)
    with pytest.raises(CsvError, match="NUL"):
        parse_csv(b"1,2,0\x00\n" * 12)
    with pytest.raises(CsvError, match="bytes; the limit"):
        parse_csv(b"0" * (256 * 1024 + 1))
