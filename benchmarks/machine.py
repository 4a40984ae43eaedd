"""What machine and software a run happened on, and how many threads each side may use.

Thread policy (see run.py): by default NumPy's BLAS and PyTorch both get ONE thread. Before NumPy
is imported, run.py sets ``OPENBLAS_NUM_THREADS`` (and, after import, calls OpenBLAS's own
``openblas_set_num_threads`` to be sure), then calls ``torch.set_num_threads`` with the same number.
``numpy_blas_threads`` reads back what NumPy's OpenBLAS really uses, and the report shows it.

Why not the cores' count (2 here)? This 2-core machine is shared with other jobs. With 2 threads and
the other core busy, both OpenBLAS and PyTorch's OpenMP pool now and then stall on a descheduled
worker thread: measured here, the tiny-MLP step went from 0.4 ms to 76 ms per step in torch and the
784-256-256-10 step from 2.5 ms to 190 ms in torch and 84 ms in nabla/NumPy. The ratios would then
measure the neighbours, not the frameworks. With one thread each, both frameworks get the same
compute and the numbers are stable. ``--threads N`` chooses N for both; ``--threads auto`` keeps
NumPy's BLAS default and gives torch the same number.
"""

from __future__ import annotations

import ctypes
import datetime
import os
import platform
import sys

import numpy


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def core_count() -> tuple[int, int | None]:
    """(logical CPUs in /proc/cpuinfo or os.cpu_count(), CPUs this process may run on)."""
    total = os.cpu_count() or 1
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = None
    return total, usable


def _openblas_libs() -> list[str]:
    try:
        with open("/proc/self/maps") as f:
            return sorted(
                {line.split()[-1] for line in f if "openblas" in line.lower() and line.split()[-1].startswith("/")}
            )
    except OSError:
        return []


_GET = ("openblas_get_num_threads", "openblas_get_num_threads64_", "scipy_openblas_get_num_threads64_",
        "scipy_openblas_get_num_threads")
_SET = ("openblas_set_num_threads", "openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_",
        "scipy_openblas_set_num_threads")


def _openblas_get() -> int | None:
    """Threads of NumPy's OpenBLAS (a library under numpy.libs if there is one, else the first found)."""
    for path in sorted(_openblas_libs(), key=lambda p: "numpy" not in p):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _GET:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn())
    return None


def _openblas_set(n: int) -> bool:
    """Set the thread count of every loaded OpenBLAS (NumPy's and SciPy's bundle one each)."""
    done = False
    for path in _openblas_libs():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SET:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = None
                fn(ctypes.c_int(n))
                done = True
                break
    return done


def numpy_blas_threads() -> tuple[int | None, str]:
    """(threads NumPy's BLAS uses, how we know). None if it cannot be told."""
    try:  # threadpoolctl, if someone installed it, knows every BLAS flavour
        from threadpoolctl import threadpool_info  # type: ignore

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return int(info["num_threads"]), f"threadpoolctl ({info.get('internal_api')})"
    except Exception:
        pass
    n = _openblas_get()
    if n is not None:
        return n, "openblas_get_num_threads() of the OpenBLAS NumPy loaded"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), f"${var}"
    return None, "unknown"


def set_numpy_blas_threads(n: int) -> bool:
    """Ask NumPy's OpenBLAS to use ``n`` threads; False if that is not possible here."""
    return _openblas_set(n)


def blas_name() -> str:
    try:
        cfg = numpy.show_config(mode="dicts")  # numpy >= 1.26
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "n/a"


def describe(torch_module=None) -> dict[str, str]:
    total, usable = core_count()
    info = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": f"{total} logical" + (f" ({usable} usable by this process)" if usable not in (None, total) else ""),
        "python": platform.python_version() + f" ({platform.python_implementation()}, {sys.platform})",
        "numpy": f"{numpy.__version__} (BLAS: {blas_name()})",
    }
    if torch_module is not None:
        info["torch"] = f"{torch_module.__version__} (intra-op threads: {torch_module.get_num_threads()})"
    return info


# ------------------------------------------------------------------ benchmark discipline (issue 18)


def cpu_flags() -> set[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def simd_level(flags: set[str] | None = None) -> str:
    """The widest vector extension the CPU has: what decides how fast oneDNN's and OpenBLAS's kernels run."""
    flags = cpu_flags() if flags is None else flags
    if "avx512f" in flags:
        return "AVX-512" + (" (+BF16)" if "avx512_bf16" in flags else "")
    for flag, name in (("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2")):
        if flag in flags:
            return name
    return "unknown SIMD" if not flags else "no AVX"


def cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    v = line.split(":", 1)[1].strip()
                    return {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(v, v)
    except OSError:
        pass
    return platform.machine() or "unknown"


def blas_kernel() -> str:
    """The BLAS library and the kernel it picked for this CPU (OpenBLAS's 'architecture', e.g. SkylakeX)."""
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return f"{info.get('internal_api')} {info.get('version', '')}, kernel {info.get('architecture', '?')}"
    except Exception:
        pass
    return blas_name()


def cpu_family() -> tuple[str, str]:
    """(a label, a slug of word characters) naming the family that ratios are comparable within:
    vendor and vector width, since PyTorch's oneDNN gains much more from AVX-512 than an im2col + BLAS
    lowering does."""
    simd = simd_level().split(" ")[0]
    label = f"{cpu_vendor()} {simd}"
    return label, "".join(c if c.isalnum() else "_" for c in label.lower())


def load1() -> float:
    """The 1-minute load average (nan where it cannot be read)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def wait_for_quiet(max_load: float, timeout_s: float, poll_s: float = 5.0, log=print) -> bool:
    """Wait until the 1-minute load average is below ``max_load``; False if ``timeout_s`` ran out first.

    Ratios taken on a busy machine flatter nabla (PyTorch's threads suffer more from a busy neighbour),
    so a benchmark run should start quiet. The 1-minute average decays slowly (e^{-t/60}), so after a
    heavy job it can take a minute or two to fall under the bar.
    """
    import time

    deadline = time.monotonic() + timeout_s
    said = False
    while True:
        now = load1()
        if now < max_load:
            return True
        if time.monotonic() >= deadline:
            return False
        if not said:
            log(f"waiting for a quiet machine: load average {now:.2f} >= {max_load:g} "
                f"(up to {timeout_s:.0f} s; --wait 0 to skip, --strict to refuse)")
            said = True
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
