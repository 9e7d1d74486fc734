"""The alert pipeline's state is bounded in event time (what a long soak relies on): scopes
that stop seeing documents are dropped, and their table keys deleted, however many come and
go. The soak (bench/soak.py) replays months of event time in half an hour."""

from __future__ import annotations

from monitor_helpers import scored

from foundation.settings import AlertSettings, RuleSettings, Settings, WindowSettings
from monitor.core.pipeline import IDLE_EXPIRY_WINDOWS, AlertPipeline

SIZE = 300
DAY = 86_400


def settings() -> Settings:
    rule = RuleSettings(scopes=["topic", "ticker", "source", "all"], span_windows=1)
    return Settings(
        windows=WindowSettings(size_s=SIZE, allowed_lateness_s=0),
        alerts=AlertSettings(rules=[rule], repeat_interval_s=3600, dashboard_url="http://dash"),
    )


def test_one_off_scopes_are_dropped_and_their_table_keys_deleted() -> None:
    p = AlertPipeline(settings())
    expiry_days = IDLE_EXPIRY_WINDOWS * SIZE / DAY  # 2 days
    days = int(4 * expiry_days)
    tracked: list[int] = []
    deleted: set[str] = set()
    # Each day a new ticker and a new source, one document an hour; then they go quiet.
    for day in range(days):
        for hour in range(24):
            t = day * DAY + hour * 3600
            p.add(scored(f"d{day}-{hour}", t, tickers=(f"T{day}",), source=f"S{day}"))
            p.advance()
            deleted |= {k for k, v in p.take_changes().items() if v is None}
        tracked.append(len(p.scopes))
    # At most the scopes active in the last expiry span (plus the day in progress) are kept:
    # all, the topic, and a ticker and a source per day.
    bound = 2 + 2 * (int(expiry_days) + 2)
    assert max(tracked) <= bound
    assert tracked[-1] == tracked[-2]  # flat, not growing with the days seen
    # The dropped scopes' keys were handed to the table as deletions.
    assert {"ticker:T0", "source:S0"} <= deleted
    assert "ticker:T0" not in p.scopes and "ticker:T0" not in p.agg.windows
    # Open windows: only the current one per active scope.
    assert sum(len(w) for w in p.agg.windows.values()) <= bound
