"""Live feed: the newest scored documents, refreshed every ``dashboard.refresh_s``."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

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
            html.P(id="live-updated", className="muted"),
            html.Div(id="live-docs"),
            html.Div(id="doc-detail"),
        ],
        id="page-live",
    )


def data(ctx: Context, search: str | None) -> tuple[Any, str]:
    f = ctx.view(search).filters
    rows = queries.find_documents(
        ctx.engine,
        topics=f.topics,
        ticker=f.ticker,
        source=f.source,
        sentiment=f.sentiment,
        limit=LIMIT,
    )
    return (
        documents_table(rows, f"{len(rows)} newest document(s)", table_id="live-table"),
        f"updated {fmt_time(ctx.clock())}",
    )


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("live-docs", "children"),
        Output("live-updated", "children"),
        Input("live-tick", "n_intervals"),
        Input("url", "search"),
    )
    def update(_n: int, search: str | None) -> tuple[Any, str]:
        return data(ctx, search)
