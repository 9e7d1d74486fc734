"""Runtime figures on this machine: worker ready time, replay throughput to the embedded
broker, and end-to-end documents/s through a real worker (baseline classifier by default).

    .venv/bin/python bench/runtime.py [--docs 20000] [--model baseline]

Uses the month archive in ../shared when present, else the bundled demo sample (repeated
with fresh ids). Prints a table and one JSON line. Not a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from foundation.kafka.broker import EmbeddedBroker  # noqa: E402

MONTH = REPO.parent / "shared" / "data" / "replay" / "2022-11.jsonl.gz"
SAMPLE = REPO / "ingest" / "data" / "demo_sample.jsonl.gz"


def make_archive(path: Path, n: int) -> Path:
    src = MONTH if MONTH.is_file() else SAMPLE
    out = []
    rnd = 0
    while len(out) < n:
        with gzip.open(src, "rt", encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                if rnd:
                    obj["id"] = f"{obj['id']}-{rnd}"
                out.append(json.dumps(obj))
                if len(out) >= n:
                    break
        rnd += 1
    path.write_text("\n".join(out) + "\n")
    return path


def env_for(broker: EmbeddedBroker, tmp: Path, model: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
    env.update(
        FINPULSE_BROKER__URL=broker.url,
        FINPULSE_BROKER__TOPIC_PREFIX=f"bench{uuid.uuid4().hex[:8]}",
        FINPULSE_DATA_DIR=str(tmp / "data"),
        FINPULSE_STORE__URL=f"sqlite:///{tmp / 'store.db'}",
        FINPULSE_MODEL__PATH=model,
        PYTHONUNBUFFERED="1",
    )
    return env


def replay(env: dict[str, str], archive: Path, batch: int) -> float:
    """Seconds the replay spent publishing (its own summary; process start-up excluded)."""
    t = time.perf_counter()
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "replay",
            str(archive),
            "--no-progress",
            "--batch-size",
            str(batch),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    m = re.search(r"published: \d+ in ([\d.]+) s", res.stdout)
    return float(m.group(1)) if m else time.perf_counter() - t


def stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as c:
            return int(c.execute("select count(*) from documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--model", default="baseline")
    args = ap.parse_args()
    n = args.docs
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d, EmbeddedBroker() as broker:
        tmp = Path(d)
        archive = make_archive(tmp / "bench.jsonl", n)
        # Replay throughput, publish only (no worker), batched and one record per request.
        rows["replay_docs_s_batched"] = n / replay(env_for(broker, tmp, args.model), archive, 65536)
        small = make_archive(tmp / "small.jsonl", min(n, 3000))
        rows["replay_docs_s_batch1"] = min(n, 3000) / replay(
            env_for(broker, tmp, args.model), small, 1
        )
        # End to end through a worker: ready time, then replay -> every document stored.
        tmp2 = tmp / "e2e"
        tmp2.mkdir()
        env = env_for(broker, tmp2, args.model)
        log = (tmp2 / "worker.log").open("wb")
        t0 = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while "worker ready" not in (tmp2 / "worker.log").read_text(errors="replace"):
                if worker.poll() is not None or time.perf_counter() - t0 > 300:
                    raise SystemExit((tmp2 / "worker.log").read_text())
                time.sleep(0.1)
            rows["worker_ready_s"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            replay(env, archive, 65536)
            while stored(tmp2 / "store.db") < n:
                if time.perf_counter() - t1 > 1200:
                    raise SystemExit(f"only {stored(tmp2 / 'store.db')} of {n} stored")
                time.sleep(0.5)
            rows["end_to_end_docs_s"] = n / (time.perf_counter() - t1)
        finally:
            os.killpg(worker.pid, 15)
            worker.wait(timeout=60)
            log.close()
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU"
    print(f"runtime bench: {n} documents, model {args.model}, {machine}")
    print(f"{'figure':<26}{'value':>12}")
    for k, v in rows.items():
        print(f"{k:<26}{v:>12,.1f}")
    print(
        json.dumps(
            {
                "bench": "runtime",
                "docs": n,
                "model": args.model,
                "machine": machine,
                **{k: round(v, 2) for k, v in rows.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
