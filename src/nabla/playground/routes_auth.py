"""Account routes: register, login, logout (forms and JSON), the session, API tokens."""

from __future__ import annotations

import threading
import time

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .auth import AuthError, hash_token, new_api_token
from .auth.passwords import HashingBusy, common_password
from .auth.sessions import _id_hash
from .auth.strategies import read_credentials
from .config import field_errors
from .pages import auth_page, index_page, safe_next
from .store import UserExists
from .web import Ctx, HTTPError, auth_error, client_address, context, json_body, parse_model, unprocessable

__all__ = ["routes"]


class Registration(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=256)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    expires_in_days: int = Field(default=90, ge=1)
    password: str | None = Field(default=None, max_length=1024)  # needed when minting with a token


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=256)


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


async def index(request: Request) -> Response:
    session = request.scope["session"]
    session.ensure()
    user = await request.app.state.auth.session_user(session)
    return HTMLResponse(index_page(session.csrf, user.username if user else None),
                        headers={"Cache-Control": "no-store"})


async def login_page(request: Request) -> Response:
    session = request.scope["session"]
    session.ensure()
    return HTMLResponse(auth_page("login", session.csrf, request.query_params.get("next", "/")))


async def register_page(request: Request) -> Response:
    session = request.scope["session"]
    session.ensure()
    return HTMLResponse(auth_page("register", session.csrf, request.query_params.get("next", "/")))


async def _fields(request: Request) -> dict:
    try:
        return await read_credentials(request)
    except AuthError as exc:
        raise auth_error(exc) from None


def _form_error(request: Request, kind: str, status: int, message: str, fields: dict,
                headers: dict | None = None) -> Response:
    session = request.scope["session"]
    session.ensure()
    page = auth_page(kind, session.csrf, fields.get("next", "/"), message, str(fields.get("username", ""))[:32])
    return HTMLResponse(page, status_code=status, headers=headers)


async def login(request: Request) -> Response:
    """Local strategy; on success the session id is rotated and the user stored in it."""
    fields = await _fields(request)
    json_mode = _wants_json(request)
    try:
        await context(request, write=True, fields=fields)
        user = await request.app.state.auth.authenticate("local", request)
    except HTTPError as exc:
        if json_mode:
            return exc.response()
        return _form_error(request, "login", exc.status, exc.message, fields, exc.headers)
    except AuthError as exc:
        if json_mode:
            return auth_error(exc).response()
        return _form_error(request, "login", exc.status, exc.message, fields, exc.headers)
    if user is None:
        message = "wrong username or password"
        if json_mode:
            return HTTPError(401, message).response()
        return _form_error(request, "login", 401, message, fields)
    session = request.scope["session"]
    request.app.state.auth.login(session, user)
    if json_mode:
        return JSONResponse({"user": user.public(), "csrf_token": session.csrf})
    return RedirectResponse(safe_next(fields.get("next")), status_code=303)


class _SignupGuard:
    """Per-address sign-up limits: ``in_flight`` at once and ``per_hour`` (a sliding hour).

    Each sign-up hashes a password (64 MiB, a core for a moment); the hash gate bounds the server
    as a whole, these bound one address, so one client flooding ``/register`` gets 429s while the
    others (and every login) still get hashing slots.
    """

    def __init__(self, in_flight: int, per_hour: int) -> None:
        self.in_flight = in_flight
        self.per_hour = per_hour
        self._active: dict[str, int] = {}
        self._recent: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def enter(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._recent.get(address, ()) if t > now - 3600]
            if len(recent) >= self.per_hour:
                raise HTTPError(429, f"{len(recent)} sign-ups from your address in the last hour (the limit is "
                                     f"{self.per_hour}); try again later", headers={"Retry-After": "3600"})
            if self._active.get(address, 0) >= self.in_flight:
                raise HTTPError(429, "a sign-up from your address is still being processed; try again in a moment",
                                headers={"Retry-After": "2"})
            self._active[address] = self._active.get(address, 0) + 1
            self._recent[address] = recent
            if len(self._recent) > 100_000:  # bounded memory
                self._recent = {a: v for a, v in self._recent.items() if v and v[-1] > now - 3600}

    def leave(self, address: str, created: bool) -> None:
        with self._lock:
            self._active[address] -= 1
            if not self._active[address]:
                del self._active[address]
            if created:
                self._recent.setdefault(address, []).append(time.monotonic())


async def register(request: Request) -> Response:
    """Sign up. Usernames are unique without regard to case (``Admin`` is ``admin``); passwords from
    the list of the 30,000 most common ones are refused (NIST SP 800-63B 5.1.1.2)."""
    fields = await _fields(request)
    json_mode = _wants_json(request)
    guard: _SignupGuard = request.app.state.signups
    address = client_address(request)
    try:
        await context(request, write=True, fields=fields)
        try:
            reg = Registration.model_validate(fields)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise HTTPError(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors) from None
        if common_password(reg.password):
            raise HTTPError(422, "password: this is one of the 30,000 most common passwords, the first an attacker "
                                 "tries; choose another (a few unrelated words make a good one)",
                            [{"field": "password", "message": "too common"}])
        store = request.app.state.store
        if await run_in_threadpool(store.get_login, reg.username) is not None:
            raise HTTPError(409, f"username: {reg.username!r} is taken; choose another")
        guard.enter(address)
        created = False
        try:
            passwords = request.app.state.passwords
            password_hash = await run_in_threadpool(request.app.state.hashing.call, "register", passwords.hash,
                                                    reg.password)
            user = await run_in_threadpool(store.create_user, reg.username, password_hash)
            created = True
        except HashingBusy:
            raise HTTPError(503, "the server is busy; try again in a few seconds", headers={"Retry-After": "5"}) \
                from None
        except UserExists:
            raise HTTPError(409, f"username: {reg.username!r} is taken; choose another") from None
        finally:
            guard.leave(address, created)
    except HTTPError as exc:
        if json_mode:
            return exc.response()
        return _form_error(request, "register", exc.status, exc.message, fields, exc.headers)
    session = request.scope["session"]
    request.app.state.auth.login(session, user)
    if json_mode:
        return JSONResponse({"user": user.public(), "csrf_token": session.csrf}, status_code=201)
    return RedirectResponse(safe_next(fields.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    fields = await _fields(request)
    try:
        await context(request, write=True, fields=fields)
    except HTTPError as exc:
        return exc.response()
    request.app.state.auth.logout(request.scope["session"])
    if _wants_json(request):
        return JSONResponse({"user": None})
    return RedirectResponse("/", status_code=303)


async def session_info(request: Request) -> Response:
    """``{"user": ..., "csrf_token": ...}``: what a script needs to act as this browser session."""
    ctx = await context(request)
    if not ctx.via_token:
        ctx.session.ensure()
    return JSONResponse({"user": ctx.user.public() if ctx.user else None,
                         "csrf_token": None if ctx.via_token else ctx.session.csrf},
                        headers={"Cache-Control": "no-store"})


async def list_tokens(request: Request) -> Response:
    ctx = await context(request, need_user=True)
    tokens = await run_in_threadpool(request.app.state.store.list_tokens, ctx.user.id)
    return JSONResponse({"tokens": tokens})


async def _password_proof(request: Request, ctx: Ctx, password: str | None, what: str) -> None:
    """Token requests that manage credentials must also give the account's password.

    A leaked token alone must not be able to mint more tokens (persistence) or revoke the owner's;
    a signed-in browser session already proved the password at login (and needs a CSRF token).
    """
    if not ctx.via_token:
        return
    if not password:
        raise HTTPError(403, f"{what} with an API token needs the account's password too "
                             '(JSON field "password"), or do it from a signed-in browser session')
    strategy = request.app.state.auth.strategies["local"]
    try:
        user = await strategy.check(ctx.user.username, password, client_address(request))
    except AuthError as exc:
        raise auth_error(exc) from None
    if user is None or user.id != ctx.user.id:
        raise HTTPError(403, "wrong password")


async def create_token(request: Request) -> Response:
    """Mint a token (shown once). Expires after ``expires_in_days`` (default 90, at most ``token_max_days``);
    a token minted with a token is its child: revoking the parent revokes it too."""
    ctx = await context(request, write=True, need_user=True)
    body = parse_model(NewToken, await json_body(request))
    limits = request.app.state.limits
    if body.expires_in_days > limits.token_max_days:
        raise unprocessable([{"field": "expires_in_days", "message": f"at most {limits.token_max_days} days"}])
    await _password_proof(request, ctx, body.password, "making a token")
    store = request.app.state.store
    n = await run_in_threadpool(store.count_tokens, ctx.user.id)
    if n >= limits.tokens_per_user:
        raise HTTPError(429, f"you have {n} live tokens, the limit; revoke some first")
    token = new_api_token()
    row = await run_in_threadpool(store.create_token, ctx.user.id, body.name.strip(), hash_token(token), token[:8],
                                  ctx.token_id, time.time() + body.expires_in_days * 86400)
    # the token itself is in this answer only: it is stored hashed and cannot be shown again
    return JSONResponse({**row, "token": token}, status_code=201)


async def revoke_token(request: Request) -> Response:
    """Revoke a token and every token minted from it."""
    ctx = await context(request, write=True, need_user=True)
    if ctx.via_token:
        password = request.headers.get("x-password") or request.query_params.get("password")
        await _password_proof(request, ctx, password, "revoking a token")
    try:
        token_id = int(request.path_params["token_id"])
    except ValueError:
        raise HTTPError(404, "no such token") from None
    if not await run_in_threadpool(request.app.state.store.revoke_token, ctx.user.id, token_id):
        raise HTTPError(404, "no such token")
    return Response(status_code=204)


async def change_password(request: Request) -> Response:
    """``{"current_password", "new_password"}``: set a new password; every other session of the
    account is logged out and every API token revoked (whoever knew the old password may have made
    some). This browser stays signed in, under a new session id."""
    ctx = await context(request, write=True, need_user=True)
    body = parse_model(PasswordChange, await json_body(request))
    strategy = request.app.state.auth.strategies["local"]
    try:
        user = await strategy.check(ctx.user.username, body.current_password, client_address(request))
    except AuthError as exc:
        raise auth_error(exc) from None
    if user is None or user.id != ctx.user.id:
        raise HTTPError(403, "current_password: wrong password")
    if common_password(body.new_password):
        raise unprocessable([{"field": "new_password", "message": "one of the 30,000 most common passwords; "
                                                                  "choose another"}])
    store = request.app.state.store
    try:
        new_hash = await run_in_threadpool(request.app.state.hashing.call, "login", request.app.state.passwords.hash,
                                           body.new_password)
    except HashingBusy:
        raise HTTPError(503, "the server is busy; try again in a few seconds", headers={"Retry-After": "5"}) from None
    await run_in_threadpool(store.set_password_hash, ctx.user.id, new_hash)
    sessions, tokens = await _sign_out_everywhere(request, ctx)
    return JSONResponse({"user": ctx.user.public(), "sessions_ended": sessions, "tokens_revoked": tokens,
                         "csrf_token": None if ctx.via_token else ctx.session.csrf})


async def _sign_out_everywhere(request: Request, ctx: Ctx, keep_this: bool = True) -> tuple[int, int]:
    store = request.app.state.store
    session = ctx.session
    keep = None
    if keep_this and not ctx.via_token and session.exists:
        request.app.state.auth.login(session, ctx.user)  # a new id for this browser; the old one is deleted
        keep = _id_hash(session.sid)
    sessions = await run_in_threadpool(store.delete_user_sessions, ctx.user.id, keep)
    tokens = await run_in_threadpool(store.revoke_all_tokens, ctx.user.id)
    return sessions, tokens


async def logout_everywhere(request: Request) -> Response:
    """End every session of the account (this one too) and revoke every API token."""
    ctx = await context(request, write=True, need_user=True)
    if ctx.via_token:
        await _password_proof(request, ctx, request.headers.get("x-password"), "logging out everywhere")
    sessions, tokens = await _sign_out_everywhere(request, ctx, keep_this=False)
    if not ctx.via_token:
        request.app.state.auth.logout(ctx.session)
    return JSONResponse({"user": None, "sessions_ended": sessions, "tokens_revoked": tokens})


routes = [
    Route("/", index),
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/register", register_page, methods=["GET"]),
    Route("/register", register, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/api/session", session_info),
    Route("/api/tokens", list_tokens, methods=["GET"]),
    Route("/api/tokens", create_token, methods=["POST"]),
    Route("/api/tokens/{token_id}", revoke_token, methods=["DELETE"]),
    Route("/api/password", change_password, methods=["POST"]),
    Route("/api/logout-everywhere", logout_everywhere, methods=["POST"]),
]
