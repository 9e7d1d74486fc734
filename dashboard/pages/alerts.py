"""Alerts: incidents first (the alerts of one story together, with their scopes and evidence),
then the firing and resolved episodes with figures, evidence, deliveries, silence and ack marks
and controls; the silences; dead letters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboard import alert_forms, figures, queries
from dashboard.components import (
    GRAPH_CONFIG,
    alert_card,
    dead_letters_table,
    fmt_time,
    safe_link,
)
from dashboard.context import Context
from monitor.alert_actions import marks

TIMELINE_LIMIT = 200
# Cards are heavy (tables per alert); older episodes are reached by narrowing the range.
CARD_LIMIT = 25
# Pending notifications read per refresh (a long outage of every sink may hold more; the
# cards then show the oldest ones).
OUTBOX_LIMIT = 500


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Alerts"),
            dcc.RadioItems(
                id="al-status",
                options=[
                    {"label": "all", "value": "all"},
                    {"label": "firing", "value": "firing"},
                    {"label": "resolved", "value": "resolved"},
                ],
                value="all",
                inline=True,
            ),
            dcc.Graph(id="al-timeline", config=GRAPH_CONFIG),
            html.H3("Incidents"),
            html.Div(id="al-incidents"),
            html.H3("Alerts"),
            dcc.Store(id="al-version", data=0),
            html.P(id="al-action-msg", className="action-msg", role="status"),
            html.Div(id="al-list"),
            html.H3("Silences"),
            alert_forms.silence_form("al"),
            html.Div(id="al-silences"),
            html.H3("Dead letters"),
            html.Div(id="al-dead"),
        ],
        id="page-alerts",
    )


def data(ctx: Context, search: str | None, status: str | None) -> tuple[Any, ...]:
    v = ctx.view(search)
    f = v.filters
    rows = queries.find_alerts(
        ctx.engine,
        start=v.start,
        end=v.end,
        status=status if status in ("firing", "resolved") else None,
        limit=TIMELINE_LIMIT,
    )
    if f.topics:
        rows = [a for a in rows if a.scope_kind != "topic" or a.scope in f.topics]
    if f.ticker:
        rows = [a for a in rows if a.scope_kind != "ticker" or a.scope == f.ticker]
    shown = rows[:CARD_LIMIT]
    sent = queries.deliveries_for(ctx.engine, [a.fingerprint for a in shown])
    now = ctx.clock()
    watchlists = ctx.settings.silence_lists()
    mk = marks(
        ctx.store,
        ((a.rule, a.scope_kind, a.scope, a.fingerprint, a.starts_at) for a in shown),
        now,
        watchlists,
    )
    waiting: dict[str, list[Any]] = {}
    for r in ctx.store.outbox_rows(None, ("pending",), limit=OUTBOX_LIMIT):
        waiting.setdefault(r.alert.fingerprint, []).append(r)
    cards: list[Any] = [
        html.Div(
            [
                alert_forms.marks_bar(
                    a.key,
                    mk[(a.fingerprint, a.starts_at)],
                    [r for r in waiting.get(a.fingerprint, []) if r.alert.starts_at == a.starts_at],
                ),
                alert_card(a, [d for d in sent.get(a.fingerprint, []) if _same_episode(a, d)]),
            ],
            className="alert-item",
        )
        for a in shown
    ]
    if len(rows) > len(shown):
        cards.append(
            html.P(
                f"{len(rows) - len(shown)} more episode(s) on the timeline; narrow the time "
                "range or the status to list them.",
                className="muted",
            )
        )
    incidents = group_incidents(rows)
    return (
        figures.alert_timeline_figure(rows, v.start, v.end),
        [incident_card(i) for i in incidents]
        or [html.P("No incidents in this range.", className="muted")],
        cards or [html.P("No alerts in this range.", className="muted")],
        dead_letters_table(queries.find_dead_letters(ctx.engine)),
        alert_forms.silences_table(ctx.store.silence_rows(active_at=now), now),
    )


@dataclass
class IncidentView:
    """The alert rows of one incident (``payload["incident"]``; an alert without one is an
    incident of its own)."""

    id: str
    starts_at: datetime
    ends_at: datetime | None
    firing: bool
    scopes: list[str] = field(default_factory=list)
    alerts: list[queries.AlertRow] = field(default_factory=list)
    headlines: list[dict[str, Any]] = field(default_factory=list)


def group_incidents(rows: list[queries.AlertRow]) -> list[IncidentView]:
    """Incidents of the listed episodes, newest first (pure)."""
    by_id: dict[str, list[queries.AlertRow]] = {}
    for a in rows:
        by_id.setdefault(str(a.payload.get("incident") or a.key), []).append(a)
    out = []
    for inc_id, members in by_id.items():
        firing = any(a.status == "firing" for a in members)
        ends = [a.ends_at for a in members if a.ends_at is not None]
        seen: set[str] = set()
        headlines = []
        for a in sorted(members, key=lambda a: a.starts_at):
            for e in a.evidence:
                key = str(e.get("link") or e.get("title"))
                if key not in seen and len(headlines) < 5:
                    seen.add(key)
                    headlines.append(e)
        out.append(
            IncidentView(
                id=inc_id,
                starts_at=min(a.starts_at for a in members),
                ends_at=None if firing or not ends else max(ends),
                firing=firing,
                scopes=sorted({f"{a.scope_kind}:{a.scope}" for a in members}),
                alerts=members,
                headlines=headlines,
            )
        )
    out.sort(key=lambda i: (i.starts_at, i.id), reverse=True)
    return out


def incident_card(inc: IncidentView) -> html.Div:
    status = "firing" if inc.firing else "resolved"
    when = fmt_time(inc.starts_at) + (f" – {fmt_time(inc.ends_at)}" if inc.ends_at else "")
    return html.Div(
        [
            html.Div(
                [
                    html.Span(status, className=f"badge badge-{status}"),
                    html.Strong(f" {', '.join(inc.scopes)}"),
                    html.Span(f"  {when}  ({len(inc.alerts)} alert(s))", className="muted"),
                ]
            ),
            html.Ul(
                [
                    html.Li(
                        [
                            safe_link(str(e.get("link", "")), str(e.get("title", ""))),
                            html.Span(f"  {e.get('source', '')}", className="muted"),
                        ]
                    )
                    for e in inc.headlines
                ]
            ),
        ],
        className="card incident",
        id=f"incident-{inc.id}",
    )


def _same_episode(a: queries.AlertRow, d: queries.DeliveryRow) -> bool:
    # Deliveries are keyed by fingerprint, not episode: keep those made during this one.
    return d.at >= a.starts_at and (
        a.ends_at is None or d.status == "resolved" or d.at <= a.ends_at
    )


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("al-timeline", "figure"),
        Output("al-incidents", "children"),
        Output("al-list", "children"),
        Output("al-dead", "children"),
        Output("al-silences", "children"),
        Input("url", "search"),
        Input("al-status", "value"),
        Input("al-version", "data"),  # bumped by an ack or a silence
    )
    def update(search: str | None, status: str | None, _version: Any) -> tuple[Any, ...]:
        return data(ctx, search, status)

    alert_forms.register_alerts_page(app, ctx, "al-version")
