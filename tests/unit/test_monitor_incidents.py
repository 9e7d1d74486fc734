"""Incidents: alerts of one story grouped, others kept apart (explicit timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from foundation.schemas import Alert, Evidence
from monitor.core.incidents import IncidentTracker, incidents_json
from monitor.core.lifecycle import fingerprint

T0 = datetime(2022, 11, 8, 16, tzinfo=UTC)


def alert(kind, scope, at, ev_ids, status="firing", rule="attention", ends=None) -> Alert:
    start = T0 + timedelta(minutes=at)
    return Alert(
        fingerprint=fingerprint(rule, kind, scope),
        rule=rule,
        scope_kind=kind,
        scope=scope,
        status=status,
        starts_at=start,
        ends_at=ends,
        updated_at=start + timedelta(minutes=5) if ends is None else ends,
        evidence=tuple(
            Evidence(
                id=i, title=f"headline {i}", source="Wire", link=f"https://x/{i}", published=start
            )
            for i in ev_ids
        ),
    )


def test_alerts_sharing_evidence_are_one_incident():
    t = IncidentTracker(gap_s=6 * 3600)
    a, opened_a = t.add(alert("entity", "FTX", 0, ["d1", "d2"]))
    b, opened_b = t.add(alert("sector", "crypto", 10, ["d2", "d3"], rule="negative_surge"))
    c, opened_c = t.add(alert("ticker", "FTT.X", 20, ["d9"]), link_ids=["d3"])
    assert opened_a and not opened_b and not opened_c
    assert a.id == b.id == c.id
    (inc,) = incidents_json(t.history or {a.id: a}.values())
    assert inc["scopes"] == ["entity:FTX", "sector:crypto", "ticker:FTT.X"]
    assert inc["endsAt"] is None and len(inc["alerts"]) == 3


def test_unrelated_alerts_at_the_same_time_are_separate_incidents():
    t = IncidentTracker(gap_s=6 * 3600)
    a, _ = t.add(alert("entity", "FTX", 0, ["d1"]))
    b, opened = t.add(alert("ticker", "AMZN", 5, ["d7"]))
    assert opened and a.id != b.id


def test_an_incident_ends_when_its_members_resolve_and_closes_after_the_gap():
    t = IncidentTracker(gap_s=3600, keep_history=True)
    a, _ = t.add(alert("entity", "FTX", 0, ["d1"]))
    end = T0 + timedelta(hours=2)
    t.add(alert("entity", "FTX", 0, ["d1"], status="resolved", ends=end))
    assert a.ends_at == end and not a.firing
    # The same scope fires again within the gap: the same incident ...
    again, opened = t.add(alert("entity", "FTX", 150, ["d5"]))
    assert again.id == a.id and not opened
    t.add(alert("entity", "FTX", 150, ["d5"], status="resolved", ends=end + timedelta(hours=1)))
    # ... and long after it: a new one.
    later, opened = t.add(alert("entity", "FTX", 24 * 60, ["d1"]))
    assert opened and later.id != a.id
    assert t.history is not None and len(t.history) == 2
    assert a.id not in t.open  # memory: closed incidents leave the open set


def test_grouping_is_deterministic():
    def run():
        t = IncidentTracker(gap_s=3600, keep_history=True)
        for i, (kind, scope, ev) in enumerate(
            [("entity", "FTX", ["a"]), ("ticker", "X", ["b"]), ("sector", "crypto", ["a", "b"])]
        ):
            t.add(alert(kind, scope, i, ev))
        assert t.history is not None
        return incidents_json(t.history.values())

    first, second = run(), run()
    assert first == second
    # The sector alert links both; it joins the incident that started first.
    assert [i["scopes"] for i in first] == [["entity:FTX", "sector:crypto"], ["ticker:X"]]
