"""The outbox, silences, acks and audit in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from foundation.errors import StoreError
from foundation.schemas import Alert
from foundation.store import Store, dead_letters, deliveries
from monitor.core.lifecycle import fingerprint
from monitor.core.outbox import alert_entry

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 10, 18, tzinfo=UTC)
T0 = NOW - timedelta(hours=1)


def alert(scope: str, status: str = "firing", minutes: int = 0) -> Alert:
    return Alert(
        fingerprint=fingerprint("negative_surge", "ticker", scope),
        rule="negative_surge",
        scope_kind="ticker",
        scope=scope,
        status=status,  # type: ignore[arg-type]
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=minutes) if status == "resolved" else None,
        updated_at=T0 + timedelta(minutes=minutes),
    )


def test_enqueue_is_idempotent_per_sink_and_keeps_the_order(store_url):
    s = Store(store_url)
    entries = [
        alert_entry(alert("SIVB")),
        alert_entry(alert("FRC")),
        alert_entry(alert("SIVB", "resolved", 20)),
    ]
    ages = {"a": 60.0, "b": 60.0}
    assert s.outbox_enqueue(entries, ages, NOW) == 6
    assert s.outbox_enqueue(entries[:2], ages, NOW) == 0  # a redelivered alert event
    rows = s.outbox_rows("a")
    assert [(r.alert.scope, r.alert.status) for r in rows] == [
        ("SIVB", "firing"),
        ("FRC", "firing"),
        ("SIVB", "resolved"),
    ]
    assert rows[0].deadline_at == NOW + timedelta(seconds=60)
    assert s.outbox_counts() == {("a", "pending"): 3, ("b", "pending"): 3}


def test_delivered_dead_requeue_and_the_dashboard_tables(store_url):
    s = Store(store_url)
    firing, resolved = alert_entry(alert("SIVB")), alert_entry(alert("SIVB", "resolved", 20))
    s.outbox_enqueue([firing], {"a": 60.0}, NOW)
    (row,) = s.outbox_rows("a")
    s.outbox_failed([row.id], "ConnectError")
    s.outbox_set_state([row.id], "dead", NOW, reason="age", error="ConnectError")
    with s.engine.connect() as conn:
        assert conn.execute(select(dead_letters.c.sink, dead_letters.c.error)).all() == [
            ("a", "ConnectError")
        ]
    (dead,) = s.outbox_rows("a", ("dead",))
    assert (dead.dead_reason, dead.attempts) == ("age", 1)
    # A resolved sent with its dead firing first: both delivered in one transaction, the
    # resolved inserted (it was never enqueued for this sink), the dead letter gone.
    s.outbox_delivered("a", [dead.entry, resolved], 2, NOW)
    assert s.outbox_counts() == {("a", "delivered"): 2}
    assert s.outbox_latest_delivered("a", [firing.alert.fingerprint]) == {
        firing.alert.fingerprint: resolved.alert.updated_at
    }
    assert s.outbox_states("a", [firing.subject]) == {
        (firing.subject, "firing"): "delivered",
        (firing.subject, "resolved"): "delivered",
    }
    # Per subject (an incident's episodes share one): newest delivered, or of one status.
    assert s.outbox_latest_by_subject("a", [firing.subject]) == {
        firing.subject: resolved.alert.updated_at
    }
    assert s.outbox_latest_by_subject("a", [firing.subject], states=None, status="firing") == {
        firing.subject: firing.alert.updated_at
    }
    assert s.outbox_latest_by_subject("a", []) == {}
    with s.engine.connect() as conn:
        assert conn.execute(select(dead_letters)).all() == []
        assert {r[0] for r in conn.execute(select(deliveries.c.state))} == {"delivered"}
    # Requeue only touches dead rows of the sinks named, with a fresh deadline.
    s.outbox_enqueue([alert_entry(alert("FRC"))], {"a": 60.0}, NOW)
    (frc,) = s.outbox_rows("a")
    s.outbox_set_state([frc.id], "dead", NOW, reason="rejected", error="HTTP 400")
    assert s.outbox_requeue(NOW, {"a": 60.0}, reasons=("age",)) == 0
    assert s.outbox_requeue(NOW + timedelta(hours=1), {"a": 60.0}) == 1
    (again,) = s.outbox_rows("a")
    assert again.attempts == 0 and again.deadline_at == NOW + timedelta(hours=1, seconds=60)


def test_one_lease_holder_per_sink_until_it_expires(store_url):
    s = Store(store_url)
    assert s.outbox_lease("a", "w1", NOW, 10)
    assert not s.outbox_lease("a", "w2", NOW + timedelta(seconds=5), 10)
    assert s.outbox_lease("b", "w2", NOW, 10)  # another sink
    assert s.outbox_lease("a", "w1", NOW + timedelta(seconds=5), 10)  # renewed
    assert not s.outbox_lease("a", "w2", NOW + timedelta(seconds=14), 10)
    assert s.outbox_lease("a", "w2", NOW + timedelta(seconds=16), 10)  # w1 stopped renewing
    s.outbox_release("a", "w2")
    assert s.outbox_lease("a", "w1", NOW + timedelta(seconds=17), 10)


def test_silences_acks_and_the_audit_trail(store_url):
    s = Store(store_url)
    s.upsert_alerts([alert("SIVB")])
    s.add_silence("s1", ["scope=SIVB"], NOW, NOW + timedelta(hours=2), "alice", "handled", NOW)
    (row,) = s.silence_rows(active_at=NOW + timedelta(hours=1))
    assert (row.matchers, row.created_by, row.ends_at) == (
        ("scope=SIVB",),
        "alice",
        NOW + timedelta(hours=2),
    )
    s.expire_silence("s1", "bob", NOW + timedelta(minutes=30))
    assert s.silence_rows(active_at=NOW + timedelta(minutes=31)) == []
    assert s.silence_rows()[0].expired_by == "bob"
    with pytest.raises(StoreError, match="no silence"):
        s.expire_silence("nope", "bob", NOW)
    fp = fingerprint("negative_surge", "ticker", "SIVB")
    s.ack_alert(fp, T0, "carol", "on it", NOW)
    (ack,) = s.acks_for([fp]).values()
    assert (ack.user, ack.comment, ack.starts_at) == ("carol", "on it", T0)
    with pytest.raises(StoreError, match="no alert"):
        s.ack_alert(fp, T0 - timedelta(days=1), "carol", "", NOW)
    actions = [(a.user, a.action, a.target) for a in reversed(s.audit_rows())]
    assert actions == [
        ("alice", "silence", "s1"),
        ("bob", "unsilence", "s1"),
        ("carol", "ack", f"{fp}@{T0.isoformat()}"),
    ]
