"""Soak: a steady load through the real pipeline for a long time; memory and lag each minute.

    python -m bench.soak --minutes 30 --rate 200 [--model baseline|shipped|DIR] [--json]
        [--memtrace SECONDS [--tracemalloc]] [--log FILE]

An embedded broker, one real ``finpulse worker`` and ``finpulse replay --max-rate RATE`` of
English archive documents (the November 2022 month when ``../shared`` is there, else the demo
sample; repeated with fresh ids and later times). Once a minute it records the worker's and the
broker's resident memory (VmRSS) and the lag: documents published so far (rate x elapsed) minus
documents stored. A flat memory line and a lag that does not grow are what a soak must show.
Prints a table and one final JSON line. A benchmark, not a CI test.

``--memtrace SECONDS`` runs the worker with ``FINPULSE_MEMTRACE`` (monitor.stream.memtrace: the
allocator's in-use and free-held bytes and the object types that grew, logged every SECONDS;
cheap), ``--tracemalloc`` adds the allocation sites (slows the worker several times), and
``--log FILE`` keeps the worker's log, where those reports are.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.pipeline import REPO, Worker, machine, make_docs, store_count, write_archive


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def last_late(log: Path) -> int | None:
    """The late-documents count of the worker's last ``monitor: ...`` report."""
    try:
        found = re.findall(r"alerts, (\d+) late,", log.read_text(errors="replace"))
    except OSError:
        return None
    return int(found[-1]) if found else None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=200.0, help="documents per second")
    ap.add_argument("--model", default="baseline", help="baseline, shipped or a model folder")
    ap.add_argument("--json", action="store_true", help="(the final JSON line is always printed)")
    ap.add_argument("--memtrace", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--tracemalloc", action="store_true", help="with --memtrace: sites too")
    ap.add_argument("--log", type=Path, default=None, help="copy the worker's log here")
    args = ap.parse_args(argv)

    from foundation.kafka.broker import EmbeddedBroker

    n = int(args.rate * args.minutes * 60)
    docs = make_docs(n)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="finpulse-soak-") as d, EmbeddedBroker() as broker:
        tmp = Path(d)
        db = tmp / "store.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FINPULSE_")}
        env.update(
            FINPULSE_BROKER__URL=broker.url,
            FINPULSE_DATA_DIR=str(tmp / "data"),
            FINPULSE_STORE__URL=f"sqlite:///{db}",
            FINPULSE_METRICS__WORKER_PORT="0",
            FINPULSE_LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        if args.model != "shipped":
            env["FINPULSE_MODEL__PATH"] = args.model
        if args.memtrace > 0:
            env["FINPULSE_MEMTRACE"] = str(args.memtrace)
            if args.tracemalloc:
                env["FINPULSE_TRACEMALLOC"] = "1"
        archive = write_archive(tmp / "docs.jsonl", docs)
        worker = Worker(env, tmp / "worker.log", None)
        rep: subprocess.Popen[bytes] | None = None
        try:
            worker.wait_ready()
            cmd = [sys.executable, "-m", "cli.main", "replay", str(archive), "--no-progress"]
            rep = subprocess.Popen(
                [*cmd, "--max-rate", str(args.rate)],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            t0 = time.time()
            minute = 0
            while True:
                time.sleep(max(0.0, t0 + 60 * (minute + 1) - time.time()))
                minute += 1
                stored = store_count(db, "select count(*) from documents")
                published = min(n, int(args.rate * (time.time() - t0)))
                row = {
                    "minute": minute,
                    "worker_rss_mib": round(rss_mib(worker.proc.pid), 1),
                    "broker_rss_mib": round(rss_mib(broker.proc.pid), 1) if broker.proc else None,
                    "stored": stored,
                    "lag_docs": max(0, published - stored),
                }
                samples.append(row)
                print(json.dumps(row), flush=True)
                if worker.proc.poll() is not None:
                    raise SystemExit("worker died:\n" + worker.log.read_text()[-3000:])
                if minute >= args.minutes or (rep.poll() is not None and stored >= n):
                    break
        finally:
            # The replay may still be publishing (a soak stops on the clock): stop it, never wait.
            if rep is not None and rep.poll() is None:
                rep.terminate()
                try:
                    rep.wait(10)
                except subprocess.TimeoutExpired:
                    rep.kill()
                    rep.wait()
            worker.stop()
            late = last_late(worker.log)
            if args.log is not None:
                shutil.copyfile(worker.log, args.log)
    rss = [s["worker_rss_mib"] for s in samples]
    half = len(rss) // 2
    out = {
        "minutes": len(samples),
        "rate": args.rate,
        "model": args.model,
        "documents": n,
        "stored": samples[-1]["stored"] if samples else 0,
        "worker_rss_first_mib": rss[0] if rss else None,
        "worker_rss_last_mib": rss[-1] if rss else None,
        "worker_rss_max_mib": max(rss) if rss else None,
        # Growth over the second half: what a leak shows once the caches have filled.
        "worker_rss_second_half_growth_mib": round(rss[-1] - rss[half], 1) if rss else None,
        "broker_rss_first_mib": samples[0]["broker_rss_mib"] if samples else None,
        "broker_rss_last_mib": samples[-1]["broker_rss_mib"] if samples else None,
        "lag_max_docs": max((s["lag_docs"] for s in samples), default=0),
        "lag_last_docs": samples[-1]["lag_docs"] if samples else 0,
        # From the worker's last once-a-minute report (None: it logged none).
        "late": late,
        "device": machine(),
    }
    print("minute  worker MiB  broker MiB  stored  lag")
    for s in samples:
        print(
            f"{s['minute']:>6}  {s['worker_rss_mib']:>10}  {s['broker_rss_mib']!s:>10}  "
            f"{s['stored']:>6}  {s['lag_docs']}"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
