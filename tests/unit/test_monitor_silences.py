"""Silence matching and expiry, pure, with explicit timestamps (no clock is read)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.silences import (
    Silence,
    SilenceError,
    alert_labels,
    check_period,
    parse_matcher,
    parse_matchers,
    silenced_by,
)

T = datetime(2023, 3, 10, 15, tzinfo=UTC)
SIVB = alert_labels("negative_surge", "ticker", "SIVB", "f1")
JPM = alert_labels("negative_surge", "ticker", "JPM", "f2")
FIN = alert_labels("negative_surge", "sector", "financials", "f3")
WATCH = {"banks": ["ticker:SIVB", "ticker:FRC", "sector:financials"]}


def silence(*matchers: str, start: datetime = T, hours: float = 2) -> Silence:
    return Silence("s1", parse_matchers(matchers), start, start + timedelta(hours=hours))


def test_all_matchers_must_match():
    s = silence("scope_kind=ticker", "scope=SIVB")
    assert s.matches(SIVB) and not s.matches(JPM) and not s.matches(FIN)


def test_operators():
    assert silence("scope!=JPM").matches(SIVB) and not silence("scope!=JPM").matches(JPM)
    regex = silence('scope=~"SIVB|FRC"')
    assert regex.matches(SIVB) and not regex.matches(JPM)
    assert not silence("scope=~SIV").matches(SIVB)  # anchored, like Alertmanager
    assert silence("scope!~J.*").matches(SIVB) and not silence("scope!~J.*").matches(JPM)
    assert silence("rule=negative_surge", "fingerprint=f2").matches(JPM)


def test_watchlist():
    s = silence("watchlist=banks")
    assert s.matches(SIVB, WATCH) and s.matches(FIN, WATCH) and not s.matches(JPM, WATCH)
    assert silence("watchlist!=banks").matches(JPM, WATCH)
    assert not s.matches(SIVB, {})  # a list that is not configured matches nothing


def test_active_only_between_start_and_end_and_expires_by_itself():
    s = silence("scope=SIVB", start=T, hours=1)
    assert s.state(T - timedelta(seconds=1)) == "pending"
    assert s.state(T) == "active"
    assert s.state(T + timedelta(minutes=59, seconds=59)) == "active"
    assert s.state(T + timedelta(hours=1)) == "expired"  # the end is exclusive
    assert silenced_by(SIVB, [s], T - timedelta(minutes=1)) is None
    assert silenced_by(SIVB, [s], T + timedelta(minutes=30)) is s
    assert silenced_by(SIVB, [s], T + timedelta(hours=2)) is None
    assert silenced_by(JPM, [s], T + timedelta(minutes=30)) is None


def test_first_matching_active_silence_wins():
    old = Silence("old", parse_matchers(["scope=SIVB"]), T - timedelta(hours=3), T)
    new = Silence("new", parse_matchers(["scope_kind=ticker"]), T, T + timedelta(hours=1))
    assert silenced_by(SIVB, [old, new], T + timedelta(minutes=1)) is new


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("scope", "expected NAME=VALUE"),
        ("ticker=SIVB", "unknown label 'ticker'"),
        ("scope=", "empty value"),
        ("scope=~(", "bad regular expression"),
        ("watchlist=~b.*", "= or != only"),
    ],
)
def test_bad_matchers_are_refused_with_the_reason(text, problem):
    with pytest.raises(SilenceError, match=problem):
        parse_matcher(text)


def test_a_silence_needs_a_matcher_a_known_watchlist_and_a_positive_period():
    with pytest.raises(SilenceError, match="at least one matcher"):
        parse_matchers([])
    with pytest.raises(SilenceError, match="no watchlist 'techs'"):
        parse_matchers(["watchlist=techs"], WATCH)
    with pytest.raises(SilenceError, match="must end after it starts"):
        check_period(T, T)


def test_matcher_round_trips_through_its_text():
    for text in ("scope_kind=ticker", "scope=~SIVB|FRC", "rule!=volume_spike", "watchlist=banks"):
        assert str(parse_matcher(text)) == text
