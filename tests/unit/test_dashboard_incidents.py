"""The alerts page lists incidents first: the alert rows of one story together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.pages.alerts import group_incidents, incident_card
from dashboard.queries import AlertRow

T0 = datetime(2022, 11, 8, 16, tzinfo=UTC)


def row(fp, kind, scope, minutes, incident, status="resolved", titles=()):
    start = T0 + timedelta(minutes=minutes)
    return AlertRow(
        fingerprint=fp,
        starts_at=start,
        rule="attention",
        scope_kind=kind,
        scope=scope,
        status=status,
        ends_at=None if status == "firing" else start + timedelta(hours=1),
        updated_at=start,
        payload={
            "incident": incident,
            "evidence": [{"title": t, "link": f"https://x/{t}", "source": "Wire"} for t in titles],
        },
    )


def test_rows_of_one_incident_are_one_card_newest_first():
    rows = [
        row("a", "entity", "FTX", 0, "i1", titles=["FTX halts withdrawals"]),
        row("b", "sector", "crypto", 10, "i1", status="firing", titles=["FTX halts withdrawals"]),
        row("c", "ticker", "AMZN", 300, "i2", titles=["Amazon cuts jobs"]),
        row("d", "topic", "macro", 400, ""),  # no incident id: its own
    ]
    incs = group_incidents(rows)
    assert [i.id for i in incs][:2] == ["d|" + rows[3].starts_at.isoformat(), "i2"]
    ftx = next(i for i in incs if i.id == "i1")
    assert ftx.scopes == ["entity:FTX", "sector:crypto"] and ftx.firing and ftx.ends_at is None
    assert [h["title"] for h in ftx.headlines] == ["FTX halts withdrawals"]  # deduplicated
    card = incident_card(ftx)
    assert card.id == "incident-i1" and "entity:FTX" in str(card)
