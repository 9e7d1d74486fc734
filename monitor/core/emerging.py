"""Emerging entities: names in no list whose document count jumps become ``entity:`` scopes
(pure, bounded memory, deterministic).

A crisis often breaks on a name nobody listed (a regional lender, a plant, a hacked insurer).
From each scored headline :func:`candidates` takes the capitalised words that are not common
English words (``ingest/data/common_words.txt``, plus ``emerging_stopwords.txt``), not an
inflection of one ("Layoffs", "Hackers"), at least ``MIN_LEN`` characters long, and not a
token of a listed name (listed names have scopes already): "Foxconn", "Zhengzhou",
"Bankman-Fried", "Medibank". A possessive is dropped ("FTX's" -> "FTX").

:class:`EmergingTracker` counts, per candidate, the documents of the last ``span_windows``
windows of event time. A candidate with at least ``min_docs`` documents from at least
``min_sources`` distinct sources in that span is **promoted**: from that document on, documents
naming it count in ``entity:<name>``, where the count rules (``attention``,
``negative_count``) judge it with their prior like any new scope. A promoted name that goes
``idle_windows`` windows without a document is demoted.

Memory is bounded: at most ``capacity`` candidates (when full, those seen least recently are
evicted, ties by name, so the result does not depend on dict order), at most ``min_docs``
remembered documents per candidate, at most ``capacity`` promoted names. Everything is keyed
on event time and the input order, so the same documents in the same order give the same
scopes (the backtest feeds them in event-time order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from foundation.schemas import ScoredDocument

MIN_LEN = 3
_TOKEN_RE = re.compile(r"[A-Z][A-Za-z0-9]*(?:[-.&][A-Za-z0-9]+)*")
_SUFFIXES = ("ies", "es", "s", "ed", "ing", "ers", "er")


def _read_words(name: str) -> frozenset[str]:
    path = Path(str(resources.files("ingest") / "data" / name))
    with open(path, encoding="utf-8") as fh:
        return frozenset(
            w.strip().lower() for w in fh if w.strip() and not w.lstrip().startswith("#")
        )


@cache
def default_common_words() -> frozenset[str]:
    """Common English words (BERT's uncased vocabulary) and generic headline words."""
    return _read_words("common_words.txt") | _read_words("emerging_stopwords.txt")


def is_common(word: str, common: frozenset[str]) -> bool:
    """``word`` (any case) is a common word or a plural/inflection of one."""
    w = word.lower()
    if w in common:
        return True
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= MIN_LEN:
            stem = w[: -len(suffix)]
            if stem in common or (suffix == "ies" and stem + "y" in common):
                return True
            if suffix in ("ed", "ing", "er", "ers") and stem + "e" in common:
                return True
    return False


def candidates(text: str, common: frozenset[str], known: frozenset[str] = frozenset()) -> list[str]:
    """Sorted, unique candidate names of a headline (see the module docstring). ``known``:
    lower-cased tokens of listed names, which are skipped."""
    out: set[str] = set()
    for m in _TOKEN_RE.finditer(text):
        # The pattern stops at an apostrophe ("FTX's" -> "FTX"); "U.S." -> "U.S".
        word = m.group(0).rstrip(".-&")
        if len(word) < MIN_LEN or not any(c.isalpha() for c in word):
            continue
        low = word.lower()
        if low in known or is_common(word, common):
            continue
        out.add(word)
    return sorted(out)


@dataclass(slots=True)
class _Candidate:
    # (window start, source) of its most recent documents in the span, oldest first.
    seen: list[tuple[int, str]] = field(default_factory=list)
    last: int = 0


@dataclass
class EmergingTracker:
    size_s: int
    min_docs: int = 4
    min_sources: int = 2
    span_windows: int = 12
    idle_windows: int = 288
    capacity: int = 5000
    common: frozenset[str] = frozenset()
    known: frozenset[str] = frozenset()
    cands: dict[str, _Candidate] = field(default_factory=dict)
    promoted: dict[str, int] = field(default_factory=dict)  # name -> last window with a doc
    _pruned: int = -1

    def scopes(self, doc: ScoredDocument) -> list[str]:
        """Count ``doc``'s candidates; the ``entity:`` keys it counts in (promoted names)."""
        start = int(doc.document.published.timestamp() // self.size_s) * self.size_s
        horizon = start - (self.span_windows - 1) * self.size_s
        out: list[str] = []
        for name in candidates(doc.document.title, self.common, self.known):
            if name in self.promoted:
                self.promoted[name] = max(self.promoted[name], start)
                out.append("entity:" + name)
                continue
            c = self.cands.get(name)
            if c is None:
                c = self.cands[name] = _Candidate()
            seen = [s for s in c.seen if s[0] >= horizon]
            seen.append((start, doc.document.source))
            c.seen = seen[-self.min_docs :]
            c.last = max(c.last, start)
            if len(c.seen) >= self.min_docs and len({s for _, s in c.seen}) >= self.min_sources:
                del self.cands[name]
                self.promoted[name] = start
                out.append("entity:" + name)
        self._bound(start)
        return out

    def _bound(self, now: int) -> None:
        idle = now - self.idle_windows * self.size_s
        # Idle promoted names are dropped once an hour of event time (cheap, deterministic).
        hour = now // (12 * self.size_s)
        if len(self.promoted) > self.capacity or hour != self._pruned:
            self._pruned = hour
            for name in [n for n, last in self.promoted.items() if last < idle]:
                del self.promoted[name]
            if len(self.promoted) > self.capacity:
                keep = sorted(self.promoted.items(), key=lambda kv: (-kv[1], kv[0]))
                self.promoted = dict(keep[: self.capacity])
        if len(self.cands) > self.capacity:
            # Evict down to three quarters, least recently seen first (ties by name).
            recent = sorted(self.cands.items(), key=lambda kv: (-kv[1].last, kv[0]))
            self.cands = dict(recent[: self.capacity * 3 // 4])

    def size(self) -> int:
        """Entries held (candidates + promoted names): never above 2 x capacity."""
        return len(self.cands) + len(self.promoted)

    def to_dict(self) -> dict[str, Any]:
        """Promoted names only: candidates are an hour of soft state, recounted after a
        restart (a name may then be promoted a few documents later)."""
        return {"promoted": dict(sorted(self.promoted.items()))}

    def load(self, d: dict[str, Any] | None) -> None:
        if d:
            self.promoted = {str(k): int(v) for k, v in d.get("promoted", {}).items()}


def known_tokens(names: Iterable[str]) -> frozenset[str]:
    """Lower-cased tokens of listed names and aliases (skipped as candidates)."""
    out: set[str] = set()
    for n in names:
        out.update(t.lower() for t in _TOKEN_RE.findall(n))
    return frozenset(out)
