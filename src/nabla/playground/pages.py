"""Server-rendered pages: the playground (static/index.html with the session's values filled in), and the
register / login forms. Every value put into HTML goes through ``html.escape``."""

from __future__ import annotations

import html
import os
from functools import lru_cache
from urllib.parse import urlsplit

__all__ = ["STATIC_DIR", "auth_page", "index_page", "safe_next"]

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


@lru_cache(maxsize=1)
def _index_template() -> str:
    with open(os.path.join(STATIC_DIR, "index.html"), encoding="utf-8") as f:
        return f.read()


def index_page(csrf: str, username: str | None) -> str:
    return (_index_template().replace("{{csrf}}", html.escape(csrf))
            .replace("{{username}}", html.escape(username or "")))


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never ``//evil.example`` or ``https://...``)."""
    if not target or not isinstance(target, str):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


_AUTH = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · nabla playground</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body class="auth">
<main class="auth-box">
<h1><a href="/">∇ nabla playground</a></h1>
<h2>{title}</h2>
{error}
<form method="post" action="{action}">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label>Username <input name="username" id="username" autocomplete="username" required maxlength="32"
  value="{username}"></label>
<label>Password <input name="password" id="password" type="password" required maxlength="256"
  autocomplete="{pw_auto}"></label>
<button type="submit" id="submit">{title}</button>
</form>
<p>{other}</p>
</main>
</body>
</html>
"""


def auth_page(kind: str, csrf: str, next_url: str = "/", error: str | None = None, username: str = "") -> str:
    """The login (``kind="login"``) or register form, with an error message if given."""
    login = kind == "login"
    other = ('No account yet? <a href="/register">Register</a>' if login
             else 'Have an account? <a href="/login">Sign in</a>')
    return _AUTH.format(
        title="Sign in" if login else "Register", action="/login" if login else "/register",
        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        csrf=html.escape(csrf), next=html.escape(safe_next(next_url)), username=html.escape(username),
        pw_auto="current-password" if login else "new-password", other=other,
    )
