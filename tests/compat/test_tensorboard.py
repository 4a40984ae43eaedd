"""nabla.utils.tensorboard.SummaryWriter writes events that TensorBoard's own reader reads back."""

from __future__ import annotations

import numpy as np
import pytest

import nabla

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from nabla.utils.tensorboard import SummaryWriter


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_scalars_histogram_image_text_round_trip(tmp_path):
    losses = [2.5, 1.25, 0.75, 0.5]
    with SummaryWriter(tmp_path / "run") as w:
        assert w.get_logdir() == str(tmp_path / "run")
        for step, loss in enumerate(losses):
            w.add_scalar("loss/train", nabla.tensor(loss), step)  # a 0-d Tensor, as in a training loop
        w.add_scalar("lr", 0.1, 0)
        weights = nabla.randn(1000)
        w.add_histogram("fc.weight", weights, 3)
        w.add_image("sample", nabla.rand(3, 8, 5), 1)
        w.add_image("gray", np.full((4, 6), 128, dtype=np.uint8), 1, dataformats="HW")
        w.add_text("notes", "**lr** = 0.1", 0)
    acc = _read(tmp_path / "run")
    events = acc.Scalars("loss/train")
    assert [e.step for e in events] == [0, 1, 2, 3]
    np.testing.assert_allclose([e.value for e in events], losses, rtol=1e-6)
    assert acc.Scalars("lr")[0].value == pytest.approx(0.1)
    h = acc.Histograms("fc.weight")[0].histogram_value
    w_np = weights.numpy()
    assert h.num == 1000 and h.min == pytest.approx(w_np.min()) and h.max == pytest.approx(w_np.max())
    assert sum(h.bucket) == 1000
    img = acc.Images("sample")[0]
    assert (img.width, img.height) == (5, 8)
    assert acc.Images("gray")[0].width == 6
    text = acc.Tensors("notes/text_summary")[0].tensor_proto.string_val[0].decode()
    assert text == "**lr** = 0.1"


def test_add_scalars_writes_one_run_per_curve(tmp_path):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalars("loss", {"train": 1.0 / (step + 1), "val": 2.0 / (step + 1)}, step)
    w.close()
    train = _read(tmp_path / "loss_train").Scalars("loss")
    val = _read(tmp_path / "loss_val").Scalars("loss")
    np.testing.assert_allclose([e.value for e in train], [1.0, 0.5, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in val], [2.0, 1.0, 2 / 3], rtol=1e-6)


def test_writer_errors(tmp_path):
    w = SummaryWriter(tmp_path)
    with pytest.raises(ValueError, match="needs one number"):
        w.add_scalar("x", nabla.ones(3))
    with pytest.raises(ValueError, match="dataformats"):
        w.add_image("x", np.zeros((3, 4)), dataformats="CHW")
    with pytest.raises(ValueError, match="NaN"):
        w.add_histogram("x", np.array([1.0, np.nan]))
    w.close()
