"""API tests: every route, both auth strategies, every permission rule and the attacks on them."""

from __future__ import annotations

import json

import numpy
import pytest

from nabla.playground.auth import COOKIE_NAME
from nabla.playground.export import state_from_bytes
from nabla.playground.thumbnail import PNG_SIGNATURE

from .conftest import PASSWORD, csrf, login, register, wait_for

SPIRAL = {"dataset": "spiral", "layers": [8, 8], "optimizer": "adam", "learning_rate": 0.01}


def new_run(c, config=None, token=None):
    headers = {"X-CSRF-Token": csrf(c)} if token is None else {"Authorization": f"Bearer {token}"}
    r = c.post("/api/runs", json={"config": config or {}}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["run_id"]


def run_state(c, run_id, **kw):
    r = c.get(f"/api/runs/{run_id}", **kw)
    assert r.status_code == 200, r.text
    return r.json()


def step(c, run_id, n=1):
    tok = csrf(c)
    before = run_state(c, run_id)["epoch"]
    for _ in range(n):
        assert c.post(f"/api/runs/{run_id}/step", headers={"X-CSRF-Token": tok}).status_code == 202
    return wait_for(lambda: run_state(c, run_id)["epoch"] >= before + n and run_state(c, run_id))


# ------------------------------------------------------------------------------------ pages and session


def test_pages_render_with_session_cookie_flags_and_security_headers(client):
    r = client.get("/")
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(COOKIE_NAME + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    token = client.get("/api/session").json()["csrf_token"]
    assert f'name="csrf-token" content="{token}"' in r.text
    assert r.headers["x-frame-options"] == "DENY" and "script-src 'self'" in r.headers["content-security-policy"]
    for path in ("/login", "/register"):
        page = client.get(path + "?next=/x")
        assert page.status_code == 200 and f'value="{token}"' in page.text and 'value="/x"' in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/healthz").json()["ok"] is True


def test_cookie_is_secure_over_https(app, client):
    from starlette.testclient import TestClient

    c = TestClient(app, base_url="https://testserver")  # the app is already running (client fixture)
    assert "Secure" in c.get("/").headers["set-cookie"]


def test_options_lists_the_choices(client):
    o = client.get("/api/options").json()
    assert o["max_layers"] == 6 and o["max_neurons"] == 8
    assert set(o["activations"]) == {"relu", "tanh", "sigmoid", "linear", "leaky_relu", "elu"}
    assert "spiral" in o["classification_sets"] and o["defaults"]["dataset"] in o["classification_sets"]
    assert o["limits"]["noise"] == {"ge": 0.0, "le": 0.5}


def test_tampered_cookie_gives_a_fresh_anonymous_session(client):
    register(client, "alice")
    assert client.get("/api/session").json()["user"]["username"] == "alice"
    value = client.cookies[COOKIE_NAME]
    sid, sig = value.split(".")
    for forged in (sid[:-1] + ("A" if sid[-1] != "A" else "B") + "." + sig,  # id changed, old signature
                   sid + "." + sig[:-2] + "xx",  # signature changed
                   sid,  # no signature
                   "garbage", "a.b.c", "%%%"):
        client.cookies.clear()
        client.cookies.set(COOKIE_NAME, forged)
        r = client.get("/api/session")
        assert r.status_code == 200 and r.json()["user"] is None, forged
        assert r.headers["set-cookie"].split(";")[0] != f"{COOKIE_NAME}={forged}"


def test_session_fixation_login_rotates_the_session_id(client, browser):
    register(client, "alice")
    client.post("/logout", json={}, headers={"X-CSRF-Token": csrf(client)})
    attacker = browser()
    attacker.get("/")
    planted = attacker.cookies[COOKIE_NAME]  # the attacker's session id, planted in the victim's browser
    victim = browser()
    victim.cookies.set(COOKIE_NAME, planted, domain="testserver.local")
    token = victim.get("/api/session").json()["csrf_token"]
    r = victim.post("/login", json={"username": "alice", "password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    assert victim.cookies[COOKIE_NAME] != planted  # a new id after login
    assert victim.get("/api/session").json()["user"]["username"] == "alice"
    # the planted id is dead: the attacker is not logged in as alice
    assert attacker.get("/api/session").json()["user"] is None
    assert attacker.get("/api/experiments").status_code == 401


def test_logout_destroys_the_session(client, browser):
    register(client, "alice")
    old = client.cookies[COOKIE_NAME]
    r = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "Max-Age=0" in r.headers["set-cookie"]
    replay = browser()
    replay.cookies.set(COOKIE_NAME, old)
    assert replay.get("/api/session").json()["user"] is None


# ------------------------------------------------------------------------------------ local strategy


def test_register_and_login_with_forms(client):
    token = client.get("/api/session").json()["csrf_token"]
    r = client.post("/register", data={"username": "bob", "password": PASSWORD, "csrf_token": token,
                                       "next": "/?dataset=xor"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?dataset=xor"
    assert client.get("/api/session").json()["user"]["username"] == "bob"
    client.post("/logout", data={"csrf_token": csrf(client)})
    r = client.post("/login", data={"username": "bob", "password": "wrong password", "csrf_token": csrf(client)})
    assert r.status_code == 401 and "wrong username or password" in r.text and 'value="bob"' in r.text
    r = client.post("/login", data={"username": "bob", "password": PASSWORD, "csrf_token": csrf(client),
                                    "next": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    assert client.get("/api/session").json()["user"]["username"] == "bob"


def test_register_validation_and_duplicates(client):
    tok = csrf(client)
    r = client.post("/register", json={"username": "x", "password": "short"}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["detail"]}
    assert fields == {"username", "password"}
    r = client.post("/register", json={"username": "bad name!", "password": PASSWORD}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "username"
    register(client, "carol")
    other = client.post("/register", json={"username": "carol", "password": PASSWORD},
                        headers={"X-CSRF-Token": csrf(client)})
    assert other.status_code == 409 and "taken" in other.json()["error"]
    form = client.post("/register", data={"username": "carol", "password": PASSWORD, "csrf_token": csrf(client)})
    assert form.status_code == 409 and "taken" in form.text


def test_login_errors(client):
    register(client, "dave")
    tok = csrf(client)
    assert client.post("/login", json={"username": "dave"}, headers={"X-CSRF-Token": tok}).status_code == 422
    assert client.post("/login", content=b"{not json", headers={"X-CSRF-Token": tok,
                                                               "Content-Type": "application/json"}).status_code == 400
    assert login(client, "nobody").status_code == 401
    assert login(client, "dave", "not the password").status_code == 401
    assert login(client, "dave").json()["user"]["username"] == "dave"


def test_brute_force_backoff_per_address_and_account(client, browser, clock):
    register(client, "erin")
    attacker = browser()
    for _ in range(5):
        assert login(attacker, "erin", "guess").status_code == 401
    r = login(attacker, "erin", "guess")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # the same address waits, even with the right password, until its back-off ends ...
    r = login(attacker, "erin")
    assert r.status_code == 429 and "too many failed logins" in r.json()["error"]
    clock.advance(1.5)
    assert login(attacker, "erin").status_code == 200  # ... which was short: 1 s after 5 failures


def test_brute_force_backoff_per_address(client, clock):
    for i in range(20):  # 20 different accounts from one address
        assert login(client, f"user{i}", "guess").status_code == 401
    assert login(client, "someone-else", "guess").status_code == 429
    clock.advance(2)
    assert login(client, "someone-else", "guess").status_code == 401


def test_form_login_lockout_shows_message(client):
    for _ in range(5):
        client.post("/login", data={"username": "frank", "password": "x", "csrf_token": csrf(client)})
    r = client.post("/login", data={"username": "frank", "password": "x", "csrf_token": csrf(client)})
    assert r.status_code == 429 and "too many failed logins" in r.text


# ------------------------------------------------------------------------------------ CSRF


def test_state_changing_requests_need_the_csrf_token(client):
    register(client, "gina")
    run_id = new_run(client)
    attempts = [
        ("post", "/api/runs", {"json": {"config": {}}}),
        ("post", f"/api/runs/{run_id}/play", {}),
        ("delete", f"/api/runs/{run_id}", {}),
        ("post", "/api/experiments", {"json": {"name": "x", "config": {}}}),
        ("post", "/api/tokens", {"json": {"name": "t"}}),
        ("post", "/api/uploads", {"content": b"1,2,0\n" * 20, "headers": {"Content-Type": "text/csv"}}),
        ("post", "/logout", {"data": {}}),
    ]
    for method, url, kw in attempts:
        for bad in ({}, {"X-CSRF-Token": "wrong"}):
            headers = {**kw.get("headers", {}), **bad}
            r = getattr(client, method)(url, **{**kw, "headers": headers})
            assert r.status_code == 403 and "CSRF" in r.json()["error"], (method, url, bad, r.text)
    assert client.get("/api/session").json()["user"]["username"] == "gina"  # logout did not happen


def test_login_form_without_csrf_is_refused(client):
    register(client, "hank")
    client.post("/logout", data={"csrf_token": csrf(client)})
    r = client.post("/login", data={"username": "hank", "password": PASSWORD})
    assert r.status_code == 403 and "CSRF" in r.text
    assert client.get("/api/session").json()["user"] is None


def test_cross_origin_request_is_refused_even_with_token(client):
    tok = csrf(client)
    r = client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok, "Origin": "https://evil.example"})
    assert r.status_code == 403 and "Origin" in r.json()["error"]
    r = client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok, "Origin": "http://testserver"})
    assert r.status_code == 201


def test_csrf_token_changes_at_login(client):
    before = csrf(client)
    register(client, "ivy")
    assert csrf(client) != before
    r = client.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": before})
    assert r.status_code == 403


# ------------------------------------------------------------------------------------ token strategy


def test_api_tokens_shown_once_hashed_and_revocable(client, browser):
    register(client, "jack")
    r = client.post("/api/tokens", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("nbl_") and len(token) > 40
    listed = client.get("/api/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["laptop"] and "token" not in listed[0]
    assert listed[0]["prefix"] == token[:8]
    script = browser()  # no cookie at all: the token alone
    auth = {"Authorization": f"Bearer {token}"}
    assert script.get("/api/session", headers=auth).json()["user"]["username"] == "jack"
    # a script trains and saves a run through the API, without any CSRF token
    run_id = new_run(script, {"dataset": "xor", "layers": [4]}, token=token)
    assert script.post(f"/api/runs/{run_id}/step", headers=auth).status_code == 202
    wait_for(lambda: script.get(f"/api/runs/{run_id}", headers=auth).json()["epoch"] >= 1)
    saved = script.post("/api/experiments", json={"name": "from a script", "run_id": run_id}, headers=auth)
    assert saved.status_code == 201 and saved.json()["metrics"]["epoch"] >= 1
    assert [e["name"] for e in client.get("/api/experiments").json()["experiments"]] == ["from a script"]
    # the token's runs are not the browser session's (and the other way round)
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    # revoke: the token stops working at once
    tid = listed[0]["id"]
    assert client.delete(f"/api/tokens/{tid}", headers={"X-CSRF-Token": csrf(client)}).status_code == 204
    assert script.get("/api/experiments", headers=auth).status_code == 401
    assert client.delete(f"/api/tokens/{tid}", headers={"X-CSRF-Token": csrf(client)}).status_code == 404
    assert client.get("/api/tokens").json()["tokens"] == []


def test_bad_tokens_are_401_and_ignore_cookies(client):
    register(client, "kate")
    for header in ("Bearer nbl_not-a-token", "Bearer ", "Basic abc", "Bearer " + "x" * 500):
        r = client.get("/api/experiments", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert client.get("/api/experiments").status_code == 200  # the cookie alone still works


def test_tokens_of_another_user_cannot_be_revoked(client, browser):
    register(client, "leo")
    tid = client.post("/api/tokens", json={"name": "a"}, headers={"X-CSRF-Token": csrf(client)}).json()["id"]
    other = browser()
    register(other, "mia")
    assert other.delete(f"/api/tokens/{tid}", headers={"X-CSRF-Token": csrf(other)}).status_code == 404
    assert other.delete("/api/tokens/abc", headers={"X-CSRF-Token": csrf(other)}).status_code == 404
    assert len(client.get("/api/tokens").json()["tokens"]) == 1
    assert browser().get("/api/tokens").status_code == 401


# ------------------------------------------------------------------------------------ runs


def test_anonymous_run_trains_and_streams_state(client):
    # circle, not spiral: 20 epochs of spiral from a random start do not always lower the test loss
    run_id = new_run(client, {"dataset": "circle", "layers": [8, 8], "optimizer": "adam", "learning_rate": 0.03})
    first = wait_for(lambda: run_state(client, run_id)["status"] == "paused" and run_state(client, run_id))
    assert first["epoch"] == 0 and first["test_loss"] > 0
    tok = csrf(client)
    assert client.post(f"/api/runs/{run_id}/play", headers={"X-CSRF-Token": tok}).status_code == 202
    playing = wait_for(lambda: (s := run_state(client, run_id))["epoch"] >= 20 and s)
    assert playing["status"] == "playing"
    assert client.post(f"/api/runs/{run_id}/pause", headers={"X-CSRF-Token": tok}).status_code == 202
    paused = wait_for(lambda: (s := run_state(client, run_id))["status"] == "paused" and s)
    assert paused["test_loss"] < first["test_loss"]
    assert len(paused["history"]) >= 2
    e = paused["epoch"]
    stepped = step(client, run_id)
    assert stepped["epoch"] == e + 1 and stepped["status"] == "paused"
    assert client.post(f"/api/runs/{run_id}/reset", headers={"X-CSRF-Token": tok}).status_code == 202
    wait_for(lambda: run_state(client, run_id)["epoch"] == 0)
    assert client.post(f"/api/runs/{run_id}/jump", headers={"X-CSRF-Token": tok}).status_code == 404
    assert client.delete(f"/api/runs/{run_id}", headers={"X-CSRF-Token": tok}).status_code == 204
    assert client.get(f"/api/runs/{run_id}").status_code == 404


def test_create_run_returns_points(client):
    r = client.post("/api/runs", json={"config": {"n_points": 100, "test_ratio": 0.3}},
                    headers={"X-CSRF-Token": csrf(client)})
    points = r.json()["points"]
    assert len(points["train"]) == 70 and len(points["test"]) == 30
    assert all(len(p) == 3 and p[2] in (0, 1) for p in points["train"])


def test_another_browsers_run_is_404(client, browser):
    run_id = new_run(client)
    other = browser()
    tok = csrf(other)
    assert other.get(f"/api/runs/{run_id}").status_code == 404
    assert other.get(f"/api/runs/{run_id}/events").status_code == 404
    assert other.post(f"/api/runs/{run_id}/play", headers={"X-CSRF-Token": tok}).status_code == 404
    assert other.delete(f"/api/runs/{run_id}", headers={"X-CSRF-Token": tok}).status_code == 404
    assert other.get(f"/api/runs/{run_id}/export/code.py").status_code == 404
    assert other.get(f"/api/runs/{run_id}/export/weights.safetensors").status_code == 404
    assert browser().get(f"/api/runs/{run_id}").status_code == 404  # no session at all
    assert client.get(f"/api/runs/{run_id}").status_code == 200


def test_runs_survive_login_rotation(client):
    run_id = new_run(client)
    register(client, "nina")
    assert client.get(f"/api/runs/{run_id}").status_code == 200


def test_oldest_runs_of_a_browser_make_room(client):
    ids = [new_run(client, {"layers": [2]}) for _ in range(6)]
    live = [i for i in ids if client.get(f"/api/runs/{i}").status_code == 200]
    assert live == ids[-4:]


def test_diverging_run_stops_and_server_keeps_serving(client):
    cfg = {"problem": "regression", "dataset": "plane", "optimizer": "sgd", "learning_rate": 10.0,
           "activation": "relu", "layers": [8, 8, 8], "batch_size": 1}
    run_id = new_run(client, cfg)
    client.post(f"/api/runs/{run_id}/play", headers={"X-CSRF-Token": csrf(client)})
    state = wait_for(lambda: (s := run_state(client, run_id))["status"] == "diverged" and s, timeout=20)
    assert "diverged" in state["message"] and "learning rate" in state["message"]
    assert client.get("/healthz").status_code == 200
    assert client.post(f"/api/runs/{run_id}/play", headers={"X-CSRF-Token": csrf(client)}).status_code == 202
    assert run_state(client, run_id)["status"] == "diverged"
    other = new_run(client, {"layers": [3]})
    step(client, other)


def test_export_weights_and_code_of_a_run(client):
    run_id = new_run(client, {"dataset": "gauss", "layers": [3], "batch_norm": True})
    step(client, run_id, 2)
    r = client.get(f"/api/runs/{run_id}/export/weights.safetensors")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    state = state_from_bytes(r.content)
    assert state["0.weight"].shape == (3, 2) and "1.running_mean" in state and state["3.weight"].shape == (2, 3)
    code = client.get(f"/api/runs/{run_id}/export/code.py")
    assert code.status_code == 200 and "nn.BatchNorm1d(3)" in code.text and "EPOCHS = 2" in code.text
    compile(code.text, "exported.py", "exec")


# ------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize("config, field, words", [
    ({"layers": [4, 9]}, "layers", "1 to 8"),
    ({"layers": [1] * 7}, "layers", "at most 6"),
    ({"learning_rate": 0}, "learning_rate", "greater than 0"),
    ({"learning_rate": 100}, "learning_rate", "less than or equal to 10"),
    ({"batch_size": 0}, "batch_size", "greater than or equal to 1"),
    ({"noise": 0.9}, "noise", "less than or equal to 0.5"),
    ({"dataset": "swirl"}, "dataset", "'circle'"),
    ({"activation": "softmax"}, "activation", "'relu'"),
    ({"optimizer": "lbfgs"}, "optimizer", "'adam'"),
    ({"features": []}, "features", "at least one"),
    ({"features": ["x3"]}, "features.0", "'x1'"),
    ({"problem": "multiclass", "dataset": "xor", "classes": 3}, "dataset", "two classes only"),
    ({"problem": "regression", "dataset": "spiral"}, "dataset", "not a regression set"),
    ({"dataset": "upload"}, "upload_id", "upload_id"),
    ({"lr": 0.1}, "lr", "unknown setting"),
    ({"dropout": "lots"}, "dropout", "valid number"),
])
def test_bad_config_is_422_naming_field_and_reason(client, config, field, words):
    r = client.post("/api/runs", json={"config": config}, headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert any(d["field"] == field and words in d["message"] for d in detail), detail
    assert field in r.json()["error"]


def test_malformed_bodies(client):
    tok = csrf(client)
    assert client.post("/api/runs", content=b"{", headers={"X-CSRF-Token": tok,
                                                           "Content-Type": "application/json"}).status_code == 400
    assert client.post("/api/runs", content=b"x", headers={"X-CSRF-Token": tok,
                                                           "Content-Type": "text/plain"}).status_code == 415
    r = client.post("/api/runs", json=[1, 2], headers={"X-CSRF-Token": tok})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    r = client.post("/api/runs", json={"config": {}, "extra": 1}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "extra"
    r = client.post("/api/runs", content=b"\xff\xfe", headers={"X-CSRF-Token": tok, "Content-Type": "application/json"})
    assert r.status_code == 400


def test_oversized_bodies_are_refused(client):
    tok = csrf(client)
    big = json.dumps({"config": {"dataset": "circle" + " " * 70_000}})
    r = client.post("/api/runs", content=big, headers={"X-CSRF-Token": tok, "Content-Type": "application/json"})
    assert r.status_code == 413 and "too large" in r.json()["error"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(100):
            yield b" " * 1024

    r = client.post("/api/runs", content=chunks(), headers={"X-CSRF-Token": tok, "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/uploads", content=b"0,0,0\n" * 60_000, headers={"X-CSRF-Token": tok,
                                                                          "Content-Type": "text/csv"})
    assert r.status_code == 413
    assert client.get("/healthz").status_code == 200


# ------------------------------------------------------------------------------------ uploads


def _csv(n=40, classes=2, regression=False):
    rng = numpy.random.default_rng(0)
    x = rng.uniform(-5, 5, (n, 2))
    y = (x[:, 0] + x[:, 1]) if regression else (numpy.arange(n) % classes)
    return ("x1,x2,label\n" + "\n".join(f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, y))).encode()


def test_upload_csv_and_train_on_it(client):
    tok = csrf(client)
    r = client.post("/api/uploads", content=_csv(classes=3), headers={"X-CSRF-Token": tok, "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["rows"] == 40 and up["problem"] == "multiclass" and up["classes"] == 3
    bad = client.post("/api/runs", json={"config": {"dataset": "upload", "upload_id": up["upload_id"]}},
                      headers={"X-CSRF-Token": tok})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "problem"
    run_id = new_run(client, {"dataset": "upload", "upload_id": up["upload_id"], "problem": "multiclass",
                              "layers": [4]})
    assert step(client, run_id)["epoch"] == 1
    missing = client.post("/api/runs", json={"config": {"dataset": "upload", "upload_id": "nope"}},
                          headers={"X-CSRF-Token": tok})
    assert missing.status_code == 422 and "no such upload" in missing.json()["error"]
    reg = client.post("/api/uploads", content=_csv(regression=True), headers={"X-CSRF-Token": tok})
    assert reg.json()["problem"] == "regression"


@pytest.mark.parametrize("body, words", [
    (b"1,2\n" * 20, "expected 3 columns"),
    (b"x1,x2,label\n" + b"1,2,a\n" * 20, "'a' is not a number"),
    (b"1,2,0\n" * 5, "at least 10"),
    (b"1,2,nan\n" * 20, "finite"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"1,2,0\n" * 5001, "more than 5000 rows"),
    (b"1,2,1\n" * 20, "same label"),
])
def test_bad_csv_upload_is_422_with_reason(client, body, words):
    r = client.post("/api/uploads", content=body, headers={"X-CSRF-Token": csrf(client), "Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "file"
    assert words in r.json()["error"], r.json()


# ------------------------------------------------------------------------------------ experiments


def test_experiments_save_list_reload_rename_share_delete(client, browser):
    register(client, "olga")
    tok = csrf(client)
    run_id = new_run(client, SPIRAL)
    step(client, run_id, 3)
    r = client.post("/api/experiments", json={"name": "  my spiral ", "run_id": run_id}, headers={"X-CSRF-Token": tok})
    assert r.status_code == 201, r.text
    e = r.json()
    assert e["name"] == "my spiral" and e["epoch"] == 3 and e["owned"] and not e["shared"]
    assert e["config"]["dataset"] == "spiral" and e["config"]["layers"] == [8, 8]
    assert set(e["metrics"]) >= {"train_loss", "test_loss", "test_acc"} and e["has_weights"]
    thumb = client.get(e["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert thumb.content.startswith(PNG_SIGNATURE)
    listed = client.get("/api/experiments").json()["experiments"]
    assert [x["id"] for x in listed] == [e["id"]]
    got = client.get(f"/api/experiments/{e['id']}").json()
    assert got["config"] == e["config"] and got["link"] == f"/?experiment={e['id']}"
    weights = client.get(f"/api/experiments/{e['id']}/export/weights.safetensors")
    assert state_from_bytes(weights.content)["0.weight"].shape == (8, 2)
    code = client.get(f"/api/experiments/{e['id']}/export/code.py")
    assert "EPOCHS = 3" in code.text and "optim.Adam" in code.text
    # reload: the saved config starts a new run
    assert new_run(client, got["config"])
    # config-only save (no run): no metrics, no thumbnail
    r = client.post("/api/experiments", json={"name": "plan", "config": {"dataset": "xor"}},
                    headers={"X-CSRF-Token": tok})
    plan = r.json()
    assert r.status_code == 201 and plan["metrics"] is None and plan["thumbnail"] is None
    assert client.get(f"/api/experiments/{plan['id']}/thumbnail.png").status_code == 404
    assert client.get(f"/api/experiments/{plan['id']}/export/weights.safetensors").status_code == 404
    # rename and share
    r = client.patch(f"/api/experiments/{e['id']}", json={"name": "renamed", "shared": True},
                     headers={"X-CSRF-Token": tok})
    assert r.status_code == 200 and r.json()["name"] == "renamed" and r.json()["shared"]
    assert client.patch(f"/api/experiments/{e['id']}", json={"name": " "},
                        headers={"X-CSRF-Token": tok}).status_code == 422
    assert client.patch(f"/api/experiments/{e['id']}", json={"owner_id": 2},
                        headers={"X-CSRF-Token": tok}).status_code == 422
    # a shared link is readable by anyone, read-only
    stranger = browser()
    assert stranger.get(f"/api/experiments/{e['id']}").json()["owned"] is False
    assert stranger.get(f"/api/experiments/{e['id']}/thumbnail.png").status_code == 200
    assert stranger.get(f"/api/experiments/{e['id']}/export/code.py").status_code == 200
    register(stranger, "pete")
    st = csrf(stranger)
    assert stranger.patch(f"/api/experiments/{e['id']}", json={"name": "mine"},
                          headers={"X-CSRF-Token": st}).status_code == 403
    assert stranger.delete(f"/api/experiments/{e['id']}", headers={"X-CSRF-Token": st}).status_code == 403
    assert stranger.get("/api/experiments").json()["experiments"] == []
    # delete
    assert client.delete(f"/api/experiments/{e['id']}", headers={"X-CSRF-Token": tok}).status_code == 204
    assert client.get(f"/api/experiments/{e['id']}").status_code == 404
    assert client.delete(f"/api/experiments/{e['id']}", headers={"X-CSRF-Token": tok}).status_code == 404


def test_another_users_private_experiment_is_404_everywhere(client, browser):
    register(client, "quinn")
    e = client.post("/api/experiments", json={"name": "secret", "config": {}},
                    headers={"X-CSRF-Token": csrf(client)}).json()
    other = browser()
    register(other, "rita")
    tok = csrf(other)
    base = f"/api/experiments/{e['id']}"
    for method, url, kw in [("get", base, {}), ("get", base + "/thumbnail.png", {}),
                            ("get", base + "/export/weights.safetensors", {}), ("get", base + "/export/code.py", {}),
                            ("patch", base, {"json": {"name": "x"}}), ("delete", base, {})]:
        r = getattr(other, method)(url, headers={"X-CSRF-Token": tok}, **kw)
        assert r.status_code == 404, (method, url, r.status_code)
        assert r.json() == {"error": "no such experiment"}  # same answer as for an id that never existed
        assert getattr(browser(), method)(url, **kw).status_code in (403, 404)  # anonymous: CSRF 403 or 404
    assert other.get("/api/experiments/does-not-exist").json() == {"error": "no such experiment"}
    assert client.get(base).status_code == 200  # still there, unchanged
    assert client.get(base).json()["name"] == "secret"


def test_saving_needs_a_user_and_valid_body(client, browser):
    anon = browser()
    r = anon.post("/api/experiments", json={"name": "x", "config": {}}, headers={"X-CSRF-Token": csrf(anon)})
    assert r.status_code == 401
    assert anon.get("/api/experiments").status_code == 401
    register(client, "sam")
    tok = csrf(client)
    for body, field in [({"name": "", "config": {}}, "name"), ({"name": "x"}, "body"),
                        ({"name": "x", "config": {}, "run_id": "r"}, "body"),
                        ({"name": "x", "config": {"layers": [0]}}, "layers"),
                        ({"name": "x", "run_id": "not-mine"}, "run_id"),
                        ({"name": "x" * 101, "config": {}}, "name")]:
        r = client.post("/api/experiments", json=body, headers={"X-CSRF-Token": tok})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["field"] == field, (body, r.json())


def test_saving_another_browsers_run_is_refused(client, browser):
    run_id = new_run(client)
    thief = browser()
    register(thief, "tom")
    r = thief.post("/api/experiments", json={"name": "stolen", "run_id": run_id}, headers={"X-CSRF-Token": csrf(thief)})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "run_id"


# ------------------------------------------------------------------------------------ event stream (live server)


def test_event_stream_sends_history_and_frames(live_server):
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=10) as c:
        c.get("/")
        tok = c.get("/api/session").json()["csrf_token"]
        run_id = c.post("/api/runs", json={"config": SPIRAL}, headers={"X-CSRF-Token": tok}).json()["run_id"]
        frames = []
        with c.stream("GET", f"/api/runs/{run_id}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "frame":
                    frames.append(json.loads(line[6:]))
                    if len(frames) == 1:
                        c.post(f"/api/runs/{run_id}/play", headers={"X-CSRF-Token": tok})
                    if frames[-1]["epoch"] >= 15:
                        break
        f = frames[-1]
        assert f["run"] == run_id and f["status"] == "playing"
        assert f["test_loss"] < frames[0]["test_loss"]
        assert len(f["grad_norms"]) == 3 and all(g > 0 for g in f["grad_norms"])
        assert f["boundary"]["kind"] == "binary"
        import base64
        assert len(base64.b64decode(f["boundary"]["values"])) == 40 * 40
        assert [len(layer) for layer in f["neurons"]] == [8, 8]
        c.post(f"/api/runs/{run_id}/pause", headers={"X-CSRF-Token": tok})
        other = httpx.get(f"{live_server.url}/api/runs/{run_id}/events", timeout=5)
        assert other.status_code == 404


def test_closing_a_run_ends_its_stream(live_server):
    import httpx

    with httpx.Client(base_url=live_server.url, timeout=10) as c:
        c.get("/")
        tok = c.get("/api/session").json()["csrf_token"]
        run_id = c.post("/api/runs", json={"config": {}}, headers={"X-CSRF-Token": tok}).json()["run_id"]
        events = []
        with c.stream("GET", f"/api/runs/{run_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    events.append(line[7:])
                    if line == "event: frame":
                        httpx.delete(f"{live_server.url}/api/runs/{run_id}", headers={"X-CSRF-Token": tok},
                                     cookies=c.cookies)
        assert events[0] == "history" and events[-1] == "closed"
