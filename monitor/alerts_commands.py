"""``finpulse alerts``: list, ack, silence, silences, unsilence, redeliver, test-sink.

Every action is stored with who (``--user``, default the login name) and when, in the store's
audit trail; the dashboard shows the same silences and acknowledgements.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
from datetime import datetime
from typing import Any

import click

from foundation.schemas import Alert, isoformat, utcnow
from foundation.settings import Settings, get_settings
from foundation.store import Store
from monitor.alert_actions import (
    ActionError,
    acknowledge,
    create_silence,
    marks,
    parse_duration,
    parse_time,
)


def _user(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _store(ctx: click.Context) -> tuple[Settings, Store]:
    settings = get_settings(ctx)
    return settings, Store(settings.store.url)


user_option = click.option("--user", default=None, help="Who acts (default: the login name).")


@click.group()
def alerts() -> None:
    """Act on alerts: list, acknowledge, silence, re-send, test a sink."""


@alerts.command("list")
@click.option(
    "--status", type=click.Choice(["all", "firing", "resolved"]), default="all", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_alerts(ctx: click.Context, status: str, limit: int, as_json: bool) -> None:
    """Stored alerts, newest first, with silence and acknowledgement marks."""
    settings, store = _store(ctx)
    now = utcnow()
    rows = [
        Alert.model_validate(p)
        for p in store.alert_payloads(None if status == "all" else status, limit)
    ]
    m = marks(
        store,
        ((a.rule, a.scope_kind, a.scope, a.fingerprint, a.starts_at) for a in rows),
        now,
        settings.silence_lists(),
    )
    if not rows and not as_json:
        click.echo("no alerts")
    for a in rows:
        mk = m[(a.fingerprint, a.starts_at)]
        if as_json:
            out: dict[str, Any] = json.loads(a.model_dump_json())
            out["silenced_by"] = mk.silence.id if mk.silence else None
            out["acked_by"] = mk.ack.user if mk.ack else None
            click.echo(json.dumps(out, sort_keys=True))
            continue
        flags = []
        if mk.silence:
            flags.append(f"silenced by {mk.silence.id} until {isoformat(mk.silence.ends_at)}")
        if mk.ack:
            flags.append(f"acked by {mk.ack.user} at {isoformat(mk.ack.at)}")
        click.echo(
            f"{a.fingerprint}  {a.status:<8} {a.rule}  {a.scope_kind}={a.scope}  "
            f"since {isoformat(a.starts_at)}" + (f"  [{'; '.join(flags)}]" if flags else "")
        )
    counts = store.outbox_counts()
    if counts and not as_json:
        parts = ", ".join(f"{sink} {state} {n}" for (sink, state), n in sorted(counts.items()))
        click.echo(f"outbox: {parts}")


@alerts.command()
@click.argument("fingerprint")
@click.option("--comment", "-c", default="", help="Why, or what is being done.")
@click.option("--starts-at", default=None, help="The episode (default: the latest).")
@user_option
@click.pass_context
def ack(
    ctx: click.Context, fingerprint: str, comment: str, starts_at: str | None, user: str | None
) -> None:
    """Acknowledge an alert episode (notifications continue; the dashboard shows who)."""
    _, store = _store(ctx)
    who = _user(user)
    a = acknowledge(
        store,
        fingerprint,
        user=who,
        comment=comment,
        now=utcnow(),
        starts_at=parse_time(starts_at) if starts_at else None,
    )
    click.echo(f"acknowledged {a.fingerprint} ({a.scope_kind}={a.scope}) as {who}")


@alerts.command()
@click.argument("matchers", nargs=-1, required=True)
@click.option("--for", "duration", default=None, help="How long, e.g. 2h, 30m, 1d.")
@click.option("--until", "until", default=None, help="End time (ISO-8601, UTC if no zone).")
@click.option("--start", default=None, help="Start time (default: now).")
@click.option("--comment", "-c", required=True, help="Why (maintenance, an event handled).")
@user_option
@click.pass_context
def silence(
    ctx: click.Context,
    matchers: tuple[str, ...],
    duration: str | None,
    until: str | None,
    start: str | None,
    comment: str,
    user: str | None,
) -> None:
    """Hold back notifications of matching alerts, e.g. ``scope_kind=ticker scope=SIVB --for 2h``.

    Matchers: rule, scope_kind, scope, fingerprint (=, !=, =~ regex, !~) and
    watchlist=NAME (settings alerts.watchlists). Matching alerts are still detected, stored
    and shown (marked silenced); only their notifications wait.
    """
    settings, store = _store(ctx)
    now = utcnow()
    starts = parse_time(start) if start else now
    if (duration is None) == (until is None):
        raise ActionError("give exactly one of --for DURATION or --until TIME")
    ends = parse_time(until) if until else starts + parse_duration(duration or "")
    who = _user(user)
    sid = create_silence(
        store,
        matchers,
        starts_at=starts,
        ends_at=ends,
        user=who,
        comment=comment,
        now=now,
        watchlists=settings.silence_lists(),
    )
    click.echo(f"silence {sid}: {' '.join(matchers)} from {isoformat(starts)} to {isoformat(ends)}")


@alerts.command("silences")
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@click.pass_context
def list_silences(ctx: click.Context, show_all: bool) -> None:
    """Silences (active and pending; --all for expired ones too)."""
    _, store = _store(ctx)
    now = utcnow()
    rows = store.silence_rows(active_at=None if show_all else now)
    if not rows:
        click.echo("no silences")
    for r in rows:
        state = "pending" if now < r.starts_at else ("active" if now < r.ends_at else "expired")
        click.echo(
            f"{r.id}  {state:<7} {' '.join(r.matchers)}  {isoformat(r.starts_at)} -> "
            f"{isoformat(r.ends_at)}  by {r.created_by}: {r.comment}"
        )


@alerts.command()
@click.argument("silence_id")
@user_option
@click.pass_context
def unsilence(ctx: click.Context, silence_id: str, user: str | None) -> None:
    """End a silence now (held-back firing alerts that still fire are then notified)."""
    _, store = _store(ctx)
    row = store.expire_silence(silence_id, _user(user), utcnow())
    click.echo(f"silence {row.id} ended ({' '.join(row.matchers)})")


@alerts.command()
@click.option("--sink", "sinks", multiple=True, help="Only this sink (repeatable).")
@click.option("--fingerprint", default=None, help="Only this alert.")
@click.option("--send", is_flag=True, help="Deliver now from this process (else: the worker).")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="With --send.")
@user_option
@click.pass_context
def redeliver(
    ctx: click.Context,
    sinks: tuple[str, ...],
    fingerprint: str | None,
    send: bool,
    timeout: float,
    user: str | None,
) -> None:
    """Re-queue dead letters (all reasons, 4xx rejections included) with a fresh age limit.

    A running worker sends them within alerts.delivery_poll_s; with --send this command
    delivers every pending notification of those sinks itself (holding each sink's lease, so
    it never sends alongside a worker) and exits 1 if some are still pending at --timeout.
    """
    settings, store = _store(ctx)
    configured = {s.name: s for s in settings.sinks}
    unknown = [s for s in sinks if s not in configured]
    if unknown:
        raise ActionError(
            f"unknown sink(s) {', '.join(unknown)}; configured: {', '.join(configured) or 'none'}"
        )
    chosen = [configured[s] for s in sinks] if sinks else list(configured.values())
    now = utcnow()
    n = store.outbox_requeue(now, {s.name: s.max_age_s for s in chosen}, fingerprint=fingerprint)
    store.audit(
        _user(user),
        "redeliver",
        ",".join(s.name for s in chosen) or "-",
        {"requeued": n, "fingerprint": fingerprint, "send": send},
        now,
    )
    click.echo(f"re-queued {n} dead letter(s)")
    if not send:
        return
    from monitor.stream.delivery import Deliverer

    settings_only = settings.model_copy(update={"sinks": chosen})

    async def go() -> bool:
        d = Deliverer.from_settings(settings_only, store)
        try:
            return await d.drain(timeout)
        finally:
            await d.aclose()

    done = asyncio.run(go())
    counts = store.outbox_counts()
    names = {s.name for s in chosen}
    left = sum(n for (s, state), n in counts.items() if state == "pending" and s in names)
    click.echo(f"pending after sending: {left}")
    if not done:
        raise SystemExit(1)


@alerts.command("test-sink")
@click.argument("name")
@user_option
@click.pass_context
def test_sink(ctx: click.Context, name: str, user: str | None) -> None:
    """Send one test notification (rule finpulse_test, firing) to sink NAME, once, now.

    PagerDuty gets the trigger and then its resolve, so no incident stays open."""
    import httpx

    from monitor.core.lifecycle import AlertGroup
    from monitor.stream.notifiers import Sink

    settings, store = _store(ctx)
    cfg = next((s for s in settings.sinks if s.name == name), None)
    if cfg is None:
        names = ", ".join(s.name for s in settings.sinks) or "none"
        raise ActionError(f"no sink named {name!r} (configured: {names})")
    now = utcnow()
    alert = test_alert(now, settings.alerts.dashboard_url)

    async def go() -> tuple[bool, str | None]:
        async with httpx.AsyncClient() as client:
            sink = Sink(cfg, client, env=os.environ, external_url=settings.alerts.dashboard_url)
            key = f"finpulse-test:{isoformat(now)}"
            got = await sink.send_group(AlertGroup(key, alert.rule, "firing", (alert,)))
            if got.ok and cfg.kind == "pagerduty":
                # Resolve it at once, so the test leaves no open incident behind.
                done = alert.model_copy(update={"status": "resolved", "ends_at": now})
                got = await sink.send_group(AlertGroup(key, alert.rule, "resolved", (done,)))
            return got.ok, got.error

    ok, error = asyncio.run(go())
    store.audit(_user(user), "test-sink", name, {"ok": ok, "error": error}, now)
    if ok:
        click.echo(f"sink {name}: test notification delivered")
        return
    click.echo(f"sink {name}: test notification failed ({error})", err=True)
    raise SystemExit(1)


def test_alert(now: datetime, dashboard_url: str) -> Alert:
    from monitor.core.lifecycle import fingerprint

    return Alert(
        fingerprint=fingerprint("finpulse_test", "all", "all"),
        rule="finpulse_test",
        scope_kind="all",
        scope="all",
        status="firing",
        starts_at=now,
        updated_at=now,
        dashboard_url=dashboard_url,
        summary="finpulse test notification: the sink is reachable (no action needed)",
    )
