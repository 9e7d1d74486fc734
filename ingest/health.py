"""Per-source counters (fetched, published, duplicates, errors, last success) and their row
in the store's ``source_health`` table.

Counters are cumulative: on start-up :meth:`HealthBook.load` picks up the totals already in
the store, so a restarted ``finpulse ingest`` keeps counting instead of starting from zero.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from foundation import metrics
from foundation.schemas import utcnow

if TYPE_CHECKING:
    from foundation.store import Store

log = logging.getLogger(__name__)


@dataclass
class SourceCounters:
    # Items parsed out of responses (before dedup).
    fetched: int = 0
    published: int = 0
    duplicates: int = 0
    errors: int = 0
    # Documents in a language the model does not score: published and archived, counted here.
    unsupported_language: int = 0
    # Responses: 200s with a body, 304 Not Modified.
    polls: int = 0
    not_modified: int = 0
    last_success: datetime | None = None
    last_error: str | None = None


class HealthBook:
    """Thread-safe counters per source name; the clock is passed in for tests."""

    def __init__(self, clock: Any = utcnow) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.sources: dict[str, SourceCounters] = {}

    def _get(self, name: str) -> SourceCounters:
        c = self.sources.get(name)
        if c is None:
            c = self.sources[name] = SourceCounters()
        return c

    def counters(self, name: str) -> SourceCounters:
        with self._lock:
            return self._get(name)

    def add(self, name: str, **deltas: int) -> None:
        metrics.DOCUMENTS_IN.labels("ingest").inc(deltas.get("fetched", 0))
        metrics.DOCUMENTS_OUT.labels("ingest").inc(deltas.get("published", 0))
        with self._lock:
            c = self._get(name)
            for key, value in deltas.items():
                setattr(c, key, getattr(c, key) + value)

    def success(self, name: str, *, not_modified: bool = False) -> None:
        with self._lock:
            c = self._get(name)
            c.polls += 1
            c.not_modified += int(not_modified)
            c.last_success = self._clock()
        metrics.SOURCE_FETCHES.labels(name, "success").inc()
        metrics.SOURCE_LAST_SUCCESS.labels(name).set(c.last_success.timestamp())

    def error(self, name: str, message: str) -> None:
        with self._lock:
            c = self._get(name)
            c.errors += 1
            c.last_error = message[:2000]
        metrics.SOURCE_FETCHES.labels(name, "error").inc()

    def warn(self, name: str, message: str) -> None:
        """A problem that did not stop the poll (a partly broken feed): recorded, not counted."""
        with self._lock:
            self._get(name).last_error = f"warning: {message}"[:2000]

    def rows(self) -> list[dict[str, Any]]:
        """Rows for :meth:`foundation.store.Store.upsert_source_health`."""
        with self._lock:
            return [
                {
                    "source": name,
                    "fetched": c.fetched,
                    "published": c.published,
                    "duplicates": c.duplicates,
                    "errors": c.errors,
                    "last_success": c.last_success,
                    "last_error": c.last_error,
                }
                for name, c in sorted(self.sources.items())
            ]

    def load(self, store: Store) -> None:
        """Start from the totals already stored (a restart keeps counting)."""
        stored = store.source_health_rows()
        with self._lock:
            for row in stored:
                c = self._get(row["source"])
                c.fetched += row["fetched"] or 0
                c.published += row["published"] or 0
                c.duplicates += row["duplicates"] or 0
                c.errors += row["errors"] or 0
                c.last_error = c.last_error or row["last_error"]
                last = row["last_success"]
                if last is not None and last.tzinfo is None:
                    from datetime import UTC

                    last = last.replace(tzinfo=UTC)  # SQLite gives naive datetimes: UTC
                c.last_success = c.last_success or last
            for name, c in self.sources.items():
                if c.last_success is not None:  # a source silent since before the restart
                    metrics.SOURCE_LAST_SUCCESS.labels(name).set(c.last_success.timestamp())

    def write(self, store: Store) -> int:
        """Upsert every source's row; a store error is logged, never fatal to ingest."""
        try:
            return int(store.upsert_source_health(self.rows()))
        except Exception as exc:
            log.warning("cannot write source health to the store: %s", exc)
            return 0

    def summary_line(self) -> str:
        with self._lock:
            tot = SourceCounters()
            for c in self.sources.values():
                tot.fetched += c.fetched
                tot.published += c.published
                tot.duplicates += c.duplicates
                tot.errors += c.errors
                tot.unsupported_language += c.unsupported_language
            return (
                f"{len(self.sources)} sources: fetched {tot.fetched}, published {tot.published}, "
                f"duplicates {tot.duplicates}, not scored (language) "
                f"{tot.unsupported_language}, errors {tot.errors}"
            )
