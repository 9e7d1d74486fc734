"""Topic, ticker and sector pages: the negative share with its baseline band and alert spans,
and the documents behind a clicked point or a selected range.

A sector page's figure is the sector's own window stats (tickers and entities, as the worker
counted them). Its documents are those carrying a ticker of the sector or naming one of its
entities (FTX, Binance, ...) in the headline: the store keeps tickers, not entities, so the
entity part is a title match and may include an odd extra headline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import dash
from dash import Input, Output, State, dcc, html

from dashboard import alert_forms, figures, queries
from dashboard.bands import ewma_band
from dashboard.components import GRAPH_CONFIG, documents_table
from dashboard.context import Context, View
from dashboard.filters import normalise_ticker
from ingest.tickers import SECTORS, default_index
from models.labels import TOPICS

DOC_LIMIT = 100
# Fewer, fuller buckets than the overview: a share over 2 documents is noise.
MAX_POINTS = 120


def parse_path(pathname: str | None) -> tuple[str, str] | None:
    """("topic", name), ("ticker", SYM) or ("sector", name) from ``/topic/<name>``,
    ``/ticker/<sym>`` or ``/sector/<name>``."""
    parts = [p for p in (pathname or "").split("/") if p]
    if len(parts) != 2 or parts[0] not in ("topic", "ticker", "sector"):
        return None
    kind, name = parts[0], unquote(parts[1])
    if kind == "topic":
        return (kind, name) if name in TOPICS else None
    if kind == "sector":
        return (kind, name) if name in SECTORS else None
    sym = normalise_ticker(name)
    return (kind, sym) if sym else None


def sector_members(sector: str) -> tuple[list[str], list[str]]:
    """Tickers and entity names of ``sector`` in the shipped list (sorted)."""
    idx = default_index()
    tickers = sorted(t for t, s in idx.sectors.items() if s == sector)
    entities = sorted(e for e, s in idx.entity_sectors.items() if s == sector)
    return tickers, entities


def layout(kind: str, name: str) -> html.Div:
    return html.Div(
        [
            html.H2([f"{kind}: ", html.Span(name, id="sc-name")]),
            html.P(id="sc-range", className="muted"),
            dcc.Graph(id="sc-graph", config=GRAPH_CONFIG),
            html.P(
                "Click a point for the documents of that window, or drag to select a range.",
                className="muted",
            ),
            html.Div(id="sc-docs"),
            html.Div(id="doc-detail"),
            dcc.Store(id="sc-version", data=0),
            alert_forms.silence_form("sc", alert_forms.scope_matchers(kind, name)),
        ],
        id="page-scope",
    )


def _band_params(ctx: Context, bucket_s: int) -> tuple[float, float]:
    rules = ctx.settings.alerts.rules
    halflife_w = rules[0].baseline_halflife_windows if rules else 36.0
    z = rules[0].share_z if rules else 3.0
    return max(1.0, halflife_w * ctx.window_s / bucket_s), z


def graph_data(ctx: Context, kind: str, name: str, search: str | None) -> tuple[Any, str]:
    v = ctx.view(search, max_points=MAX_POINTS)
    rows = ctx.buckets(kind, v, [name])
    halflife, z = _band_params(ctx, v.bucket_s)
    band = ewma_band(
        [b.negative_share for b in rows], [b.count for b in rows], halflife=halflife, z=z
    )
    alert_rows = queries.find_alerts(
        ctx.engine, start=v.start, end=v.end, scope_kind=kind, scopes=[name], limit=50
    )
    fig = figures.scope_figure(
        rows, band, alert_rows, v.end, v.bucket_s, f"Negative share · {kind} {name}"
    )
    n = sum(b.count for b in rows)
    caption = (
        f"{v.start:%Y-%m-%d %H:%M} → {v.end:%Y-%m-%d %H:%M} UTC · {n:,} documents · "
        f"buckets of {v.bucket_s // 60} min · band: EWMA ± {z:g} sd · "
        f"{len(alert_rows)} alert(s)"
    )
    return fig, caption


def _parse_iso(value: Any) -> datetime | None:
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def selection_range(
    click: dict[str, Any] | None, selected: dict[str, Any] | None, use: str | None
) -> tuple[datetime, datetime] | None:
    """The [start, end) behind a click (``use="click"``) or a box selection (``"select"``)."""
    data = click if use == "click" else selected if use == "select" else None
    if not data:
        return None
    spans = []
    for p in data.get("points") or []:
        cd = p.get("customdata")
        if isinstance(cd, list) and len(cd) >= 2:
            s, e = _parse_iso(cd[0]), _parse_iso(cd[1])
            if s and e:
                spans.append((s, e))
    if spans:
        return min(s for s, _ in spans), max(e for _, e in spans)
    xr = (data.get("range") or {}).get("x") if use == "select" else None
    if xr and len(xr) == 2:
        s, e = _parse_iso(xr[0]), _parse_iso(xr[1])
        if s and e and s < e:
            return s, e
    return None


def docs_data(
    ctx: Context,
    kind: str,
    name: str,
    search: str | None,
    span: tuple[datetime, datetime] | None,
) -> Any:
    v: View = ctx.view(search, max_points=MAX_POINTS)
    f = v.filters
    start, end = span or (v.start, v.end)
    members: tuple[list[str], list[str]] | None = sector_members(name) if kind == "sector" else None
    rows = queries.find_documents(
        ctx.engine,
        start=start,
        end=end,
        topic=name if kind == "topic" else None,
        ticker=name if kind == "ticker" else None,
        any_tickers=members[0] if members else None,
        title_terms=members[1] if members else (),
        source=f.source,
        sentiment=f.sentiment,
        limit=DOC_LIMIT,
    )
    what = "selected window" if span else "whole range"
    cap = f" (newest {DOC_LIMIT})" if len(rows) == DOC_LIMIT else ""
    caption = (
        f"{len(rows)} document(s){cap} · {what} {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
    )
    return documents_table(rows, caption, table_id="sc-docs-table")


def register(app: dash.Dash, ctx: Context) -> None:
    alert_forms.register(app, ctx, "sc", "sc-version")

    @app.callback(
        Output("sc-graph", "figure"),
        Output("sc-range", "children"),
        Input("url", "search"),
        State("url", "pathname"),
    )
    def graph(search: str | None, pathname: str | None) -> tuple[Any, str]:
        scope = parse_path(pathname)
        if scope is None:
            raise dash.exceptions.PreventUpdate
        return graph_data(ctx, scope[0], scope[1], search)

    @app.callback(
        Output("sc-docs", "children"),
        Input("sc-graph", "clickData"),
        Input("sc-graph", "selectedData"),
        Input("url", "search"),
        State("url", "pathname"),
    )
    def docs(
        click: dict[str, Any] | None,
        selected: dict[str, Any] | None,
        search: str | None,
        pathname: str | None,
    ) -> Any:
        scope = parse_path(pathname)
        if scope is None:
            raise dash.exceptions.PreventUpdate
        props = dash.ctx.triggered_prop_ids
        use = None
        if "sc-graph.selectedData" in props:
            use = "select"
        if "sc-graph.clickData" in props:
            use = "click"
        return docs_data(ctx, scope[0], scope[1], search, selection_range(click, selected, use))
