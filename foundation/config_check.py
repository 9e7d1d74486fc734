"""What ``finpulse config show`` prints and what ``finpulse config check`` verifies (pure).

:func:`masked` turns settings into plain JSON with every secret hidden: ``SecretStr`` fields,
passwords in URLs (``postgresql://user:***@host``), secret-looking query parameters, and the
path of Slack/PagerDuty-style webhook URLs, whose path is the credential.
:func:`problems` lists what would fail at run time although the file validates: a sink's
``secret_env`` that is not set, a URL that does not parse, a users file that is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from foundation.settings import Settings

MASK = "***"
_SECRET_PARAMS = ("key", "token", "secret", "password", "sig", "auth")
# Sinks whose URL path is itself the credential (https://hooks.slack.com/services/T/B/XXXX).
_PATH_IS_SECRET = {"slack"}


def mask_url(url: str, *, hide_path: bool = False) -> str:
    """``url`` with its password, secret-looking query values and (optionally) path hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rsplit("@", 1)[1]
        netloc = f"{user}:{MASK}@{host}"
    query = urlencode(
        [
            (k, MASK if any(s in k.lower() for s in _SECRET_PARAMS) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    path = f"/{MASK}" if hide_path and parts.path.strip("/") else parts.path
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def masked(settings: Settings) -> dict[str, Any]:
    """The merged settings as JSON-ready data, secrets hidden."""
    data: dict[str, Any] = settings.model_dump(mode="json")  # SecretStr dumps as '**********'
    data["store"]["url"] = mask_url(data["store"]["url"])
    if data["broker"]["url"]:
        data["broker"]["url"] = mask_url(data["broker"]["url"])
    for sink in data["sinks"]:
        sink["url"] = mask_url(sink["url"], hide_path=sink["kind"] in _PATH_IS_SECRET)
    for source in data["ingest"]["sources"]:
        source["url"] = mask_url(source["url"])
    return data


def url_problem(url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """Why ``url`` is not a usable URL with one of ``schemes``, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"does not parse ({exc})"
    if parts.scheme not in schemes:
        return f"scheme {parts.scheme or '(none)'!r} is not one of {', '.join(schemes)}"
    if not parts.hostname:
        return "has no host"
    return None


def problems(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every problem found without the network, one line each naming the setting."""
    out: list[str] = []
    for i, sink in enumerate(settings.sinks):
        where = f"sinks[{i}] ({sink.name})"
        if sink.secret_env and not environ.get(sink.secret_env):
            out.append(f"{where}: secret_env {sink.secret_env} is not set in the environment")
        if (why := url_problem(sink.url)) is not None:
            out.append(f"{where}: url {mask_url(sink.url)!r} {why}")
    names = [s.name for s in settings.sinks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        out.append(f"sinks: the name {name!r} is used more than once")
    if (why := url_problem(settings.alerts.dashboard_url)) is not None:
        out.append(f"alerts.dashboard_url {settings.alerts.dashboard_url!r} {why}")
    try:
        from sqlalchemy.engine import make_url

        make_url(settings.store.url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, ValueError, ...
        out.append(f"store.url {mask_url(settings.store.url)!r} does not parse ({exc})")
    users_file = settings.dashboard.users_file
    if users_file and not Path(users_file).is_file():
        out.append(f"dashboard.users_file {users_file} does not exist")
    for i, src in enumerate(settings.ingest.sources):
        if src.url.startswith(("http://", "https://")) and (why := url_problem(src.url)):
            out.append(f"ingest.sources[{i}] ({src.name}): url {why}")
    return out
