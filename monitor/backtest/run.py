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
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foundation.language import language_supported, skip_reason
from foundation.progress import bar
from foundation.schemas import Alert, Document, ScoredDocument, WindowStat, isoformat
from foundation.sectors import SectorLookup
from foundation.settings import Settings
from models.base import Prediction, TextClassifier
from monitor.backtest.cache import ClassificationCache
from monitor.core.events_scoring import LabelledEvent, score
from monitor.core.incidents import incidents_json
from monitor.core.lifecycle import group_alerts
from monitor.core.outbox import entries_for
from monitor.core.pipeline import AlertPipeline
from monitor.core.scoring import scored

if TYPE_CHECKING:
    from tqdm import tqdm

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
            "notifications_by_mode": notification_counts(self.alerts),
            "alerts": eps,
            "incident_count": len(incidents),
            "incidents": incidents,
        }


def notification_counts(alerts: Sequence[Alert]) -> dict[str, int]:
    """What one sink would be sent for these alert events: with ``notify = "alert"`` one
    request per group of one evaluation (``alert_requests``; PagerDuty: one per event,
    ``alert``), with ``notify = "incident"`` one per incident open, re-flare and close."""
    return {
        "alert": len(alerts),
        "alert_requests": len(group_alerts(alerts)),
        "incident": sum(len(entries_for(a, "incident", "webhook")) for a in alerts),
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


def read_documents(
    paths: Sequence[str | Path], progress: bool | None = False
) -> tuple[list[Document], int]:
    """Every document of the archives in event-time order (published, id); bad-line count."""
    from ingest.archive import ReadReport, archive_files, read_archive

    report = ReadReport()
    docs: dict[str, Document] = {}
    files = archive_files(paths)
    with bar(len(files), "backtest: read", "file", progress) as shown:
        for p in files:
            for d in read_archive(p, report):
                docs.setdefault(d.id, d)  # the first copy of a repeated id wins, like dedup
            shown.update(1)
    ordered = sorted(docs.values(), key=lambda d: (d.published, d.id))
    return ordered, len(report.bad)


def classify(
    docs: Sequence[Document],
    classifier: TextClassifier,
    languages: Sequence[str],
    batch_size: int = BATCH_SIZE,
    skipped: dict[str, int] | None = None,
    cache: ClassificationCache | None = None,
    progress: bool | None = False,
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
    shown = bar(len(docs), "backtest: classify", "doc", progress)
    for i, d in enumerate(docs):
        shown.update(1)
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
        if (i + 1) % (batch_size * 40) == 0 and shown.disable:
            log.info(
                "backtest: %d/%d documents (%.0f/s)",
                i + 1,
                len(docs),
                (i + 1) / max(time.monotonic() - started, 1e-9),
            )
    flush()
    shown.close()
    # Batches hold only supported documents, so restore event-time order.
    out.sort(key=lambda s: (s.document.published, s.document.id))
    return out


def counted(items: Sequence[ScoredDocument], shown: tqdm[Any]) -> Iterator[ScoredDocument]:
    """``items``, moving the bar every thousand (a per-item update costs in a long run)."""
    for i, item in enumerate(items, 1):
        if i % 1000 == 0:
            shown.update(1000)
        yield item
    shown.update(len(items) % 1000)


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
    progress: bool | None = False,
) -> BacktestResult:
    """The whole offline run. Documents get the tickers and entities ingest would give them
    (``index``, default the shipped list: see :func:`ingest.tickers.tag_document`), and the
    windows the sector scopes of that list, like the stream worker."""
    from ingest.tickers import default_index, tag_document

    started = time.monotonic()
    index = index if index is not None else default_index()
    raw, bad = read_documents(paths, progress)
    docs = [tag_document(d, index) for d in raw]
    result = BacktestResult(files=[str(p) for p in paths], model=classifier.name)
    result.documents = len(docs)
    result.tagged = sum(1 for d, r in zip(docs, raw, strict=True) if d is not r)
    result.bad_lines = bad
    scored = classify(
        docs,
        classifier,
        settings.model.languages,
        skipped=result.skipped,
        cache=cache,
        progress=progress,
    )
    if cache is not None:
        log.info("backtest cache %s: %d hits, %d classified", cache.path, cache.hits, cache.misses)
    result.scored = sum(1 for s in scored if s.scored)
    with bar(len(scored), "backtest: detect", "doc", progress) as shown:
        alerts, closed, pipeline = detect(
            counted(scored, shown), settings, index.sector_lookup(), index.name_tokens()
        )
    result.alerts = alerts
    assert pipeline.incidents.history is not None
    result.incident_list = incidents_json(pipeline.incidents.history.values())
    result.closed = closed
    result.windows = len(closed)
    result.late = pipeline.agg.late_total
    result.duplicates = pipeline.agg.duplicates
    result.seconds = time.monotonic() - started
    return result
