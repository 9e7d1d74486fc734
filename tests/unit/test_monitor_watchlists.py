"""Watchlists (TOML): their own scopes, their own thresholds, and sink routing."""

from __future__ import annotations

import pytest
from monitor_helpers import scored

from foundation.errors import ConfigError
from foundation.schemas import Alert
from foundation.settings import (
    AlertSettings,
    RuleSettings,
    Settings,
    SinkSettings,
    WatchlistSettings,
    WindowSettings,
    load_settings,
)
from monitor.core.pipeline import AlertPipeline
from monitor.core.watchlists import Watchlist, routed, rules_for

SIZE = 300


def titled(doc_id, at, title, sentiment="negative", tickers=()):
    d = scored(doc_id, at, sentiment, tickers=tickers)
    return d.model_copy(update={"document": d.document.model_copy(update={"title": title})})


def test_a_watchlist_matches_aliases_patterns_and_tickers():
    w = Watchlist.compile(
        WatchlistSettings(
            name="contagion", aliases=["Alameda"], pattern=r"bankman|\bSBF\b", tickers=["COIN"]
        )
    )
    assert w.matches(titled("a", 0, "alameda research wound down"))
    assert w.matches(titled("b", 0, "SBF speaks"))
    assert w.matches(titled("c", 0, "Exchange shares fall", tickers=("COIN",)))
    assert not w.matches(titled("d", 0, "Alamedas of Lisbon"))  # whole words only


def test_watchlist_alerts_carry_its_name_and_use_its_thresholds():
    base = RuleSettings(
        name="negative_count",
        kind="negative_count",
        scopes=["watchlist"],
        min_baseline_windows=0,
        surprise=50.0,
    )
    lists = [
        WatchlistSettings(
            name="desk", aliases=["Acme"], thresholds={"surprise": 3.0, "min_negative": 2}
        )
    ]
    assert rules_for([base], lists)["desk"][0].surprise == 3.0
    settings = Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[base]),
        watchlists=lists,
    )
    p = AlertPipeline(settings)
    alerts = []
    for w in range(300):  # past the warm-up
        p.add(titled(f"calm{w}", w * SIZE, "Markets steady", "neutral"))
        alerts += p.advance().alerts
    for i in range(6):
        p.add(titled(f"acme{i}", 300 * SIZE + 60 * i, f"Acme Bank halts withdrawals {i}"))
        alerts += p.advance().alerts
    for w in range(301, 305):
        p.add(titled(f"tick{w}", w * SIZE, "Markets steady", "neutral"))
        alerts += p.advance().alerts
    (a,) = [a for a in alerts if a.status == "firing"]
    assert (a.scope_kind, a.scope) == ("watchlist", "desk")
    assert a.figures["negative_surprise"] >= 3.0


def test_bad_watchlists_are_config_errors():
    with pytest.raises(ConfigError, match="needs aliases"):
        load_settings(watchlists=[{"name": "empty"}])
    with pytest.raises(ConfigError, match="bad pattern"):
        load_settings(watchlists=[{"name": "x", "pattern": "("}])
    with pytest.raises(ConfigError, match="not a rule threshold"):
        load_settings(watchlists=[{"name": "x", "aliases": ["A"], "thresholds": {"zz": 1}}])


def alert(kind, scope):
    from datetime import UTC, datetime

    t = datetime(2022, 11, 8, tzinfo=UTC)
    return Alert(
        fingerprint="f",
        rule="r",
        scope_kind=kind,
        scope=scope,
        status="firing",
        starts_at=t,
        updated_at=t,
    )


def test_sink_routing_by_scope_kind_and_watchlist():
    every = SinkSettings(name="all", kind="webhook", url="http://x")
    desk = SinkSettings(name="desk", kind="slack", url="http://x", watchlists=["desk"])
    names = SinkSettings(
        name="names", kind="webhook", url="http://x", scope_kinds=["entity", "ticker"]
    )
    assert routed(every, alert("topic", "macro"))
    assert routed(desk, alert("watchlist", "desk")) and not routed(desk, alert("entity", "FTX"))
    assert not routed(desk, alert("watchlist", "other"))
    assert routed(names, alert("entity", "FTX")) and not routed(names, alert("all", "all"))


def test_a_watchlist_silence_names_analyst_watchlists_and_plain_scope_lists():
    from foundation.settings import Settings
    from monitor.core.silences import parse_matchers

    s = Settings(
        watchlists=[{"name": "desk", "aliases": ["Acme"]}],
        alerts={"watchlists": {"banks": ["ticker:SIVB"]}},
    )
    lists = s.silence_lists()
    assert lists == {"desk": ["watchlist:desk"], "banks": ["ticker:SIVB"]}
    (m,) = parse_matchers(["watchlist=desk"], lists)
    assert m.matches({"scope_kind": "watchlist", "scope": "desk"}, lists)
    assert not m.matches({"scope_kind": "ticker", "scope": "SIVB"}, lists)
