"""The alerts page's marks: silenced, acknowledged, and notifications still waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.context import Context
from dashboard.explanations import Explainer
from dashboard.pages import alerts as page
from foundation.schemas import Alert
from foundation.settings import load_settings
from foundation.store import Store
from monitor.core.outbox import alert_entry

NOW = datetime(2026, 3, 10, 18, tzinfo=UTC)


def alert(scope: str) -> Alert:
    return Alert(
        fingerprint=f"fp-{scope}",
        rule="negative_surge",
        scope_kind="ticker",
        scope=scope,
        status="firing",
        starts_at=NOW - timedelta(minutes=30),
        updated_at=NOW - timedelta(minutes=30),
    )


def test_cards_show_silence_ack_and_waiting_notifications(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    sivb, jpm, frc = alert("SIVB"), alert("JPM"), alert("FRC")
    store.upsert_alerts([sivb, jpm, frc])
    store.add_silence("s1", ["scope=SIVB"], NOW, NOW + timedelta(hours=2), "alice", "x", NOW)
    store.ack_alert(jpm.fingerprint, jpm.starts_at, "bob", "on it", NOW)
    store.outbox_enqueue([alert_entry(frc)], {"pager": 3600.0}, NOW)
    (row,) = store.outbox_rows("pager")
    store.outbox_failed([row.id], "ConnectError")
    settings = load_settings()
    ctx = Context(settings, store, Explainer(settings.model), clock=lambda: NOW)
    _, _, cards, _, silences = page.data(ctx, "?range=6h", "all")

    def marks_of(scope: str) -> str:
        # Each item is [marks bar, alert card]; find the card by its scope.
        item = next(c for c in cards if f"ticker={scope}" in str(c.children[1].to_plotly_json()))
        return str(item.children[0].to_plotly_json())

    assert "silenced until 2026-03-10 20:00 UTC (s1, by alice)" in marks_of("SIVB")
    assert "acknowledged by bob" in marks_of("JPM") and "Acknowledge" not in marks_of("JPM")
    assert "firing waiting for pager (1 attempts, ConnectError)" in marks_of("FRC")
    assert "Acknowledge" in marks_of("FRC")
    assert "s1" in str(silences.to_plotly_json())
