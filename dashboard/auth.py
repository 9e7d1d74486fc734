"""Login for the dashboard: hashed passwords, server-side sessions, and a guard on every route.

When users are configured every route except ``/login``, ``/logout`` and ``/healthz``
requires a logged-in session: pages redirect to the login form, Dash's own endpoints
(``/_dash-layout``, ``/_dash-dependencies``, ``/_dash-update-component``, the component
bundles) and ``/api/*`` answer 401. With no users the app has no login, and the command
refuses to bind anything but 127.0.0.1 (:func:`check_bind`).

Hardening (docs/reliability.md#security): ``next`` is a same-origin path or ``/``; failed
sign-ins are rate limited per user name and per client address (:mod:`dashboard.login_limits`);
an unknown user costs the same hash check as a known one; the cookie carries only a session
id that the server forgets at logout, after idle time and after a maximum age
(:mod:`dashboard.sessions`); cookies are ``Secure`` on HTTPS (or behind a trusted proxy that
says so); the login form and every POST (Dash callbacks) need a CSRF token, which Dash's
renderer sends by itself from the ``_csrf_token`` cookie as ``X-CSRFToken``.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.login_limits import LoginLimiter
from dashboard.sessions import LoginSession, SessionStore
from foundation.errors import ConfigError
from foundation.settings import DashboardSettings
from foundation.toml import read_toml

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
LOOPBACK = "127.0.0.1"
OPEN_PATHS = frozenset({"/login", "/logout", "/healthz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
# Sent on every response: no framing (clickjacking of the correction buttons), no MIME
# sniffing, no full URLs (with their filters) in Referer to other sites.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Dash's renderer reads this cookie and sends it back as this header on every callback POST.
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
_HASH_PREFIXES = ("pbkdf2:", "scrypt:")
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


def _dummy_hash(users: Mapping[str, str]) -> str:
    """A hash made the same way as the configured ones (method and cost), checked for a name
    that is not a user, so an unknown name takes as long as a wrong password."""
    methods = Counter(h.split("$", 1)[0] for h in users.values())
    method = methods.most_common(1)[0][0] if methods else "scrypt"
    try:
        return generate_password_hash(secrets.token_hex(16), method=method)
    except ValueError:  # an old or unusual method string: werkzeug's default
        return generate_password_hash(secrets.token_hex(16))


def current_user() -> str:
    """The logged-in user, or "anonymous" (no users configured, or outside a request)."""
    try:
        sess: LoginSession | None = g.get("login_session")
    except RuntimeError:
        return ANONYMOUS
    return sess.user if sess is not None else ANONYMOUS


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else "/" (never an open redirect).

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so "/",
    TAB, "/evil.example" or "/", backslash, "evil.example" become "//evil.example": anything
    with a control character, a space or a backslash is refused, as are "//", schemes, hosts.
    """
    if not target or len(target) > 2000:
        return "/"
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target) or "\\" in target:
        return "/"
    if not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


_safe_next = safe_next  # the name older callers used


def _login_page(error: str = "", next_url: str = "/", csrf: str = "") -> str:
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
<input type="hidden" name="csrf_token" value="{html.escape(csrf)}">
<label for="username">User</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button id="login-button" type="submit">Sign in</button>
</form></body></html>"""


class _SessionInterface(SecureCookieSessionInterface):
    # Secure whenever this request came over HTTPS (directly, or said so by a trusted proxy).
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def _host_name(host: str) -> str:
    """The Host header without its port ("[::1]:8050" -> "[::1]")."""
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower()


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def install(
    server: Flask,
    users: Mapping[str, str],
    secret_key: str | None,
    cfg: DashboardSettings | None = None,
) -> None:
    """Add /login, /logout and the guard to the Flask server of the Dash app."""
    cfg = cfg or DashboardSettings()
    server.secret_key = secret_key or secrets.token_hex(32)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=cfg.session_max_age_s),
    )
    server.session_interface = _SessionInterface()
    if cfg.trust_proxy:
        # One proxy in front: its X-Forwarded-For/-Proto replace the peer address and scheme.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    users = dict(users)
    dummy = _dummy_hash(users)
    sessions = SessionStore(cfg.session_max_age_s, cfg.session_idle_s)
    limiter = LoginLimiter(
        max_failures=cfg.login_max_failures,
        max_failures_per_client=cfg.login_max_failures_per_client,
        window_s=cfg.login_window_s,
        lockout_s=cfg.login_lockout_s,
    )
    server.extensions["finpulse_sessions"] = sessions
    server.extensions["finpulse_login_limiter"] = limiter

    def login_form(error: str = "", next_url: str = "/", status: int = 200) -> Any:
        # A fresh token in the (signed) pre-login cookie, echoed by the form.
        token = secrets.token_urlsafe(32)
        session["login_csrf"] = token
        return _login_page(error, next_url, token), status

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if not users:
            return redirect("/")
        if request.method == "GET":
            return login_form(next_url=safe_next(request.args.get("next")))
        name = request.form.get("username", "")[:200]
        password = request.form.get("password", "")
        next_url = safe_next(request.form.get("next"))
        client = request.remote_addr or "unknown"
        if not _same(request.form.get("csrf_token"), session.get("login_csrf")):
            log.warning("dashboard login from %s refused: missing or wrong CSRF token", client)
            return login_form("The form expired; please sign in again.", next_url, 400)
        wait = limiter.locked_for(name, client)
        if wait > 0:
            log.warning("dashboard login for %r from %s refused: locked out", name, client)
            body, status = login_form(
                f"Too many failed sign-ins; try again in {wait:.0f} s.", next_url, 429
            )
            return body, status, {"Retry-After": str(int(wait) + 1)}
        stored = users.get(name)
        # The hash is checked for unknown names too (against one made like the real ones).
        ok = check_password_hash(stored or dummy, password) and stored is not None
        if not ok:
            limiter.failure(name, client)
            log.warning("dashboard login failed for user %r from %s", name, client)
            time.sleep(_FAIL_DELAY_S)
            return login_form("Wrong user name or password.", next_url, 401)
        limiter.success(name, client)
        session.clear()  # a new id at every login (no session fixation)
        session["sid"] = sessions.new(name)
        session.permanent = True
        log.info("dashboard login: %s from %s", name, client)
        return redirect(next_url)

    @server.route("/logout")
    def logout() -> Any:
        sessions.revoke(session.get("sid"))
        session.clear()
        resp = redirect("/login" if users else "/")
        resp.delete_cookie(CSRF_COOKIE)
        return resp

    @server.before_request
    def guard() -> Any:
        if not users:
            # No login: loopback only. Dash's callbacks are JSON POSTs, which a page of
            # another origin cannot send without a CORS preflight this app never answers;
            # a loopback Host only, so a DNS-rebinding page cannot read it either.
            if _host_name(request.host) not in LOOPBACK_HOSTS:
                return jsonify(error="without login the dashboard answers loopback hosts only"), 403
            return None
        g.login_session = sessions.get(session.get("sid"))
        if request.path in OPEN_PATHS:
            return None
        if g.login_session is None or g.login_session.user not in users:
            if request.method != "GET" or request.path.startswith(("/_dash-", "/api/", "/_")):
                return jsonify(error="login required"), 401
            target = request.full_path.rstrip("?")
            return redirect(f"/login?next={quote(target, safe='')}")
        if request.method not in SAFE_METHODS and not _same(
            request.headers.get(CSRF_HEADER), g.login_session.csrf
        ):
            return jsonify(error=f"CSRF token missing or wrong ({CSRF_HEADER} header)"), 403
        return None

    @server.after_request
    def csrf_cookie(resp: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        sess: LoginSession | None = g.get("login_session")
        if sess is None and request.path == "/login" and session.get("sid"):
            sess = sessions.get(session["sid"])  # the response that completes a login
        if sess is not None and request.cookies.get(CSRF_COOKIE) != sess.csrf:
            # Readable by the page's script (that is how Dash sends it back), so not HttpOnly.
            resp.set_cookie(
                CSRF_COOKIE,
                sess.csrf,
                max_age=int(cfg.session_max_age_s),
                secure=request.is_secure,
                httponly=False,
                samesite="Lax",
            )
        return resp
