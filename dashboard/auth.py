"""Login for the dashboard: hashed passwords, a Flask session, and a guard on every route.

When users are configured every route except ``/login``, ``/logout`` and ``/healthz``
requires a logged-in session: pages redirect to the login form, Dash's own endpoints
(``/_dash-layout``, ``/_dash-dependencies``, ``/_dash-update-component``, the component
bundles) and ``/api/*`` answer 401. With no users the app has no login, and the command
refuses to bind anything but 127.0.0.1 (:func:`check_bind`).
"""

from __future__ import annotations

import html
import json
import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, jsonify, redirect, request, session
from werkzeug.security import check_password_hash, generate_password_hash

from foundation.errors import ConfigError
from foundation.settings import DashboardSettings
from foundation.toml import read_toml

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
LOOPBACK = "127.0.0.1"
OPEN_PATHS = frozenset({"/login", "/logout", "/healthz"})
_HASH_PREFIXES = ("pbkdf2:", "scrypt:")
# Compared against when the user name is unknown, so a miss costs the same as a wrong password.
_DUMMY_HASH = generate_password_hash("finpulse-dummy-password", method="pbkdf2:sha256:1000")
_FAIL_DELAY_S = 0.3


def hash_password(password: str) -> str:
    """A werkzeug hash for the users table (``finpulse dashboard --hash-password``)."""
    if not password:
        raise ConfigError("the password must not be empty")
    return generate_password_hash(password)


def _read_users_file(path: str) -> dict[str, str]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"dashboard.users_file not found: {p}")
    try:
        data: Any = (
            json.loads(p.read_text(encoding="utf-8"))
            if p.suffix == ".json"
            else read_toml(p, "dashboard.users_file")
        )
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read dashboard.users_file {p}: {exc}") from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, dict):
        raise ConfigError(f"dashboard.users_file {p} has no [users] table (name = hash)")
    return {str(k): str(v) for k, v in users.items()}


def load_users(cfg: DashboardSettings) -> dict[str, str]:
    """name -> password hash from ``users`` and ``users_file``; a plain password is refused."""
    users: dict[str, str] = {}
    if cfg.users_file:
        users.update(_read_users_file(cfg.users_file))
    users.update({name: h.get_secret_value() for name, h in cfg.users.items()})
    for name, h in users.items():
        if not name.strip():
            raise ConfigError("dashboard user names must not be empty")
        if not h.startswith(_HASH_PREFIXES) or "$" not in h:
            raise ConfigError(
                f"dashboard user {name!r}: the password must be a werkzeug hash "
                "(make one with `finpulse dashboard --hash-password`), not plain text"
            )
    return users


def check_bind(host: str, users: Mapping[str, str]) -> None:
    """Without users the dashboard is open, so it may only listen on the loopback address."""
    if not users and host != LOOPBACK:
        raise ConfigError(
            f"dashboard.host={host!r} needs login: no dashboard users are configured, so the "
            f"dashboard only binds to {LOOPBACK}. Configure dashboard.users or "
            "dashboard.users_file (see docs/dashboard.md) or use host 127.0.0.1."
        )


def current_user() -> str:
    """The logged-in user, or "anonymous" (no users configured, or outside a request)."""
    try:
        return str(session.get("user") or ANONYMOUS)
    except RuntimeError:
        return ANONYMOUS


def _safe_next(target: str | None) -> str:
    # Only same-site paths: no scheme, no "//host" (an open redirect otherwise).
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(error: str = "", next_url: str = "/") -> str:
    msg = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>finpulse · sign in</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f6f8; display: flex;
  justify-content: center; margin-top: 12vh; }}
form {{ background: #fff; padding: 2em 2.4em; border-radius: 8px;
  box-shadow: 0 1px 4px rgba(0,0,0,.15); min-width: 18em; }}
label {{ display: block; margin-top: .8em; }}
input {{ width: 100%; padding: .4em; box-sizing: border-box; }}
button {{ margin-top: 1.2em; padding: .5em 1.4em; }} .error {{ color: #b00020; }}
</style></head>
<body><form method="post" action="/login">
<h2>finpulse</h2>{msg}
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label for="username">User</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="login-button" type="submit">Sign in</button>
</form></body></html>"""


def install(server: Flask, users: Mapping[str, str], secret_key: str | None) -> None:
    """Add /login, /logout and the guard to the Flask server of the Dash app."""
    server.secret_key = secret_key or secrets.token_hex(32)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    users = dict(users)

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if not users:
            return redirect("/")
        if request.method == "GET":
            return _login_page(next_url=_safe_next(request.args.get("next")))
        name = request.form.get("username", "")
        password = request.form.get("password", "")
        next_url = _safe_next(request.form.get("next"))
        stored = users.get(name)
        ok = check_password_hash(stored or _DUMMY_HASH, password) and stored is not None
        if not ok:
            log.warning("dashboard login failed for user %r from %s", name, request.remote_addr)
            time.sleep(_FAIL_DELAY_S)
            return _login_page("Wrong user name or password.", next_url), 401
        session.clear()
        session["user"] = name
        log.info("dashboard login: %s", name)
        return redirect(next_url)

    @server.route("/logout")
    def logout() -> Any:
        session.clear()
        return redirect("/login" if users else "/")

    @server.before_request
    def guard() -> Any:
        if not users or request.path in OPEN_PATHS:
            return None
        if session.get("user") in users:
            return None
        if request.method != "GET" or request.path.startswith(("/_dash-", "/api/", "/_")):
            return jsonify(error="login required"), 401
        target = request.full_path.rstrip("?")
        return redirect(f"/login?next={quote(target, safe='')}")
