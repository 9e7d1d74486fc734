"""Feed sources behind one interface (:class:`ingest.sources.base.Source`).

Each source is a pure parser from response bytes to Documents plus the problems it found;
fetching (HTTP, conditional GET, backoff) is the poller's job, so every source can be tested
on captured bytes alone. The kinds and the configured list live in
:mod:`ingest.sources.registry`, so the base class never imports its own subclasses.
"""

from __future__ import annotations

from ingest.sources.base import ParseResult, Source, detect_kind
from ingest.sources.registry import make_source, source_types

__all__ = ["ParseResult", "Source", "detect_kind", "make_source", "source_types"]
