"""Password hashing with argon2id (argon2-cffi): slow on purpose, salted, parameters kept in the hash.

Also the two guards around it: :class:`HashGate` bounds how many hashes run at once (each takes
64 MiB and a core for a fraction of a second, so unbounded concurrency is a memory and CPU weapon),
and :func:`common_password` refuses passwords from a list of the most common ones, as NIST SP 800-63B
(section 5.1.1.2) asks of a verifier.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["HashGate", "HashingBusy", "Passwords", "common_password"]

R = TypeVar("R")


class Passwords:
    """``hash(password)`` and ``verify(hash, password) -> bool``; ``fast=True`` for tests (weak, quick)."""

    def __init__(self, fast: bool = False) -> None:
        # argon2-cffi's defaults (RFC 9106 "low memory": 64 MiB, 3 passes) unless fast
        self._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        # verified against when the username is unknown, so a wrong name takes as long as a wrong password
        self._dummy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


class HashingBusy(RuntimeError):
    """Every hashing slot is taken and the waiting line is full (or the wait timed out): answer 503."""


class HashGate:
    """At most ``slots`` password hashes at once; at most ``queue`` callers waiting, each ``wait`` seconds.

    ``call(kind, fn, *args)`` runs ``fn`` (a hash or verify, in the calling thread: the app calls it
    from its thread pool) inside a slot. ``kind`` is ``"login"`` or ``"register"``: sign-ups may not
    take the last ``reserved_for_login`` slots, so an account's owner logging in never waits behind
    a flood of sign-ups. Memory for hashing therefore never exceeds ``slots`` x 64 MiB (argon2id's
    default), and a flood gets fast 503s instead of a growing heap. ``peak`` records the most
    hashes ever running together (the tests check it).
    """

    def __init__(self, slots: int = 2, queue: int = 16, wait: float = 10.0, reserved_for_login: int = 1) -> None:
        if slots < 1:
            raise ValueError(f"HashGate: slots must be >= 1, got {slots}")
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self.reserved = min(reserved_for_login, slots - 1)
        self._cond = threading.Condition()
        self._active = 0
        self._active_register = 0
        self._waiting = 0
        self.peak = 0

    def _free(self, kind: str) -> bool:
        if self._active >= self.slots:
            return False
        return kind == "login" or self._active_register < self.slots - self.reserved

    def call(self, kind: str, fn: Callable[..., R], *args: Any) -> R:
        with self._cond:
            if not self._free(kind):
                if self._waiting >= self.queue:
                    raise HashingBusy(f"{self._waiting} password checks are already waiting")
                self._waiting += 1
                try:
                    if not self._cond.wait_for(functools.partial(self._free, kind), timeout=self.wait):
                        raise HashingBusy(f"no password-hashing slot came free within {self.wait:g} s")
                finally:
                    self._waiting -= 1
            self._active += 1
            self._active_register += kind == "register"
            self.peak = max(self.peak, self._active)
        try:
            return fn(*args)
        finally:
            with self._cond:
                self._active -= 1
                self._active_register -= kind == "register"
                self._cond.notify_all()


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list (from Mark Burnett's 10-million-password
    corpus, as compiled by the zxcvbn authors at Dropbox; https://github.com/dwolfhub/zxcvbn-python)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def common_password(password: str) -> bool:
    """True when ``password`` (compared in lower case) is among the 30,000 most common passwords."""
    return password.lower() in _common_passwords()
