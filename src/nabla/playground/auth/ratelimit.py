"""Failed-login limits, per account and per client address (in the server's memory).

After ``max_per_account`` failures for one username within ``window`` seconds, that account refuses
logins for ``lockout`` seconds, whatever the password (so guessing stops); likewise an address after
``max_per_address`` failures on any accounts. A successful login clears the account's count. Unknown
usernames are counted like real ones, so the answers do not tell which names exist.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["LoginRateLimiter"]


class LoginRateLimiter:
    def __init__(self, max_per_account: int = 5, max_per_address: int = 20, window: float = 900.0,
                 lockout: float = 900.0, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque] = {}
        self._locked_until: dict[str, float] = {}

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [("user:" + username.lower(), self.max_per_account), ("addr:" + address, self.max_per_address)]

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until a login for ``username`` from ``address`` is allowed again (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        for key, _ in self._keys(username, address):
            until = self._locked_until.get(key)
            if until is not None:
                if until <= now:
                    del self._locked_until[key]
                else:
                    wait = max(wait, until - now)
        return wait

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        if len(self._failures) > self.max_keys:  # bounded memory under a flood of names
            self._prune(now)
        for key, limit in self._keys(username, address):
            q = self._failures.setdefault(key, deque())
            q.append(now)
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= limit:
                self._locked_until[key] = now + self.lockout
                q.clear()

    def succeeded(self, username: str) -> None:
        self._failures.pop("user:" + username.lower(), None)

    def _prune(self, now: float) -> None:
        for key in [k for k, q in self._failures.items() if not q or q[-1] <= now - self.window]:
            del self._failures[key]
        for key in [k for k, t in self._locked_until.items() if t <= now]:
            del self._locked_until[key]
