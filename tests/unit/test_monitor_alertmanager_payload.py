from datetime import UTC, datetime, timedelta

from foundation.schemas import Alert
from monitor.core.payloads import alertmanager_api_alerts

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def alert(status: str) -> Alert:
    return Alert(
        fingerprint="fp",
        rule="negative_surge",
        scope_kind="ticker",
        scope="SIVB",
        status=status,
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW - timedelta(minutes=5) if status == "resolved" else None,
        updated_at=NOW,
        dashboard_url="http://dash/ticker/SIVB",
        summary="negative_surge on ticker SIVB",
    )


def test_firing_ends_four_resends_ahead_resolved_at_its_end():
    firing, resolved = alertmanager_api_alerts(
        [alert("firing"), alert("resolved")], now=NOW, resend_s=60
    )
    assert firing["labels"] == {
        "alertname": "negative_surge",
        "scope_kind": "ticker",
        "scope": "SIVB",
        "severity": "warning",
        "generator": "finpulse",
    }
    assert firing["startsAt"] == "2026-03-10T11:00:00Z"
    assert firing["endsAt"] == "2026-03-10T12:04:00Z"
    assert firing["generatorURL"] == "http://dash/ticker/SIVB"
    assert firing["annotations"]["summary"] == "negative_surge on ticker SIVB"
    assert resolved["endsAt"] == "2026-03-10T11:55:00Z"
    assert resolved["labels"] == firing["labels"]  # the same alert to Alertmanager
