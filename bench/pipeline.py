"""Stream throughput and latency in one run, on the same documents and model:

1. ``raw``: the inference engine alone (docs/s), in this process;
2. ``pipeline``: N documents replayed at full speed into the embedded broker, through a real
   ``finpulse worker`` (classify, aggregate, detect, store): docs/s, and latency from publish
   to scored, to window stat and to alert (p50/p95/p99);
3. ``unbatched``: the same pipeline with batching off (batch size 1 everywhere);
4. ``ceiling``: the same pipeline with the lexicon baseline classifier (the machinery alone).

    python -m bench.pipeline --docs 5000 --json [--model shipped|baseline|FOLDER]
        [--unbatched-docs 1000] [--ceiling-docs 10000] [--only ceiling] [--profile DIR]

Latencies come from Kafka record timestamps after the run (no instrumentation in the worker):
publish = the documents record's timestamp; scored = the scored record's; window stat = the
first ``all:all`` window-stats record whose count covers the document (documents are applied
in the order of the single-partition aggregation topic); alert = the alert record's time
minus the publish time of the first document whose event time moved the watermark past the
window that raised it. Uses English documents of the month archive in ../shared when present,
else the bundled demo sample (repeated with fresh ids, a month later each round). Prints a
table and one final JSON line. Not a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MONTH = REPO.parent / "shared" / "data" / "replay" / "2022-11.jsonl.gz"
SAMPLE = REPO / "ingest" / "data" / "demo_sample.jsonl.gz"
ROUND_SHIFT = timedelta(days=31)


# -- documents ---------------------------------------------------------------------------------
def english_lines(src: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and str(obj.get("language") or "").lower().startswith("en"):
                yield obj


def make_docs(n: int) -> list[dict[str, Any]]:
    """``n`` English archive records in event-time order (fresh ids, later times each round)."""
    src = MONTH if MONTH.is_file() else SAMPLE
    out: list[dict[str, Any]] = []
    rnd = 0
    while len(out) < n:
        batch = sorted(english_lines(src), key=lambda o: (o["published"], o["id"]))
        if not batch:
            raise SystemExit(f"no English documents in {src}")
        for obj in batch:
            if rnd:
                obj = dict(obj)
                obj["id"] = f"{obj['id'][:50]}-r{rnd}"
                t = datetime.fromisoformat(obj["published"].replace("Z", "+00:00"))
                obj["published"] = (t + rnd * ROUND_SHIFT).isoformat().replace("+00:00", "Z")
            out.append(obj)
            if len(out) >= n:
                break
        rnd += 1
    return out


def write_archive(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


# -- raw model ---------------------------------------------------------------------------------
def load(model: str) -> Any:
    from foundation.settings import ModelSettings
    from models.registry import load_classifier

    return load_classifier(ModelSettings(path=None if model == "shipped" else model))


def raw_throughput(model: str, texts: list[str]) -> tuple[float, float, str]:
    """Docs/s and CPU ms per document of the inference engine alone over ``texts`` (after a
    short warm-up), in this process."""
    import asyncio

    from foundation.settings import ModelSettings
    from models.engine import InferenceEngine

    clf = load(model)
    ms = ModelSettings()
    cpu: dict[str, float] = {}

    async def run() -> float:
        async with InferenceEngine(
            clf, max_batch_size=ms.max_batch_size, max_wait_ms=ms.max_wait_ms
        ) as eng:
            await eng.classify_many(texts[: min(len(texts), 2 * ms.max_batch_size)])
            t, c = time.perf_counter(), time.process_time()
            res = await eng.classify_many(texts)
            dt = time.perf_counter() - t
            cpu["s"] = time.process_time() - c
        bad = sum(isinstance(r, BaseException) for r in res)
        if bad:
            raise SystemExit(f"raw model: {bad} of {len(texts)} texts failed")
        return len(texts) / dt

    rate = asyncio.run(run())
    device = str(getattr(clf, "device", "cpu"))
    return rate, 1000.0 * cpu["s"] / len(texts), device


# -- one pipeline run --------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic`` (all partitions, from the start), as kafka-python records."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        parts = c.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        c.assign(tps)
        c.seek_to_beginning(*tps)
        end = c.end_offsets(tps)
        out: list[Any] = []
        while any(c.position(tp) < end[tp] for tp in tps):
            got = c.poll(timeout_ms=2000, max_records=50_000)
            if not got:
                break
            for recs in got.values():
                out.extend(recs)
        return out
    finally:
        c.close()


def agg_items(value: bytes) -> list[tuple[str, float]]:
    """(document id, published epoch) of each scored document in an aggregation record."""
    obj = json.loads(value)
    docs = obj["docs"] if isinstance(obj, dict) and "docs" in obj else [obj]
    out = []
    for d in docs:
        doc = d["document"]
        if not d.get("scored", True):
            continue
        t = datetime.fromisoformat(doc["published"].replace("Z", "+00:00"))
        out.append((doc["id"], t.timestamp()))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its children so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def store_count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as c:
            return int(c.execute(sql).fetchone()[0] or 0)
    except sqlite3.Error:
        return 0


class Worker:
    def __init__(self, env: dict[str, str], log: Path, profile: Path | None) -> None:
        self.log = log
        self.fh = log.open("wb")
        cmd = [sys.executable, "-m", "cli.main", "worker"]
        self.profile = profile
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO,
            stdout=self.fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.spy: subprocess.Popen[bytes] | None = None

    def wait_ready(self, timeout: float = 300) -> float:
        t0 = time.perf_counter()
        while "worker ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.perf_counter() - t0 > timeout:
                raise SystemExit("worker did not start:\n" + self.log.read_text()[-3000:])
            time.sleep(0.1)
        return time.perf_counter() - t0

    def start_profile(self) -> None:
        if self.profile is None:
            return
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.spy = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.proc.pid),
                "--rate",
                "200",
                "--subprocesses",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(self.profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.spy is not None:
            self.spy.send_signal(2)
            try:
                self.spy.wait(30)
            except subprocess.TimeoutExpired:
                self.spy.kill()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)
        self.fh.close()


def run_pipeline(
    broker: Any,
    tmp: Path,
    docs: list[dict[str, Any]],
    model: str,
    *,
    unbatched: bool = False,
    profile: Path | None = None,
    rate: float | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Replay ``docs`` at full speed through a fresh worker; throughput and latencies."""
    from foundation.settings import Settings

    run_dir = tmp / uuid.uuid4().hex[:8]
    run_dir.mkdir()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    db = run_dir / "store.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env.update(
        FINPULSE_BROKER__URL=broker.url,
        FINPULSE_BROKER__TOPIC_PREFIX=prefix,
        FINPULSE_DATA_DIR=str(run_dir / "data"),
        FINPULSE_STORE__URL=f"sqlite:///{db}",
        FINPULSE_LOG_LEVEL="WARNING",
        # Each worker's Prometheus exporter on a free port (kept on: it is part of the cost).
        FINPULSE_METRICS__WORKER_PORT="0",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    if model != "shipped":
        env["FINPULSE_MODEL__PATH"] = model
    if unbatched:
        env["FINPULSE_MODEL__MAX_BATCH_SIZE"] = "1"
        env["FINPULSE_MODEL__MAX_WAIT_MS"] = "0"
        if "stream" in Settings.model_fields:
            env["FINPULSE_STREAM__BATCH_SIZE"] = "1"
    settings = Settings(
        broker={"url": broker.url, "topic_prefix": prefix},  # type: ignore[arg-type]
    )
    archive = write_archive(run_dir / "docs.jsonl", docs)
    n = len(docs)
    group = [
        Worker({**env, "FINPULSE_LOG_LEVEL": "INFO"}, run_dir / f"worker{i}.log", profile)
        for i in range(workers)
    ]
    worker = group[0]
    try:
        ready_s = max(w.wait_ready() for w in group)
        if workers > 1:
            time.sleep(15.0)  # the group settles: the later joins rebalance the first worker
        for w in group:
            w.start_profile()
        cpu0 = sum(cpu_seconds(w.proc.pid) for w in group)
        broker_cpu0 = cpu_seconds(broker.proc.pid) if broker.proc else 0.0
        t_replay = time.time()
        paced = ["--max-rate", str(rate)] if rate else []
        rep = subprocess.run(
            [sys.executable, "-m", "cli.main", "replay", str(archive), "--no-progress", *paced],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if rep.returncode != 0:
            raise SystemExit("replay failed:\n" + rep.stdout[-2000:] + rep.stderr[-2000:])
        deadline = time.time() + max(600.0, n / 5.0)
        while store_count(db, "select count(*) from documents") < n:
            if any(w.proc.poll() is not None for w in group) or time.time() > deadline:
                got = store_count(db, "select count(*) from documents")
                raise SystemExit(
                    f"only {got} of {n} documents stored:\n" + worker.log.read_text()[-3000:]
                )
            time.sleep(0.05)
        t_stored = time.time()
        # The aggregation flushes its last batch within its batch timeout.
        time.sleep(2.5)
        worker_cpu = sum(cpu_seconds(w.proc.pid) for w in group) - cpu0
        broker_cpu = (cpu_seconds(broker.proc.pid) if broker.proc else 0.0) - broker_cpu0
    finally:
        for w in group:
            w.stop()
    bootstrap = broker.bootstrap
    topic = settings.broker.topic
    docs_recs = read_topic(bootstrap, topic("documents"))
    scored_recs = read_topic(bootstrap, topic("scored"))
    agg_recs = read_topic(bootstrap, topic("monitor-agg"))
    win_recs = read_topic(bootstrap, topic("window-stats"))
    alert_recs = read_topic(bootstrap, topic("alerts"))

    published_at: dict[str, float] = {}
    event_time: dict[str, float] = {}
    for r in docs_recs:
        d = json.loads(r.value)
        published_at.setdefault(d["id"], r.timestamp / 1000.0)
        event_time[d["id"]] = datetime.fromisoformat(
            d["published"].replace("Z", "+00:00")
        ).timestamp()
    t_first = min(published_at.values()) if published_at else t_replay
    scored_lat = []
    for r in scored_recs:
        doc_id = r.key.decode()
        if doc_id in published_at:
            scored_lat.append(r.timestamp / 1000.0 - published_at[doc_id])

    size = settings.windows.size_s
    lateness = settings.windows.allowed_lateness_s
    # Documents of each window in the order the aggregation applied them.
    applied: dict[int, list[str]] = {}
    seen: set[str] = set()
    for r in agg_recs:
        for doc_id, ts in agg_items(r.value):
            if doc_id in seen:
                continue
            seen.add(doc_id)
            applied.setdefault(int(ts // size) * size, []).append(doc_id)
    covered: dict[int, int] = {}
    window_lat = []
    t_last_window = 0.0
    for r in win_recs:
        w = json.loads(r.value)
        if w["scope_kind"] != "all":
            continue
        t_emit = r.timestamp / 1000.0
        t_last_window = max(t_last_window, t_emit)
        start = int(datetime.fromisoformat(w["window_start"].replace("Z", "+00:00")).timestamp())
        ids = applied.get(start, [])
        done = covered.get(start, 0)
        for doc_id in ids[done : w["count"]]:
            if doc_id in published_at:
                window_lat.append(t_emit - published_at[doc_id])
        covered[start] = max(done, min(w["count"], len(ids)))
    # Publish time of the first document (in publish order) at or past each event time.
    by_pub = sorted((published_at[i], event_time[i]) for i in published_at)
    alert_lat = []
    for r in alert_recs:
        a = json.loads(r.value)
        need = datetime.fromisoformat(a["updated_at"].replace("Z", "+00:00")).timestamp()
        need += lateness
        trigger = next((p for p, et in by_pub if et >= need), None)
        if trigger is not None:
            alert_lat.append(r.timestamp / 1000.0 - trigger)
    t_end = max(t_stored, t_last_window)
    late = store_count(db, "select sum(late) from window_stats where scope_kind = 'all'")
    elapsed = t_end - t_first

    def ms(values: list[float], q: float) -> float | None:
        v = percentile(values, q)
        return None if v is None else round(v * 1000.0, 1)

    return {
        "docs": n,
        "workers": workers,
        "worker_ready_s": round(ready_s, 1),
        "elapsed_s": round(elapsed, 2),
        "docs_per_s": round(n / elapsed, 1) if elapsed > 0 else None,
        "late": late,
        "window_stats": len(win_recs),
        "alerts": len(alert_recs),
        "scored_p50_ms": ms(scored_lat, 50),
        "scored_p95_ms": ms(scored_lat, 95),
        "scored_p99_ms": ms(scored_lat, 99),
        "window_p50_ms": ms(window_lat, 50),
        "window_p95_ms": ms(window_lat, 95),
        "window_p99_ms": ms(window_lat, 99),
        "alert_p50_ms": ms(alert_lat, 50),
        "alert_p95_ms": ms(alert_lat, 95),
        "alert_p99_ms": ms(alert_lat, 99),
        # CPU per document: a figure the other jobs on a shared machine distort far less
        # than docs/s (the worker's CPU includes the 2.5 s idle tail, a few ms).
        "worker_cpu_ms_per_doc": round(1000.0 * worker_cpu / n, 3),
        "broker_cpu_ms_per_doc": round(1000.0 * broker_cpu / n, 3),
        "window_latencies": len(window_lat),
        "alert_latencies": len(alert_lat),
    }


# -- report ------------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPU cores"


def table(rows: dict[str, dict[str, Any]]) -> str:
    cols = [
        ("docs", "docs"),
        ("docs/s", "docs_per_s"),
        ("late", "late"),
        ("worker CPU ms/doc", "worker_cpu_ms_per_doc"),
        ("scored p50/p99 ms", ("scored_p50_ms", "scored_p99_ms")),
        ("window p50/p99 ms", ("window_p50_ms", "window_p99_ms")),
        ("alert p50/p99 ms (n)", ("alert_p50_ms", "alert_p99_ms", "alert_latencies")),
    ]

    def cell(r: dict[str, Any], key: Any) -> str:
        if isinstance(key, tuple):
            vals = ["-" if r.get(k) is None else f"{r[k]:,.0f}" for k in key]
            if len(key) == 3:
                return f"{vals[0]}/{vals[1]} ({vals[2]})"
            return "/".join(vals)
        v = r.get(key)
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.2f}" if v < 10 else f"{v:,.1f}"
        return f"{v:,}"

    lines = [f"{'run':<11}" + "".join(f"{h:>22}" for h, _ in cols)]
    for name, r in rows.items():
        lines.append(f"{name:<11}" + "".join(f"{cell(r, k):>22}" for _, k in cols))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--docs", type=int, default=5000, help="documents per run")
    ap.add_argument("--model", default="shipped", help="shipped, baseline or a model folder")
    ap.add_argument("--unbatched-docs", type=int, default=None, help="default: min(docs, 1000)")
    ap.add_argument("--ceiling-docs", type=int, default=None, help="default: max(docs, 10000)")
    ap.add_argument(
        "--only",
        choices=["raw", "pipeline", "unbatched", "ceiling"],
        action="append",
        help="run only these parts (repeatable)",
    )
    ap.add_argument("--profile", type=Path, default=None, help="py-spy profiles into DIR")
    ap.add_argument(
        "--rate", type=float, default=None, help="replay at a steady N docs/s (latency runs)"
    )
    ap.add_argument("--workers", type=int, default=1, help="workers in one consumer group")
    ap.add_argument("--json", action="store_true", help="(the final JSON line is always printed)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from foundation.kafka.broker import EmbeddedBroker

    parts = set(args.only or ["raw", "pipeline", "unbatched", "ceiling"])
    n = args.docs
    docs = make_docs(max(n, args.ceiling_docs or 10000) if "ceiling" in parts else n)
    rows: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"bench": "pipeline", "model": args.model, "docs": n}
    device = "cpu"
    if "raw" in parts:
        rate, cpu_ms, device = raw_throughput(
            args.model, [d["title"] or d["summary"] for d in docs[:n]]
        )
        rows["raw"] = {"docs": n, "docs_per_s": round(rate, 1), "worker_cpu_ms_per_doc": cpu_ms}
        result["raw_docs_per_s"] = round(rate, 1)
        result["raw_cpu_ms_per_doc"] = round(cpu_ms, 3)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="finpulse-bench-") as d, EmbeddedBroker() as broker:
        tmp = Path(d)

        def prof(name: str) -> Path | None:
            return None if args.profile is None else args.profile / f"{name}.txt"

        if "pipeline" in parts:
            rows["pipeline"] = run_pipeline(
                broker,
                tmp,
                docs[:n],
                args.model,
                profile=prof("pipeline"),
                rate=args.rate,
                workers=args.workers,
            )
        if "unbatched" in parts:
            m = args.unbatched_docs or min(n, 1000)
            rows["unbatched"] = run_pipeline(
                broker,
                tmp,
                docs[:m],
                args.model,
                unbatched=True,
                profile=prof("unbatched"),
                rate=args.rate,
            )
        if "ceiling" in parts:
            m = args.ceiling_docs or max(n, 10000)
            rows["ceiling"] = run_pipeline(
                broker,
                tmp,
                docs[:m],
                "baseline",
                profile=prof("ceiling"),
                rate=args.rate,
                workers=args.workers,
            )
    pipe = rows.get("pipeline", {})
    result.update(
        {
            "pipeline_docs_per_s": pipe.get("docs_per_s"),
            "ratio": (
                round(pipe["docs_per_s"] / result["raw_docs_per_s"], 3)
                if pipe.get("docs_per_s") and result.get("raw_docs_per_s")
                else None
            ),
            # The same ratio in CPU per document (model alone / whole worker and broker): far
            # less sensitive to what else runs on a shared machine than docs/s.
            "cpu_ratio": (
                round(
                    result["raw_cpu_ms_per_doc"]
                    / (pipe["worker_cpu_ms_per_doc"] + pipe["broker_cpu_ms_per_doc"]),
                    3,
                )
                if pipe.get("worker_cpu_ms_per_doc") and result.get("raw_cpu_ms_per_doc")
                else None
            ),
            "rate": args.rate,
            "unbatched_docs_per_s": rows.get("unbatched", {}).get("docs_per_s"),
            "ceiling_docs_per_s": rows.get("ceiling", {}).get("docs_per_s"),
            "late": pipe.get("late", rows.get("ceiling", {}).get("late")),
            # Publish -> window stat (every document has one; alerts are few per run).
            "p50_ms": pipe.get("window_p50_ms"),
            "p99_ms": pipe.get("window_p99_ms"),
            "device": device,
            "machine": machine(),
            "nice": os.nice(0),
            "runs": rows,
        }
    )
    print(f"pipeline bench: model {args.model}, device {device}, {machine()}, nice {os.nice(0)}")
    print(table(rows))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
