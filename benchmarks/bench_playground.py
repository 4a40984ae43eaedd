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

"Under attack" (issue 19): a second server with every default limit; one victim session plays a run
and polls it every 0.1 s for ``--attack-seconds`` while nothing else happens, then during a step
flood (two sessions with batch-size-1 runs sending steps, 8 in flight), a sign-up flood (waves of
60 concurrent registrations, real argon2id) and a slowloris (``--slow-sockets`` sockets dripping
header lines). Reported: the victim's steps/s (and its ratio to the quiet figure), GET p50/p95,
and what the attack achieved. ``--skip-load`` runs only this part (printed, not written).
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
import threading
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


def start_server(port: int, db: str, workers: int | None, load_test: bool = True) -> subprocess.Popen:
    """The real ``serve()`` (hardened uvicorn) in a child process.

    ``load_test``: one client process plays every browser from one address, so the per-address run
    quotas are lifted; the "under attack" runs keep every default limit (that is what they test).
    """
    limits = ("Limits(max_runs=1000, runs_per_anonymous=1000, runs_per_address=1000, runs_per_client=4)"
              if load_test else "Limits()")
    code = ("from nabla.playground import serve; from nabla.playground.limits import Limits; "
            f"serve('127.0.0.1', {port}, {db!r}, workers={workers!r}, limits={limits})")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)


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


# ================================================================================ under attack

VICTIM = {"dataset": "spiral", "layers": [8, 8], "activation": "tanh", "optimizer": "adam", "learning_rate": 0.01}
HEAVY = {"dataset": "spiral", "n_points": 2000, "test_ratio": 0.1, "batch_size": 1, "layers": [8] * 6,
         "optimizer": "nadam", "learning_rate": 0.001,
         "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]}


def peak_rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def victim_window(base: str, seconds: float, attack: str | None = None, port: int = 0,
                        slow_sockets: int = 2000) -> dict:
    """One victim session plays a run and polls its state every 0.1 s for ``seconds`` while the
    attack ``attack`` runs in a child process (its own interpreter: the attacker's work must not
    slow the victim's client); returns the victim's steps/s, its polls' latencies and the attack's
    summary."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        tok = (await c.get("/api/session")).json()["csrf_token"]
        r = await c.post("/api/runs", json={"config": VICTIM}, headers={"X-CSRF-Token": tok})
        r.raise_for_status()
        run = r.json()["run_id"]
        await c.post(f"/api/runs/{run}/play", headers={"X-CSRF-Token": tok})
        await asyncio.sleep(1.0)
        child = None
        if attack:
            child = await asyncio.create_subprocess_exec(
                sys.executable, os.path.abspath(__file__), "--attack", attack, "--base", base, "--port", str(port),
                "--attack-seconds", str(seconds + 2.0), "--slow-sockets", str(slow_sockets),
                stdout=asyncio.subprocess.PIPE)
            await asyncio.sleep(2.0)  # the attack is under way before the window opens
        lat: list[float] = []
        samples: list[tuple[float, int]] = []
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            r = await c.get(f"/api/runs/{run}")
            lat.append(time.perf_counter() - t0)
            if r.status_code == 200:
                samples.append((time.perf_counter(), r.json()["steps"] or 0))
            await asyncio.sleep(0.1)
        stats = {}
        if child is not None:
            out, _ = await child.communicate()
            stats = json.loads(out.decode().strip().splitlines()[-1])
        await c.delete(f"/api/runs/{run}", headers={"X-CSRF-Token": tok})
    (ta, sa), (tb, sb) = samples[0], samples[-1]
    return {"steps_per_s": (sb - sa) / (tb - ta), "get_p50_ms": 1000 * pct(lat, 50),
            "get_p95_ms": 1000 * pct(lat, 95), "polls": len(lat), **stats}


async def step_flood(base: str, stop: asyncio.Event) -> dict:
    """Two anonymous sessions, each with the report's heavy run, send step commands as fast as the
    server answers (8 in flight)."""
    import httpx

    codes: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as a, httpx.AsyncClient(base_url=base, timeout=60) as b:
        targets = []
        for c in (a, b):
            tok = (await c.get("/api/session")).json()["csrf_token"]
            run = (await c.post("/api/runs", json={"config": HEAVY}, headers={"X-CSRF-Token": tok})).json()["run_id"]
            targets.append((c, tok, run))

        async def hammer(c, tok, run) -> None:
            while not stop.is_set():
                r = await c.post(f"/api/runs/{run}/step", headers={"X-CSRF-Token": tok})
                codes[r.status_code] = codes.get(r.status_code, 0) + 1

        await asyncio.gather(*(hammer(*t) for t in targets for _ in range(4)))
        for c, tok, run in targets:
            await c.delete(f"/api/runs/{run}", headers={"X-CSRF-Token": tok})
    return {"attack": f"{sum(codes.values())} step commands: {codes.get(202, 0)} accepted, {codes.get(429, 0)} "
                      f"answered 429"}


async def registration_flood(base: str, stop: asyncio.Event) -> dict:
    """Waves of 60 concurrent sign-ups (real argon2id hashing), each from a fresh cookie jar."""
    import httpx

    codes: dict[int, int] = {}
    i = 0

    async def one(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as c:
            tok = (await c.get("/api/session")).json()["csrf_token"]
            r = await c.post("/register", json={"username": f"flood{n}", "password": f"flood password {n}"},
                             headers={"X-CSRF-Token": tok})
            codes[r.status_code] = codes.get(r.status_code, 0) + 1

    while not stop.is_set():
        await asyncio.gather(*(one(i + k) for k in range(60)))
        i += 60
    return {"attack": f"{sum(codes.values())} sign-ups: {codes.get(201, 0)} made, {codes.get(429, 0)} answered 429, "
                      f"{codes.get(503, 0)} 503"}


def slowloris_thread(port: int, n: int, stop: threading.Event, stats: dict) -> None:
    """``n`` sockets dripping one header line every 0.5 s, reopened when the server closes them."""
    def open_one() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        s.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        stats["opened"] = stats.get("opened", 0) + 1
        return s

    socks = []
    for _ in range(n):
        try:
            socks.append(open_one())
        except OSError:
            stats["refused"] = stats.get("refused", 0) + 1
    while not stop.is_set():
        time.sleep(0.5)
        alive = []
        for s in socks:
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                try:
                    s.send(b"X-Slow: 1\r\n")
                    alive.append(s)
                    continue
                except OSError:
                    pass
            except OSError:
                pass
            s.close()
            stats["closed_by_server"] = stats.get("closed_by_server", 0) + 1
            try:
                alive.append(open_one())
            except OSError:
                stats["refused"] = stats.get("refused", 0) + 1
        socks = alive
    for s in socks:
        s.close()


async def slowloris(port: int, n: int, stop: asyncio.Event) -> dict:
    stats: dict = {}
    halt = threading.Event()
    t = threading.Thread(target=slowloris_thread, args=(port, n, halt, stats), daemon=True)
    t.start()
    await stop.wait()
    halt.set()
    await asyncio.get_running_loop().run_in_executor(None, t.join, 30)
    return {"attack": f"{n} slow sockets held open ({stats.get('opened', 0)} opened, "
                      f"{stats.get('closed_by_server', 0)} closed by the server)"}


def run_attack(kind: str, base: str, port: int, seconds: float, slow_sockets: int) -> dict:
    """The child process's side: run one attack for ``seconds``; its summary is the last line printed."""
    async def main() -> dict:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        if kind == "step-flood":
            return await step_flood(base, stop)
        if kind == "signup-flood":
            return await registration_flood(base, stop)
        if kind == "slowloris":
            return await slowloris(port, slow_sockets, stop)
        raise SystemExit(f"--attack: unknown attack {kind!r}; use step-flood, signup-flood or slowloris")

    return asyncio.run(main())


def under_attack(base: str, port: int, pid: int, seconds: float, slow_sockets: int) -> list[tuple[str, dict]]:
    rows = []
    for name, kind in (("quiet", None), ("step flood", "step-flood"), ("sign-up flood", "signup-flood"),
                       ("slowloris", "slowloris")):
        before = peak_rss_mib(pid)
        d = asyncio.run(victim_window(base, seconds, kind, port, slow_sockets))
        d["server_peak_mib"] = (before, peak_rss_mib(pid))
        if kind == "signup-flood":
            d["attack"] += f"; server peak memory {before:.0f} -> {d['server_peak_mib'][1]:.0f} MiB"
        rows.append((name, d))
        print(f"{name}:", d, flush=True)
    return rows


def render_attack(rows: list[tuple[str, dict]], workers: int, load: str) -> str:
    quiet = rows[0][1]
    lines = ["| victim's situation | steps/s (x quiet) | GET state p50 / p95 (ms) | the attack |", "|---|---|---|---|"]
    for name, d in rows:
        ratio = d["steps_per_s"] / quiet["steps_per_s"] if quiet["steps_per_s"] else float("nan")
        lines.append(f"| {name} | {d['steps_per_s']:.0f} ({ratio:.2f}) | {d['get_p50_ms']:.1f} / "
                     f"{d['get_p95_ms']:.1f} | {d.get('attack', '—')} |")
    table = "\n".join(lines)
    return f"""
### Under attack

The same server with every default limit (`Limits()`), {workers} worker processes: one victim
session plays a run (spiral, 2-8-8-2, Adam, batch 10) and polls its state every 0.1 s while an
attacker (another process on the same machine and address) runs one of the attacks of issue 19 (see
`tests/playground/test_attack_*.py` for the asserted versions). The victim's steps/s come from the
server's step counts across the window. The attacker, the victim, the server and its workers share
this machine's cores with other jobs (load average at the end: {load}), so read the ratios, not the
absolute figures.

{table}

Time-fair scheduling gives each busy run an equal share of its worker whatever its epoch length, so
a step flood costs the victim roughly the share the flooding runs take (and each run's backlog stops
at 8 commands: the rest are 429); the rest of the drop is the attacker's and the server's own CPU
on the two shared cores, where the workers run at nice 5. Sign-ups hash behind a two-slot gate (one
slot kept for logins) with at most two in flight per address, so the server's peak memory grows by
one hash or two, and the rest are 429 at once (before: 60 sign-ups took it from 200 MB to 2.56 GB).
Slow sockets are evicted in favour of new connections beyond 1,000 and cut after 10 s without a
complete request head, so the server keeps answering (before: /healthz timed out); what remains is
the cost of the attacker's reconnections (it reopens every evicted socket: over a thousand new
connections a second here), which a per-address connection limit at the reverse proxy removes (the
victim here shares the attacker's address, 127.0.0.1, so the server cannot tell them apart).
"""


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
    ap.add_argument("--attack-seconds", type=float, default=8.0, help="window of each under-attack measurement")
    ap.add_argument("--slow-sockets", type=int, default=2000, help="sockets the slowloris attack holds")
    ap.add_argument("--skip-load", action="store_true", help="only the under-attack section (print; never writes)")
    ap.add_argument("--attack", default=None, help=argparse.SUPPRESS)  # the attacker's child process
    ap.add_argument("--base", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args(argv)
    if args.attack:
        print(json.dumps(run_attack(args.attack, args.base, args.port, args.attack_seconds, args.slow_sockets)))
        return 0
    workers = args.workers or min(os.cpu_count() or 1, 8)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_load:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc = start_server(port, f"sqlite:///{tmp}/bench.sqlite3", args.workers)
            try:
                wait_ready(base, proc)
                alone = asyncio.run(measure(base, 1, min(args.seconds, 10)))
                print("1 session:", json.dumps({k: round(v, 2) for k, v in alone.items()}))
                many = asyncio.run(measure(base, args.sessions, args.seconds))
                load = " / ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") \
                    else "n/a"
                print(f"{args.sessions} sessions:", json.dumps({k: round(v, 2) for k, v in many.items()}))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(port, f"sqlite:///{tmp}/attack.sqlite3", args.workers, load_test=False)
        try:
            wait_ready(base, proc)
            rows = under_attack(base, port, proc.pid, args.attack_seconds, args.slow_sockets)
            attack_load = " / ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") \
                else "n/a"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    attack_section = render_attack(rows, workers, attack_load)
    if args.skip_load:
        print(attack_section)
        return 0
    cpu = platform.processor() or platform.machine()
    try:
        sys.path.insert(0, HERE)
        import machine

        cpu = machine.cpu_model()
    except Exception:  # machine.py is optional here
        pass
    section = render(alone, many, workers, cpu, load).replace(END, attack_section.lstrip("\n") + END)
    print(section)
    if not args.no_write:
        write_results(section, args.output)
        print(f"wrote the playground section of {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
