"""Store write throughput: upserts of scored documents in worker-sized batches (500).

    python bench/store.py [--url URL] [--docs 20000] [--batch 500]

Without --url it measures a temporary SQLite file and, when PostgreSQL is installed, a
throwaway PostgreSQL server (tests/servers.py), one after the other.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from foundation.schemas import Document, ScoredDocument
from foundation.store import Store


def docs(n: int) -> list[ScoredDocument]:
    t0 = datetime(2026, 3, 10, tzinfo=UTC)
    return [
        ScoredDocument(
            document=Document(
                id=f"b{i}",
                source="bench",
                title=f"Bank {i} shares fall after results",
                published=t0 + timedelta(seconds=i),
                tickers=("JPM",),
            ),
            topic="financials",
            sentiment="negative",
            sentiment_probs={"negative": 0.7, "neutral": 0.2, "positive": 0.1},
        )
        for i in range(n)
    ]


def measure(url: str, items: list[ScoredDocument], batch: int) -> float:
    store = Store(url)
    start = time.perf_counter()
    for i in range(0, len(items), batch):
        store.upsert_scored(items[i : i + batch])
    elapsed = time.perf_counter() - start
    store.dispose()
    return len(items) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    items = docs(a.docs)
    if a.url:
        print(f"{a.url}: {measure(a.url, items, a.batch):,.0f} docs/s")
        return
    with tempfile.TemporaryDirectory() as d:
        print(f"sqlite: {measure(f'sqlite:///{d}/b.db', items, a.batch):,.0f} docs/s")
    import servers

    try:
        pg = servers.PostgresServer().start()
    except servers.ServerUnavailable as exc:
        print(f"postgresql: skipped ({exc})")
        return
    try:
        print(f"postgresql: {measure(pg.create_database('bench'), items, a.batch):,.0f} docs/s")
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
