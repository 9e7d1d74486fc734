"""Normalisation of raw feed items into :class:`foundation.schemas.Document` (pure, no I/O).

Every source parser produces :class:`RawItem` values (whatever the feed gave, untouched) and
hands them to :func:`normalize`, which:

- strips HTML, unescapes entities (repeatedly: some feeds escape twice), removes control and
  zero-width characters and collapses whitespace; titles are cut to 500 characters and
  summaries to 1,000 (the archive's limit), flagged ``title:truncated``/``summary:truncated``;
- turns the published time into UTC; a missing date or an absurd one (more than a day after
  the fetch time, or before 1995) falls back to the fetch time and is flagged
  ``published:missing`` / ``published:absurd``;
- canonicalises the link (tracking parameters such as ``utm_*``, ``fbclid``, ``gclid``
  removed, fragment dropped, scheme and host lower-cased, default port removed);
- gives a stable id: SHA-1 of the canonical link, or of ``feed_url + "\\n" + title`` when the
  item has no link (the replay archive's rule);
- sets the language (the feed's own tag when it has one, else :mod:`ingest.language`'s
  guess) as a lower-case primary subtag (``en-US`` -> ``en``);
- extracts tickers and entities (companies without a ticker, e.g. FTX) (:mod:`ingest.tickers`).

The function is idempotent: normalising a normalised item again gives the same Document.
"""

from __future__ import annotations

import hashlib
import html
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from foundation.eventtime import EARLIEST, MAX_FUTURE
from foundation.language import language_tag
from foundation.schemas import Document
from foundation.text import scrub
from ingest.language import detect_language
from ingest.tickers import TickerIndex, default_index

TITLE_MAX = 500
SUMMARY_MAX = 1000

Kind = Literal["news", "social"]


@dataclass(frozen=True)
class RawItem:
    """One item as a feed gave it; every field may be missing or messy."""

    title: str | None = None
    summary: str | None = None
    link: str | None = None
    # datetime, ISO-8601 / RFC-822 string, epoch seconds, or a time.struct_time (feedparser).
    published: Any = None
    author: str | None = None
    language: str | None = None
    # Tickers the source itself attaches (StockTwits ``symbols``), merged with extracted ones.
    tickers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()


# --- text -----------------------------------------------------------------------------------

_BLOCK_RE = re.compile(
    r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)|<!\[CDATA\[|\]\]>|<![A-Za-z][^<>]*>", re.DOTALL)
# A tag must start with a letter (or "/" + letter) so "a < b > c" and "<3" survive as text.
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_BREAK_RE = re.compile(r"<(?:br|p|div|li|tr|h[1-6])\b", re.IGNORECASE)
# C0/C1 controls (but not whitespace) and zero-width/bidi marks.
_JUNK_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_WS_RE = re.compile(r"\s+")


def _clean_once(text: str) -> str:
    if "<" in text:
        text = _BLOCK_RE.sub(" ", text)
        text = _COMMENT_RE.sub(" ", text)
        text = _BREAK_RE.sub(lambda m: " " + m.group(0), text)
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _JUNK_RE.sub("", text)
    # str.split() splits on the same Unicode whitespace as \s, and faster than a regex.
    return " ".join(text.split())


def _fixed_point(text: str) -> str:
    prev = None
    while text != prev:
        prev, text = text, _clean_once(text)
        if "<" not in text and "&" not in text:
            # Nothing left that another pass could change (junk and spaces are gone).
            break
    return text


def clean_text(raw: str | None, max_chars: int | None = None) -> str:
    """Plain text from an HTML-ish fragment: tags out, entities decoded, whitespace collapsed.

    Applied until nothing changes (every step only shortens the text, so this ends), which
    handles double-escaped feeds (``&amp;lt;b&amp;gt;``) and makes the function idempotent.
    """
    if not raw:
        return ""
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) > 200_000:
        # Bound the work on hostile fields; the result is cut far below this anyway.
        text = text[:200_000]
    return cut_text(_fixed_point(scrub(text)), max_chars)


def cut_text(clean: str, max_chars: int | None) -> str:
    """Cut already-clean text to ``max_chars`` (re-cleaned: a cut can expose an entity)."""
    if max_chars is None or len(clean) <= max_chars:
        return clean
    return _fixed_point(clean[:max_chars].rstrip())


# --- links ----------------------------------------------------------------------------------

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ncid",
        "ocid",
        "cmpid",
        "soc_src",
        "soc_trk",
        "sr_share",
        "ref_src",
        "ref_url",
        "__twitter_impression",
        "feedtype",
        "cmp",
        "taid",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "ga_", "pk_", "mtm_", "hmb_", "vero_", "oly_")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _is_tracking(key: str) -> bool:
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def canonical_link(url: str | None) -> str:
    """The link with tracking parameters and the fragment removed, scheme/host lower-cased.

    Path case and the order of the remaining query parameters are kept (both can matter to
    the server). Whitespace inside the value (indented ``<link>`` text) is removed. Something
    that is not an absolute http(s) URL is returned stripped but otherwise untouched.
    """
    if not url:
        return ""
    url = _WS_RE.sub("", scrub(url).strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username or parts.password:
        host = f"{parts.username or ''}{':' if parts.password else ''}{parts.password or ''}@{host}"
    # Filtered textually, pair by pair, so the kept parameters keep their exact encoding.
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(unquote_plus(pair.split("=", 1)[0]).strip().lower())
    ]
    query = "&".join(kept)
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, query, ""))


def document_id(link: str, feed_url: str | None, title: str) -> str:
    """SHA-1 of the canonical link, or of ``feed_url + "\\n" + title`` without a link."""
    key = link if link else f"{feed_url or ''}\n{title}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


# --- time -----------------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from the many shapes feeds use; None when unparseable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, time.struct_time):
            # feedparser's *_parsed values are already UTC.
            dt = datetime(*value[:6]).replace(tzinfo=UTC)
        elif isinstance(value, bool):
            return None
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(float(value), UTC)
        elif isinstance(value, str):
            found = _parse_date_string(value.strip())
            if found is None:
                return None
            dt = found
        else:
            return None
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _parse_date_string(s: str) -> datetime | None:
    if not s:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", s):
        return datetime.fromtimestamp(float(s), UTC)
    iso = s.replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        pass
    # feedparser's date handlers cover RFC 822 without seconds, W3CDTF, asctime and more.
    from feedparser.datetimes import _parse_date

    try:
        parsed = _parse_date(s)
    except Exception:
        return None
    if parsed is None:
        return None
    return datetime(*parsed[:6]).replace(tzinfo=UTC)


def resolve_published(value: Any, fetched_at: datetime) -> tuple[datetime, tuple[str, ...]]:
    """The published time to use and the flags explaining a fallback to the fetch time."""
    fetched = parse_datetime(fetched_at) or datetime.now(UTC)
    dt = parse_datetime(value)
    if dt is None:
        return fetched.replace(microsecond=0), ("published:missing",)
    if dt > fetched + MAX_FUTURE or dt < EARLIEST:
        return fetched.replace(microsecond=0), ("published:absurd",)
    return dt, ()


# --- language -------------------------------------------------------------------------------


# --- the whole item -------------------------------------------------------------------------


@dataclass
class Normalizer:
    """Normalises raw items of one source; holds only configuration (and the ticker index)."""

    source: str
    feed_url: str | None = None
    kind: Kind = "news"
    # The feed's (or the configured) language; wins over detection when set.
    language: str | None = None
    tickers: TickerIndex = field(default_factory=default_index)

    def __call__(self, item: RawItem, fetched_at: datetime) -> Document:
        return normalize(
            item,
            source=self.source,
            feed_url=self.feed_url,
            fetched_at=fetched_at,
            kind=self.kind,
            language=self.language,
            tickers=self.tickers,
        )


def normalize(
    item: RawItem,
    *,
    source: str,
    fetched_at: datetime,
    feed_url: str | None = None,
    kind: Kind = "news",
    language: str | None = None,
    tickers: TickerIndex | None = None,
) -> Document:
    """One raw item to a Document (see the module docstring for every rule)."""
    flags: list[str] = list(item.flags)
    feed_url = scrub(feed_url) if feed_url else feed_url
    title_full = clean_text(item.title)
    summary_full = clean_text(item.summary)
    title = cut_text(title_full, TITLE_MAX)
    summary = cut_text(summary_full, SUMMARY_MAX)
    if len(title) < len(title_full):
        flags.append("title:truncated")
    if len(summary) < len(summary_full):
        flags.append("summary:truncated")
    if not title and summary:
        # Social posts and some feeds have a body only; keep the headline slot useful.
        title = cut_text(summary, TITLE_MAX)
    if not title:
        flags.append("title:missing")
    link = canonical_link(item.link)
    published, date_flags = resolve_published(item.published, fetched_at)
    flags.extend(date_flags)

    lang = language_tag(item.language) or language_tag(language)
    if lang is None:
        lang = detect_language(f"{title} {summary}")
        if lang is None:
            flags.append("language:unknown")

    index = tickers if tickers is not None else default_index()
    found, entities = index.scan(f"{title}\n{summary}")
    symbols = sorted(
        set(found) | {scrub(t).strip().upper() for t in item.tickers if t and t.strip()}
    )

    author = clean_text(item.author, 200) or None
    return Document(
        id=document_id(link, feed_url, title),
        source=clean_text(source, 200) or "unknown",
        title=title,
        summary=summary,
        link=link,
        published=published,
        feed_url=feed_url,
        language=lang,
        tickers=tuple(symbols),
        entities=tuple(entities),
        author=author,
        kind=kind,
        flags=tuple(sorted(set(flags))),
    )


def as_raw(doc: Document) -> RawItem:
    """A Document back as a RawItem (used to re-normalise, e.g. archive lines)."""
    return RawItem(
        title=doc.title,
        summary=doc.summary,
        link=doc.link,
        published=doc.published,
        author=doc.author,
        language=doc.language,
        tickers=doc.tickers,
        flags=doc.flags,
    )
