"""nabla.save / nabla.load as scripts use torch.save / torch.load: file objects, any nesting of tensors and
plain values, a lone tensor; still safetensors, never pickle."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import safetensors.numpy
import torch

import nabla


def _same(a, b):
    if isinstance(a, nabla.Tensor):
        assert isinstance(b, nabla.Tensor) and a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b and type(a) is type(b)


CHECKPOINT = {
    "epoch": 7,
    "model": {"fc.weight": nabla.randn(3, 2), "fc.bias": nabla.zeros(3, dtype=nabla.float64)},
    "history": [{"loss": 0.5, "acc": 0.75}, {"loss": float("nan"), "acc": None}],
    "shape": (3, (2, [1, True])),
    "names": ["a", "b"],
    "ids": nabla.arange(5),
    1: "int key",
}


def test_bytesio_round_trip_of_a_nested_checkpoint():
    buf = io.BytesIO()
    nabla.save(CHECKPOINT, buf)
    buf.seek(0)
    _same(CHECKPOINT, nabla.load(buf))


def test_open_file_objects_and_a_lone_tensor(tmp_path):
    t = nabla.randn(4, 4)
    with open(tmp_path / "t.pt", "wb") as f:
        nabla.save(t, f)
    with open(tmp_path / "t.pt", "rb") as f:
        back = nabla.load(f, weights_only=True)
    _same(t, back)
    for obj in ([nabla.ones(2), nabla.zeros(3)], (nabla.ones(1), 2.5, "x"), 3, "text", None):
        nabla.save(obj, tmp_path / "o.safetensors")
        _same(obj, nabla.load(tmp_path / "o.safetensors"))


def test_two_objects_in_one_stream_and_map_location():
    buf = io.BytesIO()
    nabla.save({"a": nabla.ones(2)}, buf)
    end = buf.tell()
    nabla.save([nabla.zeros(1)], buf)
    buf.seek(0)
    first = nabla.load(io.BytesIO(buf.read(end)), map_location="cpu")
    assert first["a"].device == "cpu" and first["a"].tolist() == [1.0, 1.0]
    assert nabla.load(buf)[0].tolist() == [0.0]


def test_files_stay_safetensors_readable_by_pytorch_tools(tmp_path):
    nabla.save(CHECKPOINT, tmp_path / "c.safetensors")
    flat = safetensors.numpy.load_file(str(tmp_path / "c.safetensors"))
    assert sorted(flat) == ["ids", "model.fc.bias", "model.fc.weight"]
    from safetensors.torch import load_file

    assert torch.equal(load_file(str(tmp_path / "c.safetensors"))["ids"], torch.arange(5))


def test_file_object_errors():
    with pytest.raises(TypeError, match="binary mode"):
        nabla.load(io.StringIO("text"))
    with pytest.raises(ValueError, match="not a valid safetensors file|not a safetensors file"):
        nabla.load(io.BytesIO(b"\x00" * 4))
    with pytest.raises(TypeError, match="cannot store set"):
        nabla.save({"s": {1, 2}}, io.BytesIO())


def test_pickle_checkpoint_in_a_buffer_is_refused_without_running_code():
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    buf.seek(0)
    with pytest.raises(ValueError):
        nabla.load(buf)
