"""Serving the playground: checks before the banner, a hardened uvicorn, bounded logging.

:func:`serve` checks everything that can be wrong *before* it prints "serving at": the port
(1-65535), the proxy options, the database URL's scheme and the database itself (connect and
migrate), and the listening socket (bound here, then handed to uvicorn, so "port already in use"
is an exception, not a log line after the banner). Bad input raises :class:`PlaygroundUsageError`
(a ``ValueError``; the CLI exits 2), anything else that stops the start raises
:class:`PlaygroundStartError` (the CLI exits 1); both carry a one-line message.

uvicorn is configured against slow and flooding clients (see :func:`server_config`):

* every connection must send a complete request head within ``header_timeout`` seconds (uvicorn
  has no such timeout: a client dripping one header byte at a time would hold its socket forever);
* at most ``max_connections`` open connections: a new one evicts the connection that has been
  sending its request head longest (failing that, the one idle longest between requests; never one
  whose request is running), so slow clients cannot fill the file-descriptor table and a client
  that sends its request at once always gets in;
* ``limit_concurrency`` on running requests (503 beyond), ``timeout_keep_alive``, h11's 16 KiB
  limit on a request head;
* log records are rate-limited per message (``LogRateLimit``): a flood of bad requests or
  accept() errors writes a few lines a minute, not hundreds of megabytes.

Client addresses (login limits, run and upload quotas) come from the TCP peer. ``X-Forwarded-For``
is trusted only with ``proxy_headers=True`` and ``forwarded_allow_ips`` naming the proxy: uvicorn's
own default (trust it from 127.0.0.1) would let any local process claim any address.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import time
from collections import OrderedDict
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import PlaygroundStartError, PlaygroundUsageError

__all__ = ["GuardedH11Protocol", "LogRateLimit", "PlaygroundStartError", "PlaygroundUsageError", "serve",
           "server_config"]

log = logging.getLogger("nabla.playground")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head timeout and a connection cap that evicts idle ones.

    Subclassed per server by :func:`server_config` with ``header_timeout`` and ``max_connections``.
    """

    header_timeout: float = 10.0
    max_connections: int = 1000
    # connections of this server by state, oldest first: part of a request head sent (slow clients:
    # evicted first), idle between requests (evicted next), nothing sent yet (just connected: never
    # evicted for a newer one). server_config gives each server its own dicts.
    _heads: OrderedDict = OrderedDict()
    _idles: OrderedDict = OrderedDict()
    _silent: OrderedDict = OrderedDict()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: Any = None
        self._mark("silent")
        self._arm_head_timer()
        if len(self.connections) > self.max_connections:
            self._evict()

    def _mark(self, state: str | None) -> None:
        """Record the connection as sending its head, idle, or (None) running a request or gone."""
        if state == "head" and self in self._heads:
            return  # still the same head: keep its age
        self._heads.pop(self, None)
        self._idles.pop(self, None)
        self._silent.pop(self, None)
        if state == "head":
            self._heads[self] = None
        elif state == "silent":
            self._silent[self] = None
        elif state == "idle":
            self._idles[self] = None

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._mark(None)
            self.transport.close()  # no request head in time: a slow or silent client

    def _evict(self) -> None:
        """Close the connection that has been sending its request head longest (else the one idle
        longest between requests); else this new one. Connections that have sent nothing yet are
        never evicted for a newer one: in a burst of connections the newest give way, so a client
        whose request is already on its way is not pushed out by the burst behind it.
        O(1): the candidates are kept in arrival order."""
        for pool in (self._heads, self._idles):
            for conn in pool:
                if conn is not self:
                    conn._mark(None)
                    conn.transport.close()
                    return
        self._mark(None)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._mark(None)
            return
        if self.conn.their_state is h11.IDLE:  # a request head is (still) arriving
            self._arm_head_timer()
            self._mark("head")
        else:  # the head is complete: the request runs
            self._disarm_head_timer()
            self._mark(None)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._mark("idle")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        self._mark(None)
        super().connection_lost(exc)


class LogRateLimit(logging.Filter):
    """Let at most ``burst`` records with the same logger and message template through per ``period``
    seconds; the next one let through says how many were dropped."""

    def __init__(self, burst: int = 5, period: float = 60.0, max_keys: int = 1000) -> None:
        super().__init__()
        self.burst = burst
        self.period = period
        self.max_keys = max_keys
        self._seen: dict[tuple[str, str], list] = {}  # key -> [window start, count, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        key = (record.name, str(record.msg))
        entry = self._seen.get(key)
        if entry is None or now - entry[0] > self.period:
            dropped = entry[2] if entry else 0
            if len(self._seen) >= self.max_keys:
                self._seen.clear()
            self._seen[key] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.msg} ({dropped} similar messages were suppressed)"
            return True
        entry[1] += 1
        if entry[1] <= self.burst:
            return True
        entry[2] += 1
        return False


def _check_proxy(proxy_headers: bool, forwarded_allow_ips: str | None) -> str | None:
    if not proxy_headers:
        if forwarded_allow_ips:
            raise PlaygroundUsageError("--forwarded-allow-ips needs --proxy-headers (trust X-Forwarded-For at all)")
        return None
    if not forwarded_allow_ips:
        raise PlaygroundUsageError("--proxy-headers needs --forwarded-allow-ips: the address(es) of your reverse "
                                   "proxy, e.g. --forwarded-allow-ips 127.0.0.1")
    for item in forwarded_allow_ips.split(","):
        item = item.strip()
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise PlaygroundUsageError(f"--forwarded-allow-ips: {item!r} is not an IP address or network; give "
                                       "the proxy's addresses, comma-separated (e.g. 127.0.0.1,10.0.0.0/8)") from None
    return forwarded_allow_ips


def server_config(app: Any, host: str = "127.0.0.1", port: int = 8000, *, proxy_headers: bool = False,
                  forwarded_allow_ips: str | None = None, max_connections: int = 1000, header_timeout: float = 10.0,
                  keep_alive: float = 5.0, max_requests: int = 500) -> Any:
    """The hardened ``uvicorn.Config`` for ``app`` (see the module's docstring); tests serve with it too.

    ``max_requests``: requests running at once (uvicorn's ``limit_concurrency``; open event streams
    count), beyond which new ones get 503.
    """
    import uvicorn

    forwarded_allow_ips = _check_proxy(proxy_headers, forwarded_allow_ips)
    protocol = type("GuardedH11Protocol", (GuardedH11Protocol,),
                    {"header_timeout": header_timeout, "max_connections": max_connections,
                     "_heads": OrderedDict(), "_idles": OrderedDict(), "_silent": OrderedDict()})
    return uvicorn.Config(
        app, host=host, port=port, http=protocol, log_level="warning", log_config=None, access_log=False,
        timeout_graceful_shutdown=5, timeout_keep_alive=keep_alive, h11_max_incomplete_event_size=16 * 1024,
        # uvicorn counts open connections in limit_concurrency too: leave room for max_connections
        limit_concurrency=max_connections + max_requests,
        proxy_headers=bool(proxy_headers), forwarded_allow_ips=forwarded_allow_ips or "")


def _raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-files limit towards ``wanted`` (at most the hard limit); returns the soft limit."""
    try:
        import resource
    except ImportError:  # not on this platform
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PlaygroundUsageError(f"--host: cannot use {host!r} ({exc.strerror}); give an address of this "
                                   "machine such as 127.0.0.1 or 0.0.0.0") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PlaygroundStartError(f"--port {port}: the port is already in use on {host}; stop the other "
                                       "server or choose another port (e.g. --port 8001)") from None
        if exc.errno == errno.EACCES:
            raise PlaygroundStartError(f"--port {port}: permission denied (ports below 1024 need privileges); "
                                       "use a port of 1024 or more") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise PlaygroundUsageError(f"--host: {host!r} is not an address of this machine") from None
        raise PlaygroundStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _open_store(db: str | None) -> Any:
    import sqlalchemy as sa

    from .store import Store, StoreError, normalize_url

    if db is not None:
        if not isinstance(db, str) or not db.strip():
            raise PlaygroundUsageError("--db: give a database URL (postgresql://user:password@host/dbname, "
                                       "sqlite:///path/to/file.sqlite3) or a file path")
        try:
            normalize_url(db)
            if "://" in db:
                sa.engine.make_url(normalize_url(db))
        except StoreError as exc:
            raise PlaygroundUsageError(str(exc)) from None
        except sa.exc.ArgumentError as exc:
            raise PlaygroundUsageError(f"--db: {db!r} is not a valid database URL ({exc})") from None
    try:
        return Store(db)
    except StoreError as exc:
        raise PlaygroundStartError(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise PlaygroundStartError(f"--db: the database driver {exc.name!r} is not installed "
                                   "(pip install 'nabla[playground]')") from None
    except sa.exc.SQLAlchemyError as exc:
        where = db
        try:
            where = sa.engine.make_url(normalize_url(db or "")).render_as_string(hide_password=True) if db else "the " \
                "default SQLite file"
        except Exception:  # the URL itself is odd: say what was given
            pass
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise PlaygroundStartError(f"--db: cannot open the database at {where}: {reason}") from None


def serve(host: str = "127.0.0.1", port: int = 8000, db: str | None = None, *, proxy_headers: bool = False,
          forwarded_allow_ips: str | None = None, max_connections: int = 1000, header_timeout: float = 10.0,
          **options: Any) -> None:
    """Check the arguments, open the database, bind the port, print the banner, serve (blocking).

    Raises :class:`PlaygroundUsageError` or :class:`PlaygroundStartError` before printing anything.
    Other keyword arguments go to :func:`nabla.playground.app.create_app`.
    """
    import uvicorn

    from .app import create_app

    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise PlaygroundUsageError(f"--port: {port!r} is not a TCP port; use a number from 1 to 65535")
    if not isinstance(host, str) or not host:
        raise PlaygroundUsageError("--host: give an address to listen on, e.g. 127.0.0.1 (this machine only) or "
                                   "0.0.0.0 (every interface)")
    _check_proxy(proxy_headers, forwarded_allow_ips)
    soft = _raise_fd_limit(max_connections + 1024)
    if soft < max_connections + 256:  # file descriptors for the database, workers and logs must remain
        max_connections = max(16, soft - 256)
    sock = _bind(host, port)
    try:
        store = _open_store(db)
    except BaseException:
        sock.close()
        raise
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    limiter = LogRateLimit()
    for handler in logging.getLogger().handlers:
        handler.addFilter(limiter)
    app = create_app(store=store, **options)
    config = server_config(app, host, port, proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                           max_connections=max_connections, header_timeout=header_timeout)
    shown = f"[{host}]" if ":" in host else host
    print(f"nabla playground: http://{shown}:{port}/  (database: {store._safe_url()})", flush=True)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
