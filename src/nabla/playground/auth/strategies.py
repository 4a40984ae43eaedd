"""Authentication in the manner of Passport.js: strategies registered by name, and an Authenticator.

A strategy knows one way of proving who a request comes from: ``await strategy.authenticate(request)``
gives the user or ``None``. Two come with the playground:

* ``local`` — username and password from the request body (a form or JSON), checked against an
  argon2 hash (through a bounded :class:`HashGate`), with failed attempts slowed per (address,
  account) and per address by exponential back-off (ratelimit.py);
* ``token`` — an ``Authorization: Bearer <token>`` header holding a per-user API token. Tokens are
  random, shown to their owner once, stored only as SHA-256 hashes, expire, and are revocable
  (with every token minted from them).

:class:`Authenticator` (Passport's ``passport`` object) holds the strategies (``use``), runs one by
name (``authenticate``), and turns a user into what the session stores and back
(``serialize_user``/``deserialize_user``, replaceable hooks as in Passport). ``login`` rotates the
session id before storing the user (no session fixation); ``logout`` destroys the session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..inputs import BadInput, check_no_nul, loads_json
from ..store import Store, User
from .passwords import HashGate, HashingBusy, Passwords
from .ratelimit import LoginRateLimiter
from .sessions import Session

__all__ = ["AuthError", "AuthStrategy", "Authenticator", "LocalStrategy", "RateLimited", "TokenStrategy",
           "hash_token", "new_api_token"]

TOKEN_PREFIX = "nbl_"


class AuthError(Exception):
    """An authentication attempt that must answer with ``status`` and ``message`` (not just "no user")."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class RateLimited(AuthError):
    def __init__(self, retry_after: float) -> None:
        seconds = int(retry_after) + 1
        super().__init__(429, f"too many failed logins; try again in {seconds} seconds",
                         {"Retry-After": str(seconds)})


class AuthStrategy:
    """Base class: a ``name`` and ``async authenticate(request) -> User | None``."""

    name = "base"

    async def authenticate(self, request: Request) -> User | None:  # pragma: no cover - interface
        raise NotImplementedError


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_credentials(request: Request) -> dict[str, Any]:
    """The request's form or JSON body as a dict (cached on the request for later readers)."""
    cached = getattr(request.state, "body_fields", None)
    if cached is not None:
        return cached
    ctype = request.headers.get("content-type", "")
    fields: dict[str, Any] = {}
    if ctype.startswith("application/json"):
        try:
            data = loads_json(await request.body(), request.app.state.limits.json_max_depth)
        except BadInput as exc:
            raise AuthError(400, str(exc)) from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise AuthError(400, "the request body must be a JSON object")
        fields = data
    elif ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=0, max_fields=20)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            check_no_nul(fields, "form")
        except BadInput as exc:
            raise AuthError(400, str(exc)) from None
    request.state.body_fields = fields
    return fields


class LocalStrategy(AuthStrategy):
    """Username + password (form fields or JSON keys ``username``, ``password``)."""

    name = "local"

    def __init__(self, store: Store, passwords: Passwords, limiter: LoginRateLimiter,
                 gate: HashGate | None = None) -> None:
        self.store = store
        self.passwords = passwords
        self.limiter = limiter
        self.gate = gate or HashGate()

    async def authenticate(self, request: Request) -> User | None:
        fields = await read_credentials(request)
        username, password = fields.get("username"), fields.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise AuthError(422, "username and password are required")
        if len(username) > 64 or len(password) > 1024:
            return None
        return await self.check(username, password, client_address(request))

    async def check(self, username: str, password: str, address: str) -> User | None:
        """The user if ``password`` is theirs; rate-limited (reserve, then verify) and through the hash gate.

        Raises :class:`RateLimited` (429) while this address must wait, :class:`AuthError` 503 when
        every hashing slot is busy.
        """
        wait = self.limiter.reserve(username, address)
        if wait > 0:
            raise RateLimited(wait)
        try:
            found = await run_in_threadpool(self.store.get_login, username)
            user, password_hash = found if found else (None, None)
            ok = await run_in_threadpool(self.gate.call, "login", self.passwords.verify, password_hash, password)
        except HashingBusy:
            self.limiter.cancel(username, address)
            raise AuthError(503, "the server is busy checking passwords; try again in a few seconds",
                            {"Retry-After": "5"}) from None
        except BaseException:
            self.limiter.cancel(username, address)
            raise
        if not ok or user is None:
            return None  # the reservation stays: it was a failure
        self.limiter.succeeded(username, address)
        if self.passwords.needs_rehash(password_hash):  # parameters were raised since it was stored
            new_hash = await run_in_threadpool(self.gate.call, "login", self.passwords.hash, password)
            await run_in_threadpool(self.store.set_password_hash, user.id, new_hash)
        return user


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class TokenStrategy(AuthStrategy):
    """``Authorization: Bearer nbl_...``: a per-user API token (stored hashed, revocable, expiring)."""

    name = "token"

    def __init__(self, store: Store) -> None:
        self.store = store

    async def authenticate(self, request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip()
        if len(token) > 128:
            return None
        found = await run_in_threadpool(self.store.token_login, hash_token(token))
        if found is None:
            return None
        request.state.token_id = found[1]  # which token: a token it mints becomes its child
        return found[0]


class Authenticator:
    """Passport's core: ``use(strategy)``, ``authenticate(name, request)``, ``login``, ``logout``, and
    the ``serialize_user``/``deserialize_user`` hooks (defaults: the user's id, and a store lookup)."""

    def __init__(self, store: Store,
                 serialize_user: Callable[[User], Any] | None = None,
                 deserialize_user: Callable[[Any], Awaitable[User | None]] | None = None) -> None:
        self.store = store
        self.strategies: dict[str, AuthStrategy] = {}
        self._serialize = serialize_user or (lambda user: user.id)
        self._deserialize = deserialize_user or self._load_user

    async def _load_user(self, key: Any) -> User | None:
        if not isinstance(key, int) or isinstance(key, bool):
            return None
        return await run_in_threadpool(self.store.get_user, key)

    def use(self, strategy: AuthStrategy, name: str | None = None) -> Authenticator:
        self.strategies[name or strategy.name] = strategy
        return self

    async def authenticate(self, name: str, request: Request) -> User | None:
        strategy = self.strategies.get(name)
        if strategy is None:
            raise KeyError(f"Authenticator: no strategy named {name!r}; registered: {sorted(self.strategies)}")
        return await strategy.authenticate(request)

    def serialize_user(self, user: User) -> Any:
        return self._serialize(user)

    async def deserialize_user(self, key: Any) -> User | None:
        return await self._deserialize(key)

    def login(self, session: Session, user: User) -> None:
        """Rotate the session id (and CSRF token), then store the user in it."""
        session.rotate()
        session.data["user"] = self.serialize_user(user)
        session.user_id = user.id
        session.dirty = True

    def logout(self, session: Session) -> None:
        session.destroy()

    async def session_user(self, session: Session) -> User | None:
        key = session.data.get("user")
        return None if key is None else await self.deserialize_user(key)
