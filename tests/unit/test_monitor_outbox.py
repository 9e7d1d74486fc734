"""The outbox's pure rules: keys, request groups, ordering, folding, silences, supersession."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from foundation.schemas import Alert
from foundation.store import OutboxRow
from monitor.core.lifecycle import fingerprint
from monitor.core.outbox import (
    alert_entry,
    alert_subject,
    firing_of,
    head_group,
    incident_subject,
    notification_key,
    plan_group,
)
from monitor.core.silences import Silence, parse_matchers

T = datetime(2023, 3, 10, 15, tzinfo=UTC)


def alert(scope: str, status: str = "firing", minutes: int = 0, rule: str = "negative_surge"):
    return Alert(
        fingerprint=fingerprint(rule, "ticker", scope),
        rule=rule,
        scope_kind="ticker",
        scope=scope,
        status=status,
        starts_at=T,
        ends_at=T + timedelta(minutes=minutes) if status == "resolved" else None,
        updated_at=T + timedelta(minutes=minutes),
        figures={"negative_share": 0.7, "baseline_share": 0.2, "count": 30.0, "negative": 21.0},
    )


def row(i: int, a: Alert, state: str = "pending") -> OutboxRow:
    e = alert_entry(a)
    return OutboxRow(i, e.key, "hook", e.subject, state, 0, T, T + timedelta(hours=24), a)


def plan(group, kind="webhook", **kw):
    args = {"firing_state": {}, "dead_firings": {}, "latest_delivered": {}, "silences": []}
    args.update(kw)
    return plan_group(group, kind, now=T + timedelta(hours=1), **args)


def test_keys_are_stable_per_subject_status_and_update():
    a = alert("SIVB")
    e1, e2 = alert_entry(a), alert_entry(a.model_copy())
    assert e1.key == e2.key == f"{alert_subject(a)}|firing|2023-03-10T15:00:00Z"
    assert alert_entry(alert("SIVB", "resolved", 20)).key != e1.key
    assert alert_entry(alert("SIVB", minutes=240)).key != e1.key  # a repeat is a new one
    # An incident uses the same key rule with its own subject.
    assert notification_key(incident_subject("i-7"), "firing", T).startswith("incident:i-7|")


def test_head_group_is_one_evaluation_and_pagerduty_one_alert():
    rows = [row(1, alert("A")), row(2, alert("B")), row(3, alert("C", minutes=5))]
    assert [r.id for r in head_group(rows, "webhook")] == [1, 2]
    assert [r.id for r in head_group(rows, "pagerduty")] == [1]
    assert [r.id for r in head_group(rows[2:], "slack")] == [3]
    assert head_group([], "webhook") == []


def test_a_resolved_whose_firing_is_dead_goes_after_its_firing_or_is_folded_for_slack():
    resolved = row(5, alert("SIVB", "resolved", 20))
    dead = row(1, alert("SIVB"), "dead")
    state = {resolved.subject: "dead"}
    for kind in ("webhook", "alertmanager", "pagerduty"):
        p = plan([resolved], kind, firing_state=state, dead_firings={resolved.subject: dead})
        assert [e.alert.status for e in p.entries] == ["firing", "resolved"]
        assert p.firings_first[0].key == dead.key and p.folded == []
    p = plan([resolved], "slack", firing_state=state, dead_firings={resolved.subject: dead})
    assert [e.alert.status for e in p.entries] == ["resolved"] and p.folded == [1]


def test_a_resolved_with_no_firing_enqueued_gets_one_rebuilt():
    resolved = row(5, alert("SIVB", "resolved", 20))
    p = plan([resolved])
    first = p.firings_first[0].alert
    assert first.status == "firing" and first.ends_at is None and first.updated_at == T
    assert "resolved" not in first.summary
    assert firing_of(resolved.alert).fingerprint == resolved.alert.fingerprint
    assert plan([resolved], "slack").firings_first == []


def test_silences_hold_back_firings_and_the_resolveds_of_firings_they_held_back():
    s = Silence("s1", parse_matchers(["scope=SIVB"]), T, T + timedelta(hours=2))
    firing = row(1, alert("SIVB"))
    other = row(2, alert("JPM"))
    p = plan([firing, other], silences=[s])
    assert p.silenced == [(1, "s1")] and [r.id for r in p.send] == [2]
    resolved = row(3, alert("SIVB", "resolved", 20))
    # Its firing was held back: the receiver never saw it, so neither the end.
    held = plan([resolved], firing_state={resolved.subject: "silenced"})
    assert [i for i, _ in held.silenced] == [3] and held.send == []
    # Its firing was delivered: the resolved closes the receiver's incident, silenced or not.
    sent = plan([resolved], firing_state={resolved.subject: "delivered"}, silences=[s])
    assert [r.id for r in sent.send] == [3] and sent.firings_first == []


def test_an_expired_silence_no_longer_holds_anything_back():
    s = Silence("s1", parse_matchers(["scope=SIVB"]), T - timedelta(hours=3), T)
    p = plan([row(1, alert("SIVB"))], silences=[s])
    assert p.silenced == [] and [r.id for r in p.send] == [1]


def test_an_older_notification_than_one_delivered_is_superseded():
    old_resolved = row(1, alert("SIVB", "resolved", 20))
    p = plan(
        [old_resolved],
        firing_state={old_resolved.subject: "delivered"},
        latest_delivered={old_resolved.alert.fingerprint: T + timedelta(hours=5)},
    )
    assert p.superseded == [1] and p.send == []
