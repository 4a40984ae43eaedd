"""Request helpers shared by the routes: errors, JSON bodies, who is asking, CSRF, body-size limit."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from .auth import CSRF_FIELD, CSRF_HEADER, AuthError, Session, origin_ok, token_ok
from .auth.strategies import client_address
from .config import field_errors
from .inputs import BadInput, loads_json
from .store import User

__all__ = ["BodyLimitMiddleware", "Ctx", "HTTPError", "NulGuardMiddleware", "SecurityHeadersMiddleware",
           "client_address", "context", "json_body", "parse_model"]

M = TypeVar("M", bound=BaseModel)


class HTTPError(Exception):
    """Answer with ``status`` and a JSON ``{"error": message, "detail": [...]}``."""

    def __init__(self, status: int, message: str, detail: list | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def unprocessable(errors: list[dict[str, str]]) -> HTTPError:
    """422 whose message names each field and why."""
    return HTTPError(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


async def json_body(request: Request) -> Any:
    """The JSON body, refused with 400 when nested too deep or holding NUL characters (see inputs.py)."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/json"):
        raise HTTPError(415, "send the body as JSON (Content-Type: application/json)")
    raw = await request.body()
    try:
        return loads_json(raw, request.app.state.limits.json_max_depth)
    except BadInput as exc:
        raise HTTPError(400, str(exc)) from None


def parse_model(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise unprocessable([{"field": "body", "message": f"expected a JSON object, got {type(data).__name__}"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise unprocessable(field_errors(exc)) from None


@dataclass
class Ctx:
    """Who is asking: the user (or None), the session, and whether an API token proved it."""

    user: User | None
    session: Session
    via_token: bool
    token_id: int | None = None  # the API token that proved it (token requests)

    @property
    def owner(self) -> str | None:
        """Owner key of training runs: the user for token requests, else this browser's session."""
        if self.via_token:
            return f"user:{self.user.id}"  # type: ignore[union-attr]
        return f"client:{self.session.client}" if self.session.exists else None


async def context(request: Request, write: bool = False, need_user: bool = False,
                  fields: dict | None = None) -> Ctx:
    """Authenticate the request; for ``write`` requests also check Origin and the CSRF token.

    A request with an ``Authorization`` header is judged by the ``token`` strategy alone (its cookie,
    if any, is ignored, and it needs no CSRF token: a browser never adds that header by itself).
    """
    auth = request.app.state.auth
    session: Session = request.scope["session"]
    if "authorization" in request.headers:
        user = await auth.authenticate("token", request)
        if user is None:
            raise HTTPError(401, "invalid, expired or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        return Ctx(user, session, True, getattr(request.state, "token_id", None))
    user = await auth.session_user(session)
    if write:
        if not origin_ok(request.headers.get("origin"), request.headers.get("host")):
            raise HTTPError(403, "cross-site request refused (Origin does not match this server)")
        given = request.headers.get(CSRF_HEADER) or (fields or {}).get(CSRF_FIELD)
        if not session.exists or not token_ok(session.csrf, given):
            raise HTTPError(403, "missing or wrong CSRF token; reload the page and try again")
    if need_user and user is None:
        raise HTTPError(401, "sign in first (or send an API token: Authorization: Bearer ...)")
    return Ctx(user, session, False)


def auth_error(exc: AuthError) -> HTTPError:
    return HTTPError(exc.status, exc.message, headers=exc.headers)


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes (``limits`` per path prefix) with 413, before or while
    they arrive — a Content-Length that is too big is refused without reading anything — and bodies
    that take longer than ``timeout`` seconds between chunks with 408 (a slow-body "slowloris" would
    otherwise hold a connection and a task for as long as it likes). Once the body is complete,
    ``receive`` is passed through untouched: event streams wait on it for the disconnect."""

    def __init__(self, app: Any, limit: int = 64 * 1024, limits: dict[str, int] | None = None,
                 timeout: float = 30.0) -> None:
        self.app = app
        self.limit = limit
        self.limits = limits or {}
        self.timeout = timeout

    def _limit(self, path: str) -> int:
        for prefix, n in self.limits.items():
            if path.startswith(prefix):
                return n
        return self.limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _refuse(send, 413, f"request body too large; the limit here is {limit} bytes")
                    return
        seen = 0
        started = False
        complete = False

        async def limited_receive() -> dict:
            nonlocal seen, complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                raise BodyTimeout() from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
                complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"request body too large; the limit here is {limit} bytes")
        except BodyTimeout:
            if not started:
                await _refuse(send, 408, f"the request body did not arrive within {self.timeout:g} s")


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Headers every response gets: no sniffing, no framing, scripts and styles from this server only."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy",
         b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
         b"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    ]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/") or scope["path"].startswith("/labs")

        async def add_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + self.HEADERS
                # Responses may hold private data (sessions, tokens, experiments, the page with its CSRF
                # token): no shared or browser cache may keep them unless a route says otherwise.
                if not static and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


class NulGuardMiddleware:
    """400 for a NUL character in the path or the query string (``%00`` included), before any route.

    PostgreSQL cannot compare or store U+0000 in text, so ``/api/experiments/%00`` would be a 500
    there and a 404 on SQLite; refusing it up front answers the same on both.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
                                        or b"\x00" in scope.get("query_string", b"")):
            body = json.dumps({"error": "NUL characters (%00) are not allowed in URLs"}).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
