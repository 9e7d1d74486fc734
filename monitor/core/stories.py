"""Stories: a named thing and an adverse event in one headline become a ``story:`` scope,
counted once per outlet (pure, bounded memory, deterministic).

A crisis is a specific bad thing happening to a specific name: "FTX files for bankruptcy",
"protests at the iPhone factory", "Twitter to cut half its staff". The name's own scope
(``ticker:TWTR``) is often too busy to show it (Twitter had hundreds of takeover headlines a
day), and the sentiment model reads many such headlines as neutral. A story scope isolates
the event: ``story:TWTR:layoffs`` is silent on an ordinary day, so the first few outlets that
report the layoffs are a surprise against its own rate, whatever the model says.

- **Event cues** come from ``ingest/data/adverse_events.csv``: categories of adverse corporate
  events (bankruptcy, withdrawals halted, layoffs, collapse, fraud, regulatory action, cyber,
  credit events, unrest, outages, leadership exits), each a regular expression matched on
  whole words of the headline, case-insensitive. Price moves are deliberately absent: a
  falling price is what the share and count rules measure, not an event.
- **Names** are the document's tickers and listed entities (not emerging names, which may be
  people or places).
- A document the model reads as **positive** does not count ("Coinbase rises as rival
  collapses"): the cue is the negative evidence, the model only vetoes.
- **One count per outlet and story** within ``source_gap_windows``: the outlet is the host of
  the document's link (``www.`` dropped), else its source name. Independent confirmation by
  several outlets is what separates a story from one feed repeating itself (a deals feed's
  "price crash" posts). A story window keeps its documents (stored and published as they
  are) and the set of its outlets; when it closes, :meth:`StoryTracker.close` turns it into
  the count of outlets not seen in the story's previous windows of the gap, which is what the
  rule (kind ``story``, at least ``min_count`` outlets) judges. Windows close in event-time
  order, so the result does not depend on arrival order (a restarted worker redelivers).

Memory is bounded: at most ``capacity`` stories (least recently seen evicted, ties by key),
each holding at most one entry per outlet seen within the gap; deterministic.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from foundation.schemas import ScoredDocument
from monitor.core.windowing import WindowAcc

STORY_PREFIX = "story:"


@dataclass(frozen=True, slots=True)
class EventCue:
    event: str
    pattern: re.Pattern[str]
    description: str


def parse_cues(text: str, origin: str = "adverse_events.csv") -> tuple[EventCue, ...]:
    """Cues from CSV text (``event,pattern,description``; lines starting with ``#`` are
    comments). A bad pattern or a repeated event is a ValueError naming the line."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out: list[EventCue] = []
    seen: set[str] = set()
    for i, row in enumerate(csv.DictReader(lines), start=2):
        event = (row.get("event") or "").strip()
        raw = (row.get("pattern") or "").strip()
        if not event or not raw:
            raise ValueError(f"{origin}: row {i}: event and pattern are required")
        if event in seen:
            raise ValueError(f"{origin}: row {i}: event {event!r} is listed twice")
        try:
            pattern = re.compile(rf"\b(?:{raw})\b", re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"{origin}: row {i}: bad pattern for {event!r}: {exc}") from None
        seen.add(event)
        out.append(EventCue(event, pattern, (row.get("description") or "").strip()))
    return tuple(out)


@cache
def default_cues() -> tuple[EventCue, ...]:
    path = Path(str(resources.files("ingest") / "data" / "adverse_events.csv"))
    return parse_cues(path.read_text(encoding="utf-8"), str(path))


@cache
def _any_cue(cues: tuple[EventCue, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{c.pattern.pattern})" for c in cues), re.IGNORECASE)


def events_of(title: str, cues: tuple[EventCue, ...]) -> list[str]:
    """The adverse events a headline names, in the cue file's order."""
    # One search decides for most headlines (they name no adverse event at all).
    if not cues or not _any_cue(cues).search(title):
        return []
    return [c.event for c in cues if c.pattern.search(title)]


def story_key(name: str, event: str) -> str:
    return f"{STORY_PREFIX}{name}:{event}"


@dataclass
class StoryTracker:
    size_s: int
    source_gap_windows: int = 72
    capacity: int = 20000
    cues: tuple[EventCue, ...] = ()
    # story key -> {outlet: window start of its last closed window}
    stories: dict[str, dict[str, int]] = field(default_factory=dict)
    last_seen: dict[str, int] = field(default_factory=dict)

    def scopes(self, doc: ScoredDocument, names: list[str]) -> list[str]:
        """The ``story:`` keys ``doc`` counts in: each of ``names`` x each adverse event of
        its headline (none when the model reads it as positive). Stateless: outlets are
        counted when a window closes (:meth:`close`)."""
        if doc.sentiment == "positive" or not names:
            return []
        events = events_of(doc.document.title, self.cues)
        return [story_key(name, event) for name in names for event in events]

    def close(self, key: str, acc: WindowAcc) -> WindowAcc:
        """The closed window of story ``key`` as the rule sees it: ``count`` = outlets not
        seen in the story's previous ``source_gap_windows`` windows, ``negative`` = those
        with a negative reading. Windows must be closed in event-time order (they are)."""
        if acc.outlets is None:
            return acc  # rebuilt from stored stats: already outlet counts
        ws = acc.start
        horizon = ws - self.source_gap_windows * self.size_s
        seen = self.stories.setdefault(key, {})
        new = [o for o in acc.outlets if seen.get(o, horizon) <= horizon]
        neg = sum(1 for o in new if acc.outlets[o])
        for o in acc.outlets:
            seen[o] = ws
        for o in [o for o, t in seen.items() if t <= horizon]:
            del seen[o]
        self.last_seen[key] = ws
        if len(self.stories) > self.capacity:
            self._evict()
        return replace(acc, count=len(new), negative=neg, neutral=len(new) - neg, positive=0)

    def _evict(self) -> None:
        # Down to three quarters, least recently seen first (ties by key): deterministic.
        keep = sorted(self.last_seen.items(), key=lambda kv: (-kv[1], kv[0]))
        keep = keep[: self.capacity * 3 // 4]
        self.last_seen = dict(keep)
        self.stories = {k: self.stories[k] for k, _ in keep if k in self.stories}

    def to_dict(self) -> dict[str, Any]:
        return {
            "stories": {k: dict(sorted(v.items())) for k, v in sorted(self.stories.items())},
            "last": dict(sorted(self.last_seen.items())),
        }

    def load(self, d: dict[str, Any] | None) -> None:
        if d:
            self.stories = {
                str(k): {str(o): int(t) for o, t in v.items()} for k, v in d["stories"].items()
            }
            self.last_seen = {str(k): int(v) for k, v in d.get("last", {}).items()}
