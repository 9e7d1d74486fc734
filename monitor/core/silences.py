"""Silences (Alertmanager semantics), pure: matchers, activity at a given time, matching.

A silence is a set of matchers over an alert's labels (``rule``, ``scope_kind``, ``scope``,
``fingerprint``, and ``watchlist``: a named list of ``kind:scope`` items from
``settings.alerts.watchlists``) with a start and an end. It applies while
``starts_at <= now < ends_at``: an expired silence stops applying by itself, because the
clock is an argument, never read here. All matchers must match (AND), as in Alertmanager.
A silenced alert is still detected, stored and shown; only its notifications are held back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

LABELS = ("rule", "scope_kind", "scope", "fingerprint", "watchlist")
OPS = ("=~", "!~", "!=", "=")  # longest first, so "=~" is not read as "="
Op = Literal["=", "!=", "=~", "!~"]
_MATCHER = re.compile(r"^\s*([a-z_]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


class SilenceError(ValueError):
    """A matcher or silence that cannot be used; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Op
    value: str

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"

    def matches(self, labels: Mapping[str, str], watchlists: Mapping[str, Sequence[str]]) -> bool:
        if self.name == "watchlist":
            # "is this alert's scope on the named list"; = and != only (checked at parse).
            items = watchlists.get(self.value, ())
            on = f"{labels.get('scope_kind', '')}:{labels.get('scope', '')}" in items
            return on if self.op == "=" else not on
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None  # anchored, like Alertmanager
        return hit if self.op == "=~" else not hit


def parse_matcher(text: str) -> Matcher:
    """``scope_kind=ticker``, ``scope=~"SIVB|FRC"``, ``rule!=volume_spike``, ``watchlist=banks``."""
    m = _MATCHER.match(text)
    if not m:
        raise SilenceError(f"matcher {text!r}: expected NAME=VALUE (or !=, =~, !~)")
    name, op, value = m.group(1), m.group(2), m.group(3)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if name not in LABELS:
        raise SilenceError(f"matcher {text!r}: unknown label {name!r} (one of {', '.join(LABELS)})")
    if not value:
        raise SilenceError(f"matcher {text!r}: empty value")
    if name == "watchlist" and op not in ("=", "!="):
        raise SilenceError(f"matcher {text!r}: a watchlist takes = or != only")
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise SilenceError(f"matcher {text!r}: bad regular expression: {exc}") from None
    return Matcher(name, op, value)  # type: ignore[arg-type]


def parse_matchers(
    texts: Iterable[str], watchlists: Mapping[str, Sequence[str]] | None = None
) -> tuple[Matcher, ...]:
    """Every matcher parsed; at least one, and a named watchlist must exist when given."""
    out = tuple(parse_matcher(t) for t in texts)
    if not out:
        raise SilenceError("a silence needs at least one matcher (e.g. scope_kind=ticker)")
    if watchlists is not None:
        for m in out:
            if m.name == "watchlist" and m.value not in watchlists:
                known = ", ".join(sorted(watchlists)) or "none configured"
                raise SilenceError(
                    f"matcher {m}: no watchlist {m.value!r} in alerts.watchlists ({known})"
                )
    return out


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""
    created_at: datetime | None = None

    def state(self, now: datetime) -> Literal["pending", "active", "expired"]:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def matches(
        self, labels: Mapping[str, str], watchlists: Mapping[str, Sequence[str]] = {}
    ) -> bool:
        return all(m.matches(labels, watchlists) for m in self.matchers)


def check_period(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise SilenceError(
            f"a silence must end after it starts ({starts_at.isoformat()} -> {ends_at.isoformat()})"
        )


def alert_labels(rule: str, scope_kind: str, scope: str, fingerprint: str) -> dict[str, str]:
    """The labels a silence matches on (the same names as the Alertmanager sink's labels)."""
    return {"rule": rule, "scope_kind": scope_kind, "scope": scope, "fingerprint": fingerprint}


def silenced_by(
    labels: Mapping[str, str],
    silences: Iterable[Silence],
    now: datetime,
    watchlists: Mapping[str, Sequence[str]] = {},
) -> Silence | None:
    """The first silence active at ``now`` that matches ``labels`` (None: not silenced)."""
    for s in silences:
        if s.state(now) == "active" and s.matches(labels, watchlists):
            return s
    return None
