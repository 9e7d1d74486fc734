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
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import plotly.colors as pcolors
import plotly.io as pio

from dashboard.bands import BandPoint
from dashboard.queries import AlertRow, Bucket
from foundation.schemas import WindowStat

if TYPE_CHECKING:
    import plotly.graph_objects as go

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


def sentiment_index_figure(
    buckets: Sequence[Bucket],
    alerts: Sequence[AlertRow],
    end: datetime,
    topics_order: Sequence[str] = (),
) -> Figure:
    """Mean sentiment score (p(pos) - p(neg)) per topic and bucket, alerts shaded."""
    fig = _base("Sentiment index per topic", "mean score (−1 … 1)")
    series = _by_scope(buckets)
    if not series:
        return _empty(fig)
    order = list(topics_order) or sorted(series)
    for topic in sorted(series, key=lambda t: (order.index(t) if t in order else 999, t)):
        rows = series[topic]
        fig["data"].append(
            {
                "type": "scatter",
                "x": [naive_utc(b.start) for b in rows],
                "y": [round(b.mean_score, 4) for b in rows],
                "customdata": [b.count for b in rows],
                "name": topic,
                "mode": "lines",
                "line": {"width": 1.6, "color": colour_for(topic, order)},
                "hovertemplate": f"{topic}<br>%{{x}}<br>index %{{y:.3f}}<br>%{{customdata}} docs"
                "<extra></extra>",
            }
        )
    fig["layout"]["yaxis"].update(range=[-1.05, 1.05], zeroline=True)
    # Twenty topics wrap the legend onto the x-axis title: the title goes, UTC stays in the
    # chart title.
    fig["layout"]["xaxis"]["title"] = {"text": ""}
    fig["layout"]["title"]["text"] += " (time in UTC)"
    return add_alert_spans(fig, alerts, end)


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
            "marker": {"size": 6, "color": "#d62728"},
            "line": {"color": "#d62728", "width": 1.8},
            "name": "negative share",
            "hovertemplate": "%{x}<br>negative %{y:.0%} of %{customdata[2]} docs"
            "<br>click: show documents<extra></extra>",
        },
    ]
    fig["layout"]["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    fig["layout"].update(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "title": {"text": "documents"},
            "rangemode": "tozero",
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


def backtest_figure(
    closed: Sequence[WindowStat],
    eps: Sequence[dict[str, Any]],
    title: str,
    max_scopes: int = 12,
) -> go.Figure:
    """The backtest report: negative share and volume per scope over the closed windows,
    alert episodes (``BacktestResult.episodes()``) shaded. A ``go.Figure`` with subplots (it
    is written once to a file, so the validation cost the live pages avoid does not matter).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    by_scope: dict[tuple[str, str], int] = {}
    for e in eps:
        k = (e["scope_kind"], e["scope"])
        by_scope[k] = by_scope.get(k, 0) + 1
    ranked = sorted(by_scope, key=lambda k: (-by_scope[k], k))
    scopes = [("all", "all"), *[k for k in ranked if k != ("all", "all")]][:max_scopes]
    # Fill up with the busiest topics, so a quiet run still shows where the volume was.
    volume: dict[tuple[str, str], int] = {}
    for w in closed:
        if w.scope_kind == "topic":
            volume[(w.scope_kind, w.scope)] = volume.get((w.scope_kind, w.scope), 0) + w.count
    for k in sorted(volume, key=lambda k: (-volume[k], k)):
        if len(scopes) >= min(max_scopes, 6):
            break
        if k not in scopes:
            scopes.append(k)
    series: dict[tuple[str, str], list[WindowStat]] = {k: [] for k in scopes}
    for w in closed:
        k = (w.scope_kind, w.scope)
        if k in series:
            series[k].append(w)
    fig = make_subplots(
        rows=len(scopes),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[f"{k}: {s}" for k, s in scopes],
        specs=[[{"secondary_y": True}] for _ in scopes],
        vertical_spacing=min(0.08, 0.5 / len(scopes)),
    )
    all_starts = [w.window_start.timestamp() for w in closed]
    span_s = (max(all_starts) - min(all_starts)) if all_starts else 0.0
    size_s = int((closed[0].window_end - closed[0].window_start).total_seconds()) if closed else 300
    # About 800 points per row at most: bins of whole windows (a month of 5-minute windows
    # is drawn hourly), so the plot stays readable and light.
    need = span_s / 800
    bin_s = next(
        (
            c
            for c in (size_s, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
            if c >= need and c % size_s == 0
        ),
        size_s * max(1, math.ceil(need / size_s)),
    )
    first_bin = int(min(all_starts) // bin_s * bin_s) if all_starts else 0
    last_bin = int(max(all_starts) // bin_s * bin_s) if all_starts else 0
    for row, k in enumerate(scopes, start=1):
        bins: dict[int, list[float]] = {}
        for w in series[k]:
            b = int(w.window_start.timestamp() // bin_s * bin_s)
            acc = bins.setdefault(b, [0, 0, 0.0])
            acc[0] += w.count
            acc[1] += w.negative
            acc[2] += w.score_sum
        # Every bin of the range, empty ones included, so lines break where nothing was seen.
        for b in range(first_bin, last_bin + 1, bin_s):
            bins.setdefault(b, [0, 0, 0.0])
        keys = sorted(bins)
        xs = [datetime.fromtimestamp(b, UTC) for b in keys]
        counts = [bins[b][0] for b in keys]
        fig.add_trace(
            go.Bar(
                x=xs,
                y=counts,
                name=f"volume per {bin_s // 60} min"
                if bin_s < 3600
                else f"volume per {bin_s // 3600} h",
                marker_color="#9fb3c8",
                opacity=0.5,
                showlegend=row == 1,
            ),
            row=row,
            col=1,
            secondary_y=True,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[bins[b][1] / bins[b][0] if bins[b][0] else None for b in keys],
                name="negative share",
                mode="lines",
                line={"color": "#c0392b", "width": 1},
                connectgaps=False,
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[bins[b][2] / bins[b][0] if bins[b][0] else None for b in keys],
                name="mean score",
                mode="lines",
                line={"color": "#2c7fb8", "width": 1},
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        starts = []
        for e in eps:
            if (e["scope_kind"], e["scope"]) != k:
                continue
            start = datetime.fromisoformat(e["startsAt"].replace("Z", "+00:00"))
            end = (
                datetime.fromisoformat(e["endsAt"].replace("Z", "+00:00"))
                if e["endsAt"]
                else (xs[-1] + timedelta(seconds=bin_s) if xs else start)
            )
            # At least one bin wide, so a short alert stays visible on a long range.
            end = max(end, start + timedelta(seconds=bin_s))
            fig.add_vrect(
                x0=start,
                x1=end,
                fillcolor="#e74c3c",
                opacity=0.25,
                line_width=0,
                row=row,  # type: ignore[arg-type]
                col=1,  # type: ignore[arg-type]
            )
            starts.append((start, e))
        if starts:
            fig.add_trace(
                go.Scatter(
                    x=[s for s, _ in starts],
                    y=[1.05] * len(starts),
                    mode="markers",
                    marker={"symbol": "triangle-down", "size": 12, "color": "#e74c3c"},
                    name="alert",
                    text=[
                        f"{e['startsAt']} → {e['endsAt'] or 'firing'}<br>{e['summary']}"
                        for _, e in starts
                    ],
                    hoverinfo="text",
                    showlegend=False,
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(range=[-1, 1.15], row=row, col=1, secondary_y=False)
    fig.update_layout(
        title=title,
        height=max(400, 260 * len(scopes)),
        template="plotly_white",
        legend={"orientation": "h"},
    )
    return fig
