"""Alerts: firing and resolved episodes with figures, evidence, deliveries; dead letters."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboard import figures, queries
from dashboard.components import GRAPH_CONFIG, alert_card, dead_letters_table
from dashboard.context import Context

TIMELINE_LIMIT = 200
# Cards are heavy (tables per alert); older episodes are reached by narrowing the range.
CARD_LIMIT = 25


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
            html.Div(id="al-list"),
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
    cards: list[Any] = [
        alert_card(a, [d for d in sent.get(a.fingerprint, []) if _same_episode(a, d)])
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
    return (
        figures.alert_timeline_figure(rows, v.start, v.end),
        cards or [html.P("No alerts in this range.", className="muted")],
        dead_letters_table(queries.find_dead_letters(ctx.engine)),
    )


def _same_episode(a: queries.AlertRow, d: queries.DeliveryRow) -> bool:
    # Deliveries are keyed by fingerprint, not episode: keep those made during this one.
    return d.at >= a.starts_at and (
        a.ends_at is None or d.status == "resolved" or d.at <= a.ends_at
    )


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("al-timeline", "figure"),
        Output("al-list", "children"),
        Output("al-dead", "children"),
        Input("url", "search"),
        Input("al-status", "value"),
    )
    def update(search: str | None, status: str | None) -> tuple[Any, ...]:
        return data(ctx, search, status)
