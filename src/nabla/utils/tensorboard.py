"""``SummaryWriter``: log scalars, histograms, images and text for TensorBoard, as ``torch.utils.tensorboard``.

The events are written by the ``tensorboard`` package's own ``EventFileWriter`` (its protocol buffers,
its file format, its background flushing), so ``tensorboard --logdir runs`` shows them. Install the
optional extra: ``pip install nabla[tensorboard]``. What PyTorch's writer has and this one does not:
``add_graph`` (nabla records no static graph to draw), ``add_embedding``, ``add_audio``, ``add_video``,
``add_mesh``, ``add_pr_curve``.
"""

from __future__ import annotations

import io
import os
import socket
import time
from datetime import datetime
from typing import Any

import numpy

try:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError:  # pragma: no cover - the optional extra is missing
    EventFileWriter = None

__all__ = ["SummaryWriter"]


def _numpy(value: Any) -> numpy.ndarray:
    """A Tensor (detached, on the CPU), array or number as a NumPy array."""
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().numpy()
    return numpy.asarray(value)


def _scalar(value: Any, tag: str) -> float:
    arr = _numpy(value)
    if arr.size != 1:
        raise ValueError(f"add_scalar: {tag!r} needs one number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


class SummaryWriter:
    """Writes TensorBoard event files to ``log_dir`` (default ``runs/<date>_<host><comment>``).

    ``add_scalar(tag, value, global_step)`` logs a curve point; ``add_scalars(main_tag, {name: v})``
    several curves on one chart (one sub-directory per curve, as PyTorch); ``add_histogram``,
    ``add_image`` (CHW/HWC/HW, floats in [0, 1] or uint8), ``add_text``, ``add_hparams``. Values may be
    nabla Tensors, NumPy arrays or numbers. ``flush()`` writes pending events, ``close()`` ends the file;
    the writer is also a context manager.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if EventFileWriter is None:
            raise ImportError("SummaryWriter needs the tensorboard package: pip install 'nabla[tensorboard]' "
                              "(or pip install tensorboard)")
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs, self.filename_suffix = max_queue, flush_secs, filename_suffix
        self._writer = self._open(self.log_dir)
        self._scalar_writers: dict[str, Any] = {}
        if purge_step is not None:  # tell TensorBoard to drop events of an earlier run at and after this step
            start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
            self._add_event(event_pb2.Event(step=purge_step, session_log=start), None)

    def _open(self, path: str) -> Any:
        return EventFileWriter(path, self.max_queue, self.flush_secs, self.filename_suffix)

    def get_logdir(self) -> str:
        return self.log_dir

    def _add_event(self, event: Any, walltime: float | None, writer: Any = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        (writer or self._writer).add_event(event)

    def _summary(self, value: Any, global_step: int | None, walltime: float | None, writer: Any = None) -> None:
        event = event_pb2.Event(summary=summary_pb2.Summary(value=[value]))
        if global_step is not None:
            event.step = int(global_step)
        self._add_event(event, walltime, writer)

    # ----------------------------------------------------------------------------------- logging

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        """One point of the curve ``tag`` at ``global_step``."""
        v = _scalar(scalar_value, tag)
        if new_style:
            value = summary_pb2.Summary.Value(tag=tag, tensor=TensorProto(
                dtype="DT_DOUBLE" if double_precision else "DT_FLOAT",
                double_val=[v] if double_precision else [], float_val=[] if double_precision else [v],
                tensor_shape=TensorShapeProto()), metadata=summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")))
        else:
            value = summary_pb2.Summary.Value(tag=tag, simple_value=v)
        self._summary(value, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves on one chart: each goes to ``log_dir/<main_tag>_<name>`` under tag ``main_tag``."""
        if not isinstance(tag_scalar_dict, dict) or not tag_scalar_dict:
            raise ValueError(f"add_scalars: expected a non-empty dict of name -> value, got {tag_scalar_dict!r}")
        for name, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{name}")
            writer = self._scalar_writers.get(path)
            if writer is None:
                writer = self._scalar_writers[path] = self._open(path)
            self._summary(summary_pb2.Summary.Value(tag=main_tag, simple_value=_scalar(value, name)), global_step,
                          walltime, writer)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """The distribution of ``values`` (e.g. a layer's weights) at ``global_step``. ``bins``: a NumPy
        bin rule ("auto", "fd", ...), a count, edges, or "tensorflow" (exponentially spaced buckets)."""
        x = _numpy(values).astype(numpy.float64).reshape(-1)
        if x.size == 0:
            raise ValueError(f"add_histogram: {tag!r} has no values")
        if not numpy.isfinite(x).all():
            raise ValueError(f"add_histogram: {tag!r} contains NaN or infinity")
        if isinstance(bins, str) and bins == "tensorflow":
            pos = 1e-12 * 1.1 ** numpy.arange(0, 1000)
            pos = pos[pos < 1e20]
            bins = numpy.concatenate([-pos[::-1], [0.0], pos])
            counts, edges = numpy.histogram(x, bins=bins)
            nz = numpy.nonzero(counts)[0]
            lo, hi = max(nz[0] - 1, 0), min(nz[-1] + 2, len(counts))
            counts, edges = counts[lo:hi], edges[lo:hi + 1]
        else:
            counts, edges = numpy.histogram(x, bins=bins)
        if max_bins is not None and len(counts) > max_bins:
            step = -(-len(counts) // max_bins)
            pad = (-len(counts)) % step
            counts = numpy.pad(counts, (0, pad)).reshape(-1, step).sum(axis=1)
            edges = numpy.concatenate([edges[:-1:step], edges[-1:]])
        hist = summary_pb2.HistogramProto(min=float(x.min()), max=float(x.max()), num=int(x.size),
                                          sum=float(x.sum()), sum_squares=float((x * x).sum()),
                                          bucket_limit=[float(e) for e in edges[1:]],
                                          bucket=[float(c) for c in counts])
        self._summary(summary_pb2.Summary.Value(tag=tag, histo=hist), global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """An image: floats in [0, 1] (scaled to 0-255) or uint8, laid out as ``dataformats`` (CHW, HWC, HW)."""
        img = _numpy(img_tensor)
        fmt = dataformats.upper()
        if sorted(fmt) not in (sorted("CHW"), sorted("HW")) or img.ndim != len(fmt):
            raise ValueError(f"add_image: dataformats {dataformats!r} does not fit an image of shape {img.shape}; "
                             "use 'CHW', 'HWC' or 'HW'")
        if fmt == "HW":
            img = img[:, :, None]
        else:
            img = img.transpose([fmt.index(c) for c in "HWC"])
        if img.shape[2] not in (1, 3, 4):
            raise ValueError(f"add_image: an image needs 1, 3 or 4 channels, got {img.shape[2]} (shape {img.shape})")
        if img.dtype != numpy.uint8:
            img = (numpy.clip(img.astype(numpy.float64), 0, 1) * 255 + 0.5).astype(numpy.uint8)
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img).save(buf, format="PNG")
        h, w, c = img.shape
        image = summary_pb2.Summary.Image(height=h, width=w, colorspace=c, encoded_image_string=buf.getvalue())
        self._summary(summary_pb2.Summary.Value(tag=tag, image=image), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Markdown text under ``tag`` (TensorBoard's Text tab)."""
        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[str(text_string).encode("utf-8")],
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        self._summary(summary_pb2.Summary.Value(tag=f"{tag}/text_summary", metadata=meta, tensor=tensor),
                      global_step, walltime)

    def add_hparams(self, hparam_dict: dict[str, Any], metric_dict: dict[str, Any], run_name: str | None = None,
                    global_step: int | None = None) -> None:
        """A run's hyperparameters and final metrics (TensorBoard's HParams tab), in a sub-run ``run_name``."""
        from tensorboard.plugins.hparams.summary_v2 import hparams_pb

        if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
            raise TypeError("add_hparams: hparam_dict and metric_dict must be dicts")
        path = os.path.join(self.log_dir, run_name or str(time.time()))
        writer = self._open(path)
        hp = {k: (v if isinstance(v, (bool, str)) else float(v)) for k, v in hparam_dict.items()}
        summary = hparams_pb(hp)
        self._add_event(event_pb2.Event(summary=summary), None, writer)
        for k, v in metric_dict.items():
            self._summary(summary_pb2.Summary.Value(tag=k, simple_value=_scalar(v, k)), global_step, None, writer)
        writer.close()

    # --------------------------------------------------------------------------------- lifetime

    def flush(self) -> None:
        """Write every pending event to disk now."""
        self._writer.flush()
        for w in self._scalar_writers.values():
            w.flush()

    def close(self) -> None:
        self._writer.close()
        for w in self._scalar_writers.values():
            w.close()
        self._scalar_writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
