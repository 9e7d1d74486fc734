"""Event-time replay of archive files into the documents topic.

Several files (or folders of daily files) are merged by ``published`` time with a heap, one
pending document per file, so memory stays bounded whatever the archive size. Each file is
expected in time order (the archive writer appends in arrival order; the shared month is
sorted); a document that goes back in time within a file is still published, and counted.

Pacing: ``speed`` replays X times real time by the gaps between published times (anchored
at ``start`` when given, so ``--from NOW --speed 1`` publishes each document when its time
comes); ``max_rate`` caps documents per second. Both may be combined. The clock and sleep are
passed in so the pacing arithmetic is tested without waiting.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from foundation.schemas import Document
from ingest.archive import ReadReport, archive_files, read_archive

log = logging.getLogger(__name__)


class _Publisher(Protocol):
    def publish(self, doc: Document) -> None: ...

    def flush(self, timeout: float = ...) -> Any: ...


@dataclass
class ReplaySummary:
    files: int = 0
    read: int = 0
    published: int = 0
    filtered: int = 0
    out_of_order: int = 0
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failed_ids)

    @property
    def rate(self) -> float:
        return self.published / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def lines(self) -> list[str]:
        """The human summary printed at the end of ``finpulse replay``."""
        out = [
            f"files: {self.files}",
            f"read: {self.read} documents",
            f"published: {self.published} in {self.elapsed_s:.1f} s ({self.rate:,.0f} docs/s)",
        ]
        if self.filtered:
            out.append(f"outside --from/--to: {self.filtered}")
        if self.out_of_order:
            out.append(f"out of time order within a file (published anyway): {self.out_of_order}")
        out.append(f"skipped bad lines: {len(self.bad_lines)}")
        for path, lineno, reason in self.bad_lines[:20]:
            out.append(f"  {path}:{lineno}: {reason}")
        if len(self.bad_lines) > 20:
            out.append(f"  ... and {len(self.bad_lines) - 20} more")
        out.append(f"failed deliveries: {self.failed}")
        for doc_id in self.failed_ids[:20]:
            out.append(f"  {doc_id}")
        return out


def merge_by_time(
    sources: Iterable[Iterable[Document]],
    on_out_of_order: Callable[[Document], None] | None = None,
) -> Iterator[Document]:
    """Merge per-file document streams into one stream ordered by ``published`` (then id).

    Keeps one document per source in a heap. Ties break on the source's position so the
    order is deterministic.
    """
    heap: list[tuple[datetime, int, str, Document, Iterator[Document]]] = []
    for idx, src in enumerate(sources):
        it = iter(src)
        first = next(it, None)
        if first is not None:
            heap.append((first.published, idx, first.id, first, it))
    heapq.heapify(heap)
    while heap:
        published, idx, _id, doc, it = heap[0]
        yield doc
        nxt = next(it, None)
        if nxt is None:
            heapq.heappop(heap)
        else:
            if nxt.published < published and on_out_of_order is not None:
                on_out_of_order(nxt)
            heapq.heapreplace(heap, (nxt.published, idx, nxt.id, nxt, it))


class Pacer:
    """When to publish the next document: by event-time gaps (``speed``) and/or ``max_rate``."""

    def __init__(
        self,
        *,
        speed: float | None = None,
        max_rate: float | None = None,
        anchor: datetime | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive")
        if max_rate is not None and max_rate <= 0:
            raise ValueError("max_rate must be positive")
        self.speed = speed
        self.max_rate = max_rate
        self.anchor = anchor
        self.clock = clock
        self._wall0: float | None = None
        self._count = 0

    def delay(self, published: datetime) -> float:
        """Seconds to wait before publishing a document with this time (0 when due)."""
        now = self.clock()
        if self._wall0 is None:
            self._wall0 = now
            if self.anchor is None:
                self.anchor = published
        due = now
        if self.speed is not None and self.anchor is not None:
            offset = (published - self.anchor).total_seconds() / self.speed
            due = max(due, self._wall0 + max(offset, 0.0))
        if self.max_rate is not None:
            due = max(due, self._wall0 + self._count / self.max_rate)
        self._count += 1
        return max(due - now, 0.0)


def shifted(doc: Document, shift: timedelta) -> Document:
    return doc.model_copy(update={"published": doc.published + shift}) if shift else doc


def replay_files(
    paths: Iterable[str | Path],
    publisher: _Publisher,
    *,
    speed: float | None = None,
    max_rate: float | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: bool = False,
    shift: timedelta = timedelta(0),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    tag: Callable[[Document], Document] | None = None,
) -> ReplaySummary:
    """Publish the documents of ``paths`` in event-time order; returns what happened.

    ``start`` (inclusive) and ``end`` (exclusive) filter on the published time after
    ``shift`` is added. Bad lines are skipped and listed with their line numbers. ``tag``
    (``finpulse replay`` passes :func:`ingest.tickers.tag_document`) adds the tickers and
    entities ingest would have found, for archives written without them.
    """
    files = archive_files(paths)
    summary = ReplaySummary(files=len(files))
    reports = [ReadReport() for _ in files]

    def count_ooo(_doc: Document) -> None:
        summary.out_of_order += 1

    streams = [read_archive(f, report=r) for f, r in zip(files, reports, strict=True)]
    merged = merge_by_time(streams, on_out_of_order=count_ooo)
    pacer = Pacer(speed=speed, max_rate=max_rate, anchor=start, clock=clock)
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="doc", desc="replay", mininterval=0.5, dynamic_ncols=True)
    started = clock()
    sent = 0
    try:
        for raw in merged:
            doc = shifted(tag(raw) if tag is not None else raw, shift)
            if (start is not None and doc.published < start) or (
                end is not None and doc.published >= end
            ):
                summary.filtered += 1
                continue
            if speed is not None or max_rate is not None:
                wait = pacer.delay(doc.published)
                if wait > 0:
                    sleep(wait)
            publisher.publish(doc)
            sent += 1
            if bar is not None:
                bar.update(1)
        stats = publisher.flush()
    finally:
        if bar is not None:
            bar.close()
    summary.elapsed_s = clock() - started
    summary.read = sum(r.read for r in reports)
    summary.bad_lines = [b for r in reports for b in r.bad]
    failed = list(getattr(stats, "failed_ids", []) or [])
    summary.failed_ids = failed
    summary.published = sent - len(failed)
    return summary
