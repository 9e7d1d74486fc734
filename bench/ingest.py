"""Ingest benchmark: normalisation, dedup, language guess, parsing, and replay to the broker.

    .venv/bin/python bench/ingest.py [--limit N] [--no-replay] [--verify]

Input: the replay month in ../shared/data/replay/2022-11.jsonl.gz (its raw title, summary,
link and date string go through the normaliser as a feed item would), or, when it is
absent, the captured feeds in ../shared/fixtures. Replay publishes the archive through
``ingest.replay.replay_files`` to a fresh embedded broker (Tansu) with the replay command's
producer settings. Prints a table and one JSON line. Not a test: numbers depend on the
machine and its load (say which machine when you quote them).
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from foundation.settings import SourceSettings  # noqa: E402
from ingest.dedup import Deduplicator  # noqa: E402
from ingest.language import detect_language  # noqa: E402
from ingest.normalize import RawItem, language_tag, normalize  # noqa: E402
from ingest.sources import detect_kind, make_source  # noqa: E402

SHARED = REPO.parent / "shared"
REPLAY = SHARED / "data" / "replay" / "2022-11.jsonl.gz"
FIXTURES = SHARED / "fixtures"


def load_raw(limit: int | None) -> list[dict]:
    rows: list[dict] = []
    with gzip.open(REPLAY, "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def fixture_rows() -> list[dict]:
    rows: list[dict] = []
    now = datetime.now(UTC)
    for path in sorted(FIXTURES.glob("*/*")):
        if path.suffix not in (".xml", ".json") or path.parent.name == "nab":
            continue
        body = path.read_bytes()
        kind = detect_kind(body, str(path))
        src = make_source(SourceSettings(name=path.stem, kind=kind, url=str(path)))
        for d in src.parse(body, fetched_at=now).documents:
            rows.append(
                {
                    "title": d.title,
                    "summary": d.summary,
                    "link": d.link,
                    "published": d.published.isoformat(),
                    "source": d.source,
                    "feed_url": d.feed_url,
                }
            )
    return rows


def bench_normalise(rows: list[dict], *, with_language: bool) -> tuple[float, list]:
    fetched = datetime(2022, 12, 1, tzinfo=UTC)
    items = [
        RawItem(
            title=r["title"],
            summary=r["summary"],
            link=r["link"],
            published=r["published"],
            language=r.get("language") if with_language else None,
        )
        for r in rows
    ]
    started = time.perf_counter()
    docs = [
        normalize(it, source=r["source"], feed_url=r.get("feed_url"), fetched_at=fetched)
        for it, r in zip(items, rows, strict=True)
    ]
    return len(docs) / (time.perf_counter() - started), docs


def bench_dedup(docs: list) -> dict:
    d = Deduplicator(200_000)
    started = time.perf_counter()
    reasons: dict[str, int] = {}
    for doc in docs:
        v = d.check(doc)
        reasons[v.reason] = reasons.get(v.reason, 0) + 1
    rate = len(docs) / (time.perf_counter() - started)
    # Memory per remembered entry, measured on a separate traced run; the ring's fixed
    # per-slot arrays (about 32 bytes a slot, allocated up front) are reported apart.
    d2 = Deduplicator(200_000)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for doc in docs:
        d2.check(doc)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return {
        "docs_per_s": rate,
        "reasons": reasons,
        "bytes_per_entry": used / max(1, len(d2)),
        "fixed_bytes_per_slot": 32,
        "entries": len(d2),
    }


def bench_language(rows: list[dict]) -> dict:
    n = ok = 0
    started = time.perf_counter()
    for r in rows:
        gold = language_tag(r.get("language"))
        guess = detect_language(f"{r['title']} {r['summary']}")
        if gold:
            n += 1
            ok += guess == gold
    rate = len(rows) / (time.perf_counter() - started)
    return {"accuracy": ok / n if n else None, "labelled": n, "docs_per_s": rate}


def bench_parse() -> dict:
    now = datetime.now(UTC)
    total_docs = 0
    total_bytes = 0
    started = time.perf_counter()
    for path in sorted((FIXTURES / "rss").glob("*.xml")):
        body = path.read_bytes()
        src = make_source(SourceSettings(name=path.stem, url=str(path)))
        total_docs += len(src.parse(body, fetched_at=now).documents)
        total_bytes += len(body)
    elapsed = time.perf_counter() - started
    return {
        "docs": total_docs,
        "docs_per_s": total_docs / elapsed,
        "mb_per_s": total_bytes / elapsed / 1e6,
    }


def bench_replay(verify: bool) -> dict:
    from foundation.kafka.broker import EmbeddedBroker
    from foundation.kafka.publisher import Publisher
    from ingest.replay import replay_files
    from ingest.replay_command import REPLAY_BATCH_BYTES

    topic = "bench.documents"
    with EmbeddedBroker(topics={topic: 4}) as broker:
        # The publisher `finpulse replay` uses for an unpaced replay.
        pub = Publisher(broker.bootstrap, topic, batch_bytes=REPLAY_BATCH_BYTES, chunk=500)
        try:
            summary = replay_files([REPLAY], pub)
        finally:
            pub.close()
        out = {
            "published": summary.published,
            "failed": summary.failed,
            "seconds": summary.elapsed_s,
            "docs_per_s": summary.rate,
            "batch_bytes": REPLAY_BATCH_BYTES,
        }
        if verify:
            from kafka import KafkaConsumer, TopicPartition

            c = KafkaConsumer(bootstrap_servers=[broker.bootstrap], auto_offset_reset="earliest")
            parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
            c.assign(parts)
            c.seek_to_beginning()
            keys: dict[bytes, int] = {}
            idle = time.monotonic()
            while time.monotonic() - idle < 5:
                for records in c.poll(timeout_ms=500, max_records=5000).values():
                    for rec in records:
                        keys[rec.key] = keys.get(rec.key, 0) + 1
                    idle = time.monotonic()
            c.close()
            out["on_topic"] = sum(keys.values())
            out["distinct_keys"] = len(keys)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="Use the first N archive lines.")
    ap.add_argument("--no-replay", action="store_true", help="Skip the broker replay.")
    ap.add_argument(
        "--verify", action="store_true", help="Count the replayed records on the topic."
    )
    args = ap.parse_args()

    if REPLAY.is_file():
        rows, source = load_raw(args.limit), f"replay archive ({REPLAY.name})"
    elif FIXTURES.is_dir():
        rows, source = fixture_rows(), "captured fixtures"
    else:
        sys.exit("no input: ../shared/data/replay or ../shared/fixtures is needed")

    results: dict = {"input": source, "documents": len(rows), "machine": platform.machine()}
    rate_lang, _ = bench_normalise(rows, with_language=True)
    rate_detect, docs = bench_normalise(rows, with_language=False)
    results["normalise_docs_per_s"] = rate_lang
    results["normalise_detect_docs_per_s"] = rate_detect
    results["dedup"] = bench_dedup(docs)
    if "language" in rows[0]:
        results["language"] = bench_language(rows)
    if FIXTURES.is_dir():
        results["parse_rss"] = bench_parse()
    if not args.no_replay and REPLAY.is_file():
        results["replay"] = bench_replay(args.verify)

    table = [
        ("input", f"{source}, {len(rows):,} documents"),
        ("normalise (feed language given)", f"{rate_lang:,.0f} docs/s"),
        ("normalise (language detected)", f"{rate_detect:,.0f} docs/s"),
        (
            "dedup (200k capacity)",
            f"{results['dedup']['docs_per_s']:,.0f} docs/s, "
            f"{results['dedup']['bytes_per_entry']:,.0f} bytes/entry, "
            f"verdicts {results['dedup']['reasons']}",
        ),
    ]
    if "language" in results:
        lang = results["language"]
        table.append(
            (
                "language guess vs labels",
                f"{lang['accuracy']:.2%} of {lang['labelled']:,} "
                f"({lang['docs_per_s']:,.0f} docs/s)",
            )
        )
    if "parse_rss" in results:
        p = results["parse_rss"]
        table.append(
            ("parse RSS/Atom fixtures", f"{p['docs_per_s']:,.0f} docs/s ({p['mb_per_s']:.2f} MB/s)")
        )
    if "replay" in results:
        r = results["replay"]
        line = (
            f"{r['docs_per_s']:,.0f} docs/s ({r['published']:,} in {r['seconds']:.1f} s, "
            f"failed {r['failed']})"
        )
        if "on_topic" in r:
            line += f"; on topic {r['on_topic']:,}, distinct keys {r['distinct_keys']:,}"
        table.append(("replay -> embedded broker", line))
    width = max(len(k) for k, _ in table)
    for k, v in table:
        print(f"{k:<{width}}  {v}")
    print(json.dumps({"bench": "ingest", **results}, default=float))


if __name__ == "__main__":
    main()
