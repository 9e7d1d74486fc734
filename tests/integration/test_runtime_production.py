"""The production shape end to end: replay -> embedded broker -> real worker -> PostgreSQL
-> dashboard, with the worker's metrics scraped by a real Prometheus (tests/servers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import count_rows
from sqlalchemy import select

from foundation.kafka.broker import free_port
from foundation.store import Store, documents

pytestmark = pytest.mark.integration

N = 120


def write_archive(path: Path, n: int) -> set[str]:
    t0 = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
    lines = [
        json.dumps(
            {
                "id": f"pg-{i:04d}",
                "source": "itest",
                "title": f"Bank {i} shares plunge on fraud probe"
                if i % 2
                else f"Company {i} reports record profit",
                "published": (t0 + timedelta(seconds=30 * i)).isoformat(),
                "language": "en" if i % 10 else "de",
            }
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {f"pg-{i:04d}" for i in range(n)}


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exporter: (name, sorted labels) -> value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_replay_to_postgres_with_metrics_scraped_by_prometheus(
    tmp_path, postgres, prometheus, pipeline_env, start_worker, start_proc, finpulse, wait
):
    url = postgres.create_database("e2e")
    port = free_port()
    env = pipeline_env(FINPULSE_STORE__URL=url, FINPULSE_METRICS__WORKER_PORT=str(port))
    ids = write_archive(tmp_path / "docs.jsonl", N)

    worker = start_worker(env)
    assert f"metrics: http://127.0.0.1:{port}/metrics" in worker.output
    before = scrape(port)
    assert before.get(("finpulse_documents_out_total", (("stage", "store"),)), 0.0) == 0.0
    prometheus.set_targets([f"127.0.0.1:{port}"])

    res = finpulse(["replay", str(tmp_path / "docs.jsonl")], env)
    assert res.returncode == 0, res.stderr

    store = Store(url, create=False)
    try:
        stored = wait(lambda: count_rows(store.engine) >= N, timeout=120)
        assert stored, f"{count_rows(store.engine)} of {N} in PostgreSQL:\n{worker.output[-2000:]}"
        with store.engine.connect() as conn:
            assert {r[0] for r in conn.execute(select(documents.c.id))} == ids  # once each
    finally:
        store.dispose()

    def counter(samples, name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    after = wait(
        lambda: (
            (s := scrape(port))
            and counter(s, "finpulse_documents_out_total", stage="store") >= N
            and s
        ),
        timeout=30,
    )
    assert after, "the store counter did not reach the documents stored"
    assert counter(after, "finpulse_documents_in_total", stage="classify") >= N
    assert counter(after, "finpulse_documents_skipped_total", reason="language:de") >= N // 10
    assert counter(after, "finpulse_batch_size_count", stage="classify") >= 1
    assert counter(after, "finpulse_model_batch_seconds_count") >= 1
    assert counter(after, "finpulse_store_write_seconds_count", table="documents") >= 1

    # Lag per owned partition (sampled every 5 s; the value itself is only right on Kafka).
    prefix = env["FINPULSE_BROKER__TOPIC_PREFIX"]
    lag = wait(
        lambda: {
            labels: v
            for (name, labels), v in scrape(port).items()
            if name == "finpulse_consumer_lag" and (("topic", f"{prefix}.documents") in labels)
        },
        timeout=20,
    )
    assert {dict(k)["partition"] for k in lag} == {"0", "1"}, lag
    assert all(v >= 0 for v in lag.values())

    # The same counter through Prometheus' own scrape and query API.
    def queried() -> float:
        result = prometheus.query('finpulse_documents_out_total{stage="store"}')
        return float(result[0]["value"][1]) if result else 0.0

    assert wait(lambda: queried() >= N, timeout=30), prometheus.get_json("/api/v1/targets")
    assert prometheus.query('up{job="finpulse"}')[0]["value"][1] == "1"

    # The dashboard serves the same documents from PostgreSQL.
    dash_port = free_port()
    dash = start_proc(["dashboard", "--port", str(dash_port)], env, name="dashboard")

    def served():
        try:
            r = httpx.get(f"http://127.0.0.1:{dash_port}/api/documents?limit=1000", timeout=5)
        except httpx.HTTPError:
            assert dash.proc.poll() is None, dash.output[-2000:]
            return None
        return r.json() if r.status_code == 200 else None

    docs = wait(served, timeout=90)
    assert docs is not None and {d["id"] for d in docs} == ids, dash.output[-2000:]
