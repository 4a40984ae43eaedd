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


def test_rate_limiter_backoff_doubles_per_pair_and_forgets():
    clock = FakeClock()
    rl = LoginRateLimiter(free_per_pair=3, free_per_address=10, base_delay=2, max_delay=100, window=60, clock=clock)
    for _ in range(2):
        assert rl.reserve("Alice", "1.2.3.4") == 0
    rl.succeeded("alice", "1.2.3.4")  # a success clears the pair's count
    for _ in range(3):
        assert rl.reserve("alice", "1.2.3.4") == 0
    assert rl.retry_after("ALICE", "1.2.3.4") == pytest.approx(2)  # names are case-insensitive
    assert rl.retry_after("alice", "5.6.7.8") == 0  # another address is not slowed
    delays = []
    for _ in range(8):  # each further failure doubles the wait, up to max_delay
        clock.advance(rl.retry_after("alice", "1.2.3.4"))
        assert rl.reserve("alice", "1.2.3.4") == 0
        delays.append(rl.retry_after("alice", "1.2.3.4"))
    assert delays == pytest.approx([4, 8, 16, 32, 64, 100, 100, 100])
    assert rl.reserve("alice", "1.2.3.4") == pytest.approx(100)  # refused while waiting, not counted
    clock.advance(161)  # the window after the last failure: forgotten
    assert rl.reserve("alice", "1.2.3.4") == 0 and rl.retry_after("alice", "1.2.3.4") == 0
    rl.cancel("alice", "1.2.3.4")  # an attempt that was never checked gives its count back
    assert rl._counters["pair:1.2.3.4\nalice"].failures == 0


def test_rate_limiter_memory_is_bounded():
    clock = FakeClock()
    rl = LoginRateLimiter(window=10, clock=clock, max_keys=100)
    for i in range(300):
        rl.reserve(f"user{i}", f"10.0.{i}.1")
        clock.advance(1)
    assert len(rl._counters) <= 100 + 2


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
