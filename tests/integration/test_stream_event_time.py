"""Event time at full speed, through the embedded broker and a real worker (baseline model):
the bundled demo sample replayed as fast as the broker takes it, over four partitions, gives
exactly the backtest's window stats and alerts with 0 late documents; documents with
impossible times are refused by the replay (with reasons) or, sent past it, kept out of the
windows by the worker, which keeps processing; a worker killed with SIGKILL mid-stream and
restarted ends with the same windows, none counted late."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "ingest" / "data" / "demo_sample.jsonl.gz"
N_SAMPLE = 1500


def sample_lines() -> list[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def bad_doc(doc_id: str, published: str) -> dict:
    return {
        "id": doc_id,
        "source": "Broken Feed",
        "title": "Bank collapse fears as lender slides",
        "published": published,
        "language": "en",
    }


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db, timeout=5) as c:
        return c.execute(sql).fetchall()


def window_rows(db: Path) -> set[tuple]:
    out = set()
    for kind, scope, start, count, neg, neu, pos, ssum in rows(
        db,
        "select scope_kind, scope, window_start, count, negative, neutral, positive, score_sum "
        "from window_stats",
    ):
        start = datetime.fromisoformat(str(start)).replace(tzinfo=UTC)
        out.add((kind, scope, start, count, neg, neu, pos, round(ssum, 6)))
    return out


def backtest(paths: list[Path]):
    from foundation.settings import Settings
    from models.baseline import LexiconBaseline
    from monitor.backtest.run import run_backtest

    r = run_backtest(paths, Settings(), LexiconBaseline())
    windows = {
        (
            w.scope_kind,
            w.scope,
            w.window_start.replace(tzinfo=UTC),
            w.count,
            w.negative,
            w.neutral,
            w.positive,
            round(w.score_sum, 6),
        )
        for w in r.closed
    }
    return r, windows


def alert_keys(alerts) -> set[tuple]:
    return {(a.fingerprint, a.status, a.starts_at, a.updated_at) for a in alerts}


def read_alerts(bootstrap: str, topic: str):
    from kafka import KafkaConsumer, TopicPartition

    from foundation.schemas import Alert

    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or [])]
        c.assign(tps)
        c.seek_to_beginning()
        out, idle = [], time.monotonic()
        while time.monotonic() - idle < 3:
            for recs in c.poll(timeout_ms=500).values():
                out.extend(Alert.from_bytes(r.value) for r in recs)
                idle = time.monotonic()
        return out
    finally:
        c.close()


def settled(db: Path, expected_docs: int, in_windows: int) -> bool:
    try:
        docs = rows(db, "select count(*) from documents")[0][0]
        counted = rows(
            db, "select coalesce(sum(count), 0) from window_stats where scope_kind='all'"
        )
    except sqlite3.Error:
        return False
    return docs >= expected_docs and counted[0][0] >= in_windows


def test_full_speed_replay_equals_the_backtest_and_bad_times_cannot_move_it(
    tmp_path, pipeline_env, start_worker, finpulse, wait
):
    env = pipeline_env(FINPULSE_BROKER__PARTITIONS="4")
    db = Path(env["FINPULSE_STORE__URL"].removeprefix("sqlite:///"))
    clean = tmp_path / "sample.jsonl"
    lines = sample_lines()
    assert len(lines) == N_SAMPLE
    clean.write_text("".join(json.dumps(d) + "\n" for d in lines))

    # The same archive with hostile times in the middle: three the replay refuses, and one
    # dated now (plausible on its own, years ahead of its neighbours) for the worker.
    now = datetime.now(UTC).replace(microsecond=0)
    hostile = [
        bad_doc("bad-9999", "9999-12-31T00:00:00Z"),
        bad_doc("bad-1900", "1900-01-01T00:00:00Z"),
        bad_doc("bad-year-ahead", iso(now + timedelta(days=365))),
        bad_doc("bad-now", iso(now)),
    ]
    mixed = lines[:700] + hostile + lines[700:]
    archive = tmp_path / "mixed.jsonl"
    archive.write_text("".join(json.dumps(d) + "\n" for d in mixed))

    worker = start_worker(env)
    res = finpulse(["replay", str(archive), "--no-progress"], env, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"published: {N_SAMPLE + 1} " in res.stdout
    assert "skipped bad lines: 3" in res.stdout
    assert "9999-12-31T00:00:00Z is more than 1 day" in res.stdout
    assert "1900-01-01T00:00:00Z is before 1995-01-01" in res.stdout

    # Past the replay's check, straight onto the topic: the worker's own guard.
    from foundation.kafka.publisher import Publisher
    from foundation.schemas import Document

    bootstrap = env["FINPULSE_BROKER__URL"].removeprefix("kafka://")
    topic = env["FINPULSE_BROKER__TOPIC_PREFIX"] + ".documents"
    pub = Publisher(bootstrap, topic, embedded=True)
    for doc_id, when in [
        ("direct-9999", datetime(9999, 12, 30, tzinfo=UTC)),
        ("direct-1900", datetime(1900, 1, 1, tzinfo=UTC)),
    ]:
        pub.publish(Document(id=doc_id, source="Broken Feed", title="Bank slides", published=when))
    assert pub.flush().failed == 0
    pub.close()

    assert wait(lambda: settled(db, N_SAMPLE + 3, N_SAMPLE), 180), worker.output[-3000:]
    time.sleep(3)  # a last batch of window updates
    # Still processing after all of them: one more ordinary document is stored.
    late_doc = dict(lines[-1], id="after-the-bad-ones")
    (tmp_path / "one.jsonl").write_text(json.dumps(late_doc) + "\n")
    assert finpulse(["replay", str(tmp_path / "one.jsonl"), "--no-progress"], env).returncode == 0
    assert wait(lambda: settled(db, N_SAMPLE + 4, N_SAMPLE + 1), 60), worker.output[-3000:]
    time.sleep(2)

    result, expected = backtest([clean, tmp_path / "one.jsonl"])
    got = window_rows(db)
    assert rows(db, "select coalesce(sum(late), 0) from window_stats")[0][0] == 0
    assert max(w[2] for w in got).year == 2000  # no window for any hostile time
    assert got == expected

    alerts = read_alerts(bootstrap, env["FINPULSE_BROKER__TOPIC_PREFIX"] + ".alerts")
    assert result.alerts, "the sample should raise alerts with the baseline"
    last = max(datetime.fromisoformat(d["published"].replace("Z", "+00:00")) for d in lines)
    cut = last - timedelta(hours=1)  # the stream's watermark trails the last documents
    assert alert_keys(alerts) <= alert_keys(result.alerts)
    assert alert_keys(a for a in result.alerts if a.updated_at <= cut) <= alert_keys(alerts)

    log = worker.output
    assert "kept out of the windows" in log
    for doc_id in ("bad-now", "direct-9999", "direct-1900"):
        assert doc_id in log


def test_worker_killed_mid_replay_ends_with_the_same_windows_none_late(
    tmp_path, pipeline_env, start_worker, finpulse, wait
):
    env = pipeline_env(FINPULSE_BROKER__PARTITIONS="4")
    db = Path(env["FINPULSE_STORE__URL"].removeprefix("sqlite:///"))
    lines = sample_lines()
    # Three copies a day apart (fresh ids): enough stream for the kill to land mid-way.
    docs = []
    for k in range(3):
        for d in lines:
            t = datetime.fromisoformat(d["published"].replace("Z", "+00:00"))
            docs.append(dict(d, id=f"{d['id'][:40]}-{k}", published=iso(t + timedelta(days=2 * k))))
    archive = tmp_path / "three.jsonl"
    archive.write_text("".join(json.dumps(d) + "\n" for d in docs))
    n = len(docs)

    w1 = start_worker(env)
    res = finpulse(
        ["replay", str(archive), "--no-progress", "--max-rate", "1500"], env, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert wait(lambda: rows(db, "select count(*) from documents")[0][0] >= n // 3, 120)
    os.killpg(w1.proc.pid, signal.SIGKILL)
    w1.proc.wait(10)

    w2 = start_worker(env, timeout=180)
    assert wait(lambda: settled(db, n, n), 240), w2.output[-3000:]
    time.sleep(3)
    _, expected = backtest([archive])
    assert rows(db, "select count(*) from documents")[0][0] == n
    assert rows(db, "select coalesce(sum(late), 0) from window_stats")[0][0] == 0
    assert window_rows(db) == expected


def test_replay_of_a_garbage_file_fails_with_a_message(tmp_path, pipeline_env, finpulse):
    env = pipeline_env()
    junk = tmp_path / "junk.jsonl"
    long_id = bad_doc("x" * 5000, "2022-11-01T00:00:00Z")
    junk.write_text("not json\n[1, 2]\n" + json.dumps(long_id) + "\n")
    res = finpulse(["replay", str(junk), "--no-progress"], env, timeout=60)
    assert res.returncode != 0
    assert "no valid document" in res.stderr and "3 line(s) were refused" in res.stderr
    assert "id: String should have at most 64 characters" in res.stdout
