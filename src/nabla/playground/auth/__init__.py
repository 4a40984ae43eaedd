"""Accounts for the playground, in the manner of Passport.js: strategies, sessions, CSRF, login limits."""

from .csrf import CSRF_FIELD, CSRF_HEADER, new_token, origin_ok, token_ok
from .passwords import Passwords
from .ratelimit import LoginRateLimiter
from .sessions import COOKIE_NAME, Session, SessionMiddleware
from .strategies import (
    Authenticator,
    AuthError,
    AuthStrategy,
    LocalStrategy,
    RateLimited,
    TokenStrategy,
    hash_token,
    new_api_token,
)

__all__ = [
    "AuthError", "AuthStrategy", "Authenticator", "COOKIE_NAME", "CSRF_FIELD", "CSRF_HEADER", "LocalStrategy",
    "LoginRateLimiter", "Passwords", "RateLimited", "Session", "SessionMiddleware", "TokenStrategy", "hash_token",
    "new_api_token", "new_token", "origin_ok", "token_ok",
]
