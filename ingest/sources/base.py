"""The source interface, the result of a parse, and kind detection for ``feeds check``."""

from __future__ import annotations

import gzip
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from foundation.errors import SourceError
from foundation.http import USER_AGENT
from foundation.schemas import Document
from foundation.settings import SourceSettings
from ingest.normalize import Kind, Normalizer, RawItem
from ingest.tickers import TickerIndex, default_index

DEFAULT_USER_AGENT = USER_AGENT


@dataclass
class ParseResult:
    """What one response yielded: documents, problems (human-readable), items skipped."""

    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0
    feed_title: str | None = None
    feed_language: str | None = None

    @property
    def ok(self) -> bool:
        return bool(self.documents) or not self.problems


class Source(ABC):
    """One configured feed. Subclasses set ``kind``/``doc_kind`` and implement :meth:`parse`."""

    kind: ClassVar[str]
    doc_kind: ClassVar[Kind] = "news"
    accept: ClassVar[str] = "*/*"
    # Politeness: the least time between two requests to the same host (seconds).
    host_interval_s: ClassVar[float] = 0.0

    def __init__(
        self,
        settings: SourceSettings,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        tickers: TickerIndex | None = None,
    ) -> None:
        self.settings = settings
        self.user_agent = user_agent
        self.tickers = tickers if tickers is not None else default_index()

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def url(self) -> str:
        return self.settings.url

    def request_headers(self) -> dict[str, str]:
        return {"User-Agent": self.user_agent, "Accept": self.accept}

    def normalizer(self, feed_language: str | None = None) -> Normalizer:
        # A language set in the config wins over the feed's tag; detection comes last.
        return Normalizer(
            source=self.name,
            feed_url=self.url,
            kind=self.doc_kind,
            language=self.settings.language or feed_language,
            tickers=self.tickers,
        )

    @abstractmethod
    def parse(
        self, body: bytes, *, fetched_at: datetime, content_type: str | None = None
    ) -> ParseResult:
        """Documents and problems from one response body; never raises on bad content."""

    def _items_to_docs(
        self,
        items: list[RawItem],
        result: ParseResult,
        fetched_at: datetime,
        feed_language: str | None = None,
    ) -> None:
        norm = self.normalizer(feed_language)
        for n, item in enumerate(items, start=1):
            try:
                doc = norm(item, fetched_at)
            except Exception as exc:  # one bad item never loses the others
                result.problems.append(f"item {n}: cannot normalise: {exc}")
                continue
            if not doc.title:
                result.skipped += 1
                result.problems.append(f"item {n}: no title and no text, skipped")
                continue
            for flag in doc.flags:
                if flag.split(":", 1)[0] in ("published", "summary", "title"):
                    result.problems.append(f"item {n} ({doc.title[:60]!r}): {flag}")
            result.documents.append(doc)


def decode_json(body: bytes) -> object:
    """JSON from bytes (gzip allowed); raises SourceError naming the problem."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise SourceError(f"corrupt gzip body: {exc}") from None
    try:
        return json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def detect_kind(body: bytes, url: str = "") -> str:
    """Guess the feed kind from its bytes: reddit / stocktwits / jsonl / rss (XML)."""
    head = body[:4096]
    if head[:2] == b"\x1f\x8b":
        try:
            head = gzip.decompress(body)[:4096]
        except (OSError, EOFError):
            return "jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if url.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return "jsonl"
    if stripped[:1] == b"<":
        return "rss"
    if stripped[:1] in (b"{", b"["):
        try:
            obj = decode_json(body)
        except SourceError:
            # Several JSON objects, one per line, is the archive format.
            return "jsonl" if b"\n{" in head else "rss"
        if isinstance(obj, dict):
            if obj.get("kind") == "Listing" or "children" in (obj.get("data") or {}):
                return "reddit"
            if "messages" in obj or "cursor" in obj or "symbol" in obj:
                return "stocktwits"
            return "jsonl"
        if isinstance(obj, list):
            first = obj[0] if obj else {}
            if isinstance(first, dict) and first.get("kind") == "Listing":
                return "reddit"
            return "stocktwits"
    return "rss"
