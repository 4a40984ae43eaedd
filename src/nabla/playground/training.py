"""Training off the event loop: a pool of workers (processes by default) that own the runs.

The web server never trains. Each run lives in one worker, chosen as the least busy when the run is
made. A worker loops: file every waiting command under its run (create and close act at once), then
give one turn to the runnable run that has used the least worker time (time-fair, see
:func:`worker_loop`): its next command, or a slice of training of about 50 ms. It sends a frame
(losses, heat maps, gradient norms, as JSON made in the worker) after every command and at epoch
ends, at most every ``frame_interval`` seconds per run. Each run has at most ``max_pending``
commands waiting (then :class:`RunBusy`, a 429), so no client can queue unbounded work. A reader
thread in the server hands the frames to the event loop, which passes them to the run's subscribers
(the page's event stream). Worker processes exit when the server dies, even by SIGKILL
(:func:`_exit_with_parent`).

With ``mode="process"`` (the default) the workers are separate processes, so training uses every
core and never holds the server's GIL; ``mode="thread"`` keeps them in the server process (cheap to
start: tests use it). A worker that dies (killed, out of memory) is replaced, and its runs say so.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PoolFull", "RunBusy", "RunInfo", "TrainingPool", "worker_loop"]

log = logging.getLogger("nabla.playground")


# ================================================================================ worker side


SLICE_SECONDS = 0.05  # per turn a run trains about this long (at least one mini-batch): small nets a whole epoch


class _Slot:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.status = "paused"
        self.last_frame = 0.0
        self.pending: deque = deque()  # this run's commands, in the order they came
        self.done = 0  # commands finished (the server's count of commands sent, minus this, is the backlog)
        self.used = 0.0  # seconds of worker time spent on this run (its "virtual runtime")

    @property
    def runnable(self) -> bool:
        return bool(self.pending) or self.status == "playing"


def worker_loop(commands: Any, events: Any, frame_interval: float, slice_seconds: float = SLICE_SECONDS) -> None:
    """The body of a worker: runs until it receives ``("stop",)``. Works over thread or process queues.

    Scheduling is time-fair between runs, in the manner of Linux's CFS: every run has a queue of
    its own commands and an account of the worker time spent on it; each turn goes to the runnable
    run (commands waiting, or playing) that has used the least, and lasts one command or one
    training slice of about ``slice_seconds``. A run that wakes up starts level with the others
    (never with a credit from its idle time), so with ``k`` busy runs each gets about ``1/k`` of the
    worker whatever its batch size or epoch length: a flood of step commands costs its sender's runs
    time, not anyone else's. ``close`` is acted on at once and drops the run's waiting commands.
    """
    from .config import parse_config
    from .datasets import Upload, make_data
    from .export import weights_bytes
    from .network import Run
    from .thumbnail import boundary_png

    slots: dict[str, _Slot] = {}
    floor = 0.0  # the least virtual runtime of the last turn: where a waking run starts

    def send_frame(run_id: str, slot: _Slot, full: bool = True) -> None:
        try:
            frame = slot.run.frame(slot.status, full=full)
        except Exception as exc:  # a bug must cost one run, never the worker
            log.exception("frame of run %s failed", run_id)
            slot.status = "error"
            frame = {"type": "frame", "status": "error", "epoch": slot.run.epoch, "message": f"internal error: {exc}"}
        if frame["status"] in ("diverged", "error"):
            slot.status = frame["status"]
        frame["run"] = run_id
        head = {k: frame.get(k) for k in ("status", "epoch", "steps", "point", "message", "train_loss", "test_loss")}
        head["done"] = slot.done
        events.put(("frame", run_id, head, json.dumps(frame)))
        slot.last_frame = time.monotonic()

    def create(run_id: str, config_dict: dict, upload_json: Any) -> None:
        try:
            config = parse_config(config_dict)
            upload = Upload.from_json(upload_json) if upload_json else None
            data = make_data(config.problem, config.dataset, config.n_points, config.noise, config.test_ratio,
                             config.seed, config.classes, upload)
            slot = _Slot(Run(config, data))
        except Exception as exc:
            log.exception("creating run %s failed", run_id)
            events.put(("frame", run_id, {"status": "error", "epoch": 0, "message": str(exc), "done": 1},
                        json.dumps({"type": "frame", "run": run_id, "status": "error", "epoch": 0,
                                    "message": f"could not start: {exc}"})))
            return
        slot.used = floor
        slot.done = 1  # the create command
        slots[run_id] = slot
        send_frame(run_id, slot)

    def route(cmd: tuple) -> bool:
        """File a command from the server under its run (or act at once: create, close, stop)."""
        kind = cmd[0]
        if kind == "stop":
            return False
        run_id = cmd[1]
        if kind == "create":
            create(run_id, cmd[2], cmd[3])
            return True
        if kind == "close":
            slots.pop(run_id, None)  # its waiting commands go with it
            return True
        slot = slots.get(run_id)
        if slot is None:
            if kind == "snapshot":
                events.put(("reply", cmd[2], None))
            return True
        if not slot.runnable:
            slot.used = max(slot.used, floor)  # no credit for time spent idle
        slot.pending.append(cmd)
        return True

    def turn(run_id: str, slot: _Slot) -> None:
        """One turn of a run: its next command, or (playing, nothing waiting) one slice of training."""
        if not slot.pending:
            epoch_done = _train(run_id, slot)
            # frames at epoch ends (at most one per frame_interval); an epoch split over many slices
            # shows progress once a second, so slicing does not multiply the cost of frames
            wait = frame_interval if epoch_done else max(frame_interval, 1.0)
            if slot.status != "playing" or time.monotonic() - slot.last_frame >= wait:
                send_frame(run_id, slot)
            return
        cmd = slot.pending[0]
        kind = cmd[0]
        if kind == "step":
            if slot.status in ("playing", "paused"):
                slot.status = "paused"
                if not _train(run_id, slot):
                    return  # the epoch is not over: the step stays first in line
        slot.pending.popleft()
        slot.done += 1
        if kind == "play":
            if slot.status == "paused":
                slot.status = "playing"
            send_frame(run_id, slot, full=False)
        elif kind == "pause":
            if slot.status == "playing":
                slot.status = "paused"
            send_frame(run_id, slot)
        elif kind in ("step", "reset"):
            if kind == "reset":
                slot.run.reset()
                slot.status = "paused"
            send_frame(run_id, slot)
        elif kind == "snapshot":
            events.put(("reply", cmd[2], _snapshot(slot, weights_bytes, boundary_png)))

    def _train(run_id: str, slot: _Slot) -> bool:
        """One slice of training; True when it finished an epoch (or the run stopped: diverged, error)."""
        try:
            ok, finished = slot.run.train_slice(slice_seconds)
        except Exception as exc:
            log.exception("training run %s failed", run_id)
            slot.status = "error"
            slot.run.diverged = f"internal error while training: {exc}"
            return True
        if not ok:
            slot.status = "diverged"
            return True
        return finished

    while True:
        runnable = [(rid, s) for rid, s in slots.items() if s.runnable]
        try:
            cmd = commands.get() if not runnable else commands.get_nowait()
            while cmd is not None:  # file everything waiting (cheap), then give one run one turn
                if not route(cmd):
                    return
                try:
                    cmd = commands.get_nowait()
                except queue.Empty:
                    cmd = None
        except queue.Empty:
            pass
        except (EOFError, OSError):  # the server went away
            return
        runnable = [(rid, s) for rid, s in slots.items() if s.runnable]
        if not runnable:
            continue
        rid, slot = min(runnable, key=lambda item: item[1].used)
        floor = max(floor, slot.used)
        t0 = time.perf_counter()
        turn(rid, slot)
        slot.used += time.perf_counter() - t0


def _snapshot(slot: _Slot, weights_bytes: Any, boundary_png: Any) -> dict[str, Any]:
    run = slot.run
    return {"config": run.config.model_dump(mode="json"), "epoch": run.epoch, "metrics": run.metrics(),
            "weights": weights_bytes(run.model), "thumbnail": boundary_png(run.boundary_values())}


def _process_main(commands: Any, events: Any, frame_interval: float, parent_pid: int | None = None) -> None:
    _exit_with_parent(parent_pid if parent_pid is not None else os.getppid())
    try:  # training is background work: the server's event loop (the API, the streams) goes first
        os.nice(5)
    except (AttributeError, OSError):  # no nice() on this platform
        pass
    try:
        worker_loop(commands, events, frame_interval)
    except KeyboardInterrupt:
        pass


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _exit_with_parent(parent_pid: int, poll: float = 0.5) -> None:
    """Make this worker process die with the server, even when the server is killed with SIGKILL.

    Two guards, because a worker that outlives its server trains forever with nobody to see it
    (re-parented to PID 1): on Linux the kernel sends SIGKILL when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``, via ctypes); and everywhere a daemon thread polls ``os.getppid()``
    every ``poll`` seconds and ends the process once it differs from ``parent_pid`` (which also
    covers the moment between fork and prctl, and platforms without prctl).
    """
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog thread still guards
            pass
    if os.getppid() != parent_pid:  # the server died before prctl took effect
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="nabla-playground-parent-watch", daemon=True).start()


# ================================================================================ server side


class PoolFull(RuntimeError):
    """No room for another run (the pool's ``max_runs``)."""


class RunBusy(RuntimeError):
    """A run already has ``max_pending`` commands waiting in its worker (the API answers 429)."""


@dataclass
class RunInfo:
    """What the server knows about a run: whose it is, where it lives and what it last showed."""

    id: str
    owner: str
    worker: int
    config: dict
    upload: dict | None
    address: str = ""  # the client address that made it (per-address run limits)
    quota: str = ""  # whose run quota it counts against: "user:<id>" or "anon:<address>"
    status: str = "starting"
    epoch: int = 0
    message: str | None = None
    latest: str | None = None  # the last frame, JSON
    head: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    subscribers: set = field(default_factory=set)
    last_seen: float = field(default_factory=time.monotonic)
    last_command: float = field(default_factory=time.monotonic)  # the last create/play/step/... sent
    created: float = field(default_factory=time.monotonic)
    sent: int = 1  # commands sent to its worker (the create counts)
    done: int = 0  # commands its worker reports finished

    @property
    def backlog(self) -> int:
        """Commands sent but not yet carried out by the worker."""
        return max(0, self.sent - self.done)


class TrainingPool:
    """Workers plus the table of runs; all methods are called from the event loop's thread."""

    def __init__(self, workers: int | None = None, mode: str = "process", frame_interval: float = 0.1,
                 max_runs: int = 200, history_limit: int = 400, max_pending: int = 8) -> None:
        if mode not in ("process", "thread"):
            raise ValueError(f"TrainingPool: mode must be 'process' or 'thread', got {mode!r}")
        self.n_workers = max(1, workers if workers is not None else min(os.cpu_count() or 1, 8))
        self.mode = mode
        self.frame_interval = frame_interval
        self.max_runs = max_runs
        self.history_limit = history_limit
        self.max_pending = max_pending
        self.runs: dict[str, RunInfo] = {}
        self._workers: list[Any] = []
        self._commands: list[Any] = []
        self._pending: dict[int, asyncio.Future] = {}
        self._request_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: threading.Thread | None = None
        self._closing = False

    # ---------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._workers:
            raise RuntimeError("TrainingPool.start: the pool is already running (one app, one lifespan)")
        self._loop = asyncio.get_running_loop()
        if self.mode == "process":
            self._ctx = multiprocessing.get_context("spawn")
            self._events = self._ctx.Queue()
        else:
            self._events = queue.Queue()
        for i in range(self.n_workers):
            self._commands.append(None)
            self._workers.append(None)
            self._start_worker(i)
        self._reader = threading.Thread(target=self._read_events, name="nabla-playground-events", daemon=True)
        self._reader.start()

    def _start_worker(self, i: int) -> None:
        if self.mode == "process":
            commands = self._ctx.Queue()
            # tiny networks: one BLAS thread per worker is fastest, and the workers already use every core
            saved = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
            os.environ.update({k: "1" for k in saved})
            try:
                w = self._ctx.Process(target=_process_main,
                                      args=(commands, self._events, self.frame_interval, os.getpid()),
                                      name=f"nabla-playground-worker-{i}", daemon=True)
                w.start()
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        else:
            commands = queue.Queue()
            w = threading.Thread(target=worker_loop, args=(commands, self._events, self.frame_interval),
                                 name=f"nabla-playground-worker-{i}", daemon=True)
            w.start()
        self._commands[i] = commands
        self._workers[i] = w

    def close(self) -> None:
        """Stop the workers (a few seconds at most) and the reader thread."""
        self._closing = True
        for q in self._commands:
            try:
                q.put(("stop",))
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5
        for w in self._workers:
            w.join(timeout=max(0.1, deadline - time.monotonic()))
            if self.mode == "process" and w.is_alive():
                w.terminate()
                w.join(timeout=1)
        if self._reader is not None:
            try:
                self._events.put(("closing",))  # wakes the reader at once
            except (OSError, ValueError):
                pass
            self._reader.join(timeout=2)
        if self.mode == "process":
            for q in [*self._commands, self._events]:
                q.close()
                q.join_thread()
            # drop the queues now, so their semaphores are released before the interpreter exits
            self._commands = [None] * len(self._commands)
            self._events = None
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()

    # ---------------------------------------------------------------------------------- runs

    def create(self, run_id: str, owner: str, config: dict, upload: dict | None, address: str = "",
               quota: str = "") -> RunInfo:
        if len(self.runs) >= self.max_runs:
            raise PoolFull(f"the server is training {len(self.runs)} networks, its limit; try again in a minute")
        load = [0] * self.n_workers
        for info in self.runs.values():
            load[info.worker] += 1
        worker = min(range(self.n_workers), key=lambda i: load[i])
        info = RunInfo(run_id, owner, worker, config, upload, address, quota)
        self.runs[run_id] = info
        self._commands[worker].put(("create", run_id, config, upload))
        return info

    def command(self, run_id: str, kind: str) -> None:
        """Send ``kind`` (play, pause, step, reset) to the run's worker.

        Raises :class:`RunBusy` when the run already has ``max_pending`` commands waiting: the
        backlog of one run is bounded, so a client pressing "step" in a loop gets 429s instead of
        queueing work without end (its worker serves runs fairly anyway, see :func:`worker_loop`).
        """
        info = self.runs[run_id]
        now = time.monotonic()
        info.last_seen = now
        if kind == "reset" and info.status == "error":  # its worker died: start it again on a live one
            self._commands[info.worker].put(("close", run_id))
            info.status = "starting"
            info.sent, info.done, info.last_command = 1, 0, now
            self._commands[info.worker].put(("create", run_id, info.config, info.upload))
            return
        if info.backlog >= self.max_pending:
            raise RunBusy(f"this run already has {info.backlog} commands waiting (the limit is {self.max_pending}); "
                          "wait for them to finish")
        info.sent += 1
        info.last_command = now
        self._commands[info.worker].put((kind, run_id))

    def close_run(self, run_id: str) -> None:
        info = self.runs.pop(run_id, None)
        if info is not None:
            self._commands[info.worker].put(("close", run_id))
            for q in list(info.subscribers):
                _offer(q, None)

    async def snapshot(self, run_id: str, timeout: float = 30.0) -> dict | None:
        """The run's config, metrics, weights (safetensors bytes) and thumbnail (PNG), from its worker."""
        info = self.runs[run_id]
        rid = next(self._request_ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        info.sent += 1
        self._commands[info.worker].put(("snapshot", run_id, rid))
        try:
            return await asyncio.wait_for(fut, timeout)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not fut.cancelled():
                raise  # the request itself was cancelled
            return None  # the worker did not answer in time (busy, restarting): the caller answers 409
        finally:
            self._pending.pop(rid, None)

    def subscribe(self, run_id: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=16)
        info = self.runs[run_id]
        info.subscribers.add(q)
        info.last_seen = time.monotonic()
        return q

    def unsubscribe(self, run_id: str, q: asyncio.Queue) -> None:
        info = self.runs.get(run_id)
        if info is not None:
            info.subscribers.discard(q)
            info.last_seen = time.monotonic()

    def expire(self, idle_seconds: float, max_age: float = math.inf, command_idle: float = math.inf) -> list[str]:
        """Close runs that nobody uses any more; returns their ids.

        A run goes when nobody has watched or touched it for ``idle_seconds``; when no command
        (play, step, ...) came for ``command_idle`` seconds even though a page still streams it;
        and in any case ``max_age`` seconds after it was made. An open event stream alone therefore
        keeps a run alive for at most ``command_idle`` seconds: a client cannot hold slots forever
        by leaving streams open. Subscribers get the ``closed`` event.
        """
        now = time.monotonic()
        old = [rid for rid, info in self.runs.items()
               if (not info.subscribers and now - info.last_seen > idle_seconds)
               or now - info.last_command > command_idle or now - info.created > max_age]
        for rid in old:
            self.close_run(rid)
        return old

    # ---------------------------------------------------------------------------------- events

    def _read_events(self) -> None:
        last_check = time.monotonic()
        while not self._closing:
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                event = None
            except (EOFError, OSError, ValueError, AttributeError):  # closed under us
                return
            if event is not None and event[0] == "closing":
                return
            if event is not None:
                try:
                    self._loop.call_soon_threadsafe(self._dispatch, event)
                except RuntimeError:  # the loop is closed
                    return
            if self.mode == "process" and time.monotonic() - last_check > 1.0:
                last_check = time.monotonic()
                for i, w in enumerate(self._workers):
                    if not w.is_alive() and not self._closing:
                        try:
                            self._loop.call_soon_threadsafe(self._worker_died, i, w.exitcode)
                        except RuntimeError:
                            return

    def _worker_died(self, i: int, exitcode: Any) -> None:
        if self._closing or self._workers[i].is_alive():
            return
        log.error("training worker %d stopped (exit code %s); starting a new one", i, exitcode)
        self._start_worker(i)
        for info in self.runs.values():
            if info.worker == i:
                msg = "The training worker running this network stopped unexpectedly. Press reset to start again."
                frame = {"type": "frame", "run": info.id, "status": "error", "epoch": info.epoch, "message": msg}
                self._dispatch(("frame", info.id, {"status": "error", "epoch": info.epoch, "message": msg},
                                json.dumps(frame)))

    def _dispatch(self, event: tuple) -> None:
        kind = event[0]
        if kind == "reply":
            fut = self._pending.get(event[1])
            if fut is not None:
                if fut.get_loop() is self._loop:
                    _resolve(fut, event[2])
                else:  # asked from another event loop (test clients run one per request)
                    fut.get_loop().call_soon_threadsafe(_resolve, fut, event[2])
            return
        _, run_id, head, text = event
        info = self.runs.get(run_id)
        if info is None:
            return
        info.done = max(info.done, head.get("done") or 0)
        info.status = head.get("status") or info.status
        info.epoch = head.get("epoch") or 0
        info.message = head.get("message")
        info.head = head
        info.latest = text
        point = head.get("point")
        if head.get("epoch") == 0 and info.status == "paused":
            info.history = []  # a reset or a fresh start
        if point and (not info.history or info.history[-1][0] != point[0]):
            info.history.append(point)
            if len(info.history) > self.history_limit:
                info.history = info.history[::2]
        for q in list(info.subscribers):
            _offer(q, text)


def _resolve(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _offer(q: asyncio.Queue, item: Any) -> None:
    """Put without waiting: a slow page skips frames (the oldest go) instead of holding the others up."""
    while True:
        try:
            q.put_nowait(item)
            return
        except asyncio.QueueFull:
            try:
                q.get_nowait()
            except asyncio.QueueEmpty:  # pragma: no cover - single consumer
                pass
