"""Offline backtest: classify an archive, window it, detect, and list the alerts it would raise.

No broker: the documents are read from archive files, put in event-time order (published, id),
classified in fixed batches, skipped like the worker skips them (language not in
``settings.model.languages``; ``en-US`` counts as ``en``), and fed through the same
:class:`monitor.alert_pipeline.AlertPipeline` the stream worker uses. The output is
deterministic: the same files and model give byte-identical JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.base import TextClassifier
from monitor.alert_pipeline import AlertPipeline
from monitor.schemas import Alert, Document, ScoredDocument, WindowStat, isoformat
from monitor.settings import Settings

log = logging.getLogger(__name__)

BATCH_SIZE = 256


def language_supported(language: str | None, languages: Sequence[str]) -> bool:
    """Same rule as the worker (``monitor.app.language_supported``), kept here so the offline
    path needs no Faust import: primary subtag, case-insensitive; no tag means supported."""
    if not language:
        return True
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary in {lang.lower() for lang in languages}


@dataclass
class BacktestResult:
    files: list[str]
    model: str
    documents: int = 0
    scored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    bad_lines: int = 0
    late: int = 0
    duplicates: int = 0
    windows: int = 0
    alerts: list[Alert] = field(default_factory=list)
    closed: list[WindowStat] = field(default_factory=list)
    seconds: float = 0.0

    def episodes(self) -> list[dict[str, Any]]:
        return alert_episodes(self.alerts)

    def to_json(self) -> dict[str, Any]:
        eps = self.episodes()
        return {
            "files": self.files,
            "model": self.model,
            "documents": self.documents,
            "scored": self.scored,
            "skipped": dict(sorted(self.skipped.items())),
            "bad_lines": self.bad_lines,
            "late": self.late,
            "duplicates": self.duplicates,
            "windows": self.windows,
            "alert_count": len(eps),
            "notifications": len(self.alerts),
            "alerts": eps,
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
) -> list[ScoredDocument]:
    """Score documents in fixed batches (deterministic); unsupported languages unscored."""
    skipped = skipped if skipped is not None else {}
    out: list[ScoredDocument] = []
    todo: list[Document] = []
    scored_at = docs[0].published if docs else None

    def flush() -> None:
        if not todo:
            return
        preds = classifier.predict([d.text for d in todo])
        for d, p in zip(todo, preds, strict=True):
            out.append(
                ScoredDocument(
                    document=d,
                    topic=p.topic,
                    topic_probs=p.topic_probs,
                    sentiment=p.sentiment,
                    sentiment_probs=p.sentiment_probs,
                    model=classifier.name,
                    scored_at=scored_at or d.published,
                )
            )
        todo.clear()

    started = time.monotonic()
    for i, d in enumerate(docs):
        if language_supported(d.language, languages):
            todo.append(d)
            if len(todo) >= batch_size:
                flush()
        else:
            lang = (d.language or "").strip().lower().replace("_", "-").split("-")[0]
            reason = f"language:{lang}"
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
    scored: Iterable[ScoredDocument], settings: Settings
) -> tuple[list[Alert], list[WindowStat], AlertPipeline]:
    """Aggregation + detection + lifecycle over scored documents in event-time order."""
    p = AlertPipeline(settings, track_updates=False)
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
    paths: Sequence[str | Path], settings: Settings, classifier: TextClassifier
) -> BacktestResult:
    started = time.monotonic()
    docs, bad = read_documents(paths)
    result = BacktestResult(files=[str(p) for p in paths], model=classifier.name)
    result.documents = len(docs)
    result.bad_lines = bad
    scored = classify(docs, classifier, settings.model.languages, skipped=result.skipped)
    result.scored = sum(1 for s in scored if s.scored)
    alerts, closed, pipeline = detect(scored, settings)
    result.alerts = alerts
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
    for row, k in enumerate(scopes, start=1):
        ws = sorted(series[k], key=lambda w: w.window_start)
        xs = [w.window_start for w in ws]
        fig.add_trace(
            go.Bar(
                x=xs,
                y=[w.count for w in ws],
                name="volume",
                marker_color="#c7d2e0",
                showlegend=row == 1,
            ),
            row=row,
            col=1,
            secondary_y=True,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[w.negative_share for w in ws],
                name="negative share",
                mode="lines",
                line={"color": "#c0392b", "width": 1},
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[w.mean_score for w in ws],
                name="mean score",
                mode="lines",
                line={"color": "#2c7fb8", "width": 1},
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        for e in eps:
            if (e["scope_kind"], e["scope"]) != k:
                continue
            end = e["endsAt"] or (isoformat(ws[-1].window_end) if ws else e["startsAt"])
            fig.add_vrect(
                x0=e["startsAt"],
                x1=end,
                fillcolor="#e74c3c",
                opacity=0.2,
                line_width=0,
                row=row,  # type: ignore[arg-type]
                col=1,  # type: ignore[arg-type]
            )
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
