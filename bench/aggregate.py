"""Throughput of aggregation + detection + alert lifecycle alone (the pure path, one core).

Synthetic scored documents (20 topics, 50 tickers on a third of them, 20 listed entities on a
tenth, 10 sources, headlines naming one of 400 invented names so emerging-entity extraction
runs on every document, one every 50 ms of event time with a little disorder within the
allowed lateness) are built first, and the default rules run (share test, negative_count,
attention, story, emerging entities, story scopes, incidents); the
timed loop is exactly what the stream agent and the backtest do per document: ``add`` then
``advance``. Prints a table and one JSON line.

    .venv/bin/python bench/aggregate.py [--docs 200000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, bench/ is first on sys.path and bench/ingest.py would shadow the ingest
# package (whose data files the emerging-entity extractor reads): put the repository first.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from foundation.schemas import Document, ScoredDocument  # noqa: E402
from foundation.settings import Settings  # noqa: E402
from models.labels import TOPICS  # noqa: E402
from monitor.core.pipeline import AlertPipeline  # noqa: E402

PROBS = {
    "negative": {"negative": 0.8, "neutral": 0.15, "positive": 0.05},
    "neutral": {"negative": 0.1, "neutral": 0.8, "positive": 0.1},
    "positive": {"negative": 0.05, "neutral": 0.15, "positive": 0.8},
}


def synthetic(n: int, seed: int = 7) -> list[ScoredDocument]:
    rnd = random.Random(seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    tickers = [f"T{i:02d}" for i in range(50)]
    entities = [f"Entity{i:02d}" for i in range(20)]
    names = [f"Zq{chr(97 + i % 26)}{chr(97 + i // 26)}vex" for i in range(400)]
    sources = [f"source-{i}" for i in range(10)]
    # A tenth of the headlines name an adverse event, so story scopes are counted too.
    events = ["files for bankruptcy", "cuts 500 jobs", "is hacked", "faces probe"]
    docs = []
    for i in range(n):
        # 20 docs/s of event time; jitter of up to 60 s (within the 900 s lateness).
        at = t0 + timedelta(seconds=i * 0.05 + rnd.uniform(0, 60))
        s = rnd.choices(("negative", "neutral", "positive"), (0.2, 0.6, 0.2))[0]
        topic = TOPICS[rnd.randrange(len(TOPICS))]
        source = sources[rnd.randrange(10)]
        what = events[rnd.randrange(4)] if rnd.random() < 0.1 else "says markets moved"
        d = Document(
            id=f"doc{i}",
            source=source,
            title=f"{names[rnd.randrange(400)].capitalize()} {what} {i}",
            link=f"https://{source}.example/{i}",
            published=at,
            tickers=(tickers[rnd.randrange(50)],) if rnd.random() < 0.33 else (),
            entities=(entities[rnd.randrange(20)],) if rnd.random() < 0.1 else (),
        )
        docs.append(
            ScoredDocument(
                document=d,
                topic=topic,
                topic_probs={topic: 1.0},
                sentiment=s,
                sentiment_probs=PROBS[s],
                model="synthetic",
                scored_at=t0,
            )
        )
    return docs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=int, default=200_000)
    args = ap.parse_args()
    docs = synthetic(args.docs)
    settings = Settings()
    rows = []
    for mode, track in (
        ("backtest (closed windows only)", False),
        ("stream (+window updates)", True),
    ):
        p = AlertPipeline(settings, track_updates=track)
        alerts = windows = 0
        started = time.perf_counter()
        cpu0 = time.process_time()
        for i, d in enumerate(docs):
            p.add(d)
            # The stream shell advances once per batch; the backtest once per document.
            if not track or i % 500 == 499:
                out = p.advance()
                alerts += len(out.alerts)
                windows += len(out.closed)
        out = p.finish()
        secs = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        rows.append(
            {
                "mode": mode,
                "docs": len(docs),
                "seconds": round(secs, 3),
                "events_per_s": round(len(docs) / secs),
                # CPU time of this process: fairer on a shared box than wall time.
                "cpu_seconds": round(cpu, 3),
                "events_per_cpu_s": round(len(docs) / cpu),
                "closed_windows": windows + len(out.closed),
                "alerts": alerts + len(out.alerts),
                "late": p.agg.late_total,
            }
        )
    print(
        f"{'mode':32} {'docs':>7} {'wall s':>7} {'events/s':>9} {'cpu s':>7} "
        f"{'events/cpu-s':>12} {'windows':>7} {'alerts':>6}"
    )
    for r in rows:
        print(
            f"{r['mode']:32} {r['docs']:>7} {r['seconds']:>7} {r['events_per_s']:>9} "
            f"{r['cpu_seconds']:>7} {r['events_per_cpu_s']:>12} {r['closed_windows']:>7} "
            f"{r['alerts']:>6}"
        )
    print(
        json.dumps(
            {
                "bench": "aggregate",
                "machine": f"{platform.machine()} {platform.python_version()}, one core",
                "target_events_per_s": 20000,
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
