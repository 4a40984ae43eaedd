"""``save`` / ``load`` for state dicts (and any nesting of dicts, lists, tuples, Tensors and plain values) in
the safetensors format, to a path or a binary file object.

Why safetensors and not pickle: a pickle file can run any code when it is loaded, so a checkpoint
downloaded from somewhere is a program. A safetensors file is a JSON header plus raw little-endian
bytes; reading one only ever makes arrays. The same files are read and written by PyTorch
(``safetensors.torch``), so weights move between nabla and PyTorch without conversion scripts.

File layout written by :func:`save`:

* every Tensor leaf becomes one safetensors tensor, named by its keys joined with ``'.'``
  (``{"0": {"weight": w}}`` -> ``"0.weight"``; list/tuple items by index). A model's flat state dict
  therefore has exactly the names PyTorch uses, and ``safetensors.torch.load_file`` reads it directly.
* ``__metadata__`` holds ``"format": "pt"`` (the tensor layout is PyTorch's, so Hugging Face tools
  accept the file) and ``"nabla"``: a JSON document with the structure of the saved object, so
  nested dicts, int keys, tuples, lists and plain values (an optimizer's ``param_groups``, its step
  counts) come back exactly. Its grammar: JSON ``null``/``true``/``false``/numbers/strings are those
  values; a JSON array is a Python ``list``; every other node is an object with a single key:
  ``{"tensor": name}``, ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}`` (keys may be str,
  int, float, bool or None) and ``{"float": "nan" | "inf" | "-inf"}`` (JSON has no such numbers).
* a file without the ``"nabla"`` entry (e.g. ``safetensors.torch.save_file(model.state_dict())``)
  loads as a flat ``{name: Tensor}`` dict.

The structure codec is ``codec.py``; the crash-safe write, ``atomic.py``.

dtypes: float16/32/64, int8/16/32/64, uint8 and bool round-trip bit for bit. ``bfloat16`` tensors (common
in PyTorch / Hugging Face checkpoints) load as float32 with a warning: NumPy has no bfloat16, and
widening is exact (every bfloat16 value is a float32 value with the low 16 bits zero). Other
safetensors dtypes (uint16/32/64, float8, complex) are a clear ``ValueError``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from typing import IO, Any

import numpy
import safetensors
import safetensors.numpy as _st_numpy
from safetensors import safe_open

from .. import backend
from ..tensor import Tensor
from .atomic import atomic_write
from .codec import FORMAT_VERSION, decode_structure, encode, type_name

__all__ = ["save", "load"]

_HEADER_LIMIT = 100_000_000  # bytes; safetensors refuses larger headers too

# safetensors dtype name -> NumPy dtype, for the dtypes nabla holds.
_DTYPES: dict[str, numpy.dtype] = {
    "F16": numpy.dtype("float16"), "F32": numpy.dtype("float32"), "F64": numpy.dtype("float64"),
    "I8": numpy.dtype("int8"), "I16": numpy.dtype("int16"), "I32": numpy.dtype("int32"),
    "I64": numpy.dtype("int64"), "U8": numpy.dtype("uint8"), "BOOL": numpy.dtype("bool"),
}
_BF16 = "BF16"

_SafetensorError = getattr(safetensors, "SafetensorError", Exception)


# ============================================================================================== save


def save(obj: Any, path: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write ``obj`` to ``path`` (or a binary file object) in the safetensors format, atomically.

    ``obj`` is a state dict or any nesting of dicts, lists and tuples whose leaves are nabla Tensors or
    plain values: None, bool, int, float, str (dict keys: str, int, float, bool or None); a single
    Tensor too. Tensors are stored detached, on the CPU, under their keys joined with ``'.'`` (a lone
    Tensor as ``"tensor"``).

    A path is written to a temporary file in the same directory, flushed to disk and then renamed
    over ``path``: a crash or an error part-way leaves any previous file at ``path`` untouched. A file
    object (anything with ``write``, e.g. ``io.BytesIO`` or ``open(p, "wb")``) gets the bytes written
    at its current position.
    """
    if _is_file_object(path, "write"):
        path.write(_encode_file(obj, f"<{type_name(path)}>"))
        return
    fspath = _fspath(path, "save")
    data = _encode_file(obj, fspath)
    directory = os.path.dirname(os.path.abspath(fspath))
    if os.path.isdir(fspath):
        raise IsADirectoryError(f"nabla.save: {fspath!r} is a directory; give a file name such as 'model.safetensors'")
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"nabla.save: cannot write {fspath!r}: the directory {directory!r} does not exist; create it first "
            "(os.makedirs(dirname, exist_ok=True))"
        )
    atomic_write(fspath, directory, data)


def _is_file_object(f: Any, method: str) -> bool:
    return callable(getattr(f, method, None)) and not isinstance(f, (str, bytes, os.PathLike))


def _encode_file(obj: Any, fspath: str) -> bytes:
    """The safetensors bytes of ``obj``: its tensors and, in the metadata, the structure document."""
    tensors: dict[str, numpy.ndarray] = {}
    owners: dict[str, str] = {}
    try:
        tree = encode(obj, ["tensor"] if isinstance(obj, Tensor) else [], "obj", tensors, owners, set(), fspath)
        structure = json.dumps(
            {"format_version": FORMAT_VERSION, "tree": tree}, allow_nan=False, separators=(",", ":")
        )
    except RecursionError:
        raise ValueError(f"nabla.save: {fspath!r}: the object is nested too deeply to save") from None
    return _serialize(tensors, {"format": "pt", "nabla": structure})


def _serialize(tensors: dict[str, numpy.ndarray], metadata: dict[str, str]) -> bytes:
    """The whole file as bytes (safetensors' NumPy API). Peak memory while saving is about twice the tensors."""
    return _st_numpy.save(tensors, metadata=metadata)


# ============================================================================================== load


def load(path: str | os.PathLike[str] | IO[bytes], map_location: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None) -> Any:
    """Read a file written by :func:`save` (or any safetensors file) back, from a path or a binary file
    object (anything with ``read``: ``io.BytesIO``, ``open(p, "rb")``; read from its current position).

    Returns the saved object with new, independent Tensors (copies, not views of the file). A file
    without nabla's structure entry, such as ``safetensors.torch.save_file(model.state_dict(), p)``,
    gives a flat ``{name: Tensor}`` dict. ``map_location`` (``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
    ``nabla.device``; default ``"cpu"``) is the device of the loaded tensors. bfloat16 tensors load as
    float32 (exactly) with a warning.

    Only data is read: nothing in the file is ever executed (no pickle), so PyTorch's ``weights_only``
    is always in effect and the argument is accepted for compatibility, as is ``mmap``.
    """
    if _is_file_object(path, "read"):
        data = path.read()
        if not isinstance(data, bytes):
            raise TypeError(f"nabla.load: the file object gave {type_name(data)}, not bytes; open it in binary "
                            "mode ('rb')")
        # The reader validates a file on disk (sizes, offsets, dtypes) before reading it: one code path.
        with tempfile.TemporaryDirectory() as d:
            tmp = os.path.join(d, "buffer.safetensors")
            with open(tmp, "wb") as out:
                out.write(data)
            return load(tmp, map_location)
    fspath = _fspath(path, "load")
    dev = _resolve_device(map_location)
    if not os.path.exists(fspath):
        raise FileNotFoundError(f"nabla.load: no such file: {fspath!r}; check the path (saved with nabla.save?)")
    if os.path.isdir(fspath):
        raise IsADirectoryError(f"nabla.load: {fspath!r} is a directory; give the path of a .safetensors file")

    entries, metadata = _read_header(fspath)
    arrays = _read_arrays(fspath, entries)
    tensors = {name: Tensor(arr, device=dev) for name, arr in arrays.items()}

    structure = (metadata or {}).get("nabla")
    if structure is None:
        return tensors
    return decode_structure(structure, tensors, fspath)


def _fspath(path: Any, op: str) -> str:
    try:
        p = os.fspath(path)
    except TypeError:
        raise TypeError(f"nabla.{op}: expected a file path (str or os.PathLike), got {type_name(path)}") from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    return p


def _resolve_device(map_location: Any) -> backend.device:
    if map_location is None:
        return backend.CPU
    if not isinstance(map_location, (str, backend.device)):
        raise TypeError(
            "nabla.load: map_location must be 'cpu', 'cuda', 'cuda:N' or a nabla.device, "
            f"got {type_name(map_location)}"
        )
    try:
        return backend.to_device(map_location)
    except ValueError as e:
        raise ValueError(f"nabla.load: bad map_location {map_location!r}: {e}") from None
    except RuntimeError as e:
        raise RuntimeError(f"nabla.load(map_location={str(map_location)!r}): {e}") from None


_FOREIGN_FORMATS = (
    (lambda b: len(b) >= 2 and b[0] == 0x80 and 2 <= b[1] <= 5,
     "a Python pickle (e.g. from pickle.dump or torch.save)"),
    (lambda b: b.startswith(b"PK\x03\x04"),
     "a zip archive, e.g. a PyTorch checkpoint from torch.save (which holds pickles)"),
    (lambda b: b.startswith(b"\x93NUMPY"), "a NumPy .npy file"),
    (lambda b: b.startswith(b"\x89HDF"), "an HDF5 file (e.g. a Keras .h5 checkpoint)"),
)


def _not_safetensors(path: str, reason: str) -> ValueError:
    return ValueError(
        f"nabla.load: {path!r} is not a valid safetensors file: {reason}. The file is truncated or corrupted "
        "(an interrupted copy or download?) or is not a safetensors file; save or download it again"
    )


def _read_header(path: str) -> tuple[list[tuple[str, str, list[int], int, int, int]], dict[str, str] | None]:
    """Check the header before safetensors sees the file, so every problem gets a clear message.

    Returns ``[(name, dtype, shape, begin, end, data_start)]`` in data order, and the ``__metadata__``.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        # A real safetensors file can start with the same bytes as a pickle (a header length whose low
        # byte is 0x80): sniff other formats only when the bytes do not parse as a safetensors header.
        n_guess = int.from_bytes(head, "little") if len(head) == 8 else -1
        plausible = 0 < n_guess <= min(_HEADER_LIMIT, size - 8) and f.read(1) == b"{"
        f.seek(8)
        for looks_like, what in () if plausible else _FOREIGN_FORMATS:
            if looks_like(head):
                raise ValueError(
                    f"nabla.load: {path!r} is not a safetensors file: it looks like {what}. nabla reads only "
                    "safetensors files and never unpickles, because unpickling an untrusted file can run "
                    "arbitrary code. If you trust the file, convert it where it was made, e.g. "
                    "safetensors.torch.save_file(torch.load(p, weights_only=True), 'model.safetensors')"
                )
        if size < 8:
            raise _not_safetensors(path, f"it is only {size} bytes long, shorter than the 8-byte header length")
        n = int.from_bytes(head, "little")
        if n > _HEADER_LIMIT:
            raise _not_safetensors(
                path, f"the header length field says {n} bytes, more than the {_HEADER_LIMIT}-byte limit"
            )
        if n > size - 8:
            raise _not_safetensors(
                path, f"the header length field says {n} bytes, but only {size - 8} bytes follow it"
            )
        raw = f.read(n)
    if len(raw) != n:
        raise _not_safetensors(path, "the file changed size while it was read")
    try:
        text = raw.decode("utf-8")
        if not text.startswith("{"):
            raise ValueError("the header does not start with '{'")
        header = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _not_safetensors(path, f"its header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "its header is not a JSON object")

    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise _not_safetensors(path, "its __metadata__ is not a mapping of strings to strings")

    data_start = 8 + n
    data_len = size - data_start
    entries = []
    for name, info in header.items():
        if not (isinstance(info, dict) and {"dtype", "shape", "data_offsets"} <= info.keys()):
            raise _not_safetensors(path, f"the header entry for tensor {name!r} lacks dtype, shape or data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not (isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape)):
            raise _not_safetensors(path, f"tensor {name!r} has a malformed shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise _not_safetensors(path, f"tensor {name!r} has malformed data_offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end:
            raise _not_safetensors(path, f"tensor {name!r} has data_offsets {offsets!r} that do not form a range")
        if end > data_len:
            raise _not_safetensors(
                path,
                f"tensor {name!r} has data offsets out of range: it needs bytes {begin}..{end} of the data "
                f"section, but the file holds only {data_len} bytes after the header",
            )
        if dtype == _BF16:
            itemsize = 2
        elif dtype in _DTYPES:
            itemsize = _DTYPES[dtype].itemsize
        else:
            raise ValueError(
                f"nabla.load: {path!r}: tensor {name!r} has dtype {dtype!r}, which nabla cannot hold (nabla has "
                "float16/32/64, int8/16/32/64, uint8 and bool; bfloat16 loads as float32). Convert it where the "
                "file was made, e.g. in PyTorch t.to(torch.float32) or t.to(torch.int64), and save again"
            )
        if end - begin != math.prod(shape) * itemsize:
            raise _not_safetensors(
                path, f"tensor {name!r} of shape {shape} and dtype {dtype} should take "
                f"{math.prod(shape) * itemsize} bytes but its data_offsets span {end - begin}"
            )
        entries.append((name, dtype, shape, begin, end, data_start))
    entries.sort(key=lambda e: (e[3], e[4]))
    return entries, metadata


def _read_arrays(path: str, entries: list) -> dict[str, numpy.ndarray]:
    """Read each tensor with safetensors (bfloat16 from its raw bytes), as arrays nabla then copies."""
    arrays: dict[str, numpy.ndarray] = {}
    bf16 = [e for e in entries if e[1] == _BF16]
    try:
        with safe_open(path, framework="np") as f:
            for name, dtype, shape, *_ in entries:
                if dtype != _BF16:
                    arrays[name] = f.get_tensor(name).reshape(shape)
    except _SafetensorError as e:
        raise _not_safetensors(path, f"safetensors could not read it ({e})") from None
    if bf16:
        with open(path, "rb") as raw:
            for name, _, shape, begin, end, data_start in bf16:
                raw.seek(data_start + begin)
                buf = raw.read(end - begin)
                if len(buf) != end - begin:
                    raise _not_safetensors(path, f"the data of tensor {name!r} is cut short")
                # bfloat16 is the top half of a float32: shift the 16 bits up, reinterpret. Exact.
                bits = numpy.frombuffer(buf, dtype="<u2").astype(numpy.uint32) << 16
                arrays[name] = bits.view(numpy.float32).reshape(shape)
        names = ", ".join(repr(e[0]) for e in bf16[:5]) + (", ..." if len(bf16) > 5 else "")
        warnings.warn(
            f"nabla.load: {path!r}: {len(bf16)} bfloat16 tensor(s) ({names}) loaded as float32, since NumPy has "
            "no bfloat16; the values are exact, but saving them again writes float32 (twice the size)",
            UserWarning,
            stacklevel=3,
        )
    return {e[0]: arrays[e[0]] for e in entries}


