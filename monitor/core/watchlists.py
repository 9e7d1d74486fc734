"""Watchlists: analysts' own scopes from TOML (pure).

A document counts in ``watchlist:<name>`` when its title or summary names one of the
watchlist's aliases (whole words, case-insensitive), matches its ``pattern`` (a regular
expression, case-insensitive), or carries one of its tickers. Each rule that judges
``watchlist`` scopes runs for a watchlist with that watchlist's ``thresholds`` applied
(:func:`rules_for`), so a desk can page earlier on its own names than the defaults do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from foundation.schemas import Alert, ScoredDocument
from foundation.settings import RuleSettings, SinkSettings, WatchlistSettings


@dataclass(frozen=True, slots=True)
class Watchlist:
    name: str
    regex: re.Pattern[str] | None
    tickers: frozenset[str]

    @classmethod
    def compile(cls, w: WatchlistSettings) -> Watchlist:
        parts = [r"\b" + re.escape(a.strip()) + r"\b" for a in w.aliases if a.strip()]
        if w.pattern:
            parts.append(f"(?:{w.pattern})")
        regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        return cls(w.name, regex, frozenset(t.strip().upper() for t in w.tickers))

    def matches(self, doc: ScoredDocument) -> bool:
        d = doc.document
        if self.tickers and self.tickers.intersection(t.upper() for t in d.tickers):
            return True
        if self.regex is None:
            return False
        return self.regex.search(d.title) is not None or (
            bool(d.summary) and self.regex.search(d.summary) is not None
        )


class WatchlistScopes:
    """The ``watchlist:`` scope keys of a document, for every configured watchlist."""

    def __init__(self, watchlists: Sequence[WatchlistSettings]) -> None:
        self.lists = [Watchlist.compile(w) for w in watchlists]

    def scopes(self, doc: ScoredDocument) -> list[str]:
        return ["watchlist:" + w.name for w in self.lists if w.matches(doc)]


def rules_for(
    rules: Sequence[RuleSettings], watchlists: Sequence[WatchlistSettings]
) -> dict[str, list[RuleSettings]]:
    """Per watchlist name, the rules judging ``watchlist`` scopes with its thresholds applied
    (validated: a bad value is a settings error naming the field)."""
    out: dict[str, list[RuleSettings]] = {}
    for w in watchlists:
        out[w.name] = [
            RuleSettings.model_validate({**r.model_dump(), **w.thresholds})
            for r in rules
            if "watchlist" in r.scopes
        ]
    return out


def routed(sink: SinkSettings, alert: Alert) -> bool:
    """Whether ``sink`` takes ``alert`` (like an Alertmanager route): a sink with neither
    ``scope_kinds`` nor ``watchlists`` takes everything; otherwise the alert's scope kind must
    be listed, or it is a watchlist alert of a listed watchlist."""
    return routes(sink, alert.scope_kind, alert.scope)


def routes(sink: SinkSettings, scope_kind: str, scope: str) -> bool:
    """Whether ``sink`` takes alerts of one scope (see :func:`routed`)."""
    if not sink.scope_kinds and not sink.watchlists:
        return True
    if scope_kind in sink.scope_kinds:
        return True
    return scope_kind == "watchlist" and scope in sink.watchlists
