"""Secrets out of log lines and error messages: URL passwords, key-like query values, Slack
webhook paths, and every secret value the settings name (registered at start-up).

:func:`redact` is applied at the sources of messages that show a URL (the dashboard's
start-up line, store errors, the CLI's error line) and, as a net under everything else, by
the logging filter in :mod:`foundation.logs`.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any
from urllib.parse import unquote

MASK = "***"

# scheme://user:PASSWORD@host; greedy up to the last "@" of the authority, since a password
# may hold an unencoded "@".
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*:)([^\s'\"/]+)(@)")
_QUERY_SECRET = re.compile(
    r"([?&;](?:password|passwd|pwd|token|access_token|api[_-]?key|key|secret|sig|signature|"
    r"routing_key|auth)=)([^&\s'\"#]+)",
    re.IGNORECASE,
)
# A Slack incoming-webhook URL is itself the credential.
_SLACK_PATH = re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9/_\-]+")

_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (also its URL-decoded form)."""
    if not value:
        return
    with _lock:
        for v in {value, unquote(value)}:
            if len(v) >= _MIN_SECRET_LEN:
                _secrets.add(v)


def redact(text: str) -> str:
    """``text`` with every secret it shows replaced by ``***``."""
    if not text:
        return text
    out = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text)
    out = _QUERY_SECRET.sub(rf"\g<1>{MASK}", out)
    out = _SLACK_PATH.sub(rf"\g<1>{MASK}", out)
    if _secrets:
        with _lock:
            known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leaks
        for s in known:
            if s in out:
                out = out.replace(s, MASK)
    return out


def mask_url(url: str | None) -> str:
    """A URL fit to print: its password (and key-like query values) masked."""
    return redact(url or "")


def _url_password(url: str | None) -> str | None:
    m = _URL_PASSWORD.search(url or "")
    return m.group(2) if m else None


def register_settings_secrets(settings: Any, environ: Any = os.environ) -> None:
    """Register every secret the settings hold or point to (called once by the CLI)."""
    values: list[str | None] = [
        _url_password(settings.store.url),
        _url_password(settings.broker.url),
    ]
    dash = settings.dashboard
    if dash.secret_key is not None:
        values.append(dash.secret_key.get_secret_value())
    for sink in settings.sinks:
        values.append(_url_password(sink.url))
        if sink.secret_env:
            values.append(environ.get(sink.secret_env))
    for v in values:
        register_secret(v)
