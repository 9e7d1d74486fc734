"""One notification per incident: which alert events carry an incident transition (the
tracker), what the outbox makes of them per sink kind and mode, and the payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from test_monitor_detection import BASE, feed, make_settings

from foundation.schemas import Alert, Evidence
from foundation.settings import SinkSettings
from foundation.store import OutboxRow
from monitor.core.incident_payloads import (
    incident_alertmanager_payload,
    incident_pagerduty_event,
    incident_slack_message,
    incident_webhook_payload,
)
from monitor.core.incidents import IncidentTracker
from monitor.core.lifecycle import fingerprint
from monitor.core.outbox import (
    entries_for,
    firing_of,
    head_group,
    incident_entry,
    incident_subject,
    plan_group,
    sink_entries,
)
from monitor.core.payloads import alertmanager_api_alerts
from monitor.core.pipeline import AlertPipeline
from monitor.core.silences import Silence, parse_matchers

T0 = datetime(2022, 11, 8, 16, tzinfo=UTC)
GAP = 6 * 3600


def alert(kind, scope, at, status="firing", ev=("d1",), start=0, rule="attention") -> Alert:
    """An alert event at ``at`` minutes (its episode started at ``start`` minutes)."""
    t = T0 + timedelta(minutes=at)
    return Alert(
        fingerprint=fingerprint(rule, kind, scope),
        rule=rule,
        scope_kind=kind,
        scope=scope,
        status=status,
        starts_at=T0 + timedelta(minutes=start),
        ends_at=t if status == "resolved" else None,
        updated_at=t,
        summary=f"{rule} on {kind} {scope}",
        dashboard_url=f"http://dash/{kind}/{scope}",
        evidence=tuple(
            Evidence(
                id=i, title=f"FTX headline {i}", source="Wire", link=f"https://x/{i}", published=t
            )
            for i in ev
        ),
    )


def file(t: IncidentTracker, *alerts: Alert) -> list[Alert]:
    """One evaluation's alerts filed together."""
    return t.file([(a, [], []) for a in alerts])


def notices(alerts: list[Alert]) -> list[tuple[str, str, str]]:
    return [
        (a.scope, a.incident_notice.event, a.incident_notice.status)
        for a in alerts
        if a.incident_notice is not None
    ]


def test_an_incident_opens_once_joiners_are_quiet_and_it_closes_with_its_last_member():
    t = IncidentTracker(GAP)
    first = file(t, alert("entity", "FTX", 5), alert("sector", "crypto", 5))
    # The opener carries the notice; the member raised in the same evaluation is listed.
    assert notices(first) == [("FTX", "opened", "firing")]
    n = first[0].incident_notice
    assert n is not None and n.id == first[0].incident == first[1].incident
    assert n.opener == first[0].fingerprint and n.episode_at == T0 + timedelta(minutes=5)
    assert [(m.scope, m.firing) for m in n.members] == [("FTX", True), ("crypto", True)]
    assert [e.title for e in n.evidence] == ["FTX headline d1"]
    # A later member joins a firing incident: nothing for incident-mode sinks.
    joined = file(t, alert("ticker", "FTT.X", 30, ev=("d1", "d2"), start=25))
    assert notices(joined) == [] and joined[0].incident == n.id
    # Two of three resolve: still firing, nothing.
    assert notices(file(t, alert("entity", "FTX", 60, "resolved"))) == []
    assert notices(file(t, alert("sector", "crypto", 70, "resolved"))) == []
    # The last one resolves: the incident closes, with every member and its span.
    (last,) = file(t, alert("ticker", "FTT.X", 90, "resolved", start=25))
    assert notices([last]) == [("FTT.X", "closed", "resolved")]
    c = last.incident_notice
    assert c is not None and c.id == n.id and c.ends_at == T0 + timedelta(minutes=90)
    assert c.episode_at == n.episode_at  # names the firing it closes
    assert sorted(m.scope for m in c.members) == ["FTT.X", "FTX", "crypto"]
    assert not any(m.firing for m in c.members)


def test_the_last_resolve_of_one_evaluation_carries_the_close():
    t = IncidentTracker(GAP)
    file(t, alert("entity", "FTX", 5), alert("sector", "crypto", 5))
    out = file(t, alert("entity", "FTX", 60, "resolved"), alert("sector", "crypto", 60, "resolved"))
    assert notices(out) == [("crypto", "closed", "resolved")]


def test_a_reflare_within_the_gap_is_a_new_episode_of_the_same_incident():
    t = IncidentTracker(GAP)
    (opened,) = file(t, alert("entity", "FTX", 5))
    (closed,) = file(t, alert("entity", "FTX", 60, "resolved"))
    (again,) = file(t, alert("sector", "crypto", 120, start=115))
    assert notices([again]) == [("crypto", "reflared", "firing")]
    assert again.incident == opened.incident
    n = again.incident_notice
    assert n is not None and n.episode_at == T0 + timedelta(minutes=120)
    keys = {incident_entry(a).key for a in (opened, closed, again)}
    assert len(keys) == 3 and all(k.startswith(f"incident:{opened.incident}|") for k in keys)
    # Long after the gap: a new incident, opened.
    file(t, alert("sector", "crypto", 150, "resolved", start=115))
    (later,) = file(t, alert("entity", "FTX", 150 + 60 * 24, start=150 + 60 * 24))
    assert notices([later]) == [("FTX", "opened", "firing")] and later.incident != opened.incident


def test_transitions_survive_a_restart_of_the_tracker():
    def run(restart: bool) -> list[tuple[str, str, str]]:
        t = IncidentTracker(GAP)
        out = file(t, alert("entity", "FTX", 5), alert("sector", "crypto", 5))
        out += file(t, alert("entity", "FTX", 60, "resolved"))
        if restart:
            state = json.loads(json.dumps(t.to_dict()))
            t = IncidentTracker(GAP)
            t.load(state)
        out += file(t, alert("sector", "crypto", 70, "resolved"))
        return notices(out)

    assert (
        run(True) == run(False) == [("FTX", "opened", "firing"), ("crypto", "closed", "resolved")]
    )


def test_the_pipeline_stamps_open_and_close_on_the_alerts_of_a_burst():
    p = AlertPipeline(make_settings())
    alerts = feed(p, BASE + [(30, 20)] * 3) + feed(p, [(20, 3)] * 8, 27)
    assert len(alerts) == 4 and len({a.incident for a in alerts}) == 1  # topic and all
    carried = [a.incident_notice for a in alerts if a.incident_notice is not None]
    assert [(n.event, n.status) for n in carried] == [("opened", "firing"), ("closed", "resolved")]
    assert sorted(m.scope for m in carried[0].members) == ["all", "banking"]


def test_after_a_lost_state_the_rearmed_alerts_close_their_stored_incident():
    s = make_settings()
    stored = feed(AlertPipeline(s), BASE + [(30, 20)] * 2)
    assert [a.incident_notice is not None for a in stored] == [True, False]
    # Every table lost (embedded broker restarted): the store's alert rows re-arm both.
    r = AlertPipeline(s)
    assert r.restore_alerts(stored) == 2
    out = feed(r, [(20, 3)] * 60, start_window=26)
    assert [a.status for a in out] == ["resolved", "resolved"]
    assert {a.incident for a in out} == {stored[0].incident}
    carried = [a.incident_notice for a in out if a.incident_notice is not None]
    assert [(n.event, n.id) for n in carried] == [("closed", stored[0].incident)]


def sink(kind: str, notify: str = "incident", **kw) -> SinkSettings:
    secret = {"pagerduty": "PD", "webhook": "K"}.get(kind)
    return SinkSettings(
        name=kind, kind=kind, url="http://x", notify=notify, secret_env=secret, **kw
    )


def burst() -> list[Alert]:
    """open (FTX, crypto), a joiner, two resolves, the closing resolve."""
    t = IncidentTracker(GAP)
    out = file(t, alert("entity", "FTX", 5), alert("sector", "crypto", 5))
    out += file(t, alert("ticker", "FTT.X", 30, start=25))
    out += file(
        t, alert("entity", "FTX", 60, "resolved"), alert("sector", "crypto", 60, "resolved")
    )
    out += file(t, alert("ticker", "FTT.X", 90, "resolved", start=25))
    return out


def test_incident_mode_makes_one_firing_and_one_resolved_per_incident_alert_mode_all():
    alerts = burst()
    for kind in ("webhook", "slack", "pagerduty", "alertmanager"):
        entries = [e for a in alerts for e in entries_for(a, "incident", kind)]
        assert [e.alert.status for e in entries] == ["firing", "resolved"], kind
        inc = alerts[0].incident
        assert {e.subject for e in entries} == {incident_subject(inc)}
        assert entries[0].key == f"incident:{inc}|firing|2022-11-08T16:05:00Z"
        # Exactly once: the same event enqueued again is the same key.
        assert [e.key for e in entries_for(alerts[0].model_copy(), "incident", kind)] == [
            entries[0].key
        ]
        assert len([e for a in alerts for e in entries_for(a, "alert", kind)]) == len(alerts)
    # Alertmanager's API groups by labels itself: its member alerts, labelled.
    assert len([e for a in alerts for e in entries_for(a, "incident", "alertmanager_api")]) == 6
    items = alertmanager_api_alerts(alerts[:2], now=T0, resend_s=60)
    assert {i["labels"]["incident"] for i in items} == {alerts[0].incident}
    # An alert filed into no incident (an older producer) is notified as an alert.
    bare = alert("ticker", "X", 5)
    assert [e.subject.split(":")[0] for e in entries_for(bare, "incident", "webhook")] == ["alert"]


def test_a_sink_routed_by_scope_kind_takes_an_incident_with_a_routed_member():
    alerts = burst()
    tickers = sink("webhook", scope_kinds=["ticker"])
    topics = sink("webhook", scope_kinds=["topic"])
    got = [e.alert.status for a in alerts for e in sink_entries(a, tickers)]
    # FTT.X joined after the open: only the close lists it (the outbox rebuilds the firing).
    assert got == ["resolved"]
    assert [e for a in alerts for e in sink_entries(a, topics)] == []
    assert len([e for a in alerts for e in sink_entries(a, sink("webhook"))]) == 2


def row(i: int, a: Alert, state: str = "pending", sink_name: str = "hook") -> OutboxRow:
    e = incident_entry(a)
    return OutboxRow(i, e.key, sink_name, e.subject, state, 0, T0, T0 + timedelta(hours=24), a)


def plan(group, kind="webhook", **kw):
    args = {"firing_state": {}, "dead_firings": {}, "latest_delivered": {}, "silences": []}
    args.update(kw)
    return plan_group(group, kind, now=T0 + timedelta(hours=1), **args)


def test_head_group_sends_an_incident_notification_alone():
    alerts = burst()
    opened = alerts[0]
    other = file(IncidentTracker(GAP), alert("ticker", "AMZN", 5, ev=("z",)))[0]
    rows = [row(1, opened), row(2, other)]
    assert [r.id for r in head_group(rows, "webhook")] == [1]
    assert [r.id for r in head_group(rows, "slack")] == [1]


def test_a_closed_incident_whose_opening_never_arrived_is_folded_for_slack_or_sent_after_it():
    alerts = burst()
    opened, closed = alerts[0], alerts[-1]
    resolved, dead = row(5, closed), row(1, opened, "dead")
    state = {resolved.subject: "dead"}
    p = plan([resolved], "slack", firing_state=state, dead_firings={resolved.subject: dead})
    assert [e.alert.status for e in p.entries] == ["resolved"] and p.folded == [1]
    p = plan([resolved], "webhook", firing_state=state, dead_firings={resolved.subject: dead})
    assert [e.key for e in p.entries] == [dead.key, resolved.key]
    # No firing enqueued (the sink was added mid-incident): one rebuilt, with the real key.
    p = plan([resolved], "pagerduty")
    assert p.firings_first[0].key == incident_entry(opened).key
    rebuilt = firing_of(closed, resolved.subject)
    assert rebuilt.incident_notice is not None and rebuilt.incident_notice.status == "firing"
    assert rebuilt.updated_at == opened.updated_at and "resolved" not in rebuilt.summary
    # The same alert on a sink with notify = "alert" is rebuilt as that alert's firing.
    assert firing_of(closed).updated_at == closed.starts_at


def test_an_incident_is_silenced_by_its_opening_alert_only():
    alerts = burst()
    opened = row(1, alerts[0])
    by_opener = Silence("s1", parse_matchers(["scope=FTX"]), T0, T0 + timedelta(hours=2))
    by_member = Silence("s2", parse_matchers(["scope=crypto"]), T0, T0 + timedelta(hours=2))
    assert plan([opened], silences=[by_opener]).silenced == [(1, "s1")]
    assert [r.id for r in plan([opened], silences=[by_member]).send] == [1]
    # The close (carried by FTT.X) follows its firing: held back when that was.
    closed = row(2, alerts[-1])
    held = plan([closed], firing_state={closed.subject: "silenced"}, silences=[by_opener])
    assert [i for i, _ in held.silenced] == [2]
    sent = plan([closed], firing_state={closed.subject: "delivered"}, silences=[by_opener])
    assert [r.id for r in sent.send] == [2]


def test_an_older_incident_notification_than_one_delivered_is_superseded():
    alerts = burst()
    opened = row(1, alerts[0], "dead")
    p = plan([opened], latest_delivered={opened.subject: T0 + timedelta(hours=2)})
    assert p.superseded == [1]
    # Keyed by subject, not by the carrying alert's fingerprint.
    p = plan([opened], latest_delivered={alerts[0].fingerprint: T0 + timedelta(hours=2)})
    assert p.superseded == [] and [r.id for r in p.send] == [1]


def test_payloads_name_the_incident_its_members_and_evidence():
    alerts = burst()
    opened, closed = alerts[0], alerts[-1]
    inc = opened.incident
    hook = incident_webhook_payload(closed)
    assert hook["kind"] == "incident" and hook["groupKey"] == f"incident:{inc}"
    assert hook["status"] == "resolved" and hook["incident"]["event"] == "closed"
    assert hook["incident"]["scopes"] == ["entity:FTX", "sector:crypto", "ticker:FTT.X"]
    assert hook["incident"]["evidence"][0]["title"] == "FTX headline d1"
    assert hook["incident"]["endsAt"] == "2022-11-08T17:30:00Z"
    assert "incident_notice" not in hook["alerts"][0]
    pd_open = incident_pagerduty_event(opened, "rk")
    pd_close = incident_pagerduty_event(closed, "rk")
    assert pd_open["dedup_key"] == pd_close["dedup_key"] == inc
    assert (pd_open["event_action"], pd_close["event_action"]) == ("trigger", "resolve")
    assert pd_open["payload"]["component"] == "entity:FTX"
    slack = incident_slack_message(opened)
    assert slack["text"].startswith(":rotating_light: INCIDENT OPENED: attention on entity FTX")
    assert "FTX headline d1" in json.dumps(slack["blocks"])
    am = incident_alertmanager_payload(closed, "am", "http://dash")
    assert am["groupLabels"] == {"incident": inc} and am["status"] == "resolved"
    assert sorted(a["labels"]["scope"] for a in am["alerts"]) == ["FTT.X", "FTX", "crypto"]
    assert {a["status"] for a in am["alerts"]} == {"resolved"}


def test_notify_defaults_to_incident_and_refuses_anything_else():
    assert SinkSettings(name="h", kind="webhook", url="http://x").notify == "incident"
    with pytest.raises(ValidationError, match="notify"):
        SinkSettings(name="h", kind="webhook", url="http://x", notify="page")
