"""A JSON Lines file or URL in the archive format (DESIGN.md), ``.gz`` allowed.

Each line is read with :func:`ingest.archive.parse_line`; a bad line is reported with its
line number and skipped. Documents keep their archived id and source (so a replayed or
re-ingested archive deduplicates against the original run); text is cleaned again and a
missing language or ticker list is filled in.
"""

from __future__ import annotations

from datetime import datetime

from foundation.errors import SourceError
from ingest.archive import parse_line
from ingest.normalize import as_raw, normalize
from ingest.sources.base import ParseResult, Source, gunzip


class JsonlSource(Source):
    kind = "jsonl"
    doc_kind = "news"
    accept = "application/x-ndjson, application/jsonl, */*"

    def parse(
        self, body: bytes, *, fetched_at: datetime, content_type: str | None = None
    ) -> ParseResult:
        result = ParseResult()
        if body[:2] == b"\x1f\x8b":
            try:
                # Every member (an archive file has one per append); a truncated tail keeps
                # what inflates; a bomb is refused.
                body = gunzip(body, self.inflate_limit)
            except SourceError as exc:
                result.problems.append(str(exc))
                return result
        text = body.decode("utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                doc = parse_line(line)
            except ValueError as exc:
                result.problems.append(f"line {lineno}: {exc}")
                continue
            fresh = normalize(
                as_raw(doc),
                source=doc.source,
                feed_url=doc.feed_url,
                fetched_at=fetched_at,
                kind=doc.kind,
                language=self.settings.language,
                tickers=self.tickers,
            )
            if not fresh.title:  # as every other source: nothing to classify
                result.skipped += 1
                result.problems.append(f"line {lineno}: no title and no text, skipped")
                continue
            result.documents.append(
                fresh.model_copy(update={"id": doc.id, "feed_url": doc.feed_url or self.url})
            )
        return result
