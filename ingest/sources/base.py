"""The source interface, the result of a parse, and kind detection for ``feeds check``."""

from __future__ import annotations

import json
import re
import zlib
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

    @property
    def inflate_limit(self) -> int:
        """The most bytes a gzip body of this source may inflate to."""
        return INFLATE_FACTOR * self.settings.max_bytes

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

    def _json_body(self, body: bytes, result: ParseResult) -> object | None:
        """The decoded JSON body of a JSON API source, or None with the problem recorded."""
        try:
            return decode_json(body, self.inflate_limit)
        except SourceError as exc:
            result.problems.append(str(exc))
            return None

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


def text_or_none(value: object) -> str | None:
    """``value`` when it is a string (JSON feeds put anything anywhere), else None."""
    return value if isinstance(value, str) else None


# A gzip body may inflate to this many times the source's max_bytes: text compresses about
# 5-10x, a "gzip bomb" 1000x; the bomb is refused before it is in memory.
INFLATE_FACTOR = 20
DEFAULT_INFLATE_LIMIT = INFLATE_FACTOR * 5_000_000


def gunzip(body: bytes, limit: int = DEFAULT_INFLATE_LIMIT) -> bytes:
    """A gzip body inflated: members concatenated (as archive files are written), a truncated
    tail kept as far as it inflates; SourceError when corrupt or over ``limit`` bytes."""
    out = bytearray()
    data = body
    while data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit - len(out) + 1)
        except zlib.error as exc:
            if out:
                break  # garbage after good members: keep those
            raise SourceError(f"corrupt gzip data: {exc}") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise SourceError(f"gzip body inflates to more than {limit} bytes; refused")
        if not inflater.eof:
            break  # truncated: keep what inflated
        data = inflater.unused_data
    return bytes(out)


def decode_json(body: bytes, limit: int = DEFAULT_INFLATE_LIMIT) -> object:
    """JSON from bytes (gzip allowed); raises SourceError naming the problem."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, limit)
    try:
        return json.loads(body.decode("utf-8-sig", errors="replace"))
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise SourceError("not valid JSON: nested too deeply") from None


def detect_kind(body: bytes, url: str = "") -> str:
    """Guess the feed kind from its bytes: reddit / stocktwits / jsonl / rss (XML)."""
    head = body[:4096]
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 4096)
        except zlib.error:
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


_ATOM_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?feed[\s>]")


def xml_flavour(body: bytes) -> str:
    """The kind name "atom" for an Atom feed (a ``<feed>`` root), else "rss" (RSS 2.0, RSS 1.0/RDF).
    Both are parsed by the rss source (feedparser); this is what ``feeds check`` reports."""
    head = body[:4096]
    if head[:2] == b"\x1f\x8b":
        try:
            # The first 4 KB only, like detect_kind: a gzip bomb is never inflated.
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 4096)
        except zlib.error:
            return "rss"
    if b"<rss" in head or b"<rdf:RDF" in head:
        return "rss"
    return "atom" if _ATOM_ROOT.search(head) else "rss"
