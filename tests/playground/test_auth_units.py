"""The pieces of the auth package on their own: passwords, login limits, CSRF tokens, redirects, cookies."""

from __future__ import annotations

import asyncio

import pytest

from nabla.playground.auth import (
    Authenticator,
    AuthStrategy,
    LoginRateLimiter,
    Passwords,
    SessionMiddleware,
    new_token,
    origin_ok,
    token_ok,
)
from nabla.playground.pages import auth_page, safe_next
from nabla.playground.store import Store, User

from .conftest import FakeClock


def test_passwords_argon2():
    pw = Passwords(fast=True)
    h = pw.hash("s3cret pass")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert pw.verify(h, "s3cret pass") and not pw.verify(h, "s3cret pas")
    assert pw.hash("s3cret pass") != h  # salted
    assert not pw.verify(None, "anything")  # unknown user: still runs argon2 on a dummy hash
    assert not pw.verify("not-a-hash", "x")
    assert Passwords().needs_rehash(h)  # stronger default parameters than the test ones


def test_rate_limiter_window_lockout_and_reset():
    clock = FakeClock()
    rl = LoginRateLimiter(max_per_account=3, max_per_address=10, window=60, lockout=120, clock=clock)
    for _ in range(2):
        rl.failed("Alice", "1.2.3.4")
    assert rl.retry_after("alice", "1.2.3.4") == 0
    rl.succeeded("alice")  # a success clears the account's count
    for _ in range(2):
        rl.failed("alice", "1.2.3.4")
    clock.advance(61)  # old failures leave the window
    rl.failed("alice", "1.2.3.4")
    assert rl.retry_after("alice", "1.2.3.4") == 0
    rl.failed("alice", "5.6.7.8")
    rl.failed("ALICE", "9.9.9.9")  # names are case-insensitive; addresses differ
    assert rl.retry_after("alice", "0.0.0.0") == pytest.approx(120)
    clock.advance(119)
    assert rl.retry_after("alice", "0.0.0.0") == pytest.approx(1)
    clock.advance(2)
    assert rl.retry_after("alice", "0.0.0.0") == 0


def test_rate_limiter_memory_is_bounded():
    clock = FakeClock()
    rl = LoginRateLimiter(window=10, clock=clock, max_keys=100)
    for i in range(300):
        rl.failed(f"user{i}", f"10.0.{i}.1")
        clock.advance(1)
    assert len(rl._failures) <= 2 * 100 + 2


def test_csrf_helpers():
    t = new_token()
    assert len(t) >= 40 and t != new_token()
    assert token_ok(t, t) and not token_ok(t, t + "x") and not token_ok(None, None) and not token_ok(t, None)
    assert not token_ok(t, 123)
    assert origin_ok(None, "h:1") and origin_ok("http://h:1", "h:1") and not origin_ok("http://evil", "h:1")
    assert not origin_ok("null", "h:1")


def test_safe_next_allows_local_paths_only():
    assert safe_next("/?dataset=xor") == "/?dataset=xor"
    for bad in ("https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)", "", None, "relative"):
        assert safe_next(bad) == "/", bad


def test_auth_page_escapes_everything():
    page = auth_page("login", 'tok"en', next_url='/"><script>', error="<b>bad</b>", username='"><x>')
    assert "<script>" not in page and "<b>bad</b>" not in page and '"><x>' not in page
    assert "&lt;b&gt;bad&lt;/b&gt;" in page and 'value="tok&quot;en"' in page


def test_cookie_signature(tmp_path):
    mw = SessionMiddleware(None, store=None, secret="k1")
    signed = mw.sign("abc")
    assert mw.unsign(signed) == "abc"
    assert mw.unsign(signed[:-1] + ("A" if signed[-1] != "A" else "B")) is None
    assert mw.unsign("abc") is None and mw.unsign("") is None and mw.unsign("x" * 300) is None
    assert SessionMiddleware(None, store=None, secret="k2").unsign(signed) is None  # another server's key


def test_authenticator_registry_and_hooks(tmp_path):
    asyncio.run(_authenticator_registry_and_hooks(tmp_path))


async def _authenticator_registry_and_hooks(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite3'}")

    class Always(AuthStrategy):
        name = "always"

        async def authenticate(self, request):
            return User(7, "seven", 0.0)

    seen = []

    async def deserialize(key):
        seen.append(key)
        return User(int(key[2:]), "custom", 0.0)

    auth = Authenticator(store, serialize_user=lambda u: f"u:{u.id}", deserialize_user=deserialize)
    auth.use(Always())
    user = await auth.authenticate("always", None)
    assert user.id == 7
    with pytest.raises(KeyError, match="no strategy named 'saml'"):
        await auth.authenticate("saml", None)
    assert auth.serialize_user(user) == "u:7"
    assert (await auth.deserialize_user("u:7")).username == "custom" and seen == ["u:7"]
    store.close()
