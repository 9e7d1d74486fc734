"""Pure figure builders: rows from dashboard/queries.py in, a plotly Figure out.

No I/O and no clock: the range end is passed in. Times are drawn as naive UTC (plotly.js does
not honour offsets), and the axis titles say "UTC".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go

from dashboard.bands import BandPoint
from dashboard.queries import AlertRow, Bucket

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
)
SENTIMENT_COLOURS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
ALERT_FILL = "rgba(214, 39, 40, 0.13)"
_HEIGHT = 330


def naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def colour_for(name: str, names: Sequence[str]) -> str:
    try:
        i = list(names).index(name)
    except ValueError:
        i = sum(map(ord, name))
    return PALETTE[i % len(PALETTE)]


def _base(title: str, y_title: str, height: int = _HEIGHT) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 55, "r": 20, "t": 45, "b": 40},
        legend={"orientation": "h", "y": -0.18},
        hovermode="closest",
        xaxis_title="time (UTC)",
        yaxis_title=y_title,
    )
    return fig


def _empty(fig: go.Figure, text: str = "No data in this range") -> go.Figure:
    fig.add_annotation(
        text=text,
        showarrow=False,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        font={"size": 14, "color": "#777"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _by_scope(buckets: Sequence[Bucket]) -> dict[str, list[Bucket]]:
    out: dict[str, list[Bucket]] = {}
    for b in buckets:
        out.setdefault(b.scope, []).append(b)
    for rows in out.values():
        rows.sort(key=lambda b: b.start)
    return out


def add_alert_spans(
    fig: go.Figure,
    alerts: Sequence[AlertRow],
    end: datetime,
    *,
    label: bool = True,
    limit: int = 25,
) -> go.Figure:
    """Shade each alert from start to end (a firing alert runs to ``end``)."""
    for a in list(alerts)[:limit]:
        x1 = a.ends_at or end
        if x1 <= a.starts_at:
            x1 = a.starts_at + timedelta(minutes=1)
        note: dict[str, object] = {}
        if label:
            note = {
                "annotation_text": f"{a.status}: {a.scope_kind}={a.scope}",
                "annotation_position": "top left",
                "annotation_font_size": 10,
            }
        fig.add_vrect(
            x0=naive_utc(a.starts_at),
            x1=naive_utc(x1),
            fillcolor=ALERT_FILL if a.status == "firing" else "rgba(255, 152, 0, 0.10)",
            line_width=0,
            layer="below",
            **note,
        )
    return fig


def sentiment_index_figure(
    buckets: Sequence[Bucket],
    alerts: Sequence[AlertRow],
    end: datetime,
    topics_order: Sequence[str] = (),
) -> go.Figure:
    """Mean sentiment score (p(pos) - p(neg)) per topic and bucket, alerts shaded."""
    fig = _base("Sentiment index per topic", "mean score (−1 … 1)")
    series = _by_scope(buckets)
    if not series:
        return _empty(fig)
    order = list(topics_order) or sorted(series)
    for topic in sorted(series, key=lambda t: (order.index(t) if t in order else 999, t)):
        rows = series[topic]
        fig.add_trace(
            go.Scatter(
                x=[naive_utc(b.start) for b in rows],
                y=[round(b.mean_score, 4) for b in rows],
                customdata=[b.count for b in rows],
                name=topic,
                mode="lines",
                line={"width": 1.6, "color": colour_for(topic, order)},
                hovertemplate=f"{topic}<br>%{{x}}<br>index %{{y:.3f}}<br>%{{customdata}} docs"
                "<extra></extra>",
            )
        )
    fig.update_yaxes(range=[-1.05, 1.05], zeroline=True)
    return add_alert_spans(fig, alerts, end)


def negative_heatmap_figure(buckets: Sequence[Bucket]) -> go.Figure:
    """Topic × time grid of the negative share (blank where a bucket had no documents)."""
    fig = _base("Negative share by topic", "topic", height=max(_HEIGHT, 24 * 20 + 80))
    series = _by_scope(buckets)
    if not series:
        return _empty(fig)
    times = sorted({b.start for b in buckets})
    col = {t: i for i, t in enumerate(times)}
    topics = sorted(series)
    z: list[list[float | None]] = []
    counts: list[list[int]] = []
    for topic in topics:
        zrow: list[float | None] = [None] * len(times)
        crow = [0] * len(times)
        for b in series[topic]:
            if b.count:
                zrow[col[b.start]] = round(b.negative_share, 4)
                crow[col[b.start]] = b.count
        z.append(zrow)
        counts.append(crow)
    fig.add_trace(
        go.Heatmap(
            x=[naive_utc(t) for t in times],
            y=topics,
            z=z,
            customdata=counts,
            zmin=0,
            zmax=1,
            colorscale="Reds",
            colorbar={"title": {"text": "neg. share"}},
            hoverongaps=False,
            hovertemplate="%{y}<br>%{x}<br>negative %{z:.0%} of %{customdata} docs<extra></extra>",
        )
    )
    fig.update_yaxes(title=None, automargin=True)
    return fig


def volume_figure(buckets: Sequence[Bucket]) -> go.Figure:
    """Documents per bucket, stacked by sentiment (rows of one scope, e.g. "all")."""
    fig = _base("Volume", "documents")
    rows = sorted(buckets, key=lambda b: b.start)
    if not rows:
        return _empty(fig)
    x = [naive_utc(b.start) for b in rows]
    for label in ("negative", "neutral", "positive"):
        fig.add_trace(
            go.Bar(
                x=x,
                y=[getattr(b, label) for b in rows],
                name=label,
                marker_color=SENTIMENT_COLOURS[label],
                hovertemplate=f"%{{x}}<br>{label}: %{{y}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", bargap=0.05)
    return fig


def scope_figure(
    rows: Sequence[Bucket],
    band: Sequence[BandPoint | None],
    alerts: Sequence[AlertRow],
    end: datetime,
    bucket_s: int,
    title: str,
) -> go.Figure:
    """Negative share of one scope with its baseline band, volume, and alert spans.

    Each point carries ``customdata = [start ISO, end ISO, count]`` of its bucket so a click
    or a box selection maps back to the documents behind it.
    """
    fig = _base(title, "negative share")
    rows = list(rows)
    if not rows:
        return _empty(fig)
    if len(band) != len(rows):
        raise ValueError("band must have one entry per row")
    x = [naive_utc(b.start) for b in rows]
    have = [i for i, p in enumerate(band) if p is not None]
    if have:
        bx = [x[i] for i in have]
        fig.add_trace(
            go.Scatter(
                x=bx,
                y=[band[i].upper for i in have],  # type: ignore[union-attr]
                mode="lines",
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name="band upper",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=bx,
                y=[band[i].lower for i in have],  # type: ignore[union-attr]
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(31, 119, 180, 0.15)",
                hoverinfo="skip",
                name="baseline band",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=bx,
                y=[band[i].mean for i in have],  # type: ignore[union-attr]
                mode="lines",
                line={"width": 1, "dash": "dot", "color": "#1f77b4"},
                hoverinfo="skip",
                name="baseline",
            )
        )
    fig.add_trace(
        go.Bar(
            x=x,
            y=[b.count for b in rows],
            name="documents",
            yaxis="y2",
            marker_color="rgba(120, 120, 120, 0.25)",
            hovertemplate="%{x}<br>%{y} docs<extra></extra>",
        )
    )
    step = timedelta(seconds=bucket_s)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[round(b.negative_share, 4) for b in rows],
            customdata=[
                [
                    b.start.astimezone(UTC).isoformat(),
                    (b.start + step).astimezone(UTC).isoformat(),
                    b.count,
                ]
                for b in rows
            ],
            mode="lines+markers",
            marker={"size": 6, "color": "#d62728"},
            line={"color": "#d62728", "width": 1.8},
            name="negative share",
            hovertemplate="%{x}<br>negative %{y:.0%} of %{customdata[2]} docs"
            "<br>click: show documents<extra></extra>",
        )
    )
    fig.update_layout(
        yaxis={"range": [0, 1.02], "tickformat": ".0%"},
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "title": "documents",
            "rangemode": "tozero",
        },
        clickmode="event+select",
        dragmode="select",
        selectdirection="h",  # a time range: any height
        margin={"l": 55, "r": 55, "t": 45, "b": 40},
    )
    return add_alert_spans(fig, alerts, end, label=False)


def source_rate_figure(buckets: Sequence[Bucket], bucket_s: int) -> go.Figure:
    """Documents per hour per source over time (from window stats of scope "source")."""
    fig = _base("Documents per hour by source", "documents / hour")
    series = _by_scope(buckets)
    if not series:
        return _empty(fig)
    names = sorted(series)
    per_hour = 3600.0 / bucket_s
    for src in names:
        rows = series[src]
        fig.add_trace(
            go.Scatter(
                x=[naive_utc(b.start) for b in rows],
                y=[round(b.count * per_hour, 2) for b in rows],
                name=src,
                mode="lines",
                line={"width": 1.5, "color": colour_for(src, names)},
                hovertemplate=f"{src}<br>%{{x}}<br>%{{y}} docs/h<extra></extra>",
            )
        )
    return fig


def probability_figure(probs: dict[str, float], title: str, top: int = 5) -> go.Figure:
    """Horizontal bars of the highest probabilities (a document's topic or sentiment)."""
    items = sorted(probs.items(), key=lambda kv: -kv[1])[:top]
    fig = _base(title, "", height=60 + 26 * max(len(items), 1))
    if not items:
        return _empty(fig, "no probabilities")
    fig.add_trace(
        go.Bar(
            x=[round(v, 4) for _, v in items][::-1],
            y=[k for k, _ in items][::-1],
            orientation="h",
            marker_color=[SENTIMENT_COLOURS.get(k, "#1f77b4") for k, _ in items][::-1],
            hovertemplate="%{y}: %{x:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": None},
        yaxis={"title": None, "automargin": True},
        showlegend=False,
    )
    return fig


def alert_timeline_figure(alerts: Sequence[AlertRow], start: datetime, end: datetime) -> go.Figure:
    """One bar per alert episode from start to end (a firing one runs to ``end``)."""
    rows = [a for a in alerts if a.starts_at < end]
    fig = _base("Alert episodes", "scope", height=max(220, 60 + 26 * len({a.scope for a in rows})))
    if not rows:
        return _empty(fig, "No alerts in this range")
    for status, colour in (("firing", "#d62728"), ("resolved", "#ff9800")):
        mine = [a for a in rows if a.status == status]
        if not mine:
            continue
        x0 = [naive_utc(max(a.starts_at, start)) for a in mine]
        x1 = [naive_utc(a.ends_at or end) for a in mine]
        fig.add_trace(
            go.Scatter(
                x=[v for pair in zip(x0, x1, x0, strict=True) for v in pair],
                y=[
                    v
                    for a in mine
                    for v in (f"{a.scope_kind}={a.scope}", f"{a.scope_kind}={a.scope}", None)
                ],
                mode="lines+markers",
                line={"width": 8, "color": colour},
                marker={"size": 8},
                name=status,
                connectgaps=False,
                hovertemplate="%{y}<br>%{x}<extra>" + status + "</extra>",
            )
        )
    fig.update_xaxes(range=[naive_utc(start), naive_utc(end)])
    fig.update_yaxes(title=None, automargin=True)
    return fig
