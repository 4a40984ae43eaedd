"""Server-side sessions: an opaque random id in a signed cookie, the data in the database.

The cookie holds ``<id>.<signature>``: 32 random bytes and an HMAC-SHA256 of them under the server's
secret. A cookie whose signature does not match (tampered, or from another server) is ignored as if
absent: the visitor gets a fresh anonymous session. The database stores only the SHA-256 of the id,
so a copy of the sessions table cannot be replayed as cookies.

``HttpOnly`` (scripts cannot read it), ``SameSite=Lax`` (not sent on cross-site POSTs), ``Secure``
when the request came over HTTPS. :meth:`Session.rotate` gives the session a new id and drops the
old one — done at login, so an id planted before login (session fixation) is worthless after it.
:meth:`Session.destroy` deletes it (logout).

Sessions are stored lazily: an anonymous visitor's session is its signed cookie alone, and its CSRF
token and client id (the owner of its training runs) are HMACs of the session id under the server's
key, so they need no row. A row is written only when the session holds something (a signed-in
user). Cookie-less requests therefore cost no database write: a flood of ``GET /`` leaves the
sessions table as it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from starlette.concurrency import run_in_threadpool

from .csrf import new_token

__all__ = ["COOKIE_NAME", "Session", "SessionMiddleware"]

COOKIE_NAME = "nabla_session"


def _id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Session:
    """One visitor's session. ``data`` is a dict saved as JSON; change it through the methods or mark ``dirty``."""

    def __init__(self, sid: str | None, data: dict, user_id: int | None) -> None:
        self.sid = sid  # None: not created yet (nothing stored, no cookie sent)
        self.data = data
        self.user_id = user_id
        self.dirty = False
        self.old_sids: list[str] = []  # ids to delete (rotation)
        self.destroyed = False
        self.expires_at = 0.0  # when the stored copy expires (its expiry slides forward on use)
        self.derive: Callable[[str, str], str] | None = None  # HMAC of (purpose, id): anonymous sessions' values

    @property
    def exists(self) -> bool:
        return self.sid is not None and not self.destroyed

    def ensure(self) -> None:
        """Make the session real (an id, hence a CSRF token and a client id) so its cookie is sent."""
        if self.sid is None or self.destroyed:
            self.sid = secrets.token_urlsafe(32)
            self.destroyed = False
            self.dirty = True

    def rotate(self) -> None:
        """A new id and CSRF token for the same data (at login): the old id stops working; the client
        id (owner of this browser's runs) is kept."""
        client = self.client
        if self.sid is not None and not self.destroyed:
            self.old_sids.append(self.sid)
        self.sid = None
        self.ensure()
        self.data["csrf"] = new_token()
        self.data["client"] = client or secrets.token_urlsafe(16)

    @property
    def stored(self) -> bool:
        """Whether this session needs a database row (it holds a signed-in user)."""
        return self.user_id is not None or "user" in self.data

    def _value(self, purpose: str) -> str | None:
        if purpose in self.data:
            return self.data[purpose]
        if self.sid is None or self.destroyed or self.derive is None:
            return None
        return self.derive(purpose, self.sid)

    def destroy(self) -> None:
        """Delete the session (logout); the response clears the cookie."""
        if self.sid is not None:
            self.old_sids.append(self.sid)
        self.destroyed = True
        self.data = {}
        self.user_id = None
        self.dirty = False

    @property
    def csrf(self) -> str | None:
        return self._value("csrf")

    @property
    def client(self) -> str | None:
        """A random id of this browser that survives login rotation (owner of its training runs)."""
        return self._value("client")


class SessionMiddleware:
    """Pure ASGI middleware: loads ``scope["session"]`` before the app runs, stores it and sets the
    cookie when the response starts. Paths under ``skip_prefixes`` (static files) get no session."""

    def __init__(self, app: Any, store: Any, secret: str, max_age: float = 14 * 86400,
                 secure: bool | None = None, skip_prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.store = store
        self.key = hashlib.sha256(("nabla-session:" + secret).encode()).digest()
        self.max_age = max_age
        self.secure = secure
        self.skip_prefixes = skip_prefixes

    def sign(self, sid: str) -> str:
        mac = hmac.new(self.key, sid.encode(), hashlib.sha256).digest()
        return sid + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def derive(self, purpose: str, sid: str) -> str:
        """A value bound to one session id (its CSRF token, its client id) that needs no storage."""
        mac = hmac.new(self.key, f"{purpose}:{sid}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode()

    def unsign(self, value: str) -> str | None:
        sid, _, sig = value.partition(".")
        if not sid or not sig or len(value) > 200:
            return None
        return sid if hmac.compare_digest(self.sign(sid), value) else None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        session = await self._load(scope)
        session.derive = self.derive
        scope["session"] = session
        https = scope.get("scheme") == "https"

        async def send_with_cookie(message: dict) -> None:
            if message["type"] == "http.response.start":
                header = await self._commit(session, https)
                if header is not None:
                    message.setdefault("headers", [])
                    message["headers"] = list(message["headers"]) + [(b"set-cookie", header.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _load(self, scope: dict) -> Session:
        value = None
        for name, raw in scope.get("headers", ()):
            if name == b"cookie":
                cookie: SimpleCookie = SimpleCookie()
                try:
                    cookie.load(raw.decode("latin-1"))
                except Exception:  # a malformed Cookie header is no cookie
                    continue
                if COOKIE_NAME in cookie:
                    value = cookie[COOKIE_NAME].value
        sid = self.unsign(value) if value else None
        if sid is not None:
            loaded = await run_in_threadpool(self.store.load_session, _id_hash(sid))
            if loaded is not None:
                data, user_id = loaded
                s = Session(sid, data, user_id)
                s.expires_at = float(data.get("_expires", 0))
                return s
            return Session(sid, {}, None)  # anonymous (or its row expired): the cookie is all there is
        return Session(None, {}, None)

    async def _commit(self, session: Session, https: bool) -> str | None:
        now = time.time()
        for old in session.old_sids:
            await run_in_threadpool(self.store.delete_session, _id_hash(old))
        session.old_sids = []
        if session.destroyed:
            return self._cookie("", https, max_age=0)
        if session.sid is None:
            return None
        if not session.stored:  # anonymous: no row, only the cookie (sent when the id is new)
            if not session.dirty:
                return None
            session.dirty = False
            return self._cookie(self.sign(session.sid), https, max_age=int(self.max_age))
        refresh = session.expires_at - now < self.max_age / 2  # slide the expiry, at most one write per half-life
        if not (session.dirty or refresh):
            return None
        session.data["_expires"] = now + self.max_age
        await run_in_threadpool(self.store.save_session, _id_hash(session.sid), session.data, session.user_id,
                                now + self.max_age)
        session.dirty = False
        return self._cookie(self.sign(session.sid), https, max_age=int(self.max_age))

    def _cookie(self, value: str, https: bool, max_age: int) -> str:
        secure = self.secure if self.secure is not None else https
        parts = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)
