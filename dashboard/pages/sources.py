"""Sources: health counters per source and documents per hour."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboard import figures, queries
from dashboard.components import GRAPH_CONFIG, sources_table
from dashboard.context import Context


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Sources"),
            html.P(id="src-caption", className="muted"),
            html.Div(id="src-table"),
            dcc.Graph(id="src-graph", config=GRAPH_CONFIG),
        ],
        id="page-sources",
    )


def data(ctx: Context, search: str | None) -> tuple[Any, ...]:
    v = ctx.view(search, max_points=150)
    f = v.filters
    rows = queries.source_rows(ctx.engine, v.anchor)
    if f.source:
        rows = [r for r in rows if r.source == f.source]
    scopes = [f.source] if f.source else None
    buckets = ctx.buckets("source", v, scopes)
    caption = (
        f"Counts per source over the 24 h before {v.anchor:%Y-%m-%d %H:%M} UTC (newest data); "
        "the chart follows the time range."
    )
    return sources_table(rows), figures.source_rate_figure(buckets, v.bucket_s), caption


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("src-table", "children"),
        Output("src-graph", "figure"),
        Output("src-caption", "children"),
        Input("url", "search"),
    )
    def update(search: str | None) -> tuple[Any, ...]:
        return data(ctx, search)
