"""Overview: headline figures, the sentiment trend per topic (small multiples of the topics
that moved most, all topics one click away), the negative-share heatmap and the volume."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboard import figures, queries
from dashboard.components import GRAPH_CONFIG, headline_cards
from dashboard.context import Context
from models.labels import TOPICS


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Overview"),
            html.Div(id="ov-headline", className="cards"),
            html.P(id="ov-range", className="muted"),
            dcc.RadioItems(
                id="ov-trend-show",
                options=[
                    {"label": f"topics that moved most ({figures.TREND_TOPICS})", "value": "moved"},
                    {"label": "all topics", "value": "all"},
                ],
                value="moved",
                inline=True,
                className="trend-show",
            ),
            html.P(
                "▲/▼: change of the topic's mean score in the last quarter of the range "
                "against the rest (weighted down when few documents carry it); dot size: "
                "documents. Topics with an alert come first.",
                className="muted",
            ),
            dcc.Graph(id="ov-index", config=GRAPH_CONFIG),
            html.Div(id="ov-topics", className="topic-links"),
            dcc.Graph(id="ov-heatmap", config=GRAPH_CONFIG),
            dcc.Graph(id="ov-volume", config=GRAPH_CONFIG),
        ],
        id="page-overview",
    )


def data(ctx: Context, search: str | None, show: str | None = "moved") -> tuple[Any, ...]:
    v = ctx.view(search, max_points=150)
    f = v.filters
    scopes = list(f.topics) or None
    topic_rows = ctx.buckets("topic", v, scopes)
    total_rows = ctx.buckets("all", v)
    if not total_rows and topic_rows:
        # No "all" scope in this store: the volume is the sum over topics.
        summed: dict[Any, list[float]] = {}
        for b in topic_rows:
            acc = summed.setdefault(b.start, [0, 0, 0, 0, 0.0])
            for i, val in enumerate((b.count, b.negative, b.neutral, b.positive, b.score_sum)):
                acc[i] += val
        total_rows = [
            queries.Bucket("all", t, int(a[0]), int(a[1]), int(a[2]), int(a[3]), a[4])
            for t, a in sorted(summed.items())
        ]
    alert_rows = queries.find_alerts(
        ctx.engine, start=v.start, end=v.end, status="firing", limit=50
    )
    if f.topics:
        alert_rows = [a for a in alert_rows if a.scope_kind != "topic" or a.scope in f.topics]
    present = sorted({b.scope for b in topic_rows})
    links = [html.Span("Topics: ", className="muted")] + [
        dcc.Link(t, href=f"/topic/{t}", className="topic-link") for t in present
    ]
    range_txt = (
        f"{v.start:%Y-%m-%d %H:%M} → {v.end:%Y-%m-%d %H:%M} UTC · "
        f"buckets of {v.bucket_s // 60} min · newest data {v.anchor:%Y-%m-%d %H:%M} UTC"
    )
    return (
        headline_cards(queries.headline(ctx.engine, v.anchor)),
        range_txt,
        figures.topic_trends_figure(
            topic_rows,
            alert_rows,
            v.end,
            figures.trend_topics(
                topic_rows, alert_rows, None if show == "all" else figures.TREND_TOPICS
            ),
            TOPICS,
        ),
        links,
        figures.negative_heatmap_figure(topic_rows),
        figures.volume_figure(total_rows),
    )


def register(app: dash.Dash, ctx: Context) -> None:
    @app.callback(
        Output("ov-headline", "children"),
        Output("ov-range", "children"),
        Output("ov-index", "figure"),
        Output("ov-topics", "children"),
        Output("ov-heatmap", "figure"),
        Output("ov-volume", "figure"),
        Input("url", "search"),
        Input("ov-trend-show", "value"),
    )
    def update(search: str | None, show: str | None) -> tuple[Any, ...]:
        return data(ctx, search, show)
