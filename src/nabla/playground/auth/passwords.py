"""Password hashing with argon2id (argon2-cffi): slow on purpose, salted, parameters kept in the hash."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Passwords"]


class Passwords:
    """``hash(password)`` and ``verify(hash, password) -> bool``; ``fast=True`` for tests (weak, quick)."""

    def __init__(self, fast: bool = False) -> None:
        # argon2-cffi's defaults (RFC 9106 "low memory": 64 MiB, 3 passes) unless fast
        self._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        # verified against when the username is unknown, so a wrong name takes as long as a wrong password
        self._dummy = self._hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: "str | None", password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
