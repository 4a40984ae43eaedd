"""CSRF protection: a random token per session that every state-changing request must echo.

The synchronizer-token pattern: the page gets the token (a ``<meta>`` tag, a hidden form field, or
``GET /api/session``) and sends it back in the ``X-CSRF-Token`` header or the ``csrf_token`` form
field. Another site can make the browser send the cookie but cannot read the token. Requests made
with a bearer API token carry no cookie and need no CSRF token. As a second line, a request whose
``Origin`` header names another site is refused.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "new_token", "origin_ok", "token_ok"]

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not given or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def origin_ok(origin: str | None, host: str | None) -> bool:
    """True when there is no ``Origin`` header or it names this server's host."""
    if origin is None:
        return True
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()
