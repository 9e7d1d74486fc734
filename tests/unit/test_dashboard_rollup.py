from datetime import UTC, datetime, timedelta

from dashboard.queries import Bucket
from dashboard.rollup import RollupCache, bucket_starts

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
H = 3600


class Store:
    """Fake fetch over hourly buckets: each hour has count == its hour of the day."""

    def __init__(self):
        self.calls = []
        self.bump = 0

    def fetch(self, a, b):
        self.calls.append((a, b))
        out = []
        for b0 in bucket_starts(a, b, H):
            t = datetime.fromtimestamp(b0, UTC)
            if a <= t < b:
                out.append(Bucket("x", t, t.hour + self.bump, 0, 0, 0, 0.0))
        return out


def get(cache, store, start, end, final, now=0.0):
    return cache.buckets(
        store.fetch,
        scope_kind="topic",
        scopes=None,
        start=start,
        end=end,
        bucket_s=H,
        final_before=final,
        now=now,
    )


def test_closed_buckets_are_read_once_and_open_ones_every_time():
    store, cache = Store(), RollupCache(ttl_s=60)
    end = T0 + timedelta(hours=10)
    final = T0 + timedelta(hours=8)
    first = get(cache, store, T0, end, final)
    assert [b.count for b in first] == list(range(10))
    assert store.calls == [(T0, end)]
    store.calls.clear()
    store.bump = 100  # old windows rewritten: unseen until the TTL, open ones seen at once
    again = get(cache, store, T0, end, final, now=30)
    assert [b.count for b in again] == [*range(8), 108, 109]
    assert store.calls == [(final, end)]
    expired = get(cache, store, T0, end, final, now=100)
    assert [b.count for b in expired] == [h + 100 for h in range(10)]


def test_partial_edge_buckets_are_never_cached():
    store, cache = Store(), RollupCache()
    start = T0 + timedelta(minutes=30)
    end = T0 + timedelta(hours=5)
    get(cache, store, start, end, end)
    store.calls.clear()
    get(cache, store, start, end, end, now=1)
    assert store.calls == [(start, T0 + timedelta(hours=1))]


def test_scopes_and_bucket_sizes_do_not_mix_and_size_is_bounded():
    store, cache = Store(), RollupCache(max_entries=5)
    end = T0 + timedelta(hours=10)
    get(cache, store, T0, end, end)
    n = len(store.calls)
    cache.buckets(
        store.fetch,
        scope_kind="topic",
        scopes=["x"],
        start=T0,
        end=end,
        bucket_s=H,
        final_before=end,
        now=0,
    )
    assert len(store.calls) == n + 1
    assert len(cache._data) == 5
