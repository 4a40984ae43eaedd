"""Process group on MPI (mpi4py): who am I, how many are we, and the collectives on tensors.

``mpiexec -n N python train.py`` starts N copies of a script; each calls :func:`init` (or lets
:class:`~nabla.train.Trainer` do it) and then talks to the others through :func:`all_reduce`,
:func:`broadcast` and :func:`barrier`, PyTorch's ``torch.distributed`` names. ``pip install
'nabla[mpi]'`` brings mpi4py and an MPI (MPICH's wheel) with its ``mpiexec``: :func:`mpiexec` finds it.

No hangs: every collective here is started non-blocking and waited for with a deadline
(``NABLA_DIST_TIMEOUT`` seconds, default 300). A rank that misses it — another rank died or is
stuck — prints what it waited for and aborts the whole job (``MPI_Abort``); an uncaught exception
in any rank does the same at once (:func:`init` installs the hook), and so does
:func:`abort_on_error` around a command's body. A rank killed outright is noticed by ``mpiexec``,
which ends the others.

Collectives work on host (NumPy) arrays; tensors on a GPU are copied to the host and back (MPICH's
wheel is not CUDA-aware; NCCL through CuPy is not implemented).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor

__all__ = ["init", "is_initialized", "launched", "rank", "world_size", "is_main_process", "all_reduce",
           "broadcast", "barrier", "all_reduce_floats", "abort", "abort_on_error", "mpiexec", "timeout"]

# Environment variables the common MPI launchers set in every process they start (MPICH/Hydra, Intel MPI,
# Open MPI, PMIx): the number of processes in the job.
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")

_OPS = ("sum", "mean", "max", "min", "prod")


class _State:
    comm: Any = None
    MPI: Any = None
    hook_installed = False


_state = _State()


def launched() -> int:
    """The number of processes an MPI launcher started this job with (1 when run directly). Reads the
    launcher's environment only: MPI is not initialised."""
    for var in _SIZE_VARS:
        v = os.environ.get(var)
        if v and v.isdigit():
            return int(v)
    return 1


def timeout() -> float:
    """Seconds a collective waits for the other ranks before aborting the job (``NABLA_DIST_TIMEOUT``)."""
    text = os.environ.get("NABLA_DIST_TIMEOUT", "300")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"NABLA_DIST_TIMEOUT must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"NABLA_DIST_TIMEOUT must be > 0 seconds, got {text!r}")
    return value


def _import_mpi() -> Any:
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError("nabla.distributed needs mpi4py and an MPI library: pip install 'nabla[mpi]' (mpi4py "
                          f"with MPICH's wheel) ({e})") from None
    return MPI


def init() -> None:
    """Join the job's process group (``MPI_COMM_WORLD``); safe to call more than once.

    Also makes an uncaught exception in this rank abort every rank (instead of leaving them waiting in
    a collective forever), printing which rank failed and why.
    """
    if _state.comm is not None:
        return
    MPI = _import_mpi()
    expected = launched()
    if expected > 1 and MPI.COMM_WORLD.Get_size() != expected:
        library = MPI.Get_library_version().splitlines()[0].strip()
        raise RuntimeError(f"the launcher started {expected} processes but MPI sees {MPI.COMM_WORLD.Get_size()}: this "
                           f"mpiexec does not belong to the MPI that mpi4py uses ({library}). Launch with "
                           f"{mpiexec()} (nabla.distributed.mpiexec()), or install mpi4py built against your MPI "
                           "(pip install --no-binary mpi4py mpi4py)")
    _state.MPI = MPI
    _state.comm = MPI.COMM_WORLD
    if _state.comm.Get_size() > 1 and not _state.hook_installed:
        previous = sys.excepthook

        def hook(kind, value, tb):
            previous(kind, value, tb)
            abort(f"{kind.__name__}: {value}")

        sys.excepthook = hook
        _state.hook_installed = True


def is_initialized() -> bool:
    return _state.comm is not None


def _comm() -> Any:
    """The communicator; MPI is initialised on first use when a launcher started several processes."""
    if _state.comm is None:
        if launched() > 1:
            init()
        else:
            return None
    return _state.comm


def rank() -> int:
    """This process's rank, 0..world_size()-1 (0 for a single process not started by an MPI launcher)."""
    c = _comm()
    return 0 if c is None else c.Get_rank()


def world_size() -> int:
    """The number of processes in the job (1 for a single process not started by an MPI launcher)."""
    c = _comm()
    return 1 if c is None else c.Get_size()


def is_main_process() -> bool:
    """True on rank 0: the rank that prints progress and writes checkpoints, logs and plots."""
    return rank() == 0


def abort(reason: str, code: int = 1) -> None:
    """Print ``reason`` (with this rank) and end every process of the job (``MPI_Abort``)."""
    c = _comm()
    where = f"rank {c.Get_rank()} of {c.Get_size()}" if c is not None else "the only rank"
    print(f"nabla.distributed: {where} failed: {reason}; stopping all ranks", file=sys.stderr, flush=True)
    if c is not None and c.Get_size() > 1:
        c.Abort(code)
    raise SystemExit(code)


@contextlib.contextmanager
def abort_on_error(usage: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Around a command's body (a ``with`` block or a decorator): when this rank raises, abort the job so
    the other ranks do not wait in a collective for a rank that is gone; exceptions of the ``usage``
    types end it with exit code 2, others with 1. A no-op for a single process."""
    if launched() <= 1:
        yield
        return
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:
        abort(f"{type(e).__name__}: {e}", 2 if isinstance(e, usage) else 1)


def wait(requests: list, what: str) -> None:
    """Wait for MPI requests, aborting the job with a clear message after :func:`timeout` seconds."""
    MPI = _state.MPI
    if MPI.Request.Testall(requests):
        return
    deadline = time.monotonic() + timeout()
    pause = 0.0
    while not MPI.Request.Testall(requests):
        if time.monotonic() > deadline:
            abort(f"{what} did not complete within {timeout():g} s (NABLA_DIST_TIMEOUT): another rank died, is "
                  "stuck, or did not reach the same call; see its output above")
        if pause:
            time.sleep(pause)
        pause = min(1e-3, pause * 2 or 1e-6)


def _host_array(x: Any, what: str) -> tuple[numpy.ndarray, Any]:
    """``(host array to communicate, write_back)`` for a Tensor or NumPy array."""
    if isinstance(x, Tensor):
        arr = x._data
    elif isinstance(x, numpy.ndarray):
        arr = x
    else:
        raise TypeError(f"{what}: expected a Tensor or a NumPy array, got {type(x).__name__}")
    if isinstance(arr, numpy.ndarray):
        if arr.flags.c_contiguous and arr.flags.writeable:
            return arr, None
        buf = numpy.ascontiguousarray(arr)
        if not arr.flags.writeable:
            raise ValueError(f"{what}: the array is read-only; pass a writable copy")
        return buf, lambda: numpy.copyto(arr, buf)
    buf = numpy.ascontiguousarray(backend.transfer(arr, backend.CPU))  # a GPU array: through the host
    dev = backend.device_of(arr)
    return buf, lambda: arr.__setitem__(Ellipsis, backend.transfer(buf, dev))


def all_reduce(x: Any, op: str = "sum") -> Any:
    """Reduce ``x`` (a Tensor or NumPy array) element-wise over all ranks, in place on every rank;
    ``op`` is ``sum``, ``mean``, ``max``, ``min`` or ``prod``. Returns ``x``."""
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}, got {op!r}")
    c = _comm()
    if c is None or c.Get_size() == 1:
        return x
    buf, write_back = _host_array(x, "all_reduce")
    MPI = _state.MPI
    mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}[op]
    wait([c.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op)], f"all_reduce({op}) of shape {buf.shape}")
    if op == "mean":
        if buf.dtype.kind not in "fc":
            raise TypeError(f"all_reduce(op='mean') needs a floating array, got {buf.dtype}")
        buf /= c.Get_size()
    if write_back is not None:
        write_back()
    return x


def broadcast(x: Any, src: int = 0) -> Any:
    """Overwrite ``x`` (a Tensor or NumPy array) on every rank with rank ``src``'s values. Returns ``x``."""
    c = _comm()
    n = 1 if c is None else c.Get_size()
    if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < n:
        raise ValueError(f"broadcast: src must be a rank in 0..{n - 1}, got {src!r}")
    if n == 1:
        return x
    buf, write_back = _host_array(x, "broadcast")
    wait([c.Ibcast(buf, root=src)], f"broadcast from rank {src} of shape {buf.shape}")
    if write_back is not None:
        write_back()
    return x


def barrier() -> None:
    """Wait until every rank has reached this call (with the :func:`timeout` deadline)."""
    c = _comm()
    if c is not None and c.Get_size() > 1:
        wait([c.Ibarrier()], "barrier")


def all_reduce_floats(values: dict[str, float], op: str = "mean") -> dict[str, float]:
    """Reduce a dict of numbers over the ranks (every rank passes the same keys); NaN stays NaN."""
    keys = sorted(values)
    c = _comm()
    if c is None or c.Get_size() == 1:
        return dict(values)
    check = numpy.array([zlib.crc32("\0".join(keys).encode())], dtype=numpy.int64)  # same keys everywhere?
    low, high = check.copy(), check.copy()
    all_reduce(low, "min")
    all_reduce(high, "max")
    if low[0] != high[0]:
        raise RuntimeError(f"all_reduce_floats: the ranks passed different keys (this rank: {keys})")
    arr = numpy.array([float(values[k]) for k in keys], dtype=numpy.float64)
    all_reduce(arr, op)
    return dict(zip(keys, arr.tolist()))


def mpiexec() -> str:
    """The path of ``mpiexec``: the one installed beside this Python (MPICH's wheel puts it in the
    environment's ``bin``), else the first on ``PATH``. Raises with what to install when there is none."""
    here = Path(sys.executable).parent
    found = shutil.which("mpiexec", path=str(here)) or shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise FileNotFoundError("no mpiexec found beside this Python or on PATH: pip install 'nabla[mpi]' (mpi4py "
                                "and MPICH's wheel, which brings mpiexec), or install your system's MPI")
    return found
