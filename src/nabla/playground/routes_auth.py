"""Account routes: register, login, logout (forms and JSON), the session, API tokens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .auth import AuthError, hash_token, new_api_token
from .auth.strategies import read_credentials
from .config import field_errors
from .pages import auth_page, index_page, safe_next
from .store import UserExists
from .web import HTTPError, auth_error, context, json_body, parse_model

__all__ = ["routes"]


class Registration(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=256)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)


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


async def register(request: Request) -> Response:
    fields = await _fields(request)
    json_mode = _wants_json(request)
    try:
        await context(request, write=True, fields=fields)
        try:
            reg = Registration.model_validate(fields)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise HTTPError(422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors) from None
        passwords = request.app.state.passwords
        password_hash = await run_in_threadpool(passwords.hash, reg.password)
        try:
            user = await run_in_threadpool(request.app.state.store.create_user, reg.username, password_hash)
        except UserExists:
            raise HTTPError(409, f"username: {reg.username!r} is taken; choose another") from None
    except HTTPError as exc:
        if json_mode:
            return exc.response()
        return _form_error(request, "register", exc.status, exc.message, fields)
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


async def create_token(request: Request) -> Response:
    ctx = await context(request, write=True, need_user=True)
    body = parse_model(NewToken, await json_body(request))
    token = new_api_token()
    row = await run_in_threadpool(request.app.state.store.create_token, ctx.user.id, body.name.strip(),
                                  hash_token(token), token[:8])
    # the token itself is in this answer only: it is stored hashed and cannot be shown again
    return JSONResponse({**row, "token": token}, status_code=201)


async def revoke_token(request: Request) -> Response:
    ctx = await context(request, write=True, need_user=True)
    try:
        token_id = int(request.path_params["token_id"])
    except ValueError:
        raise HTTPError(404, "no such token") from None
    if not await run_in_threadpool(request.app.state.store.revoke_token, ctx.user.id, token_id):
        raise HTTPError(404, "no such token")
    return Response(status_code=204)


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
]
