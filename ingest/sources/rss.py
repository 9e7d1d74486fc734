"""RSS 0.9x/2.0 and Atom feeds, parsed with feedparser.

A broken ("bozo") feed is parsed as far as it goes: the items found are kept and the parser's
error is reported as a problem.

Entity expansion ("billion laughs"): a feed has no business declaring its own entities, so a
DOCTYPE with an internal subset holding ``<!ENTITY`` is cut out before parsing (and reported).
Without that, expat expands until its amplification limit trips, which takes seconds and
about 100 MB per document; with it, the references stay inert text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import feedparser

from ingest.normalize import RawItem
from ingest.sources.base import ParseResult, Source

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)


def strip_entity_declarations(body: bytes) -> tuple[bytes, bool]:
    """The body without an internal DTD subset that declares entities; True if one was cut."""
    head = body[:1_000_000]
    start = head.find(b"<!DOCTYPE")
    if start < 0 or b"<!ENTITY" not in head:
        return body, False
    m = _DOCTYPE_RE.search(body, start)
    if m is None:
        # An unterminated DOCTYPE swallows the rest of the document: nothing left to trust.
        return body[:start], True
    return body[: m.start()] + body[m.end() :], True


def _entry_summary(entry: Any) -> str | None:
    summary = entry.get("summary")
    if summary:
        return summary
    content = entry.get("content") or []
    for part in content:
        value = part.get("value") if isinstance(part, dict) else None
        if value:
            return value
    return None


def _entry_link(entry: Any) -> str | None:
    link = entry.get("link")
    if link:
        return link
    for item in entry.get("links") or []:
        if item.get("rel", "alternate") == "alternate" and item.get("href"):
            return item["href"]
    guid = entry.get("id") or ""
    return guid if guid.strip().startswith(("http://", "https://")) else None


def _entry_published(entry: Any) -> Any:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return value
    # An unparseable date string: normalise tries its own parsers, then flags it missing.
    return entry.get("published") or entry.get("updated") or None


class RssSource(Source):
    kind = "rss"
    doc_kind = "news"
    accept = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"

    def parse(
        self, body: bytes, *, fetched_at: datetime, content_type: str | None = None
    ) -> ParseResult:
        result = ParseResult()
        if not body.strip():
            result.problems.append("empty response body")
            return result
        body, stripped = strip_entity_declarations(body)
        if stripped:
            result.problems.append(
                "DOCTYPE with entity declarations removed (possible entity-expansion attack)"
            )
        headers = {"content-type": content_type} if content_type else {}
        try:
            parsed = feedparser.parse(body, response_headers=headers)
        except Exception as exc:  # feedparser is lenient, but never let one feed crash ingest
            result.problems.append(f"feed could not be parsed: {type(exc).__name__}: {exc}")
            return result
        if parsed.get("bozo"):
            bozo = parsed.get("bozo_exception")
            msg = getattr(bozo, "getMessage", lambda: str(bozo))()
            where = ""
            line = getattr(bozo, "getLineNumber", None)
            if callable(line):
                try:
                    where = f" (line {line()})"
                except Exception:
                    where = ""
            result.problems.append(
                f"malformed feed{where}: {type(bozo).__name__}: {msg}; "
                f"{len(parsed.entries)} items recovered"
            )
        feed = parsed.get("feed", {})
        result.feed_title = feed.get("title")
        result.feed_language = feed.get("language") or None
        if not parsed.entries and not parsed.get("version"):
            result.problems.append("not an RSS or Atom document (no channel, feed or items)")
            return result
        items = [
            RawItem(
                title=entry.get("title"),
                summary=_entry_summary(entry),
                link=_entry_link(entry),
                published=_entry_published(entry),
                author=entry.get("author"),
                language=None,
            )
            for entry in parsed.entries
        ]
        self._items_to_docs(items, result, fetched_at, result.feed_language)
        return result
