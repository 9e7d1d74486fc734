"""What every page's callbacks share: settings, the store, the explainer, the clock, and the
view (filters + time range + bucket size) decoded from the URL."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from dashboard import queries
from dashboard.explanations import Explainer
from dashboard.filters import Filters, parse_query, resolve_range
from dashboard.rollup import RollupCache, final_before
from foundation.schemas import utcnow
from foundation.settings import Settings
from foundation.store import Store


@dataclass(frozen=True, slots=True)
class View:
    filters: Filters
    start: datetime
    end: datetime
    bucket_s: int
    anchor: datetime


@dataclass
class Context:
    settings: Settings
    store: Store
    explainer: Explainer
    clock: Callable[[], datetime] = field(default=utcnow)
    login_enabled: bool = False
    rollup: RollupCache = field(default_factory=RollupCache)
    monotonic: Callable[[], float] = field(default=time.monotonic)

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def window_s(self) -> int:
        return self.settings.windows.size_s

    def view(self, search: str | None, max_points: int = 300) -> View:
        f = parse_query(search)
        anchor, first = queries.anchor_time(self.engine, self.clock())
        start, end = resolve_range(f, anchor, first)
        bucket = queries.choose_bucket(end - start, self.window_s, max_points)
        return View(f, start, end, bucket, anchor)

    def buckets(
        self, scope_kind: str, v: View, scopes: Sequence[str] | None = None
    ) -> list[queries.Bucket]:
        """Chart buckets of the view, closed ones from the rollup cache."""

        def fetch(a: datetime, b: datetime) -> list[queries.Bucket]:
            return queries.window_buckets(
                self.engine, scope_kind, a, b, v.bucket_s, scopes, window_s=self.window_s
            )

        return self.rollup.buckets(
            fetch,
            scope_kind=scope_kind,
            scopes=scopes,
            start=v.start,
            end=v.end,
            bucket_s=v.bucket_s,
            final_before=final_before(v.anchor, self.settings.windows.allowed_lateness_s),
            now=self.monotonic(),
        )
