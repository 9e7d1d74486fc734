"""The November 2022 archive (FTX collapse) through `finpulse backtest`, three times (no
cache, filling a cache, from the cache): identical output, an alert on the collapse in the
crypto sector and in the financials topic, and no alert storm over the month."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "replay" / "2022-11.jsonl.gz"


def backtest(*cache: str) -> str:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "backtest",
            str(ARCHIVE),
            "--json",
            "--model",
            "baseline",
            *cache,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_replaying_the_month_gives_the_same_alerts_with_and_without_the_cache(tmp_path):
    if not ARCHIVE.is_file():
        pytest.skip(f"replay archive not found at {ARCHIVE} (../shared beside the repo)")
    cache = ["--cache", str(tmp_path / "cache")]
    first = backtest("--no-cache")
    assert backtest(*cache) == first  # fills the cache
    assert backtest(*cache) == first  # served from it
    data = json.loads(first)
    assert data["documents"] == 49_307
    assert data["skipped"].get("language:pl", 0) > 7_000  # Polish is not scored
    # The archive carries no tickers: the backtest finds them (and FTX etc.) like ingest.
    assert data["tagged"] > 5_000
    alerts = data["alerts"]
    # A risk team sees incidents (alerts of one story grouped): at most 30 in the month.
    assert 1 <= data["incident_count"] <= 30, "an alert storm (or nothing) over the month"
    assert len(alerts) <= 60
    for kind, scope in (("sector", "crypto"), ("topic", "financials")):
        hits = [a for a in alerts if (a["scope_kind"], a["scope"]) == (kind, scope)]
        assert hits and "2022-11-06" <= hits[0]["startsAt"] < "2022-11-12", (kind, scope)
        assert any("FTX" in e["title"] for e in hits[0]["evidence"])
