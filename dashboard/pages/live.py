"""Live feed: the newest scored documents, refreshed every ``dashboard.refresh_s``."""

from __future__ import annotations

import hashlib
from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from dashboard import queries
from dashboard.components import documents_table, fmt_time
from dashboard.context import Context

LIMIT = 50


def layout(refresh_s: float) -> html.Div:
    return html.Div(
        [
            html.H2("Live feed"),
            html.P(
                "Newest documents first; the topic, ticker, source and sentiment filters apply "
                f"(not the time range). Refreshes every {refresh_s:g} s.",
                className="muted",
            ),
            dcc.Interval(id="live-tick", interval=int(refresh_s * 1000), n_intervals=0),
            dcc.Store(id="live-sig"),
            html.P(id="live-updated", className="muted"),
            html.Div(id="live-docs"),
            html.Div(id="doc-detail"),
        ],
        id="page-live",
    )


def data(ctx: Context, search: str | None, old_sig: str | None = None) -> tuple[Any, str, str]:
    """(table, "updated ..." line, signature); the table is ``no_update`` when unchanged."""
    f = ctx.view(search).filters
    rows = queries.find_documents(
        ctx.engine,
        topics=f.topics,
        ticker=f.ticker,
        source=f.source,
        sentiment=f.sentiment,
        limit=LIMIT,
    )
    # Re-render only when something changed: a refresh must not replace the rows (and
    # their buttons) under the analyst's pointer every few seconds.
    sig = hashlib.sha1(
        repr([(r.id, r.sentiment, r.topic) for r in rows]).encode(), usedforsecurity=False
    ).hexdigest()
    updated = f"updated {fmt_time(ctx.clock())}"
    if sig == old_sig:
        return dash.no_update, updated, dash.no_update
    table = documents_table(rows, f"{len(rows)} newest document(s)", table_id="live-table")
    return table, updated, sig


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("live-docs", "children"),
        Output("live-updated", "children"),
        Output("live-sig", "data"),
        Input("live-tick", "n_intervals"),
        Input("url", "search"),
        State("live-sig", "data"),
    )
    def update(_n: int, search: str | None, sig: str | None) -> tuple[Any, str, str]:
        return data(ctx, search, sig)
