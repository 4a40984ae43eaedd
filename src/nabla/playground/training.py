"""Training off the event loop: a pool of workers (processes by default) that own the runs.

The web server never trains. Each run lives in one worker, chosen as the least busy when the run is
made. A worker loops: take every waiting command (create, play, pause, step, reset, close, snapshot),
then give each playing run one epoch in turn (round robin, so runs on a worker share it fairly), and
send a frame (losses, heat maps, gradient norms, as JSON made in the worker) at most every
``frame_interval`` seconds per run, and after every command. A reader thread in the server hands the
frames to the event loop, which passes them to the run's subscribers (the page's event stream).

With ``mode="process"`` (the default) the workers are separate processes, so training uses every
core and never holds the server's GIL; ``mode="thread"`` keeps them in the server process (cheap to
start: tests use it). A worker that dies (killed, out of memory) is replaced, and its runs say so.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PoolFull", "RunInfo", "TrainingPool", "worker_loop"]

log = logging.getLogger("nabla.playground")


# ================================================================================ worker side


class _Slot:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.status = "paused"
        self.last_frame = 0.0


def worker_loop(commands: Any, events: Any, frame_interval: float) -> None:
    """The body of a worker: runs until it receives ``("stop",)``. Works over thread or process queues."""
    from .config import parse_config
    from .datasets import Upload, make_data
    from .export import weights_bytes
    from .network import Run
    from .thumbnail import boundary_png

    slots: dict[str, _Slot] = {}
    turn = itertools.count()

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
        events.put(("frame", run_id, head, json.dumps(frame)))
        slot.last_frame = time.monotonic()

    def handle(cmd: tuple) -> bool:
        kind = cmd[0]
        if kind == "stop":
            return False
        run_id = cmd[1]
        if kind == "create":
            _, _, config_dict, upload_json = cmd
            try:
                config = parse_config(config_dict)
                upload = Upload.from_json(upload_json) if upload_json else None
                data = make_data(config.problem, config.dataset, config.n_points, config.noise, config.test_ratio,
                                 config.seed, config.classes, upload)
                slots[run_id] = _Slot(Run(config, data))
            except Exception as exc:
                log.exception("creating run %s failed", run_id)
                events.put(("frame", run_id, {"status": "error", "epoch": 0, "message": str(exc)},
                            json.dumps({"type": "frame", "run": run_id, "status": "error", "epoch": 0,
                                        "message": f"could not start: {exc}"})))
                return True
            send_frame(run_id, slots[run_id])
            return True
        slot = slots.get(run_id)
        if slot is None:
            if kind == "snapshot":
                events.put(("reply", cmd[2], None))
            return True
        if kind == "close":
            del slots[run_id]
        elif kind == "play":
            if slot.status == "paused":
                slot.status = "playing"
            send_frame(run_id, slot, full=False)
        elif kind == "pause":
            if slot.status == "playing":
                slot.status = "paused"
            send_frame(run_id, slot)
        elif kind == "step":
            if slot.status in ("playing", "paused"):
                slot.status = "paused"
                _train(run_id, slot)
            send_frame(run_id, slot)
        elif kind == "reset":
            slot.run.reset()
            slot.status = "paused"
            send_frame(run_id, slot)
        elif kind == "snapshot":
            events.put(("reply", cmd[2], _snapshot(slot, weights_bytes, boundary_png)))
        return True

    def _train(run_id: str, slot: _Slot) -> None:
        try:
            if not slot.run.train_epoch():
                slot.status = "diverged"
        except Exception as exc:
            log.exception("training run %s failed", run_id)
            slot.status = "error"
            slot.run.diverged = f"internal error while training: {exc}"

    while True:
        playing = [(rid, s) for rid, s in slots.items() if s.status == "playing"]
        try:
            cmd = commands.get(timeout=None) if not playing else commands.get_nowait()
        except queue.Empty:
            cmd = None
        except (EOFError, OSError):  # the server went away
            return
        if cmd is not None:
            if not handle(cmd):
                return
            continue  # take every waiting command before training again
        rid, slot = playing[next(turn) % len(playing)]
        _train(rid, slot)
        if slot.status != "playing" or time.monotonic() - slot.last_frame >= frame_interval:
            send_frame(rid, slot)


def _snapshot(slot: _Slot, weights_bytes: Any, boundary_png: Any) -> dict[str, Any]:
    run = slot.run
    return {"config": run.config.model_dump(mode="json"), "epoch": run.epoch, "metrics": run.metrics(),
            "weights": weights_bytes(run.model), "thumbnail": boundary_png(run.boundary_values())}


def _process_main(commands: Any, events: Any, frame_interval: float) -> None:
    try:  # training is background work: the server's event loop (the API, the streams) goes first
        os.nice(5)
    except (AttributeError, OSError):  # no nice() on this platform
        pass
    try:
        worker_loop(commands, events, frame_interval)
    except KeyboardInterrupt:
        pass


# ================================================================================ server side


class PoolFull(RuntimeError):
    """No room for another run (the pool's ``max_runs``)."""


@dataclass
class RunInfo:
    """What the server knows about a run: whose it is, where it lives and what it last showed."""

    id: str
    owner: str
    worker: int
    config: dict
    upload: dict | None
    status: str = "starting"
    epoch: int = 0
    message: str | None = None
    latest: str | None = None  # the last frame, JSON
    head: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    subscribers: set = field(default_factory=set)
    last_seen: float = field(default_factory=time.monotonic)
    created: float = field(default_factory=time.monotonic)


class TrainingPool:
    """Workers plus the table of runs; all methods are called from the event loop's thread."""

    def __init__(self, workers: int | None = None, mode: str = "process", frame_interval: float = 0.1,
                 max_runs: int = 200, history_limit: int = 400) -> None:
        if mode not in ("process", "thread"):
            raise ValueError(f"TrainingPool: mode must be 'process' or 'thread', got {mode!r}")
        self.n_workers = max(1, workers if workers is not None else min(os.cpu_count() or 1, 8))
        self.mode = mode
        self.frame_interval = frame_interval
        self.max_runs = max_runs
        self.history_limit = history_limit
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
                w = self._ctx.Process(target=_process_main, args=(commands, self._events, self.frame_interval),
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

    def create(self, run_id: str, owner: str, config: dict, upload: dict | None) -> RunInfo:
        if len(self.runs) >= self.max_runs:
            raise PoolFull(f"the server is training {len(self.runs)} networks, its limit; try again in a minute")
        load = [0] * self.n_workers
        for info in self.runs.values():
            load[info.worker] += 1
        worker = min(range(self.n_workers), key=lambda i: load[i])
        info = RunInfo(run_id, owner, worker, config, upload)
        self.runs[run_id] = info
        self._commands[worker].put(("create", run_id, config, upload))
        return info

    def command(self, run_id: str, kind: str) -> None:
        info = self.runs[run_id]
        info.last_seen = time.monotonic()
        if kind == "reset" and info.status == "error":  # its worker died: start it again on a live one
            self._commands[info.worker].put(("close", run_id))
            info.status = "starting"
            self._commands[info.worker].put(("create", run_id, info.config, info.upload))
            return
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
        self._commands[info.worker].put(("snapshot", run_id, rid))
        try:
            return await asyncio.wait_for(fut, timeout)
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

    def expire(self, idle_seconds: float) -> list[str]:
        """Close runs nobody has watched or touched for ``idle_seconds``; returns their ids."""
        now = time.monotonic()
        old = [rid for rid, info in self.runs.items()
               if not info.subscribers and now - info.last_seen > idle_seconds]
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
