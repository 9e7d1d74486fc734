"""Deduplication of documents with bounded memory: exact (id) and near-duplicate titles (pure).

Three checks, cheapest first, against the last ``capacity`` documents kept in a ring:

1. **exact**: the same id (SHA-1 of the canonical link) was seen -> ``reason="id"``;
2. **same title**: the *title key* (lower-cased, punctuation removed, a publisher suffix
   such as `` - Reuters`` / ``| CNBC`` / ``(Reuters)`` -- a known publisher or the source's
   own name -- and prefixes such as ``UPDATE 2-`` or ``BREAKING:`` removed) equals a recent
   one -> ``reason="title"``;
3. **near**: MinHash LSH (12 hashes, 6 bands of 2) over the title's word 1- and 2-grams
   proposes candidates, which are confirmed by the *exact* Jaccard similarity of the two
   shingle sets: ``>= threshold`` (default 0.7) -> ``reason="near"``. Titles with fewer than
   ``min_tokens`` (4) words use check 2 only: short headlines ("Stocks rise") say too little.

Checks 2 and 3 only merge items published within ``window_s`` (2 days) of each other, so a
recurring headline ("Morning Bid", "Stock market today") on another day is a new story.

Why 0.7 on 1+2-grams: case/punctuation/suffix variants score 1.0 (they hit check 2); a
syndicated copy with one word added or dropped scores 0.7-0.9; a different story that shares
the frame ("Apple shares rise 5% ..." vs "... fall 5% ...", "Dow falls 300 points" vs
"... 500 points") scores 0.4-0.6, because a changed word breaks two bigrams too.

Vetoes: two titles that differ in a number ("300" vs "500 points"), in a polarity word
(rise/fall, beat/miss, upgrade/downgrade, not, ...; see :data:`POLARITY`), or by a swapped
content word ("Fed" vs "ECB raises rates by 75 basis points") are never merged by check 3,
whatever their similarity: for a sentiment monitor they are different news. So check 3
merges copies that add or drop words ("... amid a severe liquidity crunch - Reuters"), and
a reworded copy ("buy" -> "acquire") is kept as a separate document: we prefer counting a
story twice to silently losing a different one.

Memory: every entry costs a few hundred bytes (measured in bench/ingest.py), evicted in
arrival order once ``capacity`` is reached.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from array import array
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from foundation.schemas import Document
from ingest.language import STOPWORDS

_PREFIX_RE = re.compile(
    r"^\s*(?:(?:update|updated|corrected|refile|exclusive|breaking|breaking news|analysis|"
    r"factbox|explainer|live|watch|video|opinion)(?:\s*\d+)?\s*[-:–—|]\s*)+",
    re.IGNORECASE,
)
# A trailing publisher tag: " - Reuters", " | CNBC", " — Financial Times", " (Reuters)".
_SUFFIX_RE = re.compile(
    r"(?:\s+[-–—|:]\s+((?:[\w.&'’]+\s?){1,4})|\s*\(((?:[\w.&'’]+\s?){1,3})\))\s*$", re.UNICODE
)
# Publishers whose name syndicated copies append (" - Reuters", "| CNBC", "(AP)"). A suffix
# is only removed when it is one of these or the document's own source name, so a real
# part of a headline (" - Multiplayer Tips", " - live updates") is kept.
PUBLISHERS = frozenset(
    p.strip()
    for p in """reuters|cnbc|bloomberg|bloomberg.com|ap|ap news|associated press|afp|dow jones|
    the wall street journal|wall street journal|wsj|financial times|ft|ft.com|marketwatch|
    yahoo finance|yahoo|barron's|barrons|forbes|business insider|insider|cnn|cnn business|
    bbc|bbc news|the guardian|guardian|the new york times|new york times|nyt|fox business|
    fox news|seeking alpha|benzinga|investing.com|the motley fool|motley fool|zacks|
    coindesk|cointelegraph|the block|decrypt|techcrunch|the verge|cnet|zdnet|axios|politico|
    the economist|economist|nikkei asia|nikkei|scmp|south china morning post|bankier.pl|
    bankier|money.pl|interia|tvn24|rzeczpospolita|forsal.pl|pap|daily mail|mailonline|
    quartz|fortune|usa today|the washington post|washington post|npr|abc news|cbs news|
    nbc news|sky news|euronews|dw|al jazeera|thestreet|kiplinger|morningstar|the hill|
    newsweek|investopedia|gizmodo|engadget|ars technica|wired|the independent|independent|
    the telegraph|telegraph|handelsblatt|les echos|le monde|reuters.com|cnbc.com""".split("|")
)
_TOKEN_RE = re.compile(r"\w+(?:[.,]\w+)*")
_PUBLISHERS = frozenset(" ".join(_TOKEN_RE.findall(p.casefold())) for p in PUBLISHERS)

_P = (1 << 61) - 1
_NUM_HASHES = 12
_BANDS = 6
_ROWS = _NUM_HASHES // _BANDS
# Fixed coefficients: deterministic across processes (no PYTHONHASHSEED dependence).
_COEFFS = [
    (
        int.from_bytes(hashlib.sha256(f"a{i}".encode()).digest()[:8], "big") % (_P - 1) + 1,
        int.from_bytes(hashlib.sha256(f"b{i}".encode()).digest()[:8], "big") % _P,
    )
    for i in range(_NUM_HASHES)
]


def _plain(text: str) -> str:
    return " ".join(_TOKEN_RE.findall(text.casefold()))


def title_tokens(title: str, source: str | None = None) -> list[str]:
    """Tokens of the title, lower-cased, with an editorial prefix (``UPDATE 2-``) and a
    publisher suffix (`` - Reuters``, or the document's own source name) removed."""
    t = unicodedata.normalize("NFKC", title or "")
    t = _PREFIX_RE.sub("", t)
    m = _SUFFIX_RE.search(t)
    if m is not None:
        suffix = _plain(m.group(1) or m.group(2) or "")
        own = _plain(source or "")
        # The source's own name, whole words: "CNET" for "CNET", "The Guardian" for "The
        # Guardian - International"; never a substring match ("s" is in every suffix).
        is_own = len(own) >= 2 and (
            suffix == own or own.startswith(suffix + " ") or suffix.startswith(own + " ")
        )
        is_publisher = suffix in _PUBLISHERS or is_own
        stripped = t[: m.start()]
        # Keep the suffix when stripping would leave almost nothing (the title *is* "X - Y").
        if is_publisher and len(_TOKEN_RE.findall(stripped)) >= 3:
            t = stripped
    return _TOKEN_RE.findall(t.casefold())


def title_key(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest())


def shingles(tokens: list[str]) -> set[int]:
    """32-bit hashes of word unigrams and bigrams."""
    out = {zlib.crc32(t.encode()) for t in tokens}
    out.update(zlib.crc32(f"{a} {b}".encode()) for a, b in pairwise(tokens))
    return out


def minhash(sh: set[int]) -> list[int]:
    return [min((a * x + b) % _P for x in sh) for a, b in _COEFFS]


# Words whose change turns one story into another ("rise" vs "fall"): never merged across.
POLARITY = frozenset(
    """rise rises rising rose fall falls falling fell up down gain gains gained loss losses
    lost beat beats miss misses missed raise raises raised cut cuts higher lower jump jumps
    jumped drop drops dropped surge surges surged plunge plunges plunged soar soars soared
    slump slumps slumped rally rallies climb climbs slide slides sink sinks tumble tumbles
    buy buys sell sells upgrade upgrades downgrade downgrades approve approves approved
    reject rejects rejected win wins won lose loses not no profit deficit surplus bullish
    bearish record low high""".split()
)


_FUNCTION_WORDS = STOPWORDS["en"]


def _content(tokens: set[str]) -> set[str]:
    return {t for t in tokens if len(t) > 1 and t not in _FUNCTION_WORDS}


def conflicting(a: list[str], b: list[str]) -> bool:
    """True when two titles must not be merged whatever their similarity.

    That is when they differ in a number, in a polarity word, or when *each* has a content
    word the other lacks (a substitution: "Fed" vs "ECB raises rates", "Coinbase" vs
    "Robinhood shares tumble"). Syndicated copies add or drop words ("a severe", "- Reuters");
    they rarely swap one content word for another.
    """
    sa, sb = set(a), set(b)
    na = {t for t in sa if any(c.isdigit() for c in t)}
    nb = {t for t in sb if any(c.isdigit() for c in t)}
    if na and nb and na != nb:
        return True
    if not (sa ^ sb).isdisjoint(POLARITY):
        return True
    return bool(_content(sa - sb)) and bool(_content(sb - sa))


def jaccard(a: set[int] | frozenset[int], b: set[int] | frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


Reason = Literal["new", "id", "title", "near"]


@dataclass(frozen=True)
class Verdict:
    """The outcome for one document: ``duplicate`` of ``of`` (an earlier id) or new."""

    reason: Reason
    of: str | None = None
    similarity: float = 0.0

    @property
    def duplicate(self) -> bool:
        return self.reason != "new"


class Deduplicator:
    """Remembers the last ``capacity`` documents; :meth:`check` classifies and remembers."""

    def __init__(
        self,
        capacity: int = 50_000,
        *,
        threshold: float = 0.7,
        window_s: float = 2 * 86400,
        min_tokens: int = 4,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = capacity
        self.threshold = threshold
        self.window_s = window_s
        self.min_tokens = min_tokens
        self._ids: dict[int, int] = {}  # id key -> slot
        self._titles: dict[int, int] = {}  # title key -> slot
        self._bands: dict[int, int] = {}  # band key -> slot
        # The ring: per slot, the document id, its keys, time and shingles.
        self._slot_id: list[str | None] = [None] * capacity
        self._slot_time = array("d", [0.0]) * capacity
        self._slot_title: list[str] = [""] * capacity
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def check(self, doc: Document) -> Verdict:
        """Classify ``doc`` against the recent documents; a new one is remembered."""
        id_key = _id_key(doc.id)
        slot = self._ids.get(id_key)
        if slot is not None and self._slot_id[slot] == doc.id:
            return Verdict("id", doc.id, 1.0)

        ts = doc.published.timestamp()
        tokens = title_tokens(doc.title, doc.source)
        tkey = title_key(tokens) if tokens else None
        if tkey is not None:
            slot = self._titles.get(tkey)
            if slot is not None and self._recent(slot, ts):
                return Verdict("title", self._slot_id[slot], 1.0)

        sh: set[int] = set()
        band_keys: list[int] = []
        if len(tokens) >= self.min_tokens:
            sh = shingles(tokens)
            band_keys = _band_keys(sh)
            best: tuple[float, int] | None = None
            for key in band_keys:
                slot = self._bands.get(key)
                if slot is None or not self._recent(slot, ts):
                    continue
                other = self._slot_title[slot].split(" ")
                sim = jaccard(sh, shingles(other))
                if sim < self.threshold or conflicting(tokens, other):
                    continue
                if best is None or sim > best[0]:
                    best = (sim, slot)
            if best is not None:
                return Verdict("near", self._slot_id[best[1]], round(best[0], 4))

        self._remember(doc.id, id_key, tkey, band_keys, ts, tokens)
        return Verdict("new")

    def _recent(self, slot: int, ts: float) -> bool:
        return abs(self._slot_time[slot] - ts) <= self.window_s

    def _remember(
        self,
        doc_id: str,
        id_key: int,
        tkey: int | None,
        band_keys: list[int],
        ts: float,
        tokens: list[str],
    ) -> None:
        slot = self._next
        self._next = (slot + 1) % self.capacity
        if self._slot_id[slot] is not None:
            self._evict(slot)
        else:
            self._size += 1
        self._slot_id[slot] = doc_id
        self._slot_time[slot] = ts
        # Only the id and the normalised title are kept per entry; the index keys are
        # recomputed from them on eviction (cheaper in memory than storing them).
        self._slot_title[slot] = " ".join(tokens)
        self._ids[id_key] = slot
        if tkey is not None:
            self._titles[tkey] = slot
        for key in band_keys:
            self._bands[key] = slot

    def _evict(self, slot: int) -> None:
        doc_id = self._slot_id[slot]
        if doc_id is None:
            return
        id_key = _id_key(doc_id)
        if self._ids.get(id_key) == slot:
            del self._ids[id_key]
        title = self._slot_title[slot]
        tokens = title.split(" ") if title else []
        if tokens:
            tkey = title_key(tokens)
            if self._titles.get(tkey) == slot:
                del self._titles[tkey]
        if len(tokens) >= self.min_tokens:
            for key in _band_keys(shingles(tokens)):
                if self._bands.get(key) == slot:
                    del self._bands[key]


def _band_keys(sh: set[int]) -> list[int]:
    mh = minhash(sh)
    return [hash((b, *mh[b * _ROWS : (b + 1) * _ROWS])) for b in range(_BANDS)]


def _id_key(doc_id: str) -> int:
    return int(doc_id[:16], 16) if _is_hex(doc_id) else _hash64(doc_id)


def _is_hex(s: str) -> bool:
    return len(s) >= 16 and all(c in "0123456789abcdef" for c in s[:16])


def _hash64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest())
