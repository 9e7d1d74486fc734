"""Pure figure builders: rows from dashboard/queries.py in, a plotly figure out.

A figure is plotly's JSON figure spec (``{"data": [...], "layout": {...}}``), what
``dcc.Graph`` draws and ``plotly.graph_objects.Figure(fig)`` accepts. Plain dicts, because
building ``go.Figure`` objects validates every property on every call and cost 50-130 ms per
chart on the benchmark store (bench/dashboard.py). No I/O and no clock: the range end is
passed in. Times are naive UTC strings (plotly.js does not honour offsets); axis titles say
"UTC".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.colors as pcolors
import plotly.io as pio

from dashboard.bands import BandPoint
from dashboard.queries import AlertRow, Bucket

Figure = dict[str, Any]

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
RESOLVED_FILL = "rgba(255, 152, 0, 0.10)"
# plotly.js does not know template names (plotly.py expands them), so the template goes in
# as the spec itself, built once.
TEMPLATE: dict[str, Any] = pio.templates["plotly_white"].to_plotly_json()
# ColorBrewer Reds as plotly.py knows it (plotly.js's own "Reds" starts at grey).
REDS = [[i / (len(pcolors.sequential.Reds) - 1), c] for i, c in enumerate(pcolors.sequential.Reds)]
_HEIGHT = 330


def naive_utc(dt: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, the date form plotly.js reads without a zone."""
    if dt.tzinfo:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def colour_for(name: str, names: Sequence[str]) -> str:
    try:
        i = list(names).index(name)
    except ValueError:
        i = sum(map(ord, name))
    return PALETTE[i % len(PALETTE)]


def _base(title: str, y_title: str, height: int = _HEIGHT) -> Figure:
    return {
        "data": [],
        "layout": {
            "title": {"text": title, "x": 0.01, "font": {"size": 15}},
            "template": TEMPLATE,
            "height": height,
            "margin": {"l": 55, "r": 20, "t": 45, "b": 40},
            "legend": {"orientation": "h", "y": -0.18},
            "hovermode": "closest",
            "xaxis": {"title": {"text": "time (UTC)"}, "type": "date"},
            "yaxis": {"title": {"text": y_title}},
            "shapes": [],
            "annotations": [],
        },
    }


def _empty(fig: Figure, text: str = "No data in this range") -> Figure:
    fig["layout"]["annotations"].append(
        {
            "text": text,
            "showarrow": False,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "font": {"size": 14, "color": "#777"},
        }
    )
    fig["layout"]["xaxis"]["visible"] = False
    fig["layout"]["yaxis"]["visible"] = False
    return fig


def _by_scope(buckets: Sequence[Bucket]) -> dict[str, list[Bucket]]:
    out: dict[str, list[Bucket]] = {}
    for b in buckets:
        out.setdefault(b.scope, []).append(b)
    for rows in out.values():
        rows.sort(key=lambda b: b.start)
    return out


def add_alert_spans(
    fig: Figure, alerts: Sequence[AlertRow], end: datetime, *, label: bool = True, limit: int = 25
) -> Figure:
    """Shade each alert from start to end (a firing alert runs to ``end``)."""
    lay = fig["layout"]
    for a in list(alerts)[:limit]:
        x1 = a.ends_at or end
        if x1 <= a.starts_at:
            x1 = a.starts_at + timedelta(minutes=1)
        x0s, x1s = naive_utc(a.starts_at), naive_utc(x1)
        lay["shapes"].append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": x0s,
                "x1": x1s,
                "y0": 0,
                "y1": 1,
                "fillcolor": ALERT_FILL if a.status == "firing" else RESOLVED_FILL,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        if label:
            lay["annotations"].append(
                {
                    "text": f"{a.status}: {a.scope_kind}={a.scope}",
                    "x": x0s,
                    "xref": "x",
                    "xanchor": "left",
                    "y": 1,
                    "yref": "paper",
                    "yanchor": "top",
                    "showarrow": False,
                    "font": {"size": 10},
                }
            )
    return fig


# Documents at which a point is drawn full size: below, it shrinks, so a window of one or
# two documents never looks like a crisis, even on a quiet scope where every window is small.
FULL_SIZE_DOCS = 20


def volume_sizes(
    counts: Sequence[int],
    top: int | None = None,
    smallest: float = 2.0,
    largest: float = 11.0,
) -> list[float]:
    """Marker diameters growing with the square root of the documents behind each point,
    relative to ``top`` (default the largest count) but never to fewer than
    :data:`FULL_SIZE_DOCS`."""
    top = max(top or max(counts, default=0), FULL_SIZE_DOCS)
    return [round(smallest + (largest - smallest) * min(c / top, 1.0) ** 0.5, 1) for c in counts]


# Topics drawn by default in the overview's trend view; the others are one click away.
TREND_TOPICS = 8
# Recent documents at which a topic's change counts half: a move carried by a handful of
# documents ranks below one carried by fifty.
MOVE_HALF_DOCS = 10


def topic_moves(buckets: Sequence[Bucket]) -> dict[str, float]:
    """How much each topic's mean score moved: the last quarter of the range against the
    rest (documents-weighted), times n / (n + MOVE_HALF_DOCS) for n recent documents."""
    if not buckets:
        return {}
    t0 = min(b.start for b in buckets)
    t1 = max(b.start for b in buckets)
    cut = t0 + (t1 - t0) * 0.75
    acc: dict[str, list[float]] = {}
    for b in buckets:
        a = acc.setdefault(b.scope, [0, 0.0, 0, 0.0])  # recent n, sum; earlier n, sum
        i = 0 if b.start >= cut and t1 > t0 else 2
        a[i] += b.count
        a[i + 1] += b.score_sum
    out = {}
    for topic, (rn, rs, en, es) in acc.items():
        if not rn:
            out[topic] = 0.0
            continue
        before = es / en if en else 0.0
        out[topic] = (rs / rn - before) * rn / (rn + MOVE_HALF_DOCS)
    return out


def trend_topics(
    buckets: Sequence[Bucket], alerts: Sequence[AlertRow], limit: int | None = TREND_TOPICS
) -> list[str]:
    """Topics for the trend view: those with an alert first, then by how much they moved
    (largest change first); all of them when ``limit`` is None."""
    moves = topic_moves(buckets)
    alerted = {a.scope for a in alerts if a.scope_kind == "topic"}
    ranked = sorted(moves, key=lambda t: (t not in alerted, -abs(moves[t]), t))
    return ranked if limit is None else ranked[:limit]


def topic_trends_figure(
    buckets: Sequence[Bucket],
    alerts: Sequence[AlertRow],
    end: datetime,
    topics: Sequence[str],
    topics_order: Sequence[str] = (),
    cols: int = 4,
) -> Figure:
    """Small multiples: one panel per topic in ``topics`` (in that order) with its mean
    score (−1 … 1) over time, points sized by documents, its alerts shaded. Every panel has
    the same axes, so panels compare at a glance."""
    series = _by_scope(buckets)
    topics = [t for t in topics if t in series]
    n = len(topics)
    cols = max(1, min(cols, n))
    rows_n = max(1, math.ceil(n / cols))
    fig = _base("Sentiment index per topic (mean score, time in UTC)", "", 60 + 150 * rows_n)
    if not n:
        return _empty(fig)
    lay = fig["layout"]
    lay.update(showlegend=False, margin={"l": 45, "r": 15, "t": 50, "b": 30})
    del lay["xaxis"], lay["yaxis"]
    top = max((b.count for t in topics for b in series[t]), default=1)
    gap_x, gap_y = 0.04, 0.5 / rows_n
    width = (1 - gap_x * (cols - 1)) / cols
    height = (1 - gap_y * (rows_n - 1)) / rows_n
    order = list(topics_moves := topic_moves(buckets))  # noqa: F841 - order of moves unused
    names = list(topics_order) or sorted(series)
    for k, topic in enumerate(topics):
        r, c = divmod(k, cols)
        ax = "" if k == 0 else str(k + 1)
        x0 = c * (width + gap_x)
        y1 = 1 - r * (height + gap_y)
        rows = series[topic]
        colour = colour_for(topic, names)
        fig["data"].append(
            {
                "type": "scatter",
                "x": [naive_utc(b.start) for b in rows],
                "y": [round(b.mean_score, 4) for b in rows],
                "customdata": [b.count for b in rows],
                "name": topic,
                "xaxis": f"x{ax}",
                "yaxis": f"y{ax}",
                "mode": "lines+markers",
                "line": {"width": 1.2, "color": colour},
                "marker": {
                    "size": volume_sizes([b.count for b in rows], top, largest=8.0),
                    "color": colour,
                },
                "hovertemplate": f"{topic}<br>%{{x}}<br>index %{{y:.2f}}<br>%{{customdata}} docs"
                "<extra></extra>",
            }
        )
        last_row = r == rows_n - 1 or k + cols >= n
        lay[f"xaxis{ax}"] = {
            "type": "date",
            "domain": [x0, x0 + width],
            "anchor": f"y{ax}",
            "matches": "x" if k else None,
            "showticklabels": last_row,
            "nticks": 4,
        }
        lay[f"yaxis{ax}"] = {
            "domain": [y1 - height, y1],
            "anchor": f"x{ax}",
            "range": [-1.05, 1.05],
            "tickvals": [-1, 0, 1],
            "zeroline": True,
            "showticklabels": c == 0,
        }
        move = topics_moves.get(topic, 0.0)
        lay["annotations"].append(
            {
                "text": f"<b>{topic}</b>  {'▲' if move > 0 else '▼' if move < 0 else ''}"
                f"{abs(move):.2f}",
                "xref": f"x{ax} domain",
                "yref": f"y{ax} domain",
                "x": 0,
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12},
            }
        )
        for a in alerts:
            if a.scope_kind != "topic" or a.scope != topic:
                continue
            x1 = a.ends_at or end
            lay["shapes"].append(
                {
                    "type": "rect",
                    "xref": f"x{ax}",
                    "yref": f"y{ax} domain",
                    "x0": naive_utc(a.starts_at),
                    "x1": naive_utc(max(x1, a.starts_at + timedelta(minutes=1))),
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": ALERT_FILL if a.status == "firing" else RESOLVED_FILL,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
    return fig


def negative_heatmap_figure(buckets: Sequence[Bucket]) -> Figure:
    """Topic × time grid of the negative share (blank where a bucket had no documents)."""
    series = _by_scope(buckets)
    fig = _base("Negative share by topic", "", height=max(_HEIGHT, 26 * len(series) + 110))
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
    fig["data"].append(
        {
            "type": "heatmap",
            "x": [naive_utc(t) for t in times],
            "y": topics,
            "z": z,
            "customdata": counts,
            "zmin": 0,
            "zmax": 1,
            "colorscale": REDS,
            "colorbar": {"title": {"text": "neg. share"}},
            "hoverongaps": False,
            "hovertemplate": "%{y}<br>%{x}<br>negative %{z:.0%} of %{customdata} docs"
            "<extra></extra>",
        }
    )
    fig["layout"]["yaxis"].update(automargin=True)
    return fig


def volume_figure(buckets: Sequence[Bucket]) -> Figure:
    """Documents per bucket, stacked by sentiment (rows of one scope, e.g. "all")."""
    fig = _base("Volume", "documents")
    rows = sorted(buckets, key=lambda b: b.start)
    if not rows:
        return _empty(fig)
    x = [naive_utc(b.start) for b in rows]
    for label in ("negative", "neutral", "positive"):
        fig["data"].append(
            {
                "type": "bar",
                "x": x,
                "y": [getattr(b, label) for b in rows],
                "name": label,
                "marker": {"color": SENTIMENT_COLOURS[label]},
                "hovertemplate": f"%{{x}}<br>{label}: %{{y}}<extra></extra>",
            }
        )
    fig["layout"].update(barmode="stack", bargap=0.05)
    return fig


def scope_figure(
    rows: Sequence[Bucket],
    band: Sequence[BandPoint | None],
    alerts: Sequence[AlertRow],
    end: datetime,
    bucket_s: int,
    title: str,
) -> Figure:
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
    have = [(x[i], p) for i, p in enumerate(band) if p is not None]
    if have:
        bx = [h[0] for h in have]
        line0 = {"width": 0}
        fig["data"] += [
            {
                "type": "scatter",
                "x": bx,
                "y": [p.upper for _, p in have],
                "mode": "lines",
                "line": line0,
                "hoverinfo": "skip",
                "showlegend": False,
                "name": "band upper",
            },
            {
                "type": "scatter",
                "x": bx,
                "y": [p.lower for _, p in have],
                "mode": "lines",
                "line": line0,
                "fill": "tonexty",
                "fillcolor": "rgba(31, 119, 180, 0.15)",
                "hoverinfo": "skip",
                "name": "baseline band",
            },
            {
                "type": "scatter",
                "x": bx,
                "y": [round(p.mean, 4) for _, p in have],
                "mode": "lines",
                "line": {"width": 1, "dash": "dot", "color": "#1f77b4"},
                "hoverinfo": "skip",
                "name": "baseline",
            },
        ]
    step = timedelta(seconds=bucket_s)
    fig["data"] += [
        {
            "type": "bar",
            "x": x,
            "y": [b.count for b in rows],
            "name": "documents",
            "yaxis": "y2",
            "marker": {"color": "rgba(120, 120, 120, 0.25)"},
            "hovertemplate": "%{x}<br>%{y} docs<extra></extra>",
        },
        {
            "type": "scatter",
            "x": x,
            "y": [round(b.negative_share, 4) for b in rows],
            "customdata": [
                [
                    b.start.astimezone(UTC).isoformat(),
                    (b.start + step).astimezone(UTC).isoformat(),
                    b.count,
                ]
                for b in rows
            ],
            "mode": "lines+markers",
            # Sized by documents: a 100 % share of one document is a dot, not a crisis.
            "marker": {
                "size": volume_sizes([b.count for b in rows], largest=13.0),
                "color": "#d62728",
            },
            "line": {"color": "#d62728", "width": 1.2},
            "name": "negative share",
            "hovertemplate": "%{x}<br>negative %{y:.0%} of %{customdata[2]} docs"
            "<br>(dot size: documents)<br>click: show documents<extra></extra>",
        },
    ]
    fig["layout"]["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    fig["layout"].update(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "title": {"text": "documents"},
            **integer_ticks(max((b.count for b in rows), default=0)),
        },
        clickmode="event+select",
        dragmode="select",
        selectdirection="h",  # a time range: any height
        margin={"l": 55, "r": 55, "t": 45, "b": 40},
    )
    return add_alert_spans(fig, alerts, end, label=False)


def source_rate_figure(buckets: Sequence[Bucket], bucket_s: int) -> Figure:
    """Documents per hour per source over time (from window stats of scope "source")."""
    fig = _base("Documents per hour by source", "documents / hour")
    series = _by_scope(buckets)
    if not series:
        return _empty(fig)
    names = sorted(series)
    per_hour = 3600.0 / bucket_s
    for src in names:
        rows = series[src]
        fig["data"].append(
            {
                "type": "scatter",
                "x": [naive_utc(b.start) for b in rows],
                "y": [round(b.count * per_hour, 2) for b in rows],
                "name": src,
                "mode": "lines",
                "line": {"width": 1.5, "color": colour_for(src, names)},
                "hovertemplate": f"{src}<br>%{{x}}<br>%{{y}} docs/h<extra></extra>",
            }
        )
    return fig


def probability_figure(probs: dict[str, float], title: str, top: int = 5) -> Figure:
    """Horizontal bars of the highest probabilities (a document's topic or sentiment)."""
    items = sorted(probs.items(), key=lambda kv: -kv[1])[:top]
    fig = _base(title, "", height=60 + 26 * max(len(items), 1))
    if not items:
        return _empty(fig, "no probabilities")
    fig["data"].append(
        {
            "type": "bar",
            "x": [round(v, 4) for _, v in items][::-1],
            "y": [k for k, _ in items][::-1],
            "orientation": "h",
            "marker": {"color": [SENTIMENT_COLOURS.get(k, "#1f77b4") for k, _ in items][::-1]},
            "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
        }
    )
    fig["layout"].update(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        yaxis={"automargin": True, "type": "category"},
        showlegend=False,
    )
    return fig


def alert_timeline_figure(alerts: Sequence[AlertRow], start: datetime, end: datetime) -> Figure:
    """One bar per alert episode from start to end (a firing one runs to ``end``)."""
    rows = [a for a in alerts if a.starts_at < end]
    fig = _base("Alert episodes", "", height=max(220, 60 + 26 * len({a.scope for a in rows})))
    if not rows:
        return _empty(fig, "No alerts in this range")
    for status, colour in (("firing", "#d62728"), ("resolved", "#ff9800")):
        mine = [a for a in rows if a.status == status]
        if not mine:
            continue
        xs: list[str | None] = []
        ys: list[str | None] = []
        for a in mine:
            label = f"{a.scope_kind}={a.scope}"
            xs += [naive_utc(max(a.starts_at, start)), naive_utc(a.ends_at or end), None]
            ys += [label, label, None]
        fig["data"].append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines+markers",
                "line": {"width": 8, "color": colour},
                "marker": {"size": 8},
                "name": status,
                "connectgaps": False,
                "hovertemplate": "%{y}<br>%{x}<extra>" + status + "</extra>",
            }
        )
    fig["layout"]["xaxis"]["range"] = [naive_utc(start), naive_utc(end)]
    fig["layout"]["yaxis"].update(automargin=True, type="category")
    return fig


# --- backtest report -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BinnedSeries:
    """One scope's window stats summed into bins of ``bin_s`` seconds (every bin of the run's
    range, empty ones with count 0, so lines break where nothing was seen)."""

    scope_kind: str
    scope: str
    bin_s: int
    starts: list[datetime]
    counts: list[int]
    negative: list[int]
    score_sum: list[float]


@dataclass(frozen=True, slots=True)
class AlertSpan:
    """An alert episode as the report draws it: a shaded span and a hover text."""

    starts_at: datetime
    ends_at: datetime | None
    text: str


def bin_label(bin_s: int) -> str:
    return f"{bin_s // 60} min" if bin_s < 3600 else f"{bin_s // 3600} h"


def integer_ticks(top: int, most: int = 5) -> dict[str, Any]:
    """Axis settings with ticks on whole numbers only (counts of documents): a step of
    1, 2, 5, 10, 20, 50, ... giving at most ``most`` ticks above zero."""
    k = 0
    while True:
        step = (1, 2, 5)[k % 3] * 10 ** (k // 3)
        if top <= step * most:
            break
        k += 1
    return {
        "tickmode": "linear",
        "tick0": 0,
        "dtick": step,
        "tickformat": "d",
        "range": [0, max(top, 1) * 1.08],
    }


def backtest_scope_figure(series: BinnedSeries, spans: Sequence[AlertSpan]) -> Figure:
    """One scope of a backtest: negative share (0-1, left) and mean score (−1..1, right) on
    top, documents per bin (whole numbers) below, the time axis under both, alerts shaded."""
    xs = [naive_utc(t) for t in series.starts]
    share = [n / c if c else None for n, c in zip(series.negative, series.counts, strict=True)]
    score = [s / c if c else None for s, c in zip(series.score_sum, series.counts, strict=True)]
    per = bin_label(series.bin_s)
    share_colour, score_colour = "#c0392b", "#2c7fb8"
    fig: Figure = {
        "data": [
            {
                "type": "scatter",
                "x": xs,
                "y": [None if v is None else round(v, 4) for v in share],
                "customdata": series.counts,
                "name": "negative share",
                "mode": "lines+markers",
                "line": {"color": share_colour, "width": 1},
                # Sized by documents: one negative headline is a dot, a crisis a disc; smaller
                # when there are many points (a month is ~720 hourly points).
                "marker": {
                    "color": share_colour,
                    "size": volume_sizes(
                        series.counts,
                        largest=max(4.0, 11.0 * min(1.0, (150 / max(len(xs), 1)) ** 0.5)),
                    ),
                },
                "connectgaps": False,
                "hovertemplate": "%{x}<br>negative %{y:.0%} of %{customdata} docs<extra></extra>",
            },
            {
                "type": "scatter",
                "x": xs,
                "y": [None if v is None else round(v, 4) for v in score],
                "name": "mean score",
                "yaxis": "y3",
                "mode": "lines",
                "line": {"color": score_colour, "width": 1.2, "dash": "dot"},
                "connectgaps": False,
                "hovertemplate": "%{x}<br>mean score %{y:.2f}<extra></extra>",
            },
            {
                "type": "bar",
                "x": xs,
                "y": series.counts,
                "name": f"documents per {per}",
                "yaxis": "y2",
                "marker": {"color": "#9fb3c8"},
                "hovertemplate": "%{x}<br>%{y} docs<extra></extra>",
            },
        ],
        "layout": {
            "height": 380,
            "margin": {"l": 70, "r": 70, "t": 10, "b": 45},
            "hovermode": "x unified",
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "bargap": 0.05,
            "xaxis": {
                "type": "date",
                "anchor": "y2",
                "title": {"text": "time (UTC)"},
                "showticklabels": True,
            },
            "yaxis": {
                "domain": [0.38, 1.0],
                "range": [0, 1.02],
                "tickformat": ".0%",
                "title": {"text": "negative share", "font": {"color": share_colour}},
            },
            "yaxis3": {
                "overlaying": "y",
                "side": "right",
                "range": [-1.02, 1.02],
                "tickmode": "linear",
                "tick0": -1,
                "dtick": 0.5,
                "showgrid": False,
                "zeroline": False,
                "title": {"text": "mean score (−1 … 1)", "font": {"color": score_colour}},
            },
            "yaxis2": {
                "domain": [0.0, 0.28],
                "title": {"text": f"docs / {per}"},
                **integer_ticks(max(series.counts, default=0)),
            },
            "shapes": [],
            "annotations": [],
        },
    }
    end = series.starts[-1] + timedelta(seconds=series.bin_s) if series.starts else None
    marks_x, marks_text = [], []
    for s in spans:
        x1 = s.ends_at or end or s.starts_at
        # At least one bin wide, so a short alert stays visible on a long range.
        x1 = max(x1, s.starts_at + timedelta(seconds=series.bin_s))
        fig["layout"]["shapes"].append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": naive_utc(s.starts_at),
                "x1": naive_utc(x1),
                "y0": 0,
                "y1": 1,
                "fillcolor": "rgba(231, 76, 60, 0.18)",
                "line": {"width": 0},
                "layer": "below",
            }
        )
        marks_x.append(naive_utc(s.starts_at))
        marks_text.append(s.text)
    if marks_x:
        fig["data"].append(
            {
                "type": "scatter",
                "x": marks_x,
                "y": [1.0] * len(marks_x),
                "mode": "markers",
                "marker": {"symbol": "triangle-down", "size": 12, "color": "#e74c3c"},
                "name": "alert start",
                "text": marks_text,
                "hovertemplate": "%{text}<extra>alert</extra>",
            }
        )
    return fig
