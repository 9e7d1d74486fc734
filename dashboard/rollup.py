"""An in-process cache of closed chart buckets, so long ranges stay fast on a large store.

A 30-day chart sums ~170,000 window rows per scope kind; SQLite needs about half a second for
that on a small shared machine. But a bucket that ended more than the allowed lateness before
the newest data no longer changes (the worker does not update a window after its lateness),
so its sums are kept here and only the open buckets at the end of the range are read again.

Entries also expire after ``ttl_s``, which bounds how long a rewrite of old windows (a second
replay of the same period with another model) can go unseen. The clock is passed in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from dashboard.queries import Bucket

# (scope_kind, scopes or None, bucket_s, bucket start epoch)
Key = tuple[str, tuple[str, ...] | None, int, int]
Fetch = Callable[[datetime, datetime], list[Bucket]]


def bucket_starts(start: datetime, end: datetime, bucket_s: int) -> list[int]:
    """Epoch starts of the buckets (aligned to multiples of ``bucket_s``) meeting [start, end)."""
    first = int(start.timestamp()) // bucket_s * bucket_s
    last = int(end.timestamp())
    return list(range(first, last, bucket_s))


class RollupCache:
    def __init__(self, *, ttl_s: float = 300.0, max_entries: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: OrderedDict[Key, tuple[float, list[Bucket]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def buckets(
        self,
        fetch: Fetch,
        *,
        scope_kind: str,
        scopes: Sequence[str] | None,
        start: datetime,
        end: datetime,
        bucket_s: int,
        final_before: datetime,
        now: float,
    ) -> list[Bucket]:
        """Buckets of [start, end) sorted by scope then time; ``fetch(a, b)`` reads [a, b).

        Buckets ending at or before ``final_before`` come from the cache when present;
        the others are read on every call. ``now`` is a monotonic clock reading.
        """
        skey = tuple(sorted(scopes)) if scopes is not None else None
        starts = bucket_starts(start, end, bucket_s)
        # Only whole buckets inside the range are cacheable; a partial one at either edge
        # depends on the range, not just on the bucket.
        lo, hi = start.timestamp(), end.timestamp()
        final_ts = final_before.timestamp()
        out: list[Bucket] = []
        missing: list[int] = []
        with self._lock:
            for b0 in starts:
                whole = b0 >= lo and b0 + bucket_s <= hi
                if not (whole and b0 + bucket_s <= final_ts):
                    missing.append(b0)
                    continue
                key = (scope_kind, skey, bucket_s, b0)
                hit = self._data.get(key)
                if hit is not None and now - hit[0] <= self.ttl_s:
                    self._data.move_to_end(key)
                    out.extend(hit[1])
                    self.hits += 1
                else:
                    missing.append(b0)
                    self.misses += 1
        for a, z in _runs(missing, bucket_s):
            s = max(datetime.fromtimestamp(a, UTC), start)
            e = min(datetime.fromtimestamp(z, UTC), end)
            got = fetch(s, e)
            out.extend(got)
            by_start: dict[int, list[Bucket]] = {}
            for b in got:
                by_start.setdefault(int(b.start.timestamp()), []).append(b)
            with self._lock:
                for b0 in range(a, z, bucket_s):
                    if b0 >= lo and b0 + bucket_s <= hi and b0 + bucket_s <= final_ts:
                        self._data[(scope_kind, skey, bucket_s, b0)] = (now, by_start.get(b0, []))
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
        out.sort(key=lambda b: (b.scope, b.start))
        return out

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _runs(starts: list[int], step: int) -> list[tuple[int, int]]:
    """Contiguous runs of bucket starts as [first, end) epoch spans (one query per run)."""
    runs: list[tuple[int, int]] = []
    for b0 in sorted(starts):
        if runs and runs[-1][1] == b0:
            runs[-1] = (runs[-1][0], b0 + step)
        else:
            runs.append((b0, b0 + step))
    return runs


def final_before(anchor: datetime, lateness_s: int) -> datetime:
    """Windows ending before this no longer change (the worker's allowed lateness)."""
    return anchor - timedelta(seconds=lateness_s)
