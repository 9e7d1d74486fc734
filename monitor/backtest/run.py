"""Offline backtest: classify an archive, window it, detect, and list the alerts it would raise.

No broker: the documents are read from archive files, put in event-time order (published, id),
given the tickers and entities ingest would find (:func:`ingest.tickers.tag_document`: archives
may carry none), classified in fixed batches (outputs served from and added to a
:class:`monitor.backtest.cache.ClassificationCache` when one is given), skipped like the
worker skips them (language not in ``settings.model.languages``; ``en-US`` counts as ``en``),
and fed through the same :class:`monitor.core.pipeline.AlertPipeline` the stream worker uses,
with the same sector tables. The output is deterministic: the same files and model give
byte-identical JSON, with or without the cache.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.language import language_supported, skip_reason
from foundation.schemas import Alert, Document, ScoredDocument, WindowStat, isoformat
from foundation.settings import Settings
from models.base import Prediction, TextClassifier
from monitor.backtest.cache import ClassificationCache
from monitor.core.events_scoring import LabelledEvent, score
from monitor.core.incidents import incidents_json
from monitor.core.pipeline import AlertPipeline
from monitor.core.scoring import scored
from monitor.core.windowing import SectorLookup

if TYPE_CHECKING:
    from ingest.tickers import TickerIndex

log = logging.getLogger(__name__)

BATCH_SIZE = 256


@dataclass
class BacktestResult:
    files: list[str]
    model: str
    documents: int = 0
    scored: int = 0
    # Documents that got tickers or entities from the current list (archives may lack them).
    tagged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bad_lines: int = 0
    late: int = 0
    duplicates: int = 0
    windows: int = 0
    alerts: list[Alert] = field(default_factory=list)
    closed: list[WindowStat] = field(default_factory=list)
    seconds: float = 0.0
    incident_list: list[dict[str, Any]] = field(default_factory=list)

    def episodes(self) -> list[dict[str, Any]]:
        return alert_episodes(self.alerts)

    def incidents(self) -> list[dict[str, Any]]:
        """The pipeline's incidents (the same tracker the stream worker runs)."""
        return self.incident_list

    def period_days(self) -> float:
        if not self.closed:
            return 0.0
        start = min(w.window_start for w in self.closed)
        end = max(w.window_end for w in self.closed)
        return (end - start).total_seconds() / 86400

    def score_events(self, events: Sequence[LabelledEvent]) -> dict[str, Any]:
        return score(self.episodes(), events, self.incidents(), self.period_days() or None)

    def to_json(self) -> dict[str, Any]:
        eps = self.episodes()
        incidents = self.incidents()
        return {
            "files": self.files,
            "model": self.model,
            "documents": self.documents,
            "scored": self.scored,
            "tagged": self.tagged,
            "skipped": dict(sorted(self.skipped.items())),
            "bad_lines": self.bad_lines,
            "late": self.late,
            "duplicates": self.duplicates,
            "windows": self.windows,
            "alert_count": len(eps),
            "notifications": len(self.alerts),
            "alerts": eps,
            "incident_count": len(incidents),
            "incidents": incidents,
        }


def alert_episodes(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    """One entry per episode (fingerprint + starts_at): first and last notification merged."""
    eps: dict[tuple[str, str], dict[str, Any]] = {}
    for a in alerts:
        key = (a.fingerprint, isoformat(a.starts_at))
        e = eps.get(key)
        if e is None:
            e = eps[key] = {
                "fingerprint": a.fingerprint,
                "rule": a.rule,
                "scope_kind": a.scope_kind,
                "scope": a.scope,
                "startsAt": isoformat(a.starts_at),
                "endsAt": None,
                "firstNotifiedAt": isoformat(a.updated_at),
                "notifications": 0,
                "figures": a.figures,
                "peak": a.peak,
                "evidence": [],
                "dashboard_url": a.dashboard_url,
                "summary": a.summary,
                "incident": a.incident,
            }
        e["notifications"] += 1
        e["peak"] = a.peak
        if a.evidence:
            e["evidence"] = [
                {
                    "title": ev.title,
                    "source": ev.source,
                    "link": ev.link,
                    "published": isoformat(ev.published),
                    "sentiment_probs": ev.sentiment_probs,
                }
                for ev in a.evidence
            ]
        if a.status == "resolved":
            e["endsAt"] = isoformat(a.ends_at) if a.ends_at else isoformat(a.updated_at)
            e["notifications"] -= 1  # a resolve is not a firing notification
            e["resolvedAt"] = isoformat(a.updated_at)
        e["dashboard_url"] = a.dashboard_url
    return sorted(eps.values(), key=lambda e: (e["startsAt"], e["scope_kind"], e["scope"]))


def read_documents(paths: Sequence[str | Path]) -> tuple[list[Document], int]:
    """Every document of the archives in event-time order (published, id); bad-line count."""
    from ingest.archive import ReadReport, archive_files, read_archive

    report = ReadReport()
    docs: dict[str, Document] = {}
    for p in archive_files(paths):
        for d in read_archive(p, report):
            docs.setdefault(d.id, d)  # the first copy of a repeated id wins, like dedup
    ordered = sorted(docs.values(), key=lambda d: (d.published, d.id))
    return ordered, len(report.bad)


def classify(
    docs: Sequence[Document],
    classifier: TextClassifier,
    languages: Sequence[str],
    batch_size: int = BATCH_SIZE,
    skipped: dict[str, int] | None = None,
    cache: ClassificationCache | None = None,
) -> list[ScoredDocument]:
    """Score documents in fixed batches (deterministic); unsupported languages unscored.

    With a ``cache``, documents it holds (same id, same text) take the stored outputs and only
    the others are batched for the model; their outputs are added to the cache."""
    skipped = skipped if skipped is not None else {}
    out: list[ScoredDocument] = []
    todo: list[Document] = []
    scored_at = docs[0].published if docs else None

    def scored_doc(d: Document, p: Prediction) -> ScoredDocument:
        return scored(d, p, classifier.name, scored_at or d.published)

    def flush() -> None:
        if not todo:
            return
        preds = classifier.predict([d.text for d in todo])
        for d, p in zip(todo, preds, strict=True):
            out.append(scored_doc(d, p))
            if cache is not None:
                cache.put(d.id, d.text, p)
        if cache is not None:
            cache.flush()
        todo.clear()

    started = time.monotonic()
    for i, d in enumerate(docs):
        if language_supported(d.language, languages):
            hit = cache.get(d.id, d.text) if cache is not None else None
            if hit is not None:
                out.append(scored_doc(d, hit))
            else:
                todo.append(d)
                if len(todo) >= batch_size:
                    flush()
        else:
            reason = skip_reason(d.language)
            skipped[reason] = skipped.get(reason, 0) + 1
            out.append(
                ScoredDocument(document=d, scored=False, skip_reason=reason, scored_at=d.published)
            )
        if (i + 1) % (batch_size * 40) == 0:
            log.info(
                "backtest: %d/%d documents (%.0f/s)",
                i + 1,
                len(docs),
                (i + 1) / max(time.monotonic() - started, 1e-9),
            )
    flush()
    # Batches hold only supported documents, so restore event-time order.
    out.sort(key=lambda s: (s.document.published, s.document.id))
    return out


def detect(
    scored: Iterable[ScoredDocument],
    settings: Settings,
    sectors: SectorLookup | None = None,
    known_names: frozenset[str] = frozenset(),
) -> tuple[list[Alert], list[WindowStat], AlertPipeline]:
    """Aggregation + detection + lifecycle over scored documents in event-time order."""
    p = AlertPipeline(
        settings,
        track_updates=False,
        sectors=sectors,
        known_names=known_names,
        keep_incidents=True,
    )
    alerts: list[Alert] = []
    closed: list[WindowStat] = []
    for s in scored:
        p.add(s)
        out = p.advance()
        if out.closed or out.alerts:
            alerts.extend(out.alerts)
            closed.extend(out.closed)
    out = p.finish()
    alerts.extend(out.alerts)
    closed.extend(out.closed)
    return alerts, closed, p


def run_backtest(
    paths: Sequence[str | Path],
    settings: Settings,
    classifier: TextClassifier,
    cache: ClassificationCache | None = None,
    index: TickerIndex | None = None,
) -> BacktestResult:
    """The whole offline run. Documents get the tickers and entities ingest would give them
    (``index``, default the shipped list: see :func:`ingest.tickers.tag_document`), and the
    windows the sector scopes of that list, like the stream worker."""
    from ingest.tickers import default_index, tag_document

    started = time.monotonic()
    index = index if index is not None else default_index()
    raw, bad = read_documents(paths)
    docs = [tag_document(d, index) for d in raw]
    result = BacktestResult(files=[str(p) for p in paths], model=classifier.name)
    result.documents = len(docs)
    result.tagged = sum(1 for d, r in zip(docs, raw, strict=True) if d is not r)
    result.bad_lines = bad
    scored = classify(
        docs, classifier, settings.model.languages, skipped=result.skipped, cache=cache
    )
    if cache is not None:
        log.info("backtest cache %s: %d hits, %d classified", cache.path, cache.hits, cache.misses)
    result.scored = sum(1 for s in scored if s.scored)
    alerts, closed, pipeline = detect(scored, settings, index.sector_lookup(), index.name_tokens())
    result.alerts = alerts
    assert pipeline.incidents.history is not None
    result.incident_list = incidents_json(pipeline.incidents.history.values())
    result.closed = closed
    result.windows = len(closed)
    result.late = pipeline.agg.late_total
    result.duplicates = pipeline.agg.duplicates
    result.seconds = time.monotonic() - started
    return result


def write_html(result: BacktestResult, path: str | Path, max_scopes: int = 12) -> None:
    """A self-contained plotly report: negative share and volume per scope, alerts shaded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    eps = result.episodes()
    by_scope: dict[tuple[str, str], int] = {}
    for e in eps:
        k = (e["scope_kind"], e["scope"])
        by_scope[k] = by_scope.get(k, 0) + 1
    ranked = sorted(by_scope, key=lambda k: (-by_scope[k], k))
    scopes = [("all", "all"), *[k for k in ranked if k != ("all", "all")]][:max_scopes]
    # Fill up with the busiest topics, so a quiet run still shows where the volume was.
    volume: dict[tuple[str, str], int] = {}
    for w in result.closed:
        if w.scope_kind == "topic":
            volume[(w.scope_kind, w.scope)] = volume.get((w.scope_kind, w.scope), 0) + w.count
    for k in sorted(volume, key=lambda k: (-volume[k], k)):
        if len(scopes) >= min(max_scopes, 6):
            break
        if k not in scopes:
            scopes.append(k)
    series: dict[tuple[str, str], list[WindowStat]] = {k: [] for k in scopes}
    for w in result.closed:
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
    all_starts = [w.window_start.timestamp() for w in result.closed]
    span_s = (max(all_starts) - min(all_starts)) if all_starts else 0.0
    size_s = (
        int((result.closed[0].window_end - result.closed[0].window_start).total_seconds())
        if result.closed
        else 300
    )
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
        title=(
            f"finpulse backtest — {', '.join(Path(f).name for f in result.files)} — "
            f"model {result.model} — {len(eps)} alerts (shaded)"
        ),
        height=max(400, 260 * len(scopes)),
        template="plotly_white",
        legend={"orientation": "h"},
    )
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
