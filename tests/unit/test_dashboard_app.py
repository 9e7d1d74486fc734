"""The Flask side of the app: login guard, health, the JSON API, and a real callback round trip."""

import json
import re
from datetime import UTC, datetime

import pytest
from werkzeug.security import generate_password_hash

from dashboard import auth, sample
from dashboard.app import create_app
from foundation.errors import ConfigError
from foundation.settings import load_settings
from foundation.store import Store

END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('app')}/a.db"
    store = Store(url)
    sample.fill(store, END, hours=3, per_window=4)
    store.dispose()
    return url


def make(store_url, **dashboard):
    settings = load_settings(
        store={"url": store_url}, model={"path": "baseline"}, dashboard=dashboard
    )
    return create_app(settings).server.test_client()


def dash_post(client, outputs, inputs, state=(), headers=None):
    body = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        if len(outputs) > 1
        else f"{outputs[0][0]}.{outputs[0][1]}",
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs],
    }
    return client.post("/_dash-update-component", json=body, headers=headers or {})


OVERVIEW_OUT = [
    ("ov-headline", "children"),
    ("ov-range", "children"),
    ("ov-index", "figure"),
    ("ov-topics", "children"),
    ("ov-heatmap", "figure"),
    ("ov-volume", "figure"),
]


def test_open_app_serves_pages_health_api_and_callbacks(store_url):
    c = make(store_url)
    assert c.get("/healthz").json == {"status": "ok"}
    assert c.get("/").status_code == 200
    docs = c.get("/api/documents?limit=5").json
    assert len(docs) == 5
    assert set(docs[0]) == {"id", "title", "source", "published", "topic", "sentiment", "score"}
    assert docs == sorted(docs, key=lambda d: d["published"], reverse=True)
    assert c.get("/api/documents?limit=0").status_code == 400
    assert c.get("/api/documents?limit=x").status_code == 400
    neg = c.get("/api/documents?limit=50&sentiment=negative").json
    assert neg and all(d["sentiment"] == "negative" for d in neg)
    r = dash_post(c, OVERVIEW_OUT, [("url", "search", "?topic=earnings")])
    assert r.status_code == 200, r.data[:500]
    resp = json.loads(r.data)["response"]
    index = resp["ov-index"]["figure"]
    assert [t["name"] for t in index["data"]] == ["earnings"]


def test_login_guards_every_route(store_url):
    c = make(store_url, users={"alice": generate_password_hash(PASSWORD)}, secret_key="k")
    assert c.get("/healthz").status_code == 200
    r = c.get("/topic/earnings?range=6h")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=%2Ftopic%2Fearnings%3Frange%3D6h"
    for path in ("/_dash-layout", "/_dash-dependencies", "/api/documents"):
        assert c.get(path).status_code == 401, path
    assert dash_post(c, OVERVIEW_OUT, [("url", "search", "")]).status_code == 401

    def post_login(**data):
        # The form's CSRF token (tests/unit/test_dashboard_auth.py has the hardening tests).
        token = re.search(rb'name="csrf_token" value="([^"]+)"', c.get("/login").data)
        return c.post("/login", data={**data, "csrf_token": token.group(1).decode()})

    bad = post_login(username="alice", password="wrong")
    assert bad.status_code == 401 and b"Wrong user name or password" in bad.data
    assert post_login(username="bob", password=PASSWORD).status_code == 401
    ok = post_login(username="alice", password=PASSWORD, next="//evil.com")
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert c.get("/api/documents?limit=1").status_code == 200
    csrf = {"X-CSRFToken": c.get_cookie(auth.CSRF_COOKIE).value}
    assert dash_post(c, OVERVIEW_OUT, [("url", "search", "")], headers=csrf).status_code == 200
    c.get("/logout")
    assert c.get("/api/documents?limit=1").status_code == 401


def test_login_page_escapes_the_next_parameter(store_url):
    c = make(store_url, users={"alice": generate_password_hash(PASSWORD)})
    page = c.get('/login?next=/"><script>x</script>').data
    assert b"<script>x" not in page


def test_users_from_a_file_and_plain_passwords_refused(tmp_path):
    h = generate_password_hash(PASSWORD)
    toml = tmp_path / "users.toml"
    toml.write_text(f'[users]\nalice = "{h}"\n')
    js = tmp_path / "users.json"
    js.write_text(json.dumps({"users": {"bob": h}}))
    cfg = load_settings(dashboard={"users_file": str(toml), "users": {"carol": h}}).dashboard
    assert set(auth.load_users(cfg)) == {"alice", "carol"}
    assert set(auth.load_users(load_settings(dashboard={"users_file": str(js)}).dashboard)) == {
        "bob"
    }
    with pytest.raises(ConfigError, match="werkzeug hash"):
        auth.load_users(load_settings(dashboard={"users": {"eve": "plaintext"}}).dashboard)
    with pytest.raises(ConfigError, match="not found"):
        auth.load_users(load_settings(dashboard={"users_file": str(tmp_path / "no")}).dashboard)
    (tmp_path / "bad.toml").write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"\[users\]"):
        auth.load_users(
            load_settings(dashboard={"users_file": str(tmp_path / "bad.toml")}).dashboard
        )


def test_without_users_only_loopback_is_allowed():
    auth.check_bind("127.0.0.1", {})
    auth.check_bind("0.0.0.0", {"alice": "pbkdf2:x$y"})
    with pytest.raises(ConfigError, match=r"binds to 127\.0\.0\.1"):
        auth.check_bind("0.0.0.0", {})


def test_hash_password_round_trips():
    from werkzeug.security import check_password_hash

    assert check_password_hash(auth.hash_password("pw"), "pw")
    with pytest.raises(ConfigError):
        auth.hash_password("")


def test_cli_refuses_a_public_host_without_users(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    monkeypatch.setenv("FINPULSE_STORE__URL", f"sqlite:///{tmp_path}/c.db")
    res = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2
    assert "only binds to 127.0.0.1" in res.output


def test_cli_hash_password(monkeypatch):
    from click.testing import CliRunner
    from werkzeug.security import check_password_hash

    from cli.main import main

    res = CliRunner().invoke(main, ["dashboard", "--hash-password"], input="pw1\npw1\n")
    assert res.exit_code == 0, res.output
    assert check_password_hash(res.output.strip().splitlines()[-1], "pw1")
