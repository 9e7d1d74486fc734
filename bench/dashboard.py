"""Dashboard data callbacks on a large store: 1,000,000 documents and their window stats.

Builds a SQLite store in a temporary folder (synthetic rows written with executemany in the
exact formats SQLAlchemy writes), then times every page's data callback end to end through
Flask's test client (POST /_dash-update-component: query + figure + JSON) and prints a table
and one JSON line. "first" is the first call of a view (the rollup cache of closed chart
buckets, dashboard/rollup.py, is empty for it); "median"/"max" are the repeats after it.
Target: each under 300 ms.

    .venv/bin/python bench/dashboard.py [--docs 1000000] [--days 30] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from foundation.store import make_engine  # noqa: E402
from models.labels import SENTIMENTS, TOPICS  # noqa: E402

END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
WINDOW_S = 300
SOURCES = [f"source-{i:02d}" for i in range(20)]
TICKERS = [f"T{i:03d}" for i in range(100)] + ["AAPL", "SIVB"]


def _ts(dt: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage format (naive UTC).
    return dt.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, n_docs: int, days: int, seed: int = 1) -> dict[str, Any]:
    url = f"sqlite:///{path}"
    make_engine(url).dispose()  # schema and indexes exactly as the app creates them
    rnd = random.Random(seed)
    start = END - timedelta(days=days)
    span = days * 86400
    stamps = sorted(rnd.random() * span for _ in range(n_docs))
    stats: dict[tuple[str, str, int], list[float]] = {}
    docs: list[tuple[Any, ...]] = []
    t0 = time.perf_counter()
    topic_probs = json.dumps({t: round(1 / len(TOPICS), 4) for t in TOPICS})
    for i, off in enumerate(stamps):
        pub = start + timedelta(seconds=off)
        topic = TOPICS[int(rnd.random() ** 1.5 * len(TOPICS))]
        # SIVB turns negative in the last two days (a surge to look at).
        neg_p = 0.6 if (topic == "financials" and off > span - 2 * 86400) else 0.25
        r = rnd.random()
        sentiment = "negative" if r < neg_p else ("neutral" if r < neg_p + 0.45 else "positive")
        probs = {s: 0.1 for s in SENTIMENTS}
        probs[sentiment] = 0.8
        score = probs["positive"] - probs["negative"]
        src = SOURCES[int(rnd.random() ** 2 * len(SOURCES))]
        k = rnd.random()
        tick = [] if k < 0.4 else [TICKERS[int(rnd.random() ** 2 * 100)]]
        if topic == "financials" and k > 0.9:
            tick.append("SIVB")
        docs.append(
            (
                f"d{i:08d}",
                src,
                f"Headline {i} about {topic} {' '.join(tick)}",
                "",
                f"https://example.com/{i}",
                _ts(pub),
                "en",
                "news",
                json.dumps(tick),
                1,
                topic,
                sentiment,
                score,
                topic_probs,
                json.dumps(probs),
                "bench",
                _ts(pub),
                None,
            )
        )
        w = int(pub.timestamp()) // WINDOW_S * WINDOW_S
        keys = [("all", "all"), ("topic", topic), ("source", src)] + [("ticker", t) for t in tick]
        si = 1 + SENTIMENTS.index(sentiment)
        for kind, scope in keys:
            a = stats.get((kind, scope, w))
            if a is None:
                a = stats[(kind, scope, w)] = [0, 0, 0, 0, 0.0]
            a[0] += 1
            a[si] += 1
            a[4] += score
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    cols = (
        "id, source, title, summary, link, published, language, kind, tickers, scored, topic, "
        "sentiment, score, topic_probs, sentiment_probs, model, scored_at, skip_reason"
    )
    con.executemany(f"INSERT INTO documents ({cols}) VALUES ({','.join('?' * 18)})", docs)
    con.executemany(
        "INSERT INTO window_stats (scope_kind, scope, window_start, window_end, count, negative,"
        " neutral, positive, score_sum, late) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                kind,
                scope,
                _ts(datetime.fromtimestamp(w, UTC)),
                _ts(datetime.fromtimestamp(w + WINDOW_S, UTC)),
                int(a[0]),
                int(a[1]),
                int(a[2]),
                int(a[3]),
                a[4],
                0,
            )
            for (kind, scope, w), a in stats.items()
        ],
    )
    alerts, deliveries = [], []
    for j in range(300):
        s = start + timedelta(seconds=rnd.random() * span)
        firing = j % 30 == 0
        scope = TOPICS[j % len(TOPICS)] if j % 2 else TICKERS[j % len(TICKERS)]
        kind = "topic" if j % 2 else "ticker"
        fp = f"fp{j:04d}"
        payload = {
            "figures": {"negative_share": 0.6, "baseline_share": 0.25, "count": 40.0},
            "peak": {"negative_share": 0.7},
            "evidence": [],
            "summary": f"surge {scope}",
            "scope_kind": kind,
            "scope": scope,
        }
        ends = None if firing else _ts(s + timedelta(hours=1))
        alerts.append(
            (
                fp,
                _ts(s),
                "negative_surge",
                kind,
                scope,
                "firing" if firing else "resolved",
                ends,
                _ts(s),
                json.dumps(payload),
            )
        )
        for sink in ("slack", "pagerduty"):
            deliveries.append((fp, "firing", _ts(s), sink, "delivered", 1, None, _ts(s)))
    con.executemany(
        "INSERT INTO alerts (fingerprint, starts_at, rule, scope_kind, scope, status, ends_at,"
        " updated_at, payload) VALUES (?,?,?,?,?,?,?,?,?)",
        alerts,
    )
    con.executemany(
        "INSERT INTO deliveries (fingerprint, status, updated_at, sink, state, attempts, error,"
        " at) VALUES (?,?,?,?,?,?,?,?)",
        deliveries,
    )
    con.executemany(
        "INSERT INTO source_health (source, fetched, published, duplicates, errors,"
        " last_success, last_error, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        [(s, 1000, 900, 100, 1, _ts(END), None, _ts(END)) for s in SOURCES],
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return {
        "documents": n_docs,
        "window_stats": len(stats),
        "generate_s": round(gen_s, 1),
        "insert_s": round(time.perf_counter() - t0, 1),
        "db_mb": round(path.stat().st_size / 1e6, 1),
    }


def _post(client: Any, outputs: list[tuple[str, str]], inputs: list[tuple], state=()) -> Any:
    many = len(outputs) > 1
    body = {
        "output": (".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..")
        if many
        else f"{outputs[0][0]}.{outputs[0][1]}",
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if many
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
        "changedPropIds": [f"{i}.{p}" for i, p, _ in inputs[:1]],
    }
    r = client.post("/_dash-update-component", json=body)
    if r.status_code not in (200, 204):
        raise RuntimeError(f"callback {outputs[0]} failed: {r.status_code} {r.data[:300]!r}")
    return r


def cases(client: Any) -> list[tuple[str, Any]]:
    ov = [
        ("ov-headline", "children"),
        ("ov-range", "children"),
        ("ov-index", "figure"),
        ("ov-topics", "children"),
        ("ov-heatmap", "figure"),
        ("ov-volume", "figure"),
    ]
    route = [
        ("page", "children"),
        ("f-range", "value"),
        ("f-topic", "value"),
        ("f-ticker", "value"),
        ("f-source", "value"),
        ("f-sentiment", "value"),
        ("f-source", "options"),
        ("user", "children"),
    ]
    sc = [("sc-graph", "figure"), ("sc-range", "children")]
    click_start = END - timedelta(hours=5)
    click = {
        "points": [
            {
                "customdata": [
                    click_start.isoformat(),
                    (click_start + timedelta(minutes=15)).isoformat(),
                    0,
                ]
            }
        ]
    }

    def docs(path: str, search: str, clk: Any) -> Any:
        return _post(
            client,
            [("sc-docs", "children")],
            [
                ("sc-graph", "clickData", clk),
                ("sc-graph", "selectedData", None),
                ("url", "search", search),
            ],
            [("url", "pathname", path)],
        )

    return [
        (
            "router (page shell)",
            lambda: _post(client, route, [("url", "pathname", "/")], [("url", "search", "")]),
        ),
        ("overview 24h", lambda: _post(client, ov, [("url", "search", "")])),
        ("overview 7d", lambda: _post(client, ov, [("url", "search", "?range=7d")])),
        ("overview 30d", lambda: _post(client, ov, [("url", "search", "?range=30d")])),
        (
            "topic chart 24h",
            lambda: _post(
                client, sc, [("url", "search", "")], [("url", "pathname", "/topic/financials")]
            ),
        ),
        (
            "topic chart 30d",
            lambda: _post(
                client,
                sc,
                [("url", "search", "?range=30d")],
                [("url", "pathname", "/topic/financials")],
            ),
        ),
        ("topic docs (range)", lambda: docs("/topic/financials", "", None)),
        ("topic docs (clicked point)", lambda: docs("/topic/financials", "", click)),
        (
            "ticker chart 7d",
            lambda: _post(
                client, sc, [("url", "search", "?range=7d")], [("url", "pathname", "/ticker/SIVB")]
            ),
        ),
        ("ticker docs (range)", lambda: docs("/ticker/SIVB", "", None)),
        ("ticker docs (clicked point)", lambda: docs("/ticker/SIVB", "", click)),
        (
            "live feed",
            lambda: _post(
                client,
                [("live-docs", "children"), ("live-updated", "children"), ("live-sig", "data")],
                [("live-tick", "n_intervals", 1), ("url", "search", "")],
                [("live-sig", "data", None)],
            ),
        ),
        (
            "live feed (source+sentiment)",
            lambda: _post(
                client,
                [("live-docs", "children"), ("live-updated", "children"), ("live-sig", "data")],
                [
                    ("live-tick", "n_intervals", 1),
                    ("url", "search", "?source=source-07&sentiment=positive"),
                ],
                [("live-sig", "data", None)],
            ),
        ),
        (
            "live feed (ticker T050)",
            lambda: _post(
                client,
                [("live-docs", "children"), ("live-updated", "children"), ("live-sig", "data")],
                [("live-tick", "n_intervals", 1), ("url", "search", "?ticker=T050")],
                [("live-sig", "data", None)],
            ),
        ),
        (
            "alerts 30d",
            lambda: _post(
                client,
                [("al-timeline", "figure"), ("al-list", "children"), ("al-dead", "children")],
                [("url", "search", "?range=30d"), ("al-status", "value", "all")],
            ),
        ),
        (
            "sources 24h",
            lambda: _post(
                client,
                [("src-table", "children"), ("src-graph", "figure"), ("src-caption", "children")],
                [("url", "search", "")],
            ),
        ),
        ("api/documents?limit=100", lambda: client.get("/api/documents?limit=100")),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="keep the store in this folder")
    args = ap.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="finpulse-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    try:
        if db.exists() and args.keep:
            built = {"documents": args.docs, "reused": str(db)}
        else:
            db.unlink(missing_ok=True)
            print(f"building {args.docs:,} documents over {args.days} days in {db} ...", flush=True)
            built = build(db, args.docs, args.days)
        print(json.dumps(built), flush=True)

        from dashboard.app import create_app
        from foundation.settings import load_settings

        settings = load_settings(store={"url": f"sqlite:///{db}"}, model={"path": "baseline"})
        client = create_app(settings).server.test_client()
        results = []
        cases(client)[0][1]()  # imports, first connection
        for name, call in cases(client):
            # First call: the rollup cache holds nothing for this view yet (cold).
            t0 = time.perf_counter()
            call()
            first = (time.perf_counter() - t0) * 1000
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                call()
                times.append((time.perf_counter() - t0) * 1000)
            results.append(
                {
                    "callback": name,
                    "first_ms": round(first, 1),
                    "median_ms": round(statistics.median(times), 1),
                    "max_ms": round(max(times), 1),
                }
            )
        print(f"\n{'callback':32} {'first ms':>9} {'median ms':>10} {'max ms':>9}  median<300")
        for r in results:
            ok = "yes" if r["median_ms"] < 300 else "NO"
            print(
                f"{r['callback']:32} {r['first_ms']:>9} {r['median_ms']:>10} {r['max_ms']:>9}  {ok}"
            )
        print(
            json.dumps(
                {
                    "bench": "dashboard",
                    "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                    "store": built,
                    "repeat": args.repeat,
                    "results": results,
                    "all_under_300ms": all(r["median_ms"] < 300 for r in results),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
