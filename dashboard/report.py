"""The backtest report: one self-contained HTML page built from a backtest result (pure).

The page holds a summary, a table of every alert episode (its figures, evidence and a link to
its panel), and one panel per scope: every alerted scope, then "all" and the busiest topics so
a quiet run still shows where the volume was. Nothing is dropped: a long run gives a long,
scrollable page with a table of contents. Figures are built by
:func:`dashboard.figures.backtest_scope_figure`; this module only bins window stats and
writes HTML. ``finpulse backtest --html`` (dashboard/commands.py) writes the result to a file.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.figures import (
    TEMPLATE,
    AlertSpan,
    BinnedSeries,
    backtest_scope_figure,
    bin_label,
    naive_utc,
)
from foundation.schemas import WindowStat
from monitor.backtest.run import BacktestResult

Scope = tuple[str, str]
# Bins per panel at most: a month of 5-minute windows is drawn hourly, light and readable.
MAX_POINTS = 800
# Panels when no scope alerted: "all" and the busiest topics.
MIN_PANELS = 6
# A sparse scope is drawn in coarser bins until a bin averages this many documents (the
# default rules.min_count: fewer is a share no rule would judge), down to MIN_BINS bins.
MIN_DOCS_PER_BIN = 8.0
MIN_BINS = 48


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def report_scopes(episodes: Sequence[dict[str, Any]], closed: Sequence[WindowStat]) -> list[Scope]:
    """The panels, in order: "all", every alerted scope (in the order of their first alert,
    like the table), then the busiest topics up to :data:`MIN_PANELS`. Never fewer than the
    alerted scopes."""
    scopes: list[Scope] = [("all", "all")]
    for e in sorted(episodes, key=lambda e: e["startsAt"]):
        k = (e["scope_kind"], e["scope"])
        if k not in scopes:
            scopes.append(k)
    volume: dict[Scope, int] = {}
    for w in closed:
        if w.scope_kind == "topic":
            volume[(w.scope_kind, w.scope)] = volume.get((w.scope_kind, w.scope), 0) + w.count
    for k in sorted(volume, key=lambda k: (-volume[k], k)):
        if len(scopes) >= MIN_PANELS:
            break
        if k not in scopes:
            scopes.append(k)
    return scopes


def choose_bin_s(
    closed: Sequence[WindowStat], max_points: int = MAX_POINTS, docs: int | None = None
) -> int:
    """Bin width in whole windows: the smallest of 1 window, 15 min, 30 min, 1 h, 3 h, 6 h,
    1 day that keeps a panel under ``max_points`` bins. Given a scope's ``docs``, coarser
    while that scope would average fewer than :data:`MIN_DOCS_PER_BIN` documents a bin (a
    sparse scope drawn per window is a row of 0 % / 100 % spikes), but never fewer than
    :data:`MIN_BINS` bins over the run."""
    if not closed:
        return 300
    size_s, span = run_extent(closed)
    return bin_choice(size_s, span, max_points, docs)


def run_extent(closed: Sequence[WindowStat]) -> tuple[int, float]:
    """(window size, seconds from the first window's start to the last window's end)."""
    size_s = int((closed[0].window_end - closed[0].window_start).total_seconds())
    starts = [w.window_start.timestamp() for w in closed]
    return size_s, max(starts) - min(starts) + size_s


def bin_choice(size_s: int, span: float, max_points: int, docs: int | None) -> int:
    """:func:`choose_bin_s` on a run's extent (computed once for all panels)."""
    need = span / max_points
    ok = [
        c
        for c in (size_s, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
        if c >= need and c % size_s == 0
    ]
    if not ok:
        return size_s * max(1, math.ceil(need / size_s))
    if docs is None:
        return ok[0]
    for c, coarser in zip(ok, [*ok[1:], None], strict=True):
        if docs * c / span >= MIN_DOCS_PER_BIN or coarser is None or span / coarser < MIN_BINS:
            return c
    return ok[-1]  # pragma: no cover - the loop always returns


def bin_series(closed: Sequence[WindowStat], bins: dict[Scope, int]) -> dict[Scope, BinnedSeries]:
    """Window stats of each scope in ``bins`` summed per bin of its width, over the whole
    run's range (every panel spans the same time)."""
    starts = [int(w.window_start.timestamp()) for w in closed]
    lo, hi = (min(starts), max(starts)) if starts else (0, -1)
    acc: dict[Scope, tuple[int, list[list[float]]]] = {}
    for k, bin_s in bins.items():
        first = lo // bin_s * bin_s
        n = (hi - first) // bin_s + 1 if starts else 0
        acc[k] = (first, [[0, 0, 0.0] for _ in range(n)])
    for w in closed:
        got = acc.get((w.scope_kind, w.scope))
        if got is not None:
            first, cells = got
            cell = cells[(int(w.window_start.timestamp()) - first) // bins[(w.scope_kind, w.scope)]]
            cell[0] += w.count
            cell[1] += w.negative
            cell[2] += w.score_sum
    return {
        k: BinnedSeries(
            scope_kind=k[0],
            scope=k[1],
            bin_s=bins[k],
            starts=[datetime.fromtimestamp(first + i * bins[k], UTC) for i in range(len(cells))],
            counts=[int(c[0]) for c in cells],
            negative=[int(c[1]) for c in cells],
            score_sum=[float(c[2]) for c in cells],
        )
        for k, (first, cells) in acc.items()
    }


def panel_id(kind: str, scope: str) -> str:
    """A stable HTML id for a scope's panel (scopes may hold any character)."""
    safe = "".join(c if c.isalnum() else "-" for c in f"{kind}-{scope}")[:60]
    digest = hashlib.sha1(f"{kind}\0{scope}".encode()).hexdigest()[:8]
    return f"panel-{safe}-{digest}"


def _script_json(value: Any) -> str:
    # Inside <script>, "</" could end the element early (a scope or summary is archive text).
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _pct(v: Any) -> str:
    return f"{float(v):.0%}" if isinstance(v, int | float) else "–"


def _num(v: Any, fmt: str = ".1f") -> str:
    return format(float(v), fmt) if isinstance(v, int | float) else "–"


def _duration(e: dict[str, Any]) -> str:
    if not e["endsAt"]:
        return "still firing"
    minutes = int((_parse(e["endsAt"]) - _parse(e["startsAt"])).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _evidence(e: dict[str, Any]) -> str:
    items = []
    for ev in e["evidence"]:
        title = html.escape(ev["title"])
        neg = ev.get("sentiment_probs", {}).get("negative")
        text = f'<a href="{html.escape(ev["link"])}">{title}</a>' if ev["link"] else title
        meta = f"{html.escape(ev['source'])}, {html.escape(ev['published'])}"
        if neg is not None:
            meta += f", p(neg) {neg:.2f}"
        items.append(f'<li>{text} <span class="muted">({meta})</span></li>')
    more = (
        f'<a href="{html.escape(e["dashboard_url"])}">open in the dashboard</a>'
        if e["dashboard_url"]
        else ""
    )
    if not items:
        return f'<span class="muted">none</span> {more}'
    # Collapsed to the strongest headline, so the table stays one line per alert.
    first = html.escape(e["evidence"][0]["title"])
    return (
        f'<details><summary title="click for all {len(items)} documents">'
        f'<span class="muted">▸ {len(items)} docs ·</span> {first}</summary>'
        f"<ul>{''.join(items)}</ul></details>{more}"
    )


def zoom_range(e: dict[str, Any]) -> tuple[str, str]:
    """The time range a click on an alert's row zooms its chart to: the episode with
    context on both sides (at least three hours, or twice its length)."""
    start = _parse(e["startsAt"])
    end = _parse(e["endsAt"]) if e["endsAt"] else start + timedelta(hours=1)
    pad = max(timedelta(hours=3), 2 * (end - start))
    return naive_utc(start - pad), naive_utc(end + pad)


def incident_list(incidents: Sequence[dict[str, Any]]) -> str:
    """Incidents (alerts of one story grouped by the pipeline), each with links to the
    charts of its scopes."""
    if not incidents:
        return ""
    items = []
    for inc in incidents:
        links = ", ".join(
            f'<a href="#{panel_id(*key.split(":", 1))}">{html.escape(key)}</a>'
            for key in inc.get("scopes", [])
            if ":" in key
        )
        when = f"{inc['startsAt'][:16].replace('T', ' ')} → " + (
            inc["endsAt"][:16].replace("T", " ") if inc.get("endsAt") else "still firing"
        )
        items.append(
            f"<li><b>{html.escape(str(inc.get('id', '')))}</b> "
            f'<span class="muted">{html.escape(when)} UTC · '
            f"{len(inc.get('scopes', []))} scope(s):</span> {links}</li>"
        )
    return (
        f"<h2>Incidents ({len(incidents)})</h2>"
        '<p class="muted">Alerts the pipeline grouped as one story.</p>'
        f'<ul class="incidents">{"".join(items)}</ul>'
    )


def alert_table(episodes: Sequence[dict[str, Any]]) -> str:
    if not episodes:
        return '<p class="muted">No alerts in this run.</p>'
    rows = []
    for i, e in enumerate(episodes, 1):
        f, p = e["figures"], e["peak"]
        pid = panel_id(e["scope_kind"], e["scope"])
        x0, x1 = zoom_range(e)
        meta = [e["rule"], e["fingerprint"]]
        if e.get("incident"):
            meta.append(f"incident {e['incident']}")
        rows.append(
            "<tr>"
            f"<td>{i}</td>"
            f'<td><a href="#{pid}" data-chart="{pid}-chart" data-x0="{x0}" data-x1="{x1}" '
            'title="show this alert on its chart (double-click the chart to zoom out)">'
            f"{html.escape(e['scope_kind'])}: {html.escape(e['scope'])}</a>"
            f'<div class="muted">{html.escape(" · ".join(map(str, meta)))}</div></td>'
            f'<td class="nowrap" title="{html.escape(e["startsAt"])}">'
            f"{html.escape(e['startsAt'][:16].replace('T', ' '))}</td>"
            f'<td class="nowrap">{_duration(e)}</td>'
            f"<td>{_pct(f.get('negative_share'))} of {_num(f.get('count'), '.0f')}</td>"
            f"<td>{_pct(f.get('baseline_share'))}</td>"
            f"<td>{_pct(p.get('negative_share'))} of {_num(p.get('count'), '.0f')}</td>"
            f"<td>{_num(p.get('negative_volume_z'))}</td>"
            f"<td>{e['notifications']}</td>"
            f'<td class="evidence">{_evidence(e)}</td>'
            "</tr>"
        )
    head = (
        "<tr><th>#</th><th>scope</th><th>starts (UTC)</th><th>lasted</th>"
        '<th title="negative share and documents of the span that fired">at firing</th>'
        "<th>baseline share</th>"
        '<th title="highest negative share while firing">peak</th>'
        '<th title="z score of the negative volume at the peak">neg. volume z</th>'
        "<th>notifications</th><th>evidence</th></tr>"
    )
    return f'<table class="alerts"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; }
main { max-width: 1320px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 0 0 2px; }
.muted { color: #666; font-size: 12px; }
.summary span { display: inline-block; margin: 0 18px 4px 0; }
table.alerts { border-collapse: collapse; width: 100%; font-size: 13px; }
table.alerts th, table.alerts td { border-bottom: 1px solid #e3e3e3; padding: 5px 6px;
  text-align: left; vertical-align: top; }
table.alerts th { background: #f5f5f5; position: sticky; top: 0; }
td.evidence ul { margin: 4px 0; padding-left: 16px; max-width: 40vw; }
td.evidence summary { cursor: pointer; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; display: block; max-width: 32vw; }
td.nowrap { white-space: nowrap; }
nav.toc a { margin-right: 12px; white-space: nowrap; }
ul.incidents { padding-left: 18px; } ul.incidents li { margin-bottom: 4px; }
section.panel { border: 1px solid #e3e3e3; border-radius: 6px; padding: 10px 12px;
  margin: 14px 0; scroll-margin-top: 8px; }
section.panel .chart { height: 380px; }
"""

# Panels are drawn when scrolled near, so a month with a hundred alerted scopes stays light.
_SCRIPT = """
const T = %s, F = %s;
const draw = (el) => { if (el.dataset.drawn) return; el.dataset.drawn = 1;
  const f = F[el.id]; f.layout.template = T;
  Plotly.newPlot(el, f.data, f.layout, {responsive: true, displaylogo: false}); };
const io = new IntersectionObserver((es) => es.forEach((e) => {
  if (e.isIntersecting) { draw(e.target); io.unobserve(e.target); } }), {rootMargin: "600px"});
document.querySelectorAll(".chart").forEach((el) => io.observe(el));
document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-chart]"); if (!a) return;
  const el = document.getElementById(a.dataset.chart); draw(el);
  Plotly.relayout(el, {"xaxis.range": [a.dataset.x0, a.dataset.x1]}); });
"""


def report_html(result: BacktestResult, plotly_js: str) -> str:
    """The whole page; ``plotly_js`` is the plotly.js source to inline (self-contained)."""
    eps = result.episodes()
    scopes = report_scopes(eps, result.closed)
    docs: dict[Scope, int] = {}
    for w in result.closed:
        docs[(w.scope_kind, w.scope)] = docs.get((w.scope_kind, w.scope), 0) + w.count
    if result.closed:
        size_s, span = run_extent(result.closed)
        bins = {k: bin_choice(size_s, span, MAX_POINTS, docs.get(k, 0)) for k in scopes}
    else:
        bins = {k: choose_bin_s(result.closed) for k in scopes}
    series = bin_series(result.closed, bins)
    alerted = {(e["scope_kind"], e["scope"]) for e in eps}
    figures: dict[str, Any] = {}
    panels, toc = [], []
    for k in scopes:
        mine = [e for e in eps if (e["scope_kind"], e["scope"]) == k]
        spans = [
            AlertSpan(
                starts_at=_parse(e["startsAt"]),
                ends_at=_parse(e["endsAt"]) if e["endsAt"] else None,
                text=f"{e['startsAt']} → {e['endsAt'] or 'firing'}<br>{e['summary']}",
            )
            for e in mine
        ]
        pid = panel_id(*k)
        figures[f"{pid}-chart"] = backtest_scope_figure(series[k], spans)
        note = f"{len(mine)} alert(s)" if mine else "no alert"
        label = f"{html.escape(k[0])}: {html.escape(k[1])}"
        toc.append(f'<a href="#{pid}">{label}{" ⚠" if k in alerted else ""}</a> ')
        panels.append(
            f'<section class="panel" id="{pid}" data-scope-kind="{html.escape(k[0])}" '
            f'data-scope="{html.escape(k[1])}"><h3>{label}</h3>'
            f'<div class="muted">{note} · {docs.get(k, 0)} documents · bins of '
            f"{bin_label(bins[k])} · alerts shaded red</div>"
            f'<div class="chart" id="{pid}-chart"></div></section>'
        )
    files = ", ".join(html.escape(Path(f).name) for f in result.files)
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(result.skipped.items())) or "none"
    summary = (
        f'<div class="summary"><span><b>{result.documents}</b> documents</span>'
        f"<span><b>{result.scored}</b> scored</span><span>{result.tagged} tagged</span>"
        f"<span>skipped: {html.escape(skipped)}</span><span>{result.bad_lines} bad lines</span>"
        f"<span>{result.windows} windows</span><span><b>{len(eps)}</b> alerts "
        f"({len(result.alerts)} notifications)</span><span>{result.late} late</span></div>"
    )
    title = f"finpulse backtest — {files} — model {html.escape(result.model)}"
    script = _SCRIPT % (_script_json(TEMPLATE), _script_json(figures))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>"
        f"<style>{_CSS}</style><script>{plotly_js}</script></head><body><main>"
        f"<h1>{title}</h1>{summary}"
        f"{incident_list(result.incidents())}"
        f"<h2>Alerts ({len(eps)})</h2>{alert_table(eps)}"
        f"<h2>Scopes ({len(scopes)}: {len(alerted)} alerted)</h2>"
        f'<nav class="toc">{"".join(toc)}</nav>{"".join(panels)}'
        f"<script>{script}</script></main></body></html>"
    )


def write_report(result: BacktestResult, path: str | Path) -> None:
    """Write :func:`report_html` with plotly.js inlined."""
    from plotly.offline import get_plotlyjs

    Path(path).write_text(report_html(result, get_plotlyjs()), encoding="utf-8")
