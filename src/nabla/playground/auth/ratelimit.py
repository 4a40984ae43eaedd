"""Failed-login limits with exponential back-off, per (address, account) and per address (in memory).

Why not per account: a limit on the account alone lets anyone lock its owner out (five wrong
passwords from anywhere, and the owner's right one answers 429). Here the counters are

* per (client address, username): after ``free_per_pair`` failures, each further failure makes that
  pair wait ``base_delay * 2**k`` seconds (k = failures beyond the free ones), at most ``max_delay``;
* per address, over all usernames: the same with ``free_per_address`` (password spraying).

The owner at another address is never slowed by what happens elsewhere. An attacker at one address
gets a handful of guesses and then exponentially spaced ones (about 15 more per ``window`` with the
defaults); counts are forgotten ``window`` seconds after the last failure or back-off ended. A distributed attack on
one account is bounded by the number of addresses it has, by the common-password check at sign-up
and by the hashing gate (a fixed number of password checks per second on the whole server).

The check is atomic with the attempt (reserve, then verify): :meth:`reserve` counts the attempt as a
failure *before* the slow password check, so concurrent guesses see each other; a success then
clears the pair (:meth:`succeeded`), and an attempt that was not checked at all gives its count back
(:meth:`cancel`). Unknown usernames are counted like real ones, so answers do not tell which exist.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["LoginRateLimiter"]


class _Counter:
    __slots__ = ("blocked_until", "failures", "last")

    def __init__(self) -> None:
        self.failures = 0
        self.blocked_until = 0.0
        self.last = 0.0


class LoginRateLimiter:
    def __init__(self, free_per_pair: int = 5, free_per_address: int = 30, base_delay: float = 1.0,
                 max_delay: float = 900.0, window: float = 3600.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.free_per_pair = free_per_pair
        self.free_per_address = free_per_address
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._counters: dict[str, _Counter] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [(f"pair:{address}\n{username.lower()}", self.free_per_pair), ("addr:" + address, self.free_per_address)]

    def _counter(self, key: str, now: float) -> _Counter:
        c = self._counters.get(key)
        if c is None:
            if len(self._counters) >= self.max_keys:  # bounded memory under a flood of names
                self._prune(now)
            c = self._counters[key] = _Counter()
        elif c.failures and now - max(c.last, c.blocked_until) > self.window:
            c.failures = 0  # forgotten
        return c

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for ``username`` from ``address`` is allowed again (0: allowed now)."""
        now = self.clock()
        with self._lock:
            return max([0.0, *(self._counters[k].blocked_until - now for k, _ in self._keys(username, address)
                               if k in self._counters)])

    def reserve(self, username: str, address: str) -> float:
        """Take an attempt: 0 when allowed (counted as a failure until :meth:`succeeded`), else the wait."""
        now = self.clock()
        with self._lock:
            counters = [(self._counter(k, now), free) for k, free in self._keys(username, address)]
            wait = max(c.blocked_until - now for c, _ in counters)
            if wait > 0:
                return wait
            for c, free in counters:
                c.failures += 1
                c.last = now
                if c.failures >= free:
                    c.blocked_until = now + min(self.max_delay, self.base_delay * 2.0 ** (c.failures - free))
            return 0.0

    def failed(self, username: str, address: str) -> None:
        """Count a failure without a reservation (e.g. a password check refused before reserving)."""
        self.reserve(username, address)

    def succeeded(self, username: str, address: str) -> None:
        """The reserved attempt was right: the pair starts afresh, the address gets its count back."""
        with self._lock:
            pair, addr = (k for k, _ in self._keys(username, address))
            self._counters.pop(pair, None)
            self._give_back(addr, self.free_per_address)

    def cancel(self, username: str, address: str) -> None:
        """The reserved attempt was never checked (the server was busy): give both counts back."""
        with self._lock:
            for key, free in self._keys(username, address):
                self._give_back(key, free)

    def _give_back(self, key: str, free: int) -> None:
        c = self._counters.get(key)
        if c is not None and c.failures > 0:
            c.failures -= 1
            if c.failures < free:
                c.blocked_until = 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, c in self._counters.items() if now - max(c.last, c.blocked_until) > self.window]:
            del self._counters[key]
        if len(self._counters) >= self.max_keys:  # all recent: forget the least recently failed half
            for key in sorted(self._counters, key=lambda k: self._counters[k].last)[: len(self._counters) // 2]:
                del self._counters[key]
