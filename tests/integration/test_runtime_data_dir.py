"""Every file lands under ``data_dir``: a worker and an ingest run from an empty working
folder, with ``data_dir`` elsewhere and no store URL or archive folder set, leave that folder
empty, and the store and the archive are found under ``data_dir``."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

N = 12


def write_feed(path: Path) -> set[str]:
    now = datetime.now(UTC).replace(microsecond=0)
    ids = {f"dd-{i:03d}" for i in range(N)}
    lines = [
        json.dumps(
            {
                "id": f"dd-{i:03d}",
                "source": "datadir",
                "title": f"Bank {i} shares plunge as lender faces fraud probe",
                "summary": "",
                "link": f"https://example.com/dd/{i}",
                "published": (now - timedelta(minutes=N - i)).isoformat(),
                "language": "en",
            }
        )
        for i in range(N)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def stored_ids(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as c:
        return {r[0] for r in c.execute("select id from documents")}


def test_worker_and_ingest_write_only_under_data_dir(
    tmp_path, pipeline_env, start_worker, finpulse, wait
):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data = tmp_path / "data"
    feed = tmp_path / "feed.jsonl"
    ids = write_feed(feed)
    env = pipeline_env(
        FINPULSE_INGEST__SOURCES=json.dumps(
            [{"name": "datadir", "kind": "jsonl", "url": str(feed), "local": True}]
        )
    )
    del env["FINPULSE_STORE__URL"]  # the default: under data_dir
    assert env["FINPULSE_DATA_DIR"] == str(data)

    worker = start_worker(env, cwd=cwd)
    res = finpulse(["ingest", "--once"], env, timeout=240, cwd=cwd)
    assert res.returncode == 0, res.stderr[-3000:]

    db = data / "finpulse.db"
    got = wait(lambda: (s := stored_ids(db)) >= ids and s, timeout=120)
    assert got, f"store has {len(stored_ids(db))} of {N}:\n{worker.output[-2000:]}"
    assert list((data / "archive").glob("*.jsonl.gz")), "no archive under data_dir"
    worker.stop()
    assert sorted(p.name for p in cwd.iterdir()) == []
