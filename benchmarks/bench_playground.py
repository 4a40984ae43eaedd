"""Load test of the playground: many browsers training at once, on loopback.

    python benchmarks/bench_playground.py                  # 50 sessions, 20 s window, writes RESULTS.md
    python benchmarks/bench_playground.py --sessions 10 --seconds 5 --no-write   # a quick look

Starts the real server (uvicorn, process worker pool, SQLite in a temporary folder) in a child
process on 127.0.0.1, then, from one asyncio client process, opens ``--sessions`` sessions, each with
its own cookies: every session makes a run (spiral, 8-8 tanh, batch 10, 250 training points), opens
its event stream (SSE) and presses play. For ``--seconds`` every session polls ``GET /api/runs/{id}``
about twice a second (a timed API call) and, once, saves nothing but steps. Reported: API latency
p50/p95 (GET state, POST control, POST create), mini-batch steps/s and epochs/s per session (from
the server's step counts at the window's ends), their total, and the same for one session alone, so
the cost of sharing the machine shows. Not a timed test and not in ``make bench`` (it takes about a
minute): run it by hand. The results go into RESULTS.md between ``<!-- keep:playground -->`` markers,
which ``benchmarks/run.py`` carries over when it rewrites the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
CONFIG = {"dataset": "spiral", "layers": [8, 8], "activation": "tanh", "optimizer": "adam", "learning_rate": 0.01}
BEGIN, END = "<!-- keep:playground -->", "<!-- /keep:playground -->"
HEADER = ("| sessions | GET state p50 / p95 (ms) | POST play/pause, all at once, p50 / p95 (ms) "
          "| POST create, all at once, p50 / p95 (ms) | steps/s per session, median (min–max) "
          "| epochs/s per session | steps/s, all sessions |")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, db: str, workers: int | None) -> subprocess.Popen:
    code = ("import uvicorn; from nabla.playground import create_app; "
            f"uvicorn.run(create_app({db!r}, workers={workers!r}, max_runs=1000, max_runs_per_client=4), "
            f"host='127.0.0.1', port={port}, log_level='warning')")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


class Session:
    def __init__(self, client, n: int) -> None:
        self.c = client
        self.n = n
        self.run_id: str | None = None
        self.samples: list[tuple[float, int, int]] = []  # (time, steps, epoch)
        self.frames = 0

    async def timed(self, lat: list, method: str, url: str, **kw):
        t0 = time.perf_counter()
        r = await self.c.request(method, url, **kw)
        lat.append(time.perf_counter() - t0)
        r.raise_for_status()
        return r

    async def start(self, lat_create: list) -> None:
        token = (await self.c.get("/api/session")).json()["csrf_token"]
        self.headers = {"X-CSRF-Token": token}
        r = await self.timed(lat_create, "POST", "/api/runs", json={"config": CONFIG}, headers=self.headers)
        self.run_id = r.json()["run_id"]

    async def stream(self, stop: asyncio.Event) -> None:
        async with self.c.stream("GET", f"/api/runs/{self.run_id}/events", timeout=None) as r:
            async for line in r.aiter_lines():
                if line.startswith("event: frame"):
                    self.frames += 1
                if stop.is_set():
                    return

    async def poll(self, lat_get: list, until: float) -> None:
        while time.perf_counter() < until:
            r = await self.timed(lat_get, "GET", f"/api/runs/{self.run_id}")
            d = r.json()
            self.samples.append((time.perf_counter(), d["steps"] or 0, d["epoch"] or 0))
            await asyncio.sleep(0.5)

    def rates(self, t0: float, t1: float) -> tuple[float, float]:
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return float("nan"), float("nan")
        (ta, sa, ea), (tb, sb, eb) = inside[0], inside[-1]
        return (sb - sa) / (tb - ta), (eb - ea) / (tb - ta)


async def measure(base: str, n: int, seconds: float) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(n)]
    sessions = [Session(c, i) for i, c in enumerate(clients)]
    lat_create: list[float] = []
    lat_get: list[float] = []
    lat_control: list[float] = []
    try:
        await asyncio.gather(*(s.start(lat_create) for s in sessions))
        stop = asyncio.Event()
        streams = [asyncio.create_task(s.stream(stop)) for s in sessions]
        await asyncio.sleep(0.5)
        await asyncio.gather(*(s.timed(lat_control, "POST", f"/api/runs/{s.run_id}/play", headers=s.headers)
                               for s in sessions))
        await asyncio.sleep(2.0)  # every run is playing before the window opens
        t0 = time.perf_counter()
        await asyncio.gather(*(s.poll(lat_get, t0 + seconds) for s in sessions))
        t1 = time.perf_counter()
        await asyncio.gather(*(s.timed(lat_control, "POST", f"/api/runs/{s.run_id}/pause", headers=s.headers)
                               for s in sessions))
        stop.set()
        for t in streams:
            t.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        await asyncio.gather(*(s.c.delete(f"/api/runs/{s.run_id}", headers=s.headers) for s in sessions))
        rates = [s.rates(t0, t1) for s in sessions]
        steps = [r[0] for r in rates]
        epochs = [r[1] for r in rates]
        return {
            "sessions": n, "seconds": round(t1 - t0, 1),
            "get_p50_ms": 1000 * pct(lat_get, 50), "get_p95_ms": 1000 * pct(lat_get, 95), "gets": len(lat_get),
            "control_p50_ms": 1000 * pct(lat_control, 50), "control_p95_ms": 1000 * pct(lat_control, 95),
            "create_p50_ms": 1000 * pct(lat_create, 50), "create_p95_ms": 1000 * pct(lat_create, 95),
            "steps_per_s_median": statistics.median(steps), "steps_per_s_min": min(steps),
            "steps_per_s_max": max(steps), "epochs_per_s_median": statistics.median(epochs),
            "steps_per_s_total": sum(steps),
            "frames_per_s_per_session": statistics.median(s.frames for s in sessions) / (t1 - t0 + 3),
        }
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


def render(alone: dict, many: dict, workers: int, cpu: str, load: str) -> str:
    def row(name: str, d: dict) -> str:
        return (f"| {name} | {d['get_p50_ms']:.1f} / {d['get_p95_ms']:.1f} | {d['control_p50_ms']:.1f} / "
                f"{d['control_p95_ms']:.1f} | {d['create_p50_ms']:.0f} / {d['create_p95_ms']:.0f} | "
                f"{d['steps_per_s_median']:.0f} ({d['steps_per_s_min']:.0f}–{d['steps_per_s_max']:.0f}) | "
                f"{d['epochs_per_s_median']:.2f} | {d['steps_per_s_total']:.0f} |")

    share = many["steps_per_s_total"] / alone["steps_per_s_total"] if alone["steps_per_s_total"] else float("nan")
    return f"""{BEGIN}
## Playground load test (benchmarks/bench_playground.py)

`python benchmarks/bench_playground.py` — not part of `make bench` (about a minute). The real server
(uvicorn, {workers} training worker processes, SQLite) on 127.0.0.1; one asyncio client process plays
the browsers: each session makes a run (spiral, 2-8-8-2 tanh, Adam, batch 10: 25 mini-batch steps an
epoch), streams its frames (SSE) and presses play, then polls its run's state twice a second for
{many['seconds']:.0f} s. Machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()};
the client, the server and its workers share those cores (load average during the run: {load}).

{HEADER}
|---|---|---|---|---|---|---|
{row("1", alone)}
{row(str(many['sessions']), many)}

With {many['sessions']} sessions the workers' total training throughput is {share:.2f}× that of one session
alone, shared evenly (round robin: see min–max). On this machine the client process (all sessions'
polls and streams), the server's event loop and the two workers compete for the same cores, with other
jobs running too (load average above), so the absolute numbers are pessimistic. The API answered
state polls in {many['get_p50_ms']:.0f} ms (p50) / {many['get_p95_ms']:.0f} ms (p95) while the workers were saturated:
training never runs on the event loop, and worker processes run at lower priority (nice 5). Frames
reached each page about {many['frames_per_s_per_session']:.1f} times a second (at most 10: one per 0.1 s per run,
and one per epoch). Play/pause and create are sent by every session at the same moment, so their
latencies include waiting behind the other {many['sessions'] - 1} requests of the burst.
{END}
"""


def write_results(section: str, path: str) -> None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        text = "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window")
    ap.add_argument("--workers", type=int, default=None, help="training worker processes (default: CPU count)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args(argv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_server(port, f"sqlite:///{tmp}/bench.sqlite3", args.workers)
        try:
            wait_ready(base, proc)
            alone = asyncio.run(measure(base, 1, min(args.seconds, 10)))
            print("1 session:", json.dumps({k: round(v, 2) for k, v in alone.items()}))
            many = asyncio.run(measure(base, args.sessions, args.seconds))
            load = " / ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "n/a"
            print(f"{args.sessions} sessions:", json.dumps({k: round(v, 2) for k, v in many.items()}))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    workers = args.workers or min(os.cpu_count() or 1, 8)
    cpu = platform.processor() or platform.machine()
    try:
        sys.path.insert(0, HERE)
        import machine

        cpu = machine.cpu_model()
    except Exception:  # machine.py is optional here
        pass
    section = render(alone, many, workers, cpu, load)
    print(section)
    if not args.no_write:
        write_results(section, args.output)
        print(f"wrote the playground section of {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
